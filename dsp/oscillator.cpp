#include "dsp/oscillator.h"

#include <algorithm>

namespace chronus::dsp {

void Oscillator::Init(float sample_rate) {
  sample_rate_ = sample_rate;
  fade_step_ = 1.0f / (kCrossfadeS * sample_rate);
  inc_ = 0.0f;
  inv_inc_ = 0.0f;
  waveform_ = Waveform::kSaw;
  Reset(0.0f);
}

void Oscillator::SetFreq(float hz) {
  const float max_hz = kMaxFreqRatio * sample_rate_;
  if (!(hz > 0.0f)) hz = 0.0f;
  hz = std::min(hz, max_hz);
  inc_ = hz / sample_rate_;
  inv_inc_ = inc_ > 0.0f ? 1.0f / inc_ : 0.0f;
}

void Oscillator::SetWaveform(Waveform waveform) {
  if (static_cast<size_t>(waveform) >= kNumWaveforms) waveform = Waveform::kSaw;
  if (waveform == waveform_) return;
  waveform_ = waveform;
  fading_ = true;
}

void Oscillator::Reset(float phase) {
  phase_ = phase - static_cast<float>(static_cast<int>(phase));
  if (phase_ < 0.0f) phase_ += 1.0f;
  for (size_t w = 0; w < kNumWaveforms; ++w) {
    fade_[w] = w == static_cast<size_t>(waveform_) ? 1.0f : 0.0f;
  }
  fading_ = false;
}

void Oscillator::Process(float* out, size_t frames) {
  for (size_t i = 0; i < frames; ++i) out[i] = Process();
}

}  // namespace chronus::dsp
