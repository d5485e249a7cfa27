#include "hal/vcard/capture_ring.h"

#include <algorithm>
#include <cstring>

namespace chronus::hal::vcard {

uint32_t BytesPerSample(PcmFormat format) { return format == PcmFormat::kS16 ? 2 : 4; }

CaptureRing::CaptureRing(size_t capacity_bytes)
    : capacity_(Pad(std::max(capacity_bytes, sizeof(RecordHeader)))),
      bytes_(new uint8_t[capacity_]) {
  std::memset(bytes_.get(), 0, capacity_);  // prefault: no page faults on the producer's thread
}

void CaptureRing::CopyIn(uint64_t pos, const void* src, size_t bytes) {
  const size_t at = pos % capacity_;
  const size_t first = std::min(bytes, capacity_ - at);
  std::memcpy(bytes_.get() + at, src, first);
  std::memcpy(bytes_.get(), static_cast<const uint8_t*>(src) + first, bytes - first);
}

bool CaptureRing::TryPush(const RecordHeader& header, const void* a, size_t a_bytes, const void* b,
                          size_t b_bytes) {
  const uint64_t head = head_.load(std::memory_order_relaxed);
  const uint64_t tail = tail_.load(std::memory_order_acquire);
  if (RecordBytes(header.payload_bytes) > capacity_ - (head - tail)) return false;
  // Records start on 8-byte boundaries and the capacity is a multiple of 8, so a payload span
  // split at the end of the ring holds whole frames (frames are 2, 4 or 8 bytes).
  CopyIn(head, &header, sizeof(header));
  if (a_bytes > 0) CopyIn(head + sizeof(header), a, a_bytes);
  if (b_bytes > 0) CopyIn(head + sizeof(header) + a_bytes, b, b_bytes);
  head_.store(head + RecordBytes(header.payload_bytes), std::memory_order_release);
  return true;
}

void CaptureRing::CountLost(uint64_t frames) {
  pending_silence_ += frames;
  lost_frames_.fetch_add(frames, std::memory_order_relaxed);
}

bool CaptureRing::PushControl(RecordType type, const void* payload, uint32_t bytes) {
  if (TryPush({type, bytes, 0}, payload, bytes, nullptr, 0)) return true;
  lost_records_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void CaptureRing::PushSilence(uint64_t frames) {
  const uint64_t total = pending_silence_ + frames;
  if (total == 0) return;
  if (TryPush({RecordType::kSilence, 0, total}, nullptr, 0, nullptr, 0)) {
    pending_silence_ = 0;
  } else {
    pending_silence_ = total;  // still silence, just later; not lost audio
  }
}

void CaptureRing::PushData(uint64_t frames, const void* a, size_t a_bytes, const void* b,
                           size_t b_bytes) {
  if (frames == 0) return;
  if (pending_silence_ > 0) {
    PushSilence(0);
    if (pending_silence_ > 0) {
      CountLost(frames);
      return;
    }
  }
  const auto bytes = static_cast<uint32_t>(a_bytes + b_bytes);
  if (!TryPush({RecordType::kData, bytes, frames}, a, a_bytes, b, b_bytes)) CountLost(frames);
}

bool CaptureRing::Peek(RecordHeader* header) const {
  const uint64_t tail = tail_.load(std::memory_order_relaxed);
  if (head_.load(std::memory_order_acquire) == tail) return false;
  const size_t at = tail % capacity_;
  const size_t first = std::min(sizeof(*header), capacity_ - at);
  std::memcpy(header, bytes_.get() + at, first);
  std::memcpy(reinterpret_cast<uint8_t*>(header) + first, bytes_.get(), sizeof(*header) - first);
  return true;
}

void CaptureRing::Payload(const RecordHeader& header, const uint8_t** a, size_t* a_bytes,
                          const uint8_t** b, size_t* b_bytes) const {
  const size_t at = (tail_.load(std::memory_order_relaxed) + sizeof(header)) % capacity_;
  *a = bytes_.get() + at;
  *a_bytes = std::min<size_t>(header.payload_bytes, capacity_ - at);
  *b = bytes_.get();
  *b_bytes = header.payload_bytes - *a_bytes;
}

void CaptureRing::Pop(const RecordHeader& header) {
  const uint64_t tail = tail_.load(std::memory_order_relaxed);
  tail_.store(tail + RecordBytes(header.payload_bytes), std::memory_order_release);
}

}  // namespace chronus::hal::vcard
