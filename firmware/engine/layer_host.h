// The engine's one extension point for sound layers beyond the synth voices (FluidSynth programs,
// per-layer routing, gain and pan, timed events of the generative mode). The engine stays the
// owner of the synth voices; a LayerHost decides which control commands reach them, adds its own
// timed commands at block boundaries, and turns the synth's mono mix into the stereo output mix.
// All methods are called from the audio thread only and must be RT-safe (no allocation, no lock,
// no blocking call).
#pragma once

#include <cstdint>

#include "firmware/engine/command.h"

namespace chronus::firmware {

class LayerHost {
 public:
  virtual ~LayerHost() = default;

  /// Routes one control command when it is due: an immediate command (frame 0, or a frame already
  /// past) in the period it is popped, a scheduled one in the period in which its frame falls into
  /// the block the workers render next, which starts at engine frame `block_start` (the host
  /// plays its own part of the command at `frame - block_start` into that block). Writes the
  /// command the synth voices should apply into `*synth` (same frame) and returns true, or returns
  /// false when the synth voices play no part in it (the host sent it to its own layers, or
  /// dropped it). Audio thread.
  virtual bool RouteRt(const Command& command, uint64_t block_start, Command* synth) = 0;

  /// Start of the period that plays frames [frame, frame + frames) (absolute engine frames),
  /// after the control commands: applies the host's timed events due before frame + frames.
  /// Writes at most `capacity` commands for the synth voices into `synth` and returns how many.
  /// Audio thread.
  virtual uint32_t BeginPeriodRt(uint64_t frame, uint32_t frames, Command* synth,
                                 uint32_t capacity) = 0;

  /// Mixes this period: `synth_mono` (the synth voices' mix, `frames` samples) with the host's
  /// layers into `left` and `right` (`frames` samples each, overwritten). Audio thread.
  virtual void MixRt(const float* synth_mono, float* left, float* right, uint32_t frames) = 0;
};

}  // namespace chronus::firmware
