// The non-RT half of failover: decides when a worker that the audio thread covered on standby gets
// its voices back, replaces workers that crashed or do not come back, injects planned faults
// (tests), and escalates repeated failures. Runs on the watchdog thread (firmware/health).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "firmware/engine/audio_engine.h"
#include "firmware/engine/fault.h"

namespace chronus::firmware {

struct SupervisorConfig {
  /// A worker that recovered by itself gets its voices back after being idle this long (s).
  double quarantine_s = 0.05;
  /// A worker still inside one render after this long (s) is treated as stuck: replaced.
  double stuck_s = 0.25;
  /// This many failovers of one worker within `escalate_window_s` replace it on another core.
  int escalate_failovers = 5;
  double escalate_window_s = 10.0;
  /// Replacements over the life of the process; after that a failed share stays on standby.
  int max_replacements = 16;
};

/// Per-share health as the supervisor sees it (for /status and /health).
struct ShareHealth {
  std::string state;  ///< "ok", "standby", "replacing" or "failed"
  uint64_t failovers = 0;
  uint64_t handbacks = 0;
  uint64_t replacements = 0;
  double standby_s = 0;  ///< Total time on standby.
  int cpu = -1;
};

/// All methods on one non-RT thread (the watchdog thread), except the counters.
class WorkerSupervisor {
 public:
  /// `stall_audio` injects a kStallAudio fault (ms) into the audio thread.
  WorkerSupervisor(AudioEngine& engine, const SupervisorConfig& config,
                   std::vector<FaultSpec> faults, int64_t start_ns,
                   std::function<void(double)> stall_audio = {});

  /// One supervision step; call every few ms.
  void Tick(int64_t now_ns);
  /// Health of every share (copy). Any thread.
  std::vector<ShareHealth> Health() const;
  /// True when at least one worker made progress since the previous call (watchdog thread).
  bool AnyWorkerProgressing();
  /// Abandoned workers freed once their threads had ended. Any thread.
  uint64_t freed_workers() const { return reaped_.load(std::memory_order_relaxed); }

 private:
  struct ShareState {
    uint64_t seen_failovers = 0;
    std::vector<int64_t> failover_times;
    int64_t idle_since_ns = 0;
    bool replacing = false;
    uint64_t replacements = 0;
    int64_t standby_ns_total = 0;
    int64_t standby_seen_since = 0;
    uint64_t last_blocks = 0;
  };

  void Replace(size_t index, const char* why, bool move_core);
  int PickCore(int failed_cpu);

  AudioEngine& engine_;
  SupervisorConfig config_;
  std::vector<FaultSpec> faults_;
  std::function<void(double)> stall_audio_;
  std::vector<bool> fault_fired_;
  int64_t start_ns_;
  std::vector<ShareState> states_;
  std::set<int> bad_cores_;
  int total_replacements_ = 0;
  bool all_stuck_reported_ = false;
  std::atomic<uint64_t> reaped_{0};
  mutable std::mutex health_mutex_;
  std::vector<ShareHealth> health_;
};

}  // namespace chronus::firmware
