#include "dsp/freeverb.h"

#include <algorithm>
#include <cmath>

namespace chronus::dsp {

namespace {

// Jezar's tunings at 44.1 kHz (samples) and constants.
constexpr int kCombTuning[8] = {1116, 1188, 1277, 1356, 1422, 1491, 1557, 1617};
constexpr int kAllpassTuning[4] = {556, 441, 341, 225};
constexpr int kStereoSpread = 23;
constexpr float kFixedGain = 0.015f;
constexpr float kScaleRoom = 0.28f;
constexpr float kOffsetRoom = 0.7f;
constexpr float kScaleDamp = 0.4f;
constexpr float kAllpassFeedback = 0.5f;
constexpr float kScaleWet = 3.0f;

size_t Scaled(int samples, float sample_rate) {
  return std::max<size_t>(
      1, static_cast<size_t>(std::lround(static_cast<float>(samples) * sample_rate / 44100.0f)));
}

}  // namespace

void Freeverb::Init(float sample_rate) {
  for (int c = 0; c < 2; ++c) {
    const int spread = c == 0 ? 0 : kStereoSpread;
    for (int i = 0; i < kCombs; ++i) {
      comb_[c][i].buffer.assign(Scaled(kCombTuning[i] + spread, sample_rate), 0.0f);
    }
    for (int i = 0; i < kAllpasses; ++i) {
      allpass_[c][i].buffer.assign(Scaled(kAllpassTuning[i] + spread, sample_rate), 0.0f);
    }
  }
  SetRoomSize(0.5f);
  SetDamping(0.5f);
  Clear();
}

void Freeverb::SetRoomSize(float size) {
  feedback_ = kOffsetRoom + kScaleRoom * std::clamp(size, 0.0f, 1.0f);
}

void Freeverb::SetDamping(float damping) {
  damp1_ = kScaleDamp * std::clamp(damping, 0.0f, 1.0f);
  damp2_ = 1.0f - damp1_;
}

void Freeverb::Clear() {
  for (int c = 0; c < 2; ++c) {
    for (Comb& comb : comb_[c]) {
      std::fill(comb.buffer.begin(), comb.buffer.end(), 0.0f);
      comb.store = 0.0f;
    }
    for (Allpass& allpass : allpass_[c])
      std::fill(allpass.buffer.begin(), allpass.buffer.end(), 0.0f);
  }
}

float Freeverb::Process(const float* in_left, const float* in_right, float* out_left,
                        float* out_right, size_t frames, float wet) {
  // Full stereo width: each output channel is its own tank (wet2 = 0 in Jezar's terms).
  const float gain = wet * kScaleWet;
  float peak = 0.0f;
  for (int c = 0; c < 2; ++c) {
    float* out = c == 0 ? out_left : out_right;
    for (size_t i = 0; i < frames; ++i) {
      const float input = (in_left[i] + in_right[i]) * kFixedGain;
      float acc = 0.0f;
      for (Comb& comb : comb_[c]) {
        const float y = comb.buffer[comb.index];
        comb.store = y * damp2_ + comb.store * damp1_;
        comb.buffer[comb.index] = input + comb.store * feedback_;
        if (++comb.index == comb.buffer.size()) comb.index = 0;
        acc += y;
      }
      for (Allpass& allpass : allpass_[c]) {
        const float buffered = allpass.buffer[allpass.index];
        allpass.buffer[allpass.index] = acc + buffered * kAllpassFeedback;
        if (++allpass.index == allpass.buffer.size()) allpass.index = 0;
        acc = buffered - acc;
      }
      const float y = acc * gain;
      out[i] += y;
      peak = std::max(peak, std::fabs(y));
    }
    for (Comb& comb : comb_[c]) {
      if (std::fabs(comb.store) < 1e-20f) comb.store = 0.0f;
    }
  }
  return peak;
}

}  // namespace chronus::dsp
