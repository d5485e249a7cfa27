// The audio thread: waits on the ALSA mmap playback device, renders each period through the
// AudioEngine, writes it into the mmap area, hands it to the recorder, recovers from xruns.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "firmware/engine/audio_engine.h"
#include "firmware/recorder/recorder.h"
#include "hal/audio/alsa_output.h"

namespace chronus::firmware {

struct AudioThreadConfig {
  int priority = 80;  ///< SCHED_FIFO priority (above the workers'), 0 = normal.
  int cpu = -1;       ///< Core to pin to, or -1.
};

/// Start/Stop from the main thread; counters from any thread.
class AudioThread {
 public:
  AudioThread(const AudioThreadConfig& config, hal::AlsaOutput& output, AudioEngine& engine,
              Recorder* recorder);
  ~AudioThread();

  /// Starts the thread; returns once the stream has been prefilled and started (or failed).
  /// Returns "" or the reason the stream could not start.
  std::string Start();
  void Stop();

  /// Xruns seen since start (each recovered and counted once).
  uint64_t xruns() const { return xruns_.load(std::memory_order_relaxed); }
  /// CLOCK_MONOTONIC ns of the last xrun, 0 if none.
  int64_t last_xrun_ns() const { return last_xrun_ns_.load(std::memory_order_relaxed); }
  /// Longest period processing time (render + convert + mmap write + recorder copy), ns.
  uint64_t worst_period_ns() const { return worst_period_ns_.load(std::memory_order_relaxed); }
  /// Device errors other than xruns (timeouts, failed recovery).
  uint64_t device_errors() const { return device_errors_.load(std::memory_order_relaxed); }
  /// CLOCK_MONOTONIC ns when the stream was first started.
  int64_t started_ns() const { return started_ns_.load(std::memory_order_relaxed); }
  /// Resets worst_period_ns (e.g. after warm-up). Any thread.
  void ResetWorst() { worst_period_ns_.store(0, std::memory_order_relaxed); }
  const std::string& setup_warnings() const { return setup_warnings_; }

 private:
  void Run();
  void HandleErrorRt(long err);

  AudioThreadConfig config_;
  hal::AlsaOutput& output_;
  AudioEngine& engine_;
  Recorder* recorder_;
  std::vector<int32_t> buffer_;
  std::thread thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> start_state_{0};  // 0 pending, 1 started, -1 failed
  std::string start_error_;
  std::string setup_warnings_;
  std::atomic<uint64_t> xruns_{0};
  std::atomic<int64_t> last_xrun_ns_{0};
  std::atomic<uint64_t> worst_period_ns_{0};
  std::atomic<uint64_t> device_errors_{0};
  std::atomic<int64_t> started_ns_{0};
};

}  // namespace chronus::firmware
