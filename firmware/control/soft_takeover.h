// Soft takeover ("pickup") for an absolute control (a pot, a MIDI controller's knob): after the
// value it controls was set elsewhere (a preset load), the control does nothing until it passes
// the stored value, so that a preset change never makes the sound jump when a knob is touched.
// Pure; positions are 0..1 in the target's curve (control_target.h). One thread per instance.
#pragma once

#include <cmath>
#include <optional>

namespace chronus::firmware {

class SoftTakeover {
 public:
  /// Positions within `tolerance` of the stored value count as reaching it (a slow turn of a
  /// coarse control may step over it without crossing: 0.02 is ~2.5 steps of a 7-bit MIDI CC).
  explicit SoftTakeover(float tolerance = 0.02f) : tolerance_(tolerance) {}

  /// The value was set elsewhere: it sits at `position` now; wait until the control reaches it.
  void Arm(float position) {
    armed_ = true;
    target_ = position;
  }
  /// Engages at once (the control owns the value again).
  void Release() { armed_ = false; }
  bool armed() const { return armed_; }
  float target() const { return target_; }

  /// The control moved from `from` (nullopt: its previous position is not known) to `to`.
  /// Returns whether the move is to be applied: always when not armed; when armed, once the
  /// control crossed or reached the stored value (then it stays engaged).
  bool Move(std::optional<float> from, float to) {
    if (!armed_) return true;
    const bool reached = std::fabs(to - target_) <= tolerance_;
    const bool crossed = from && ((*from - target_) * (to - target_) <= 0.0f);
    if (reached || crossed) armed_ = false;
    return !armed_;
  }

 private:
  float tolerance_;
  float target_ = 0.0f;
  bool armed_ = false;
};

}  // namespace chronus::firmware
