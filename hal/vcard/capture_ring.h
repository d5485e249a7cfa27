// Lock-free single-producer/single-consumer ring of capture records: the played timeline of the
// virtual card on its way from the client's audio thread to the capture writer thread.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>

namespace chronus::hal::vcard {

/// Sample formats the card plays and captures (little endian, interleaved).
enum class PcmFormat : uint32_t { kS16 = 0, kS32 = 1, kFloat = 2 };

/// Bytes of one sample of `format` (2 or 4).
uint32_t BytesPerSample(PcmFormat format);

/// What a capture holds; set once per capture file.
struct CaptureFormat {
  uint32_t rate_hz = 0;
  uint32_t channels = 0;
  PcmFormat format = PcmFormat::kS16;
  uint32_t reserved = 0;

  uint32_t frame_bytes() const { return channels * BytesPerSample(format); }
  bool operator==(const CaptureFormat&) const = default;
};

/// Kinds of record in the ring.
enum class RecordType : uint32_t {
  kFormat = 0,   ///< Starts a new capture file. Payload: CaptureFormat.
  kStart = 1,    ///< Timeline origin. Payload: int64 t0, CLOCK_MONOTONIC ns of frame 0.
  kSilence = 2,  ///< `frames` frames of silence. No payload.
  kData = 3,     ///< `frames` frames of interleaved samples in the capture format.
  kContinue =
      4,  ///< Continues the existing capture file (instead of kFormat). Payload: Continuation.
};

/// Payload of a kContinue record: the capture file already holds a timeline in `format`, of
/// which `frames` frames were accounted; new frames are appended after them.
struct Continuation {
  CaptureFormat format;
  int64_t frames = 0;
};

/// Header of one record; the payload follows it, padded to 8 bytes.
struct RecordHeader {
  RecordType type = RecordType::kSilence;
  uint32_t payload_bytes = 0;
  uint64_t frames = 0;
};

/// Byte ring of records. Memory is allocated and prefaulted by the constructor; afterwards
/// nothing allocates. The producer side must be used by one thread at a time (callers serialise
/// it), the consumer side by one other thread.
class CaptureRing {
 public:
  /// Non-RT. `capacity_bytes` is rounded up to a multiple of 8. Throws std::bad_alloc.
  explicit CaptureRing(size_t capacity_bytes);
  CaptureRing(const CaptureRing&) = delete;
  CaptureRing& operator=(const CaptureRing&) = delete;

  size_t capacity_bytes() const { return capacity_; }

  // --- Producer side. RT-safe, wait-free. ---

  /// Appends a control record (kFormat or kStart). Returns false (and counts a lost record) if
  /// the ring is full.
  bool PushControl(RecordType type, const void* payload, uint32_t bytes);
  /// Appends `frames` frames of silence. Never blocks: if the ring is full the frames are
  /// counted as lost and written later as silence (the timeline stays continuous).
  void PushSilence(uint64_t frames);
  /// Appends `frames` frames whose bytes are the concatenation of [a, a + a_bytes) and
  /// [b, b + b_bytes). If the ring is full they are replaced by silence and counted as lost.
  void PushData(uint64_t frames, const void* a, size_t a_bytes, const void* b, size_t b_bytes);

  // --- Consumer side. Wait-free. ---

  /// Next record's header; false if the ring is empty.
  bool Peek(RecordHeader* header) const;
  /// Payload of the record last returned by Peek, as up to two spans (the second may be empty).
  void Payload(const RecordHeader& header, const uint8_t** a, size_t* a_bytes, const uint8_t** b,
               size_t* b_bytes) const;
  /// Releases the record last returned by Peek.
  void Pop(const RecordHeader& header);

  // --- Any thread. ---

  /// Frames replaced by silence because the ring was full.
  uint64_t lost_frames() const { return lost_frames_.load(std::memory_order_relaxed); }
  /// Control records dropped because the ring was full.
  uint64_t lost_records() const { return lost_records_.load(std::memory_order_relaxed); }

 private:
  static size_t RecordBytes(size_t payload_bytes) {
    return sizeof(RecordHeader) + Pad(payload_bytes);
  }
  static size_t Pad(size_t bytes) { return (bytes + 7) & ~size_t{7}; }
  bool TryPush(const RecordHeader& header, const void* a, size_t a_bytes, const void* b,
               size_t b_bytes);
  void CopyIn(uint64_t pos, const void* src, size_t bytes);
  void CountLost(uint64_t frames);

  const size_t capacity_;
  std::unique_ptr<uint8_t[]> bytes_;
  alignas(64) std::atomic<uint64_t> head_{0};  // written by the producer
  alignas(64) std::atomic<uint64_t> tail_{0};  // written by the consumer
  alignas(64) uint64_t pending_silence_ = 0;   // producer only: lost frames not yet re-sent
  std::atomic<uint64_t> lost_frames_{0};
  std::atomic<uint64_t> lost_records_{0};
};

}  // namespace chronus::hal::vcard
