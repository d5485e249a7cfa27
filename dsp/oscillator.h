// Phase-accumulator oscillator: sine, band-limited saw and square.
#pragma once

#include <cstddef>
#include <cstdint>

#include "dsp/synth_params.h"

namespace chronus::dsp {

/// sin(2*pi*phase) for phase in [0, 1): quarter-wave folding plus an odd Taylor polynomial of
/// degree 11, |error| < 1e-7 (no libm call, so identical on x86-64 and aarch64). RT-safe.
inline float SinCycle(float phase) {
  float x = phase - 0.5f;  // sin(2*pi*phase) = -sin(2*pi*x), x in [-0.5, 0.5)
  if (x > 0.25f) {
    x = 0.5f - x;
  } else if (x < -0.25f) {
    x = -0.5f - x;
  }
  const float a = x * 6.28318530717958648f;
  const float a2 = a * a;
  const float p =
      1.0f +
      a2 * (-1.0f / 6.0f +
            a2 * (1.0f / 120.0f +
                  a2 * (-1.0f / 5040.0f + a2 * (1.0f / 362880.0f + a2 * (-1.0f / 39916800.0f)))));
  return -a * p;
}

/// Two-sample polynomial band-limited step residual for a unit (+2) upward step at phase 0
/// (Välimäki & Huovilainen, "Antialiasing Oscillators in Subtractive Synthesis", IEEE SPM 2007,
/// "PolyBLEP"). `t`: phase in cycles [0, 1); `dt`: phase increment per sample (< 0.5). RT-safe.
inline float PolyBlep(float t, float dt, float inv_dt) {
  if (t < dt) {
    t *= inv_dt;
    return t + t - t * t - 1.0f;
  }
  if (t > 1.0f - dt) {
    t = (t - 1.0f) * inv_dt;
    return t * t + t + t + 1.0f;
  }
  return 0.0f;
}

/// Phase-accumulator oscillator with output in [-1, 1]. Saw and square are band-limited with
/// PolyBLEP (see PolyBlep); sine uses SinCycle. Changing the waveform crossfades linearly from
/// the old to the new waveform over kCrossfadeS (all three can take part if changes overlap;
/// the mix is normalised by the sum of the fade gains), so it never clicks. Phase 0 of a saw
/// or square is the midpoint of its step, so a reset oscillator starts at 0 and does not click.
class Oscillator {
 public:
  /// Crossfade length of a waveform change, seconds.
  static constexpr float kCrossfadeS = 0.005f;
  /// Highest frequency, as a fraction of the sample rate (PolyBLEP needs dt < 0.5).
  static constexpr float kMaxFreqRatio = 0.45f;

  /// Prepares for `sample_rate` Hz: 0 Hz, phase 0, saw.
  void Init(float sample_rate);
  /// Frequency in Hz, clamped to [0, kMaxFreqRatio * sample rate]. RT-safe.
  void SetFreq(float hz);
  /// Selects the waveform and starts a crossfade to it. RT-safe.
  void SetWaveform(Waveform waveform);
  /// Jumps to `phase` (cycles, [0, 1)) and completes any crossfade; for starting a silent voice.
  /// RT-safe.
  void Reset(float phase = 0.0f);

  /// Returns the sample at the current phase, then advances it. RT-safe.
  float Process() {
    const float y = fading_ ? ProcessCrossfade() : Shape(waveform_);
    phase_ += inc_;
    if (phase_ >= 1.0f) phase_ -= 1.0f;
    return y;
  }
  /// Writes `frames` samples to `out`. RT-safe.
  void Process(float* out, size_t frames);

  float freq_hz() const { return inc_ * sample_rate_; }
  float phase() const { return phase_; }
  Waveform waveform() const { return waveform_; }
  bool crossfading() const { return fading_; }

 private:
  float Shape(Waveform w) const {
    switch (w) {
      case Waveform::kSine:
        return SinCycle(phase_);
      case Waveform::kSaw:
        return 2.0f * phase_ - 1.0f - PolyBlep(phase_, inc_, inv_inc_);
      case Waveform::kSquare:
        break;
    }
    float half = phase_ + 0.5f;
    if (half >= 1.0f) half -= 1.0f;
    return (phase_ < 0.5f ? 1.0f : -1.0f) + PolyBlep(phase_, inc_, inv_inc_) -
           PolyBlep(half, inc_, inv_inc_);
  }
  float ProcessCrossfade();

  static constexpr size_t kNumWaveforms = 3;

  float sample_rate_ = 48000.0f;
  float phase_ = 0.0f;
  float inc_ = 0.0f;
  float inv_inc_ = 0.0f;
  float fade_step_ = 0.0f;
  float fade_[kNumWaveforms] = {0.0f, 1.0f, 0.0f};
  Waveform waveform_ = Waveform::kSaw;
  bool fading_ = false;
};

// Inline so a local copy of an Oscillator in a render loop can live in registers.
inline float Oscillator::ProcessCrossfade() {
  float sum = 0.0f;
  float weight = 0.0f;
  bool done = true;
  for (size_t w = 0; w < kNumWaveforms; ++w) {
    const float g = fade_[w];
    if (g > 0.0f) {
      sum += g * Shape(static_cast<Waveform>(w));
      weight += g;
    }
    if (w == static_cast<size_t>(waveform_)) {
      fade_[w] = g + fade_step_ < 1.0f ? g + fade_step_ : 1.0f;
      done = done && fade_[w] >= 1.0f;
    } else {
      fade_[w] = g - fade_step_ > 0.0f ? g - fade_step_ : 0.0f;
      done = done && fade_[w] <= 0.0f;
    }
  }
  fading_ = !done;
  return sum / weight;
}

}  // namespace chronus::dsp
