// Recorder: writes what the box plays to a 24-bit PCM WAV file on the SD card, so that the file
// survives a crash, a power cut, a full or removed card.
//
// Threads:
//  - audio thread: exactly one thread calls PushRt (RT-safe: no allocation, lock, syscall,
//    logging or exception).
//  - control thread(s): StartNonRt / StopNonRt / RecoverNonRt / last_error / the constructor and
//    destructor. Control calls are serialised internally and may block (file creation, fsync).
//  - writer thread "chronus-rec" (internal, non-RT): owns the open file, drains the block ring
//    into a staging buffer and flushes it to the card (take_writer.h): every flush_interval the
//    audio is written in one block-aligned call and fdatasync'ed, then the header block with the
//    new sizes is written and fdatasync'ed. At every instant the file is a valid WAV holding all
//    audio up to the last flush; past 4 GiB it becomes RF64 (wav_layout.h).
//  - counters (recording, recorded_frames, flushed_frames, dropped_blocks, gaps, write_errors,
//    stop_reason, stats): any thread.
#pragma once

#include "firmware/recorder/recorder_types.h"
#include "firmware/recorder/take_io.h"

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace chronus::firmware {

struct RecorderConfig {
  std::filesystem::path directory;   // recordings directory; created on StartNonRt if missing
  uint32_t sample_rate = 48000;      // Hz, written to the WAV header
  uint32_t channels = 2;             // interleaved channels per frame, 1..256
  uint32_t max_block_frames = 4096;  // frames; largest block PushRt accepts
  uint32_t ring_blocks = 256;        // preallocated blocks; each PushRt call uses one block, so
                                     // the buffer holds ring_blocks calls (memory:
                                     // ring_blocks * max_block_frames * channels * 4 bytes)
  // Board key [recorder] flush_interval_s. At most this much audio is lost by a power cut: the
  // staged audio and then the header sizes are written and fdatasync'ed at least this often.
  // Must be > 0. The staging buffer holds about one interval (capped at 32 MiB).
  std::chrono::nanoseconds flush_interval = std::chrono::seconds(1);
  // Space reserved ahead with fallocate (KEEP_SIZE), so the take is contiguous on the card and a
  // nearly full card is noticed early. 0 disables preallocation.
  uint64_t preallocate_bytes = uint64_t{4} << 20;
  // RIFF size above which a take switches to RF64 (0xFFFFFFFF, i.e. before 4 GiB; tests lower
  // it).
  uint64_t rf64_threshold_bytes = 0xFFFFFFFFULL;
  // Log lines (why a take stopped, gaps, RF64 switch, low space, recovered takes). May be empty.
  RecorderLogFn log;
  // Tests only: the file operations of takes (fault injection). nullptr = the system calls.
  TakeIo* io = nullptr;
};

// Outcome of a control operation: on success `path_or_error` is the take's file path (may be
// empty, see StopNonRt); on failure it is a human-readable error message.
struct RecorderResult {
  bool ok = false;
  std::string path_or_error;
};

class Recorder {
 public:
  using Result = RecorderResult;

  // Control thread, non-RT. Allocates the whole block ring and staging buffer and starts the
  // writer thread (named "chronus-rec"). Throws std::invalid_argument for a config with
  // sample_rate, channels, max_block_frames, ring_blocks or flush_interval equal to 0 (or
  // channels > 256), std::bad_alloc / std::system_error if memory or the thread cannot be
  // obtained. Does not touch the disk.
  explicit Recorder(const RecorderConfig& config);

  // Control thread, non-RT. Finalizes a running take (as StopNonRt) and joins the writer.
  // The audio thread must no longer call PushRt.
  ~Recorder();

  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Control thread, non-RT, may block. Call once at start-up, before the first take: finds the
  // takes a crash or power cut left unfinished in config.directory, repairs them in place
  // (never overwriting audio; see RecoverTakes in take_files.h), logs one line each and returns
  // them. Takes being recorded (by this or another process) are left alone.
  std::vector<RecoveredTake> RecoverNonRt();

  // Control thread(s), non-RT, may block (directory creation, file creation, and finalizing a
  // previous take). Opens a new take in config.directory (created if missing).
  // `name` may be empty (-> "take-NNNN-YYYYmmdd-HHMMSS": NNNN = 1 + the largest number of the
  // unnamed takes in the directory, local time) or user-given; it is sanitized with
  // SanitizeTakeStem (only [A-Za-z0-9._-], no leading dots, at most 64 bytes, ".wav" appended)
  // so the file is always directly inside the directory. An existing file is never
  // overwritten: "-1", "-2" ... (up to "-9999") are appended; the file appears with a valid
  // header already on the card (CreateTakeFile). If a take is already running it is stopped
  // (finalized) first and the new one started. When this returns ok, the first block of any
  // PushRt call that begins afterwards goes into the new file. Returns {true, path} or
  // {false, error} (directory not creatable, file not creatable, card full); on failure nothing
  // is recording.
  Result StartNonRt(std::string_view name);

  // Control thread(s), non-RT, may block (drains pending blocks, finalizes, fdatasyncs). Stops
  // the take; returns once every block whose PushRt returned before this call is written and the
  // file is finalized (valid WAV header, gap cue points, data on disk). Returns {true, path} for
  // a finalized take, {true, ""} if nothing was recording, {false, error} if the take had
  // already been stopped by a write error (reported once) or finalizing failed.
  Result StopNonRt();

  // Audio thread only (exactly one producer thread). RT-safe: no allocation, lock, syscall or
  // exception; wait-free. Offers one interleaved block of `frames` frames (frames * channels
  // int32 samples, full scale int32; the file keeps the top 24 bits). Returns at once if not
  // recording or frames == 0. If no free block is available, or frames > max_block_frames,
  // the WHOLE block is dropped and counted in dropped_blocks(); a block is never split. The
  // next block that gets through carries the count, and the writer marks the gap there (a cue
  // point in the WAV and a line in "<take>.wav.gaps").
  void PushRt(const int32_t* interleaved, uint32_t frames) noexcept;

  // Any thread. True from a successful StartNonRt until StopNonRt begins or a write error
  // stops the take.
  bool recording() const noexcept;
  // Any thread. Frames in the current (or last) take so far, including audio staged for the
  // next flush; after a write error, the frames the file kept.
  uint64_t recorded_frames() const noexcept;
  // Any thread. Frames of the current (or last) take that are on the card (covered by its
  // header): what survives a power cut now.
  uint64_t flushed_frames() const noexcept;
  // Any thread. Blocks dropped by PushRt (ring full or oversized) since construction.
  uint64_t dropped_blocks() const noexcept;
  // Any thread. Gaps marked in takes (runs of dropped blocks followed by audio) since
  // construction.
  uint64_t gaps() const noexcept;
  // Any thread. Write/finalize failures since construction (each one stops its take).
  uint64_t write_errors() const noexcept;
  // Any thread. Why the last take stopped by itself; kNone again after a successful start.
  RecorderStopReason stop_reason() const noexcept;
  // Any thread. Unfinished takes found by RecoverNonRt.
  uint64_t recovered_takes() const noexcept;
  // Any thread. Cumulative I/O figures (bytes written, write sizes, fdatasyncs, flush times).
  RecorderStats stats() const noexcept;
  // Control thread, non-RT. Message of the most recent error (empty if none).
  std::string last_error() const;

  // Test hook, any thread: while paused the writer does not drain in the background (the
  // ring fills up and PushRt drops). StopNonRt still drains everything.
  void SetWriterPausedForTest(bool paused) noexcept;

 private:
  class Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace chronus::firmware
