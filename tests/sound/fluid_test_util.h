// Helpers of the FluidSynth tests: a small SoundFont found on this machine.
#pragma once

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "firmware/engine/command.h"
#include "firmware/sound/fluid_instance.h"
#include "firmware/sound/fluid_worker.h"
#include "firmware/sound/sound_layers.h"
#include "firmware/sound/sound_patch.h"

namespace chronus::test {

/// A General MIDI SoundFont installed by tools/install-deps: TimGM6mb (6 MB, quick to load) or
/// FluidR3_GM; "" when neither is installed.
inline std::string TestSoundFont() {
  for (const char* path :
       {"/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/sounds/sf2/FluidR3_GM.sf2"}) {
    if (std::filesystem::exists(path)) return path;
  }
  return {};
}

/// Drives SoundLayers + a FluidWorker (its own thread) the way the audio thread does, `block`
/// frames a period at `rate` Hz, by default waiting for each FluidSynth block (so none is late).
class LayerDriver {
 public:
  LayerDriver(const firmware::SoundPatch& patch, std::unique_ptr<firmware::FluidInstance> instance,
              uint32_t block = 128, double rate = 48000.0)
      : block_(block),
        worker_(firmware::FluidWorkerConfig{-1, 0, block, 1}, std::move(instance)),
        layers_(patch, &worker_, static_cast<float>(rate)),
        zero_(block, 0.0f),
        left_(block),
        right_(block) {
    worker_.Start();
  }
  ~LayerDriver() { worker_.Stop(); }

  /// One period; `wait` (up to 5 s) for the worker's block first. Appends the stereo output to
  /// `out` (left then right per frame) and the synth-voice commands the layers emitted to
  /// `synth_out` (either may be null). Returns the period's peak (linear).
  float Period(std::vector<float>* out, bool wait = true,
               std::vector<firmware::Command>* synth_out = nullptr) {
    const uint64_t target = consumed_ + 1;  // blocks taken so far, and the one for this period
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (wait && worker_.blocks_rendered() < target &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    firmware::Command synth[64];
    const uint32_t n = layers_.BeginPeriodRt(periods_ * block_, block_, synth, 64);
    if (synth_out != nullptr) synth_out->insert(synth_out->end(), synth, synth + n);
    const uint64_t late = layers_.fluid_late_blocks();
    layers_.MixRt(zero_.data(), left_.data(), right_.data(), block_);
    if (layers_.fluid_late_blocks() == late) ++consumed_;
    float peak = 0.0f;
    for (uint32_t i = 0; i < block_; ++i) {
      if (out != nullptr) {
        out->push_back(left_[i]);
        out->push_back(right_[i]);
      }
      peak = std::max({peak, std::fabs(left_[i]), std::fabs(right_[i])});
    }
    ++periods_;
    return peak;
  }
  /// Engine frame of the next period.
  uint64_t frame() const { return periods_ * block_; }
  firmware::SoundLayers& layers() { return layers_; }
  firmware::FluidWorker& worker() { return worker_; }

 private:
  uint32_t block_;
  firmware::FluidWorker worker_;
  firmware::SoundLayers layers_;
  uint64_t periods_ = 0;
  uint64_t consumed_ = 0;
  std::vector<float> zero_;
  std::vector<float> left_;
  std::vector<float> right_;
};

}  // namespace chronus::test
