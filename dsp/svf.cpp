#include "dsp/svf.h"

#include <algorithm>
#include <numbers>

namespace chronus::dsp {

void Svf::Init(float sample_rate) {
  sample_rate_ = sample_rate;
  k_ = 1.0f / kMinQ;
  SetFreq(1000.0f);
  Reset();
}

void Svf::SetFreq(float hz) {
  if (!(hz > kMinFreqHz)) hz = kMinFreqHz;
  freq_hz_ = std::min(hz, kMaxFreqRatio * sample_rate_);
  SetCoefficients(TanApprox(std::numbers::pi_v<float> * freq_hz_ / sample_rate_), k_);
}

void Svf::SetQ(float q) {
  if (!(q > 0.5f)) q = 0.5f;
  q = std::min(q, 100.0f);
  SetCoefficients(g_, 1.0f / q);
}

void Svf::Process(const float* in, float* out, size_t frames) {
  for (size_t i = 0; i < frames; ++i) out[i] = Process(in[i]);
  constexpr float kTiny = 1e-20f;
  if (std::fabs(ic1_) < kTiny) ic1_ = 0.0f;
  if (std::fabs(ic2_) < kTiny) ic2_ = 0.0f;
}

}  // namespace chronus::dsp
