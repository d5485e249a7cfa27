// Writes one take at a time so that the file on the card is a valid WAV at every instant, holding
// all audio up to the last flush. Used by the recorder's writer thread only (not thread-safe,
// except for counters()).
//
// A flush (every flush_interval of audio or of wall time, whichever comes first; or when the
// staging buffer is full):
//   1. fallocate(KEEP_SIZE) the next preallocate_bytes chunk when the audio reaches it,
//   2. pwrite the staged audio in one call, starting at the 4 KiB boundary before the old end
//      (the partial last page is rewritten whole, so writes are block-aligned and never need a
//      read-modify-write),
//   3. fdatasync (audio and file size on the card),
//   4. pwrite the 4096-byte header block with the new sizes (RIFF size and data size, or the
//      ds64 sizes), one aligned block,
//   5. fdatasync.
// Power lost before 4 completes leaves the previous header, which describes audio that step 3 of
// the previous flush made durable: the file stays valid and holds all audio up to that flush.
// Nothing else is written between flushes, so after a crash the file length equals what its
// header describes except inside the window between 2 and 4.
#pragma once

#include "firmware/recorder/recorder_types.h"
#include "firmware/recorder/take_io.h"
#include "firmware/recorder/wav_layout.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

namespace chronus::firmware {

struct TakeWriterConfig {
  uint32_t sample_rate = 48000;
  uint32_t channels = 2;
  uint32_t max_block_frames = 4096;
  std::chrono::nanoseconds flush_interval = std::chrono::seconds(1);
  uint64_t preallocate_bytes = uint64_t{4} << 20;
  uint64_t riff_limit = wav::kRiffLimit;  // RIFF size above which the take becomes RF64
  RecorderLogFn log;
};

// Counters readable from any thread (written by the writer thread only).
struct TakeWriterCounters {
  std::atomic<uint64_t> frames{0};          // frames in the current/last take (staged + on card)
  std::atomic<uint64_t> flushed_frames{0};  // frames of the current/last take on the card
  std::atomic<uint64_t> gaps{0};            // gap markers, all takes
  std::atomic<uint64_t> bytes_written{0};
  std::atomic<uint64_t> audio_bytes_written{0};
  std::atomic<uint64_t> header_bytes_written{0};
  std::atomic<uint64_t> write_calls{0};
  std::atomic<uint64_t> largest_write{0};
  std::atomic<uint64_t> syncs{0};
  std::atomic<uint64_t> flushes{0};
  std::atomic<uint64_t> slowest_flush_us{0};
};

class TakeWriter {
 public:
  using Clock = std::chrono::steady_clock;

  // Allocates the staging buffer (about one flush interval of audio). Throws
  // std::invalid_argument for channels 0 or > 256, sample_rate or max_block_frames 0.
  TakeWriter(const TakeWriterConfig& config, TakeIo& io);
  ~TakeWriter();
  TakeWriter(const TakeWriter&) = delete;
  TakeWriter& operator=(const TakeWriter&) = delete;

  // Takes over `fd`, whose header block `header` (no audio, state open) is already durable, and
  // starts writing the take at `path`. Any previous take must be finished or failed.
  void Begin(int fd, std::string path, const wav::TakeHeader& header, Clock::time_point now);
  bool active() const { return fd_ >= 0; }
  const std::string& path() const { return path_; }

  // Converts a block (frames * channels int32 samples, top 24 bits kept) into the staging
  // buffer, flushing first if it does not fit. `gap_blocks` / `gap_frames`: blocks dropped just
  // before this one (marked as a gap at the current position). frames <= max_block_frames.
  // False if the take is not active or a flush failed (the take is then over: failure()).
  bool Append(const int32_t* interleaved, uint32_t frames, uint32_t gap_blocks, uint64_t gap_frames,
              Clock::time_point now);
  // True when staged audio reached flush_interval, or the oldest staged block waited that long.
  bool FlushDue(Clock::time_point now) const;
  // Puts everything staged on the card (see above). False on failure (take over).
  bool Flush();
  // Last flush, gap trailer (cue points), header marked done, preallocation released, file
  // closed. False on failure (the file is then left valid at its last flush where possible).
  bool Finish();
  // Closes the file without writing anything more, as a crash would (tests).
  void AbandonForTest();

  RecorderStopReason failure() const { return failure_; }
  const std::string& error() const { return error_; }
  uint64_t frames() const { return frames_; }
  uint64_t flushed_frames() const { return durable_data_ / bytes_per_frame_; }
  bool rf64() const { return rf64_; }
  const TakeWriterCounters& counters() const { return counters_; }
  uint64_t staging_bytes() const { return staging_capacity_; }

 private:
  bool FlushImpl(bool final);
  bool WriteAll(const uint8_t* data, uint64_t bytes, uint64_t offset, uint64_t* done, bool header);
  bool WriteHeader(uint64_t data_bytes, uint64_t trailer_bytes, wav::TakeState state);
  bool Sync();
  void Reserve(uint64_t end);
  void WriteSidecar();
  bool Seal(uint64_t data_bytes);
  bool Fail(const std::string& what, int err, uint64_t written_end);
  void Close();
  void Log(RecorderLogLevel level, const std::string& text) const;

  const TakeWriterConfig config_;
  TakeIo& io_;
  const uint64_t bytes_per_frame_;
  const uint64_t flush_frames_;
  const uint64_t staging_capacity_;
  std::vector<uint8_t> stage_;   // file bytes [stage_off_, stage_off_ + stage_len_)
  std::vector<uint8_t> header_;  // header block scratch

  int fd_ = -1;
  std::string path_;
  wav::TakeHeader header_template_;
  uint64_t stage_off_ = wav::kDataOffset;  // file offset of stage_[0], 4 KiB aligned
  uint64_t stage_len_ = 0;
  uint64_t durable_data_ = 0;  // audio bytes the header on the card covers
  uint64_t synced_data_ = 0;   // audio bytes known to be on the card (may exceed durable_data_)
  uint64_t frames_ = 0;
  bool rf64_ = false;
  uint64_t prealloc_end_ = 0;
  bool prealloc_enabled_ = true;
  bool low_space_logged_ = false;
  std::vector<uint64_t> block_ends_;  // file offsets where staged blocks end
  std::vector<wav::GapMark> gaps_;
  std::size_t gaps_in_sidecar_ = 0;
  std::size_t gaps_logged_ = 0;
  int sidecar_fd_ = -1;
  bool sidecar_failed_ = false;
  bool pending_ = false;
  Clock::time_point oldest_pending_{};
  RecorderStopReason failure_ = RecorderStopReason::kNone;
  std::string error_;
  TakeWriterCounters counters_;
};

}  // namespace chronus::firmware
