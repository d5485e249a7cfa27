// Stereo feedback delay (SuperDirt's dirt_delay without the sc3-plugins SwitchDelay: a delay line
// whose output is fed back, y[t] = x[t - D] + fb * y[t - D]), with the delay time glided so that a
// change does not click.
#pragma once

#include <cstddef>
#include <vector>

#include "dsp/one_pole.h"

namespace chronus::dsp {

/// Init allocates (non-RT); the rest is RT-safe.
class FeedbackDelay {
 public:
  /// Highest feedback accepted (a feedback of 1 would never decay).
  static constexpr float kMaxFeedback = 0.98f;

  /// Prepares for `sample_rate` Hz and delays up to `max_delay_s` seconds.
  void Init(float sample_rate, float max_delay_s);
  /// Delay time, s, clamped to [1 frame, max_delay_s]; glides there over ~50 ms when `glide`,
  /// else jumps.
  void SetTime(float seconds, bool glide = true);
  /// Feedback 0..kMaxFeedback (clamped).
  void SetFeedback(float feedback);
  /// Adds the delayed output of `frames` samples of the stereo input to the outputs. Returns the
  /// largest |output| sample added.
  float Process(const float* in_left, const float* in_right, float* out_left, float* out_right,
                size_t frames);
  void Clear();
  float max_delay_s() const { return max_delay_s_; }

 private:
  float sample_rate_ = 48000.0f;
  float max_delay_s_ = 1.0f;
  std::vector<float> line_[2];
  size_t write_ = 0;
  OnePole time_frames_;
  float feedback_ = 0.5f;
};

}  // namespace chronus::dsp
