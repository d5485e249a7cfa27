// The watchdog thread ("chronus-watchdog", non-RT): every few milliseconds it runs the worker
// supervisor (failover recovery, planned faults); at the service watchdog interval it checks that
// the audio thread, the DSP workers and the control thread all made progress, and only then calls
// `alive` (which sends WATCHDOG=1 to systemd). A wedged process therefore stops petting systemd's
// watchdog and is restarted.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>

#include "firmware/engine/audio_engine.h"
#include "firmware/engine/worker_supervisor.h"

namespace chronus::firmware {

struct WatchdogConfig {
  std::chrono::milliseconds tick{5};               ///< Supervisor step.
  std::chrono::milliseconds alive_interval{1000};  ///< Progress check and `alive` call.
  /// Other non-RT upkeep to run on this thread every tick (e.g. noticing patch changes to save).
  std::function<void(int64_t now_ns)> periodic;
};

/// What the watchdog checks, as progress counters read from any thread.
struct ProgressSources {
  std::function<uint64_t()> audio_periods;  ///< Periods the audio thread completed.
  std::function<uint64_t()> control_alive;  ///< A counter the control thread advances.
  /// Asks the control thread to advance it; returns false when no probe could go out (no control
  /// server running yet): the next check then does not judge the control thread.
  std::function<bool()> probe_control;
};

/// Start/Stop from the main thread.
class Watchdog {
 public:
  Watchdog(const WatchdogConfig& config, WorkerSupervisor& supervisor, ProgressSources sources,
           std::function<void()> alive, std::function<void(const std::string&)> wedged);
  ~Watchdog();
  void Start();
  void Stop();
  /// Times `alive` was called / progress checks that failed. Any thread.
  uint64_t alive_count() const { return alive_count_.load(std::memory_order_relaxed); }
  uint64_t wedged_count() const { return wedged_count_.load(std::memory_order_relaxed); }

 private:
  void Run();
  std::string CheckProgress();

  WatchdogConfig config_;
  WorkerSupervisor& supervisor_;
  ProgressSources sources_;
  std::function<void()> alive_;
  std::function<void(const std::string&)> wedged_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  uint64_t last_periods_ = 0;
  uint64_t last_control_ = 0;
  bool control_probed_ = false;  // a probe went out since the last check
  std::atomic<uint64_t> alive_count_{0};
  std::atomic<uint64_t> wedged_count_{0};
};

}  // namespace chronus::firmware
