#include "firmware/recorder/take_writer.h"

#include "firmware/recorder/take_files.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace chronus::firmware {
namespace {

constexpr uint64_t kPage = 4096;
constexpr uint64_t kMinStaging = uint64_t{64} << 10;
constexpr uint64_t kMaxStaging = uint64_t{32} << 20;

class Posix final : public TakeIo {
 public:
  ssize_t Pwrite(int fd, const void* data, std::size_t bytes, uint64_t offset) override {
    return ::pwrite(fd, data, bytes, static_cast<off_t>(offset));
  }
  int Fdatasync(int fd) override { return ::fdatasync(fd); }
  int Ftruncate(int fd, uint64_t size) override {
    return ::ftruncate(fd, static_cast<off_t>(size));
  }
  int Preallocate(int fd, uint64_t offset, uint64_t bytes) override {
    return ::fallocate(fd, FALLOC_FL_KEEP_SIZE, static_cast<off_t>(offset),
                       static_cast<off_t>(bytes));
  }
  void DropCache(int fd, uint64_t offset, uint64_t bytes) override {
    (void)::posix_fadvise(fd, static_cast<off_t>(offset), static_cast<off_t>(bytes),
                          POSIX_FADV_DONTNEED);
  }
};

uint64_t RoundUp(uint64_t v, uint64_t to) { return (v + to - 1) / to * to; }

std::string Seconds(uint64_t frames, uint32_t rate) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.3f", static_cast<double>(frames) / rate);
  return buf;
}

RecorderStopReason Classify(int err) {
  switch (err) {
    case ENOSPC:
    case EDQUOT:
      return RecorderStopReason::kDiskFull;
    case EFBIG:
      return RecorderStopReason::kFileTooLarge;
    case EIO:
    case ENODEV:
    case ENXIO:
    case EROFS:
    case ESTALE:
    case ENOTCONN:
    case ESHUTDOWN:
    case EUCLEAN:
    case ENOMEDIUM:
    case EREMOTEIO:
      return RecorderStopReason::kIoError;
    default:
      return RecorderStopReason::kWriteError;
  }
}

const TakeWriterConfig& Validated(const TakeWriterConfig& c) {
  if (c.sample_rate == 0 || c.channels == 0 || c.channels > 256 || c.max_block_frames == 0) {
    throw std::invalid_argument("TakeWriter: sample_rate, channels (1..256), max_block_frames");
  }
  return c;
}

uint64_t FlushFrames(const TakeWriterConfig& c) {
  const double frames = std::ceil(std::chrono::duration<double>(c.flush_interval).count() *
                                  static_cast<double>(c.sample_rate));
  return frames < 1.0 ? 1 : static_cast<uint64_t>(frames);
}

uint64_t StagingBytes(const TakeWriterConfig& c) {
  const uint64_t bpf = wav::kBytesPerSample * c.channels;
  const uint64_t flush_bytes = std::clamp(FlushFrames(c) * bpf, kMinStaging, kMaxStaging);
  // Room for a full flush, one more block, and the partial page carried over from the last one.
  return RoundUp(flush_bytes + uint64_t{c.max_block_frames} * bpf, kPage) + kPage;
}

}  // namespace

TakeIo& PosixTakeIo() {
  static Posix io;
  return io;
}

const char* RecorderStopReasonName(RecorderStopReason reason) {
  switch (reason) {
    case RecorderStopReason::kNone:
      return "none";
    case RecorderStopReason::kDiskFull:
      return "disk full";
    case RecorderStopReason::kFileTooLarge:
      return "file too large";
    case RecorderStopReason::kIoError:
      return "I/O error (card removed or failing)";
    case RecorderStopReason::kWriteError:
      return "write error";
  }
  return "unknown";
}

TakeWriter::TakeWriter(const TakeWriterConfig& config, TakeIo& io)
    : config_(Validated(config)),
      io_(io),
      bytes_per_frame_(wav::kBytesPerSample * config.channels),
      flush_frames_(FlushFrames(config)),
      staging_capacity_(StagingBytes(config)),
      stage_(staging_capacity_ + 1, 0),  // + the RIFF pad byte; value-initialised: touched
      header_(wav::kHeaderBytes, 0) {
  block_ends_.reserve(1024);
}

TakeWriter::~TakeWriter() { Close(); }

void TakeWriter::Begin(int fd, std::string path, const wav::TakeHeader& header,
                       Clock::time_point now) {
  Close();
  fd_ = fd;
  path_ = std::move(path);
  header_template_ = header;
  stage_off_ = wav::kDataOffset;
  stage_len_ = 0;
  durable_data_ = 0;
  synced_data_ = 0;
  frames_ = 0;
  rf64_ = header.rf64;
  prealloc_end_ = wav::kDataOffset;
  prealloc_enabled_ = config_.preallocate_bytes > 0;
  low_space_logged_ = false;
  block_ends_.clear();
  gaps_.clear();
  gaps_in_sidecar_ = 0;
  gaps_logged_ = 0;
  sidecar_failed_ = false;
  pending_ = false;
  oldest_pending_ = now;
  failure_ = RecorderStopReason::kNone;
  error_.clear();
  counters_.frames.store(0, std::memory_order_relaxed);
  counters_.flushed_frames.store(0, std::memory_order_relaxed);
  Reserve(wav::kDataOffset + 1);  // the first chunk, right away
}

bool TakeWriter::Append(const int32_t* interleaved, uint32_t frames, uint32_t gap_blocks,
                        uint64_t gap_frames, Clock::time_point now) {
  if (fd_ < 0) return false;
  const uint64_t bytes = uint64_t{frames} * bytes_per_frame_;
  if (frames > config_.max_block_frames) return true;  // cannot happen: PushRt drops these
  if (stage_len_ + bytes > staging_capacity_ && !FlushImpl(false)) return false;
  if (gap_blocks > 0) {
    gaps_.push_back(wav::GapMark{frames_, gap_blocks, gap_frames});
    counters_.gaps.fetch_add(1, std::memory_order_relaxed);
  }
  // int32 -> 24-bit little-endian: the top three bytes of each sample.
  uint8_t* out = stage_.data() + stage_len_;
  const std::size_t samples = std::size_t{frames} * config_.channels;
  for (std::size_t i = 0; i < samples; ++i) {
    const auto s = static_cast<uint32_t>(interleaved[i]);
    out[0] = static_cast<uint8_t>(s >> 8);
    out[1] = static_cast<uint8_t>(s >> 16);
    out[2] = static_cast<uint8_t>(s >> 24);
    out += 3;
  }
  stage_len_ += bytes;
  frames_ += frames;
  block_ends_.push_back(stage_off_ + stage_len_);
  if (!pending_) {
    pending_ = true;
    oldest_pending_ = now;
  }
  counters_.frames.store(frames_, std::memory_order_relaxed);
  return true;
}

bool TakeWriter::FlushDue(Clock::time_point now) const {
  if (fd_ < 0 || !pending_) return false;
  const uint64_t staged = stage_off_ + stage_len_ - wav::kDataOffset - durable_data_;
  return staged >= flush_frames_ * bytes_per_frame_ ||
         now - oldest_pending_ >= config_.flush_interval;
}

bool TakeWriter::Flush() { return FlushImpl(false); }

bool TakeWriter::FlushImpl(bool final) {
  if (fd_ < 0) return false;
  const auto started = Clock::now();
  const uint64_t end = stage_off_ + stage_len_;  // file offset where the audio ends
  const uint64_t data = end - wav::kDataOffset;
  const uint64_t pad = data & 1U;
  const bool new_audio = data != durable_data_;
  if (!new_audio && !final) {
    pending_ = false;
    return true;
  }
  if (new_audio) {
    if (pad != 0) stage_[stage_len_] = 0;
    Reserve(end + pad);
    uint64_t done = 0;
    if (!WriteAll(stage_.data(), stage_len_ + pad, stage_off_, &done, false)) {
      return Fail("write", errno, stage_off_ + done);
    }
    if (!Sync()) return Fail("fdatasync", errno, 0);
    synced_data_ = data;
  }
  wav::TakeState state = wav::TakeState::kOpen;
  if (final) {
    if (gaps_.empty()) {
      state = wav::TakeState::kDone;
      (void)io_.Ftruncate(fd_, end + pad);  // same size: releases the preallocated blocks
    } else {
      state = wav::TakeState::kFinishing;  // the gap trailer follows; see Finish()
    }
  }
  if (!WriteHeader(data, 0, state)) return Fail("header write", errno, 0);
  if (!Sync()) return Fail("fdatasync", errno, 0);
  durable_data_ = data;
  block_ends_.clear();
  counters_.flushed_frames.store(durable_data_ / bytes_per_frame_, std::memory_order_relaxed);
  WriteSidecar();

  // Keep only the partial last page; the whole pages are on the card and leave the page cache.
  const uint64_t keep_from = end / kPage * kPage;
  if (keep_from > stage_off_) {
    io_.DropCache(fd_, stage_off_, keep_from - stage_off_);
    std::memmove(stage_.data(), stage_.data() + (keep_from - stage_off_), end - keep_from);
    stage_len_ = end - keep_from;
    stage_off_ = keep_from;
  }
  pending_ = false;
  counters_.flushes.fetch_add(1, std::memory_order_relaxed);
  const auto us = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - started).count());
  if (us > counters_.slowest_flush_us.load(std::memory_order_relaxed)) {
    counters_.slowest_flush_us.store(us, std::memory_order_relaxed);
  }
  return true;
}

bool TakeWriter::Finish() {
  if (fd_ < 0) return false;
  if (!FlushImpl(true)) return false;
  if (!gaps_.empty()) {
    // The header now says 'F' (audio final): a crash from here on is repaired by the recovery,
    // which rebuilds the trailer from the sidecar.
    const std::vector<uint8_t> trailer = wav::BuildGapTrailer(gaps_, config_.sample_rate);
    const uint64_t at = wav::kDataOffset + durable_data_ + (durable_data_ & 1U);
    uint64_t done = 0;
    if (!WriteAll(trailer.data(), trailer.size(), at, &done, false) || !Sync()) {
      return Fail("gap marker write", errno, 0);
    }
    (void)io_.Ftruncate(fd_, at + trailer.size());  // releases the preallocated blocks
    if (!WriteHeader(durable_data_, trailer.size(), wav::TakeState::kDone) || !Sync()) {
      return Fail("header write", errno, 0);
    }
  }
  Close();
  return true;
}

void TakeWriter::AbandonForTest() { Close(); }

bool TakeWriter::WriteAll(const uint8_t* data, uint64_t bytes, uint64_t offset, uint64_t* done,
                          bool header) {
  *done = 0;
  while (*done < bytes) {
    const ssize_t n = io_.Pwrite(fd_, data + *done, bytes - *done, offset + *done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = ENOSPC;  // no progress and no error: treat as full
      return false;
    }
    const auto written = static_cast<uint64_t>(n);
    *done += written;
    counters_.write_calls.fetch_add(1, std::memory_order_relaxed);
    counters_.bytes_written.fetch_add(written, std::memory_order_relaxed);
    (header ? counters_.header_bytes_written : counters_.audio_bytes_written)
        .fetch_add(written, std::memory_order_relaxed);
    if (written > counters_.largest_write.load(std::memory_order_relaxed)) {
      counters_.largest_write.store(written, std::memory_order_relaxed);
    }
  }
  return true;
}

bool TakeWriter::WriteHeader(uint64_t data_bytes, uint64_t trailer_bytes, wav::TakeState state) {
  wav::TakeHeader h = header_template_;
  h.data_bytes = data_bytes;
  h.trailer_bytes = trailer_bytes;
  h.state = state;
  const bool was_rf64 = rf64_;
  rf64_ = rf64_ || wav::NeedsRf64(h.file_bytes(), config_.riff_limit);
  h.rf64 = rf64_;
  wav::BuildHeader(h, header_);
  uint64_t done = 0;
  if (!WriteAll(header_.data(), header_.size(), 0, &done, true)) return false;
  if (rf64_ && !was_rf64) {
    Log(RecorderLogLevel::kInfo, path_ + " passed the 4 GiB RIFF limit: the take is now RF64");
  }
  return true;
}

bool TakeWriter::Sync() {
  counters_.syncs.fetch_add(1, std::memory_order_relaxed);
  for (;;) {
    if (io_.Fdatasync(fd_) == 0) return true;
    if (errno != EINTR) return false;
  }
}

void TakeWriter::Reserve(uint64_t end) {
  if (!prealloc_enabled_ || end <= prealloc_end_) return;
  const uint64_t chunk = config_.preallocate_bytes;
  const uint64_t target = (end / chunk + 1) * chunk;  // the whole chunk `end` falls into
  if (io_.Preallocate(fd_, prealloc_end_, target - prealloc_end_) == 0) {
    prealloc_end_ = target;
    return;
  }
  const int err = errno;
  if (err != ENOSPC && err != EDQUOT) {
    prealloc_enabled_ = false;  // not supported here (EOPNOTSUPP, ...): plain appends
    return;
  }
  if (!low_space_logged_) {
    low_space_logged_ = true;
    Log(RecorderLogLevel::kWarning, "the card is nearly full (no room to reserve " +
                                        std::to_string(chunk >> 20) + " MiB more for " + path_ +
                                        "): the take will stop cleanly when it is full");
  }
  if (io_.Preallocate(fd_, prealloc_end_, end - prealloc_end_) == 0) prealloc_end_ = end;
}

void TakeWriter::WriteSidecar() {
  if (gaps_logged_ < gaps_.size()) {
    uint64_t blocks = 0;
    uint64_t frames = 0;
    for (std::size_t i = gaps_logged_; i < gaps_.size(); ++i) {
      blocks += gaps_[i].dropped_blocks;
      frames += gaps_[i].dropped_frames;
    }
    Log(RecorderLogLevel::kWarning,
        "recording fell behind: " + std::to_string(blocks) + " blocks (" +
            Seconds(frames, config_.sample_rate) + " s) dropped in " +
            std::to_string(gaps_.size() - gaps_logged_) + " gap(s), first at " +
            Seconds(gaps_[gaps_logged_].frame, config_.sample_rate) + " s of " + path_ +
            "; marked as cue points and in " + path_ + ".gaps");
    gaps_logged_ = gaps_.size();
  }
  if (sidecar_failed_ || gaps_in_sidecar_ == gaps_.size()) return;
  const std::string sidecar = path_ + ".gaps";
  if (sidecar_fd_ < 0) {
    sidecar_fd_ = ::open(sidecar.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0644);
    if (sidecar_fd_ < 0) {
      sidecar_failed_ = true;
      Log(RecorderLogLevel::kWarning,
          "cannot create gap log " + sidecar + ": " +
              std::error_code(errno, std::generic_category()).message());
      return;
    }
    const std::string head = "# Chronus gap log of " +
                             std::filesystem::path(path_).filename().string() +
                             ": whole blocks dropped because the card was too slow\n";
    (void)!::write(sidecar_fd_, head.data(), head.size());
    SyncDirectory(std::filesystem::path(path_).parent_path());
  }
  std::string text;
  for (std::size_t i = gaps_in_sidecar_; i < gaps_.size(); ++i) {
    text += wav::FormatGapLine(gaps_[i], config_.sample_rate);
  }
  std::size_t off = 0;
  while (off < text.size()) {
    const ssize_t n = ::write(sidecar_fd_, text.data() + off, text.size() - off);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    off += static_cast<std::size_t>(n);
  }
  counters_.bytes_written.fetch_add(off, std::memory_order_relaxed);
  if (off != text.size() || ::fdatasync(sidecar_fd_) != 0) {
    sidecar_failed_ = true;
    Log(RecorderLogLevel::kWarning, "writing gap log " + sidecar + " failed: " +
                                        std::error_code(errno, std::generic_category()).message());
    return;
  }
  gaps_in_sidecar_ = gaps_.size();
}

// Leaves the file describing exactly `data_bytes` of audio, durable, marked done.
bool TakeWriter::Seal(uint64_t data_bytes) {
  const uint64_t end = wav::kDataOffset + data_bytes + (data_bytes & 1U);
  if (io_.Ftruncate(fd_, end) != 0 || !Sync()) return false;
  return WriteHeader(data_bytes, 0, wav::TakeState::kDone) && Sync();
}

bool TakeWriter::Fail(const std::string& what, int err, uint64_t written_end) {
  failure_ = Classify(err);
  // Audio known to be on the card: the last flush, or a newer fdatasync'ed write whose header
  // update failed.
  uint64_t keep = std::max(durable_data_, synced_data_);
  // A short write (card full) may have put more whole blocks on the card: keep them (Seal
  // fdatasyncs them before the header claims them).
  if (written_end > wav::kDataOffset + keep) {
    for (auto it = block_ends_.rbegin(); it != block_ends_.rend(); ++it) {
      if (*it <= written_end) {
        keep = std::max(keep, *it - wav::kDataOffset);
        break;
      }
    }
  }
  bool sealed = Seal(keep);
  if (!sealed && keep != durable_data_) {
    keep = durable_data_;
    sealed = Seal(keep);
  }
  if (!sealed) keep = durable_data_;  // what the header on the card still covers
  durable_data_ = keep;
  frames_ = keep / bytes_per_frame_;
  counters_.frames.store(frames_, std::memory_order_relaxed);
  counters_.flushed_frames.store(frames_, std::memory_order_relaxed);
  error_ = what + " of " + path_ +
           " failed: " + std::error_code(err, std::generic_category()).message() + " (" +
           RecorderStopReasonName(failure_) + "); the take was stopped and keeps " +
           Seconds(frames_, config_.sample_rate) + " s";
  if (!sealed) error_ += " (its header could not be finalized; the start-up recovery will)";
  Log(RecorderLogLevel::kError, "recording stopped: " + error_);
  Close();
  return false;
}

void TakeWriter::Close() {
  if (sidecar_fd_ >= 0) {
    ::close(sidecar_fd_);
    sidecar_fd_ = -1;
  }
  if (fd_ >= 0) {
    ::close(fd_);
    fd_ = -1;
  }
  pending_ = false;
}

void TakeWriter::Log(RecorderLogLevel level, const std::string& text) const {
  if (config_.log) config_.log(level, text);
}

}  // namespace chronus::firmware
