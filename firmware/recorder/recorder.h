// Recorder: writes what the box plays to a 24-bit PCM WAV file on the SD card.
//
// Threads:
//  - audio thread: exactly one thread calls PushRt (RT-safe: no allocation, lock, syscall,
//    logging or exception).
//  - control thread(s): StartNonRt / StopNonRt / last_error / the constructor and destructor.
//    Control calls are serialised internally and may block (file creation, fsync).
//  - writer thread "chronus-rec" (internal, non-RT): owns the open file, drains the block ring,
//    writes with libsndfile and keeps the WAV header valid during the take.
//  - counters (recording, recorded_frames, dropped_blocks, write_errors): any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

namespace chronus::firmware {

struct RecorderConfig {
  std::filesystem::path directory;   // recordings directory; created on StartNonRt if missing
  uint32_t sample_rate = 48000;      // Hz, written to the WAV header
  uint32_t channels = 2;             // interleaved channels per frame, 1..256
  uint32_t max_block_frames = 4096;  // frames; largest block PushRt accepts
  uint32_t ring_blocks = 256;        // preallocated blocks; each PushRt call uses one block, so
                                     // the buffer holds ring_blocks calls (memory:
                                     // ring_blocks * max_block_frames * channels * 4 bytes)
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

  // Control thread, non-RT. Allocates the whole block ring and starts the writer thread
  // (named "chronus-rec"). Throws std::invalid_argument for a config with sample_rate,
  // channels, max_block_frames or ring_blocks equal to 0 (or channels > 256), std::bad_alloc /
  // std::system_error if memory or the thread cannot be obtained. Does not touch the disk.
  explicit Recorder(const RecorderConfig& config);

  // Control thread, non-RT. Finalizes a running take (as StopNonRt) and joins the writer.
  // The audio thread must no longer call PushRt.
  ~Recorder();

  Recorder(const Recorder&) = delete;
  Recorder& operator=(const Recorder&) = delete;

  // Control thread(s), non-RT, may block (directory creation, file creation, and finalizing a
  // previous take). Opens a new take in config.directory (created if missing).
  // `name` may be empty (-> "take-YYYYmmdd-HHMMSS", local time) or user-given; it is sanitized
  // with SanitizeTakeStem (only [A-Za-z0-9._-], no leading dots, at most 64 bytes, ".wav"
  // appended) so the file is always directly inside the directory. An existing file is never
  // overwritten: "-1", "-2" ... (up to "-9999") are appended; the file is created with O_EXCL.
  // If a take is already running it is stopped (finalized) first and the new one started.
  // When this returns ok, the first block of any PushRt call that begins afterwards goes into
  // the new file. Returns {true, path} or {false, error} (directory not creatable, file not
  // creatable, libsndfile error); on failure nothing is recording.
  Result StartNonRt(std::string_view name);

  // Control thread(s), non-RT, may block (drains pending blocks, finalizes, fsyncs). Stops the
  // take; returns once every block whose PushRt returned before this call is written and the
  // file is finalized (valid WAV header, data on disk). Returns {true, path} for a finalized
  // take, {true, ""} if nothing was recording, {false, error} if the take had already been
  // stopped by a write error (reported once) or finalizing failed.
  Result StopNonRt();

  // Audio thread only (exactly one producer thread). RT-safe: no allocation, lock, syscall or
  // exception; wait-free. Offers one interleaved block of `frames` frames (frames * channels
  // int32 samples, full scale int32; the file keeps the top 24 bits). Returns at once if not
  // recording or frames == 0. If no free block is available, or frames > max_block_frames,
  // the WHOLE block is dropped and counted in dropped_blocks(); a block is never split.
  void PushRt(const int32_t* interleaved, uint32_t frames) noexcept;

  // Any thread. True from a successful StartNonRt until StopNonRt begins or a write error
  // stops the take.
  bool recording() const noexcept;
  // Any thread. Frames written to the current (or last) take's file so far.
  uint64_t recorded_frames() const noexcept;
  // Any thread. Blocks dropped by PushRt (ring full or oversized) since construction.
  uint64_t dropped_blocks() const noexcept;
  // Any thread. Write/finalize failures since construction (each one stops its take).
  uint64_t write_errors() const noexcept;
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
