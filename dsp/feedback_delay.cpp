#include "dsp/feedback_delay.h"

#include <algorithm>
#include <cmath>

namespace chronus::dsp {

void FeedbackDelay::Init(float sample_rate, float max_delay_s) {
  sample_rate_ = sample_rate;
  max_delay_s_ = max_delay_s;
  const auto size = static_cast<size_t>(std::ceil(max_delay_s * sample_rate)) + 4;
  for (auto& line : line_) line.assign(size, 0.0f);
  write_ = 0;
  time_frames_.Init(sample_rate, 50.0f, 0.25f * sample_rate);
  SetTime(0.25f, false);
}

void FeedbackDelay::SetTime(float seconds, bool glide) {
  const float frames = std::clamp(seconds * sample_rate_, 1.0f, max_delay_s_ * sample_rate_);
  if (glide) {
    time_frames_.SetTarget(frames);
  } else {
    time_frames_.Reset(frames);
  }
}

void FeedbackDelay::SetFeedback(float feedback) {
  feedback_ = std::clamp(feedback, 0.0f, kMaxFeedback);
}

void FeedbackDelay::Clear() {
  for (auto& line : line_) std::fill(line.begin(), line.end(), 0.0f);
}

float FeedbackDelay::Process(const float* in_left, const float* in_right, float* out_left,
                             float* out_right, size_t frames) {
  const size_t size = line_[0].size();
  float peak = 0.0f;
  for (size_t i = 0; i < frames; ++i) {
    const float delay = time_frames_.Process();
    const auto whole = static_cast<size_t>(delay);
    const float frac = delay - static_cast<float>(whole);
    const size_t r0 = (write_ + size - whole) % size;
    const size_t r1 = (r0 + size - 1) % size;
    const float* in[2] = {in_left, in_right};
    float* out[2] = {out_left, out_right};
    for (int c = 0; c < 2; ++c) {
      const float y = line_[c][r0] + (line_[c][r1] - line_[c][r0]) * frac;
      float w = in[c][i] + y * feedback_;
      if (std::fabs(w) < 1e-20f) w = 0.0f;
      line_[c][write_] = w;
      out[c][i] += y;
      peak = std::max(peak, std::fabs(y));
    }
    if (++write_ == size) write_ = 0;
  }
  return peak;
}

}  // namespace chronus::dsp
