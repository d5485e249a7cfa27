// Measurement helpers for the DSP tests: FFT, window, zero-crossing frequency, tone amplitude.
#pragma once

#include <cmath>
#include <complex>
#include <cstddef>
#include <numbers>
#include <span>
#include <vector>

namespace chronus::dsp::testing {

/// In-place iterative radix-2 FFT; x.size() must be a power of two.
inline void Fft(std::vector<std::complex<double>>& x) {
  const size_t n = x.size();
  for (size_t i = 1, j = 0; i < n; ++i) {
    size_t bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) std::swap(x[i], x[j]);
  }
  for (size_t len = 2; len <= n; len <<= 1) {
    const double ang = -2.0 * std::numbers::pi / static_cast<double>(len);
    for (size_t i = 0; i < n; i += len) {
      for (size_t k = 0; k < len / 2; ++k) {
        const std::complex<double> w = std::polar(1.0, ang * static_cast<double>(k));
        const auto u = x[i + k];
        const auto v = x[i + k + len / 2] * w;
        x[i + k] = u + v;
        x[i + k + len / 2] = u - v;
      }
    }
  }
}

/// Magnitude spectrum (bins 0..n/2) of `x` under a 4-term Blackman-Harris window (-92 dB side
/// lobes, main lobe +-4 bins).
inline std::vector<double> MagnitudeSpectrum(std::span<const float> x) {
  const size_t n = x.size();
  std::vector<std::complex<double>> buf(n);
  for (size_t i = 0; i < n; ++i) {
    const double p = 2.0 * std::numbers::pi * static_cast<double>(i) / static_cast<double>(n);
    const double w =
        0.35875 - 0.48829 * std::cos(p) + 0.14128 * std::cos(2 * p) - 0.01168 * std::cos(3 * p);
    buf[i] = w * static_cast<double>(x[i]);
  }
  Fft(buf);
  std::vector<double> mag(n / 2 + 1);
  for (size_t i = 0; i < mag.size(); ++i) mag[i] = std::abs(buf[i]);
  return mag;
}

/// Frequency in Hz from upward zero crossings, each located by linear interpolation between
/// the samples around it: (crossings - 1) periods / (last crossing - first crossing).
inline double ZeroCrossingFrequency(std::span<const float> x, double sample_rate) {
  double first = -1.0;
  double last = -1.0;
  size_t count = 0;
  for (size_t i = 1; i < x.size(); ++i) {
    if (x[i - 1] < 0.0f && x[i] >= 0.0f) {
      const double a = x[i - 1];
      const double b = x[i];
      const double t = static_cast<double>(i - 1) + (-a) / (b - a);
      if (count == 0) first = t;
      last = t;
      ++count;
    }
  }
  if (count < 2) return 0.0;
  return static_cast<double>(count - 1) * sample_rate / (last - first);
}

/// Amplitude of the component at `freq` Hz, by correlation with a quadrature pair over all of
/// `x` (exact when x spans a whole number of periods).
inline double ToneAmplitude(std::span<const float> x, double freq, double sample_rate) {
  double s = 0.0;
  double c = 0.0;
  for (size_t i = 0; i < x.size(); ++i) {
    const double p = 2.0 * std::numbers::pi * freq * static_cast<double>(i) / sample_rate;
    s += static_cast<double>(x[i]) * std::sin(p);
    c += static_cast<double>(x[i]) * std::cos(p);
  }
  return 2.0 * std::hypot(s, c) / static_cast<double>(x.size());
}

/// Largest |x[i] - x[i-1]|.
inline float MaxStep(std::span<const float> x) {
  float m = 0.0f;
  for (size_t i = 1; i < x.size(); ++i) m = std::max(m, std::fabs(x[i] - x[i - 1]));
  return m;
}

inline double ToDb(double ratio) { return 20.0 * std::log10(ratio); }

}  // namespace chronus::dsp::testing
