// Stereo reverb: Freeverb, Jezar at Dreampoint's public-domain Schroeder-Moorer design (2000):
// eight parallel low-pass-feedback comb filters and four series allpasses per channel, the right
// channel's delays 23 samples longer for decorrelation. Delay lengths are Jezar's 44.1 kHz
// tunings scaled to the sample rate.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace chronus::dsp {

/// Init allocates (non-RT); SetRoomSize / SetDamping / Process are RT-safe.
class Freeverb {
 public:
  void Init(float sample_rate);
  /// Room size 0..1 (clamped): comb feedback 0.7 + 0.28 * size.
  void SetRoomSize(float size);
  /// High-frequency damping 0..1 (clamped) inside the combs.
  void SetDamping(float damping);
  /// Adds the wet stereo output of `frames` samples of `in_left`/`in_right` to
  /// `out_left`/`out_right`, scaled by `wet`. Returns the largest |output| sample added.
  float Process(const float* in_left, const float* in_right, float* out_left, float* out_right,
                size_t frames, float wet);
  /// Clears the delay lines (silence). RT-safe (a bounded memset).
  void Clear();

 private:
  struct Comb {
    std::vector<float> buffer;
    size_t index = 0;
    float store = 0.0f;
  };
  struct Allpass {
    std::vector<float> buffer;
    size_t index = 0;
  };
  static constexpr int kCombs = 8;
  static constexpr int kAllpasses = 4;
  Comb comb_[2][kCombs];
  Allpass allpass_[2][kAllpasses];
  float feedback_ = 0.84f;
  float damp1_ = 0.2f;
  float damp2_ = 0.8f;
};

}  // namespace chronus::dsp
