#include "hal/vcard/capture_writer.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <unistd.h>

#include <bit>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <utility>

namespace chronus::hal::vcard {

namespace {

// Ring payloads are written with sf_write_raw, i.e. as the file's little-endian bytes.
static_assert(std::endian::native == std::endian::little, "capture assumes a little-endian host");

constexpr auto kPollInterval = std::chrono::milliseconds(10);
constexpr auto kHeaderInterval = std::chrono::milliseconds(100);

int SfFormat(PcmFormat format) {
  switch (format) {
    case PcmFormat::kS16:
      return SF_FORMAT_WAV | SF_FORMAT_PCM_16;
    case PcmFormat::kS32:
      return SF_FORMAT_WAV | SF_FORMAT_PCM_32;
    case PcmFormat::kFloat:
      return SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  }
  return 0;
}

}  // namespace

CaptureWriter::CaptureWriter(std::string path, CaptureRing* ring)
    : path_(std::move(path)), ring_(ring) {
  thread_ = std::thread([this] { Run(); });
}

CaptureWriter::~CaptureWriter() { Stop(); }

void CaptureWriter::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  thread_.join();
}

int CaptureWriter::CheckWritable(const std::string& path, bool truncate) {
  const int fd =
      open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | (truncate ? O_TRUNC : 0), 0644);
  if (fd < 0) return -errno;
  close(fd);
  return 0;
}

void CaptureWriter::Run() {
  pthread_setname_np(pthread_self(), "vcard-capture");
  // Lowest real-time priority where permitted, always unpinned: the capture is what tests read
  // back, and it must keep up while compilers and other tests load the machine. It still yields to
  // every audio thread (they run at higher priorities). Without permission it stays a normal
  // thread.
  sched_param param{};
  param.sched_priority = 1;
  pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
  cpu_set_t all;
  CPU_ZERO(&all);
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu) CPU_SET(cpu, &all);
  pthread_setaffinity_np(pthread_self(), sizeof(all), &all);
  auto last_header = std::chrono::steady_clock::now();
  for (;;) {
    // Read the flag before draining so that everything pushed before Stop() is written.
    const bool stopping = stop_.load(std::memory_order_acquire);
    Drain();
    if (stopping) break;
    const auto now = std::chrono::steady_clock::now();
    if (file_ != nullptr && frames_since_header_ > 0 && now - last_header >= kHeaderInterval) {
      sf_command(file_, SFC_UPDATE_HEADER_NOW, nullptr, 0);
      frames_since_header_ = 0;
      last_header = now;
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  CloseFile();
  if (ring_->lost_frames() > 0 || ring_->lost_records() > 0) {
    std::fprintf(stderr,
                 "chronus_vcard: capture ring overflowed: %" PRIu64
                 " frames written as silence, %" PRIu64 " control records lost\n",
                 ring_->lost_frames(), ring_->lost_records());
  }
}

void CaptureWriter::Drain() {
  RecordHeader header;
  while (ring_->Peek(&header)) {
    Handle(header);
    ring_->Pop(header);
  }
}

void CaptureWriter::Handle(const RecordHeader& header) {
  const uint8_t* a;
  const uint8_t* b;
  size_t a_bytes;
  size_t b_bytes;
  ring_->Payload(header, &a, &a_bytes, &b, &b_bytes);
  auto read_payload = [&](void* dst, size_t bytes) {
    if (header.payload_bytes != bytes) return false;
    std::memcpy(dst, a, a_bytes);
    std::memcpy(static_cast<uint8_t*>(dst) + a_bytes, b, b_bytes);
    return true;
  };
  switch (header.type) {
    case RecordType::kFormat: {
      CaptureFormat format;
      if (read_payload(&format, sizeof(format))) OpenFile(format);
      break;
    }
    case RecordType::kContinue: {
      Continuation continuation;
      if (read_payload(&continuation, sizeof(continuation))) ContinueFile(continuation);
      break;
    }
    case RecordType::kStart: {
      int64_t t0_ns = 0;
      if (read_payload(&t0_ns, sizeof(t0_ns))) WriteT0(t0_ns);
      break;
    }
    case RecordType::kSilence:
      WriteSilence(header.frames);
      break;
    case RecordType::kData:
      WriteBytes(a, a_bytes);
      WriteBytes(b, b_bytes);
      break;
  }
}

void CaptureWriter::OpenFile(const CaptureFormat& format) {
  CloseFile();
  format_ = format;
  failed_ = false;
  SF_INFO info{};
  info.samplerate = static_cast<int>(format.rate_hz);
  info.channels = static_cast<int>(format.channels);
  info.format = SfFormat(format.format);
  file_ = sf_open(path_.c_str(), SFM_WRITE, &info);
  if (file_ == nullptr) {
    std::fprintf(stderr, "chronus_vcard: cannot create capture '%s': %s\n", path_.c_str(),
                 sf_strerror(nullptr));
    failed_ = true;
    return;
  }
  // Keep the header valid after every flush.
  sf_command(file_, SFC_UPDATE_HEADER_NOW, nullptr, 0);
}

void CaptureWriter::ContinueFile(const Continuation& continuation) {
  CloseFile();
  const CaptureFormat& format = continuation.format;
  SF_INFO info{};
  SNDFILE* file = sf_open(path_.c_str(), SFM_RDWR, &info);
  if (file != nullptr && info.samplerate == static_cast<int>(format.rate_hz) &&
      info.channels == static_cast<int>(format.channels) &&
      info.format == SfFormat(format.format)) {
    file_ = file;
    format_ = format;
    failed_ = false;
    sf_count_t frames = sf_seek(file_, 0, SEEK_END);
    if (frames > continuation.frames) {
      // More than the timeline accounted (not expected): cut back so frame f stays at its time.
      sf_count_t keep = continuation.frames;
      sf_command(file_, SFC_FILE_TRUNCATE, &keep, sizeof(keep));
      frames = sf_seek(file_, 0, SEEK_END);
    }
    if (frames >= 0 && frames < continuation.frames) {
      WriteSilence(static_cast<uint64_t>(continuation.frames - frames));
    }
    sf_command(file_, SFC_UPDATE_HEADER_NOW, nullptr, 0);
    return;
  }
  if (file != nullptr) sf_close(file);
  std::fprintf(stderr,
               "chronus_vcard: cannot continue capture '%s' (missing or another format); "
               "recreating it, with silence for the %" PRId64 " frames it held\n",
               path_.c_str(), continuation.frames);
  OpenFile(format);
  if (continuation.frames > 0) WriteSilence(static_cast<uint64_t>(continuation.frames));
}

void CaptureWriter::CloseFile() {
  if (file_ == nullptr) return;
  sf_close(file_);  // finalises the header
  file_ = nullptr;
}

void CaptureWriter::WriteBytes(const uint8_t* bytes, size_t count) {
  if (file_ == nullptr || count == 0) return;
  const auto want = static_cast<sf_count_t>(count);
  if (sf_write_raw(file_, bytes, want) != want && !failed_) {
    std::fprintf(stderr, "chronus_vcard: writing capture '%s' failed: %s\n", path_.c_str(),
                 sf_strerror(file_));
    failed_ = true;
  }
  frames_since_header_ += count / format_.frame_bytes();
}

void CaptureWriter::WriteSilence(uint64_t frames) {
  static constexpr uint8_t kZeros[8192] = {};
  if (file_ == nullptr) return;
  const uint64_t frame_bytes = format_.frame_bytes();
  const uint64_t chunk_frames = sizeof(kZeros) / frame_bytes;
  while (frames > 0) {
    const uint64_t n = frames < chunk_frames ? frames : chunk_frames;
    WriteBytes(kZeros, static_cast<size_t>(n * frame_bytes));
    frames -= n;
  }
}

void CaptureWriter::WriteT0(int64_t t0_ns) {
  const std::string final_path = path_ + ".t0";
  const std::string tmp_path = final_path + ".tmp";
  FILE* f = std::fopen(tmp_path.c_str(), "w");
  if (f == nullptr) {
    std::fprintf(stderr, "chronus_vcard: cannot write '%s': %s\n", tmp_path.c_str(),
                 std::strerror(errno));
    return;
  }
  std::fprintf(f, "%" PRId64 "\n", t0_ns);
  const bool ok = std::fclose(f) == 0;
  if (!ok || std::rename(tmp_path.c_str(), final_path.c_str()) != 0) {
    std::fprintf(stderr, "chronus_vcard: cannot write '%s': %s\n", final_path.c_str(),
                 std::strerror(errno));
  }
}

}  // namespace chronus::hal::vcard
