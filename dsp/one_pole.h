// One-pole parameter smoother.
#pragma once

#include <cmath>

namespace chronus::dsp {

/// One-pole low-pass that glides a control value to its target, per sample:
/// y += (target - y) * (1 - exp(-1 / (tau * fs))), tau = time constant (63 % of a step).
/// Snaps to the target once within 1e-6 relative (1e-9 absolute) of it, or once float rounding
/// stops its progress (a gap of at most ~6e-8 / coefficient relative, e.g. 3e-5 at 10 ms and
/// 48 kHz), so it never produces denormals and reports settled() for callers that skip work on
/// steady parameters.
class OnePole {
 public:
  /// Prepares for `sample_rate` Hz with time constant `time_ms` (ms), settled at `value`.
  void Init(float sample_rate, float time_ms, float value = 0.0f) {
    sample_rate_ = sample_rate;
    SetTimeMs(time_ms);
    Reset(value);
  }

  /// Time constant in ms; <= 0 disables smoothing (targets are reached on the next sample).
  /// RT-safe.
  void SetTimeMs(float time_ms) {
    coef_ = time_ms > 0.0f
                ? static_cast<float>(1.0 - std::exp(-1000.0 / (static_cast<double>(time_ms) *
                                                               static_cast<double>(sample_rate_))))
                : 1.0f;
  }

  /// Starts a glide to `target` (same units as the value). RT-safe.
  void SetTarget(float target) {
    if (target == target_) return;
    target_ = target;
    snap_ = std::fabs(target) * 1e-6f + 1e-9f;
    settled_ = false;
  }

  /// Jumps to `value` without gliding. RT-safe.
  void Reset(float value) {
    target_ = value;
    value_ = value;
    snap_ = std::fabs(value) * 1e-6f + 1e-9f;
    settled_ = true;
  }

  /// Advances one sample and returns the smoothed value. RT-safe.
  float Process() {
    if (settled_) return value_;
    const float next = value_ + (target_ - value_) * coef_;
    if (next == value_ || std::fabs(target_ - next) <= snap_) {
      value_ = target_;
      settled_ = true;
    } else {
      value_ = next;
    }
    return value_;
  }

  float value() const { return value_; }
  float target() const { return target_; }
  bool settled() const { return settled_; }

 private:
  float sample_rate_ = 48000.0f;
  float coef_ = 1.0f;
  float value_ = 0.0f;
  float target_ = 0.0f;
  float snap_ = 1e-9f;
  bool settled_ = true;
};

}  // namespace chronus::dsp
