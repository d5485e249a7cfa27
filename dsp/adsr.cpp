#include "dsp/adsr.h"

#include <algorithm>
#include <cmath>

#include "dsp/synth_params.h"

namespace chronus::dsp {

void Adsr::Init(float sample_rate) {
  sample_rate_ = sample_rate;
  glide_coef_ = SustainGlideCoef(sample_rate);
  SetAttack(Spec(ParamId::kAttackS).default_value);
  SetDecay(Spec(ParamId::kDecayS).default_value);
  SetSustain(Spec(ParamId::kSustain).default_value);
  SetRelease(Spec(ParamId::kReleaseS).default_value);
  Reset();
}

float Adsr::SustainGlideCoef(float sample_rate) {
  return static_cast<float>(1.0 -
                            std::exp(-1.0 / (static_cast<double>(kSustainGlideS) * sample_rate)));
}

Adsr::Segment Adsr::MakeSegment(float seconds, float ratio, float sample_rate) {
  const double n = std::max(1.0, std::round(static_cast<double>(seconds) * sample_rate));
  Segment seg;
  seg.frames = static_cast<uint32_t>(std::min(n, 4.0e9));
  // dev(n) = dev(0) * coef^n must shrink by ratio / (1 + ratio) over the segment.
  seg.coef = static_cast<float>(std::pow(ratio / (1.0 + ratio), 1.0 / n));
  seg.decay = std::pow(static_cast<double>(seg.coef), n);
  return seg;
}

void Adsr::SetAttack(float seconds) { attack_ = MakeSegment(seconds, kAttackRatio, sample_rate_); }
void Adsr::SetDecay(float seconds) { decay_ = MakeSegment(seconds, kDecayRatio, sample_rate_); }
void Adsr::SetRelease(float seconds) { release_ = MakeSegment(seconds, kDecayRatio, sample_rate_); }
void Adsr::SetSustain(float level) { sustain_ = std::clamp(level, 0.0f, 1.0f); }

void Adsr::Gate(bool on) {
  if (on) {
    StartSegment(Stage::kAttack, attack_, 1.0f);
  } else if (stage_ != Stage::kIdle && stage_ != Stage::kRelease) {
    StartSegment(Stage::kRelease, release_, 0.0f);
  }
}

void Adsr::Reset() {
  stage_ = Stage::kIdle;
  level_ = 0.0f;
  dev_ = 0.0f;
  remaining_ = 0;
}

void Adsr::Process(float* out, size_t frames) {
  for (size_t i = 0; i < frames; ++i) out[i] = Process();
}

}  // namespace chronus::dsp
