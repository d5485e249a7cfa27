#include "dsp/orbit_effects.h"

namespace chronus::dsp {

void OrbitEffects::Init(float sample_rate, float max_delay_s) {
  sample_rate_ = sample_rate;
  reverb_.Init(sample_rate);
  delay_.Init(sample_rate, max_delay_s);
  Set(OrbitEffectParams{});
}

void OrbitEffects::Set(const OrbitEffectParams& params) {
  reverb_.SetRoomSize(params.size);
  delay_.SetTime(params.delay_time_s, delay_awake_);  // a sleeping delay jumps
  delay_.SetFeedback(params.delay_feedback);
}

void OrbitEffects::Process(const OrbitBuses& in, uint32_t orbit, bool dry_input, bool reverb_input,
                           bool delay_input, float* out_left, float* out_right) {
  const uint32_t frames = in.frames;
  if (dry_input) {
    const float* l = in.channel(orbit, kDryLeft);
    const float* r = in.channel(orbit, kDryRight);
    for (uint32_t i = 0; i < frames; ++i) {
      out_left[i] += l[i];
      out_right[i] += r[i];
    }
  }
  if (reverb_input) reverb_awake_ = true;
  if (reverb_awake_) {
    // A sleeping-then-woken reverb reads silence from a send that was not written: the caller
    // passes reverb_input = false only when the send is all zeros.
    const float peak =
        reverb_.Process(in.channel(orbit, kReverbLeft), in.channel(orbit, kReverbRight), out_left,
                        out_right, frames, 1.0f);
    reverb_quiet_ = (reverb_input || peak > kSleepLevel) ? 0 : reverb_quiet_ + 1;
    if (reverb_quiet_ >= kQuietBlocksToSleep) reverb_awake_ = false;
  }
  if (delay_input) delay_awake_ = true;
  if (delay_awake_) {
    const float peak = delay_.Process(in.channel(orbit, kDelayLeft), in.channel(orbit, kDelayRight),
                                      out_left, out_right, frames);
    delay_quiet_ = (delay_input || peak > kSleepLevel) ? 0 : delay_quiet_ + 1;
    // The delay's line holds up to max_delay_s of input: it may only sleep once that has passed.
    if (static_cast<float>(delay_quiet_) * static_cast<float>(frames) >
        (delay_.max_delay_s() + 0.01f) * sample_rate_ * 1.1f) {
      delay_awake_ = false;
    }
  }
}

}  // namespace chronus::dsp
