// The effects of one orbit, run after its voices are mixed (SuperDirt's per-orbit global effects):
// the dry stereo pair plus a Freeverb fed by the reverb send and a feedback delay fed by the delay
// send. Each effect sleeps (costs nothing) once its input has stopped and its tail has decayed
// below -120 dBFS, as SuperDirt's global effects do.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dsp/feedback_delay.h"
#include "dsp/freeverb.h"
#include "dsp/orbit_bus.h"

namespace chronus::dsp {

/// Orbit-wide effect settings (SuperDirt: set by each event that carries them, kept otherwise).
struct OrbitEffectParams {
  float size = 0.5f;            ///< Reverb room size 0..1.
  float delay_time_s = 0.25f;   ///< Delay time, s.
  float delay_feedback = 0.5f;  ///< 0..FeedbackDelay::kMaxFeedback.
};

/// Init allocates (non-RT); Set / Process are RT-safe.
class OrbitEffects {
 public:
  void Init(float sample_rate, float max_delay_s);
  void Set(const OrbitEffectParams& params);
  /// Adds orbit `orbit` of `in` (dry + reverb of the reverb send + delay of the delay send) to
  /// `out_left`/`out_right` (`in.frames` samples). `reverb_input`/`delay_input`: whether the sends
  /// hold anything this block (else they are not read, and a sleeping effect stays asleep).
  void Process(const OrbitBuses& in, uint32_t orbit, bool dry_input, bool reverb_input,
               bool delay_input, float* out_left, float* out_right);
  bool reverb_awake() const { return reverb_awake_; }
  bool delay_awake() const { return delay_awake_; }

 private:
  static constexpr float kSleepLevel = 1e-6f;  // -120 dBFS
  static constexpr int kQuietBlocksToSleep = 16;
  float sample_rate_ = 48000.0f;
  Freeverb reverb_;
  FeedbackDelay delay_;
  bool reverb_awake_ = false;
  bool delay_awake_ = false;
  int reverb_quiet_ = 0;
  int delay_quiet_ = 0;
};

}  // namespace chronus::dsp
