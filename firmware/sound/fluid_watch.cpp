#include "firmware/sound/fluid_watch.h"

#include <cmath>

#include "firmware/log/log.h"

namespace chronus::firmware {

FluidWatch::FluidWatch(FluidWatchSources sources, double stuck_s,
                       std::function<void(const std::string&)> log)
    : sources_(std::move(sources)),
      stuck_ns_(static_cast<int64_t>(std::llround(stuck_s * 1e9))),
      log_(log ? std::move(log) : [](const std::string& text) { LogWarning(text); }) {}

void FluidWatch::Tick(int64_t now_ns) {
  const uint64_t blocks = sources_.blocks_rendered ? sources_.blocks_rendered() : 0;
  const uint64_t periods = sources_.engine_periods ? sources_.engine_periods() : 0;
  if (!started_ || blocks != last_blocks_) {
    if (started_ && stuck_.load(std::memory_order_relaxed)) {
      stuck_.store(false, std::memory_order_relaxed);
      log_("FluidSynth worker renders again after " +
           std::to_string((now_ns - stuck_since_ns_) / 1000000) + " ms");
    }
    started_ = true;
    last_blocks_ = blocks;
    periods_at_block_ = periods;
    block_seen_ns_ = now_ns;
    return;
  }
  if (stuck_.load(std::memory_order_relaxed)) return;  // one line per episode
  const int64_t render_start = sources_.render_started_ns ? sources_.render_started_ns() : 0;
  std::string why;
  if (render_start != 0 && now_ns - render_start > stuck_ns_) {
    why = "one render running for " + std::to_string((now_ns - render_start) / 1000000) + " ms";
    stuck_since_ns_ = render_start;
  } else if (now_ns - block_seen_ns_ > stuck_ns_ && periods > periods_at_block_ + 1) {
    // The audio thread hands a block back every period: the worker should have rendered.
    why = "no block for " + std::to_string((now_ns - block_seen_ns_) / 1000000) +
          " ms while the audio thread played " + std::to_string(periods - periods_at_block_) +
          " periods";
    stuck_since_ns_ = block_seen_ns_;
  }
  if (why.empty()) return;
  stuck_.store(true, std::memory_order_relaxed);
  episodes_.fetch_add(1, std::memory_order_relaxed);
  log_("FluidSynth worker stuck: " + why +
       "; its layer is silent, the synth voices play on (not a reason to restart)");
}

}  // namespace chronus::firmware
