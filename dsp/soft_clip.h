// Master-bus soft clipper.
#pragma once

#include <cmath>
#include <cstddef>

namespace chronus::dsp {

/// Smooth saturating clip: tanh(x). Odd, monotonic, |out| <= 1 for every input (NaN stays NaN),
/// small-signal gain 1 (within 1e-6 below |x| = 1e-3; -0.3 dB at x = 0.35, -1.6 dB at x = 1).
/// RT-safe.
inline float SoftClip(float x) { return std::tanh(x); }

/// Applies SoftClip to `frames` samples in place. RT-safe.
inline void SoftClip(float* io, size_t frames) {
  for (size_t i = 0; i < frames; ++i) io[i] = SoftClip(io[i]);
}

}  // namespace chronus::dsp
