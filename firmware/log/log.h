// Logging. Non-RT threads write lines directly (stderr, which systemd's journal captures); RT
// threads post fixed-size records into their own preallocated single-producer queue (a lane) that
// the logging thread drains, formats and writes, so an RT thread never formats, allocates or
// blocks to log.
#pragma once

#include <atomic>
#include <cstdint>
#include <string_view>
#include <thread>

namespace chronus::firmware {

enum class LogLevel : uint8_t { kDebug, kInfo, kWarning, kError };

/// One RT log record. `format` must be a string literal (its pointer is kept); each "{}" in it is
/// replaced by the next of `args`, printed with up to 6 significant digits.
struct RtLogRecord {
  LogLevel level;
  uint8_t arg_count;
  const char* format;
  double args[4];
  int64_t time_ns;  ///< CLOCK_MONOTONIC.
};

/// The process-wide logger. Start() once from main; Stop() before exit.
class Log {
 public:
  /// Writes one line now. Non-RT threads only.
  static void Write(LogLevel level, std::string_view text);
  /// Gives the calling thread its own RT log lane. Call once at the start of each RT thread,
  /// before its loop (not RT-safe). Returns false when all lanes are taken (PushRt then drops).
  static bool RegisterRtThread();
  /// Gives the lane back. Call when the RT thread leaves its loop.
  static void UnregisterRtThread();
  /// Posts a record for the logging thread. RT-safe (wait-free push into the thread's lane, no
  /// allocation); when the lane is full, or the thread has none, the record is dropped and counted.
  static void PushRt(LogLevel level, const char* format, double a0 = 0, double a1 = 0,
                     double a2 = 0, double a3 = 0, uint8_t arg_count = 4);
  /// Starts the logging thread. Main thread.
  static void Start();
  /// Drains what is queued and stops the logging thread. Main thread.
  static void Stop();
  /// Records dropped because the RT queue was full.
  static uint64_t dropped();
  /// Formats a record's text (without level/time prefix). Exposed for tests.
  static std::string FormatRecord(const RtLogRecord& record);

 private:
  static void Drain();
};

inline void LogInfo(std::string_view text) { Log::Write(LogLevel::kInfo, text); }
inline void LogWarning(std::string_view text) { Log::Write(LogLevel::kWarning, text); }
inline void LogError(std::string_view text) { Log::Write(LogLevel::kError, text); }

}  // namespace chronus::firmware
