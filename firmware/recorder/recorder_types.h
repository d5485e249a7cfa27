// Types shared by the recorder's public interface and its parts.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>

namespace chronus::firmware {

enum class RecorderLogLevel : uint8_t { kInfo, kWarning, kError };

// Receives the recorder's log lines (take stopped and why, gaps marked, RF64 switch, low space,
// recovered takes). Called from the writer thread and from control threads, never from the audio
// thread; must be thread-safe. May be empty.
using RecorderLogFn = std::function<void(RecorderLogLevel, const std::string&)>;

// Why the last take stopped by itself (numeric values are what /status reports).
enum class RecorderStopReason : uint8_t {
  kNone = 0,          // no take has failed since the last successful start
  kDiskFull = 1,      // ENOSPC / EDQUOT
  kFileTooLarge = 2,  // EFBIG: file system or RLIMIT_FSIZE limit
  kIoError = 3,       // EIO, ENODEV, ENXIO, ENOMEDIUM, EROFS ...: card removed or failing
  kWriteError = 4,    // any other write error
};
const char* RecorderStopReasonName(RecorderStopReason reason);

// Cumulative I/O figures since the recorder was constructed (any thread, relaxed snapshot).
struct RecorderStats {
  uint64_t bytes_written = 0;         // every byte handed to pwrite (audio, headers, trailers)
  uint64_t audio_bytes_written = 0;   // audio bytes, counting rewrites of a partial last page
  uint64_t header_bytes_written = 0;  // header block rewrites (4096 bytes each)
  uint64_t write_calls = 0;           // pwrite calls
  uint64_t largest_write = 0;         // bytes of the largest pwrite
  uint64_t syncs = 0;                 // fdatasync calls on takes
  uint64_t flushes = 0;               // completed flushes (audio + header on the card)
  uint64_t slowest_flush_us = 0;      // longest flush (write + 2 fdatasync + header), us
};

// Outcome of the start-up recovery for one unfinished take.
struct RecoveredTake {
  std::filesystem::path path;
  bool ok = false;               // the take is now a finished, valid WAV (checked with libsndfile)
  bool same_boot = false;        // the take was cut by a process crash, not a reboot/power cut
  uint64_t header_frames = 0;    // frames its header covered (the last complete flush)
  uint64_t frames = 0;           // frames the repaired take holds
  uint64_t discarded_bytes = 0;  // bytes cut off its end (partial frame, or unverified audio)
  uint64_t gaps = 0;             // gap markers restored from the sidecar
  std::string message;           // one line for the log
};

}  // namespace chronus::firmware
