// Resonant low-pass: topology-preserving-transform state-variable filter.
#pragma once

#include <cmath>
#include <cstddef>

namespace chronus::dsp {

/// Q at resonance 0 (Butterworth: flat, no peak).
inline constexpr float kMinQ = 0.70710678f;
/// Q at resonance 1: a 26 dB peak, still stable (the TPT SVF is stable for any Q > 0).
inline constexpr float kMaxQ = 20.0f;

/// Maps resonance 0..1 (clamped) to Q exponentially: Q = kMinQ * (kMaxQ / kMinQ)^r, so equal
/// knob travel gives equal dB of peak. r = 0 -> 0.707, r = 0.5 -> 3.76, r = 0.585 -> 5,
/// r = 1 -> 20. RT-safe.
inline float ResonanceToQ(float resonance) {
  const float r = resonance > 0.0f ? (resonance < 1.0f ? resonance : 1.0f) : 0.0f;
  return kMinQ * std::pow(kMaxQ / kMinQ, r);
}

/// tan(x) for x in [0, 0.45 * pi]: Lambert's continued fraction truncated to the rational
/// x (10395 - 1260 x^2 + 21 x^4) / (10395 - 4725 x^2 + 210 x^4 - x^6), relative error
/// < 4e-7 on that range. Cheap enough to recompute filter coefficients per sample. RT-safe.
inline float TanApprox(float x) {
  const float x2 = x * x;
  const float num = x * (10395.0f + x2 * (-1260.0f + x2 * 21.0f));
  const float den = 10395.0f + x2 * (-4725.0f + x2 * (210.0f - x2));
  return num / den;
}

/// Two-pole resonant low-pass (12 dB/oct): the trapezoidal-integrated state-variable filter of
/// Zavalishin, "The Art of VA Filter Design", ch. 4 (TPT SVF), in Simper's (Cytomic) solved form.
/// g = tan(pi * fc / fs) prewarps the cutoff, so |H(fc)| = Q exactly; k = 1 / Q. State lives in
/// the object and survives block boundaries; coefficients may change every sample without
/// instability (no zipper-induced blow-up, unlike a direct-form biquad).
class Svf {
 public:
  /// Lowest / highest cutoff, Hz and fraction of the sample rate.
  static constexpr float kMinFreqHz = 1.0f;
  static constexpr float kMaxFreqRatio = 0.45f;

  /// Prepares for `sample_rate` Hz: 1 kHz, Q 0.707, zero state.
  void Init(float sample_rate);
  /// Cutoff in Hz, clamped to [kMinFreqHz, kMaxFreqRatio * sample rate]. RT-safe.
  void SetFreq(float hz);
  /// Quality factor, clamped to [0.5, 100]. RT-safe.
  void SetQ(float q);
  /// Resonance 0..1 mapped to Q by ResonanceToQ. RT-safe.
  void SetResonance(float resonance) { SetQ(ResonanceToQ(resonance)); }
  /// Sets g = tan(pi * fc / fs) and k = 1 / Q directly, for per-sample modulation. RT-safe.
  void SetCoefficients(float g, float k) {
    g_ = g;
    k_ = k;
    a1_ = 1.0f / (1.0f + g * (g + k));
    a2_ = g * a1_;
    a3_ = g * a2_;
  }
  /// Clears the state (silence). RT-safe.
  void Reset() {
    ic1_ = 0.0f;
    ic2_ = 0.0f;
  }

  /// Filters one sample, returns the low-pass output. RT-safe.
  float Process(float in) {
    const float v3 = in - ic2_;
    const float v1 = a1_ * ic1_ + a2_ * v3;
    const float v2 = ic2_ + a2_ * ic1_ + a3_ * v3;
    ic1_ = 2.0f * v1 - ic1_;
    ic2_ = 2.0f * v2 - ic2_;
    return v2;
  }
  /// Filters one sample, returns the high-pass output (in - k * band - low) of the same
  /// state-variable structure. RT-safe.
  float ProcessHighPass(float in) {
    const float v3 = in - ic2_;
    const float v1 = a1_ * ic1_ + a2_ * v3;
    const float v2 = ic2_ + a2_ * ic1_ + a3_ * v3;
    ic1_ = 2.0f * v1 - ic1_;
    ic2_ = 2.0f * v2 - ic2_;
    return in - k_ * v1 - v2;
  }
  /// Filters `frames` samples (`in` may equal `out`); flushes a decayed state to exact zero at
  /// the end so silent input cannot leave denormals behind. RT-safe.
  void Process(const float* in, float* out, size_t frames);

  float g() const { return g_; }
  float k() const { return k_; }
  float sample_rate() const { return sample_rate_; }

 private:
  float sample_rate_ = 48000.0f;
  float freq_hz_ = 1000.0f;
  float g_ = 0.0f;
  float k_ = 1.0f / kMinQ;
  float a1_ = 1.0f;
  float a2_ = 0.0f;
  float a3_ = 0.0f;
  float ic1_ = 0.0f;
  float ic2_ = 0.0f;
};

}  // namespace chronus::dsp
