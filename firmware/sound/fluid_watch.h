// The watchdog's check of the FluidSynth worker (fluid_worker.h), run on the watchdog thread each
// tick (firmware/health/watchdog.h, through WatchdogConfig::periodic). The worker is "stuck" when
// one render has been running for longer than the stuck limit (the same 0.25 s as the DSP workers'
// SupervisorConfig::stuck_s), or when it rendered no block for that long while the audio thread
// kept playing periods. An episode is logged once when it starts ("FluidSynth worker stuck ...
// ms") and once when the worker renders again, and counted (/status fluid_stuck_episodes;
// fluid_stuck is 1 during one).
//
// It does not count toward the systemd keep-alive decision: the audio thread already plays on
// without the FluidSynth layer (faded out, fluid_worker.h) and the synth voices keep sounding, so
// restarting the whole box for a wedged FluidSynth would silence what still plays. (FluidSynth
// state cannot be moved to a replacement thread the way the synth voices are, see
// worker_supervisor.h, so there is no failover to trigger either.)
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <string>

namespace chronus::firmware {

/// What the watch reads, from any thread.
struct FluidWatchSources {
  std::function<int64_t()> render_started_ns;  ///< Start of the render under way, 0 when idle.
  std::function<uint64_t()> blocks_rendered;   ///< Blocks the worker finished.
  std::function<uint64_t()> engine_periods;    ///< Periods the audio thread played.
};

/// Tick: one thread (the watchdog's). Counters: any thread.
class FluidWatch {
 public:
  /// `stuck_s`: the stuck limit, s. `log`: where the episode lines go (default: the firmware log,
  /// as warnings).
  FluidWatch(FluidWatchSources sources, double stuck_s = 0.25,
             std::function<void(const std::string&)> log = {});

  /// One check at `now_ns` (CLOCK_MONOTONIC).
  void Tick(int64_t now_ns);

  bool stuck() const { return stuck_.load(std::memory_order_relaxed); }
  uint64_t episodes() const { return episodes_.load(std::memory_order_relaxed); }

 private:
  FluidWatchSources sources_;
  int64_t stuck_ns_;
  std::function<void(const std::string&)> log_;
  bool started_ = false;
  uint64_t last_blocks_ = 0;
  uint64_t periods_at_block_ = 0;  // engine periods when the last block was seen
  int64_t block_seen_ns_ = 0;      // when the last block was seen
  int64_t stuck_since_ns_ = 0;
  std::atomic<bool> stuck_{false};
  std::atomic<uint64_t> episodes_{0};
};

}  // namespace chronus::firmware
