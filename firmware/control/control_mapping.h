// Turns what the hardware controls report (encoder steps, button presses, pot positions) into
// commands and actions on a ControlSink, the same typed commands as OSC's. Pure apart from the
// sink; each mapping belongs to one control thread.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "firmware/control/control_sink.h"
#include "firmware/control/control_target.h"
#include "firmware/control/soft_takeover.h"

namespace chronus::firmware {

/// Performs a non-value target (preset step, recording, panic, gen_toggle) once, e.g. on a button
/// press. A value target (IsValueTarget) does nothing here. Returns whether something was done.
bool TriggerTarget(const ControlTarget& target, ControlSink& sink);

/// A relative control (rotary encoder) on a target. A parameter, gen_intensity or gen_bpm moves by
/// `steps` / `detents` of its curve per Steps call (an enum parameter and gen_mode by `steps`
/// whole values: one mode per detent); a trigger target is triggered once per step in either
/// direction (preset_next/prev follow the turn's direction).
class EncoderMapping {
 public:
  /// After this long without a step the value is re-read from the engine (someone else may have
  /// changed it); while turning, the mapping's own value is used (the engine applies a step a
  /// period later, so reading it back would lose steps of a fast turn).
  static constexpr int64_t kResyncNs = 150'000'000;

  /// `detents`: steps from one end of the range to the other (> 0).
  EncoderMapping(const ControlTarget& target, int detents) : target_(target), detents_(detents) {}

  /// `steps` (signed, after acceleration) at `time_ns`.
  void Steps(int steps, int64_t time_ns, ControlSink& sink);

 private:
  void GenSteps(int steps, int64_t time_ns, ControlSink& sink);  // gen_intensity/bpm/mode
  // The value `steps` detents move to (whole_steps: one choice per detent), or nullopt at the
  // end of the range; `current` reads the target's value after a pause.
  std::optional<float> StepValue(int steps, int64_t time_ns, bool whole_steps,
                                 const std::function<float()>& current);

  ControlTarget target_;
  int detents_;
  float position_ = 0.0f;
  float last_value_ = 0.0f;
  int64_t last_step_ns_ = INT64_MIN / 2;
};

/// An absolute control (pot, MIDI CC knob) on a target, with soft takeover: after ArmPickup, a
/// parameter changes only once the control has passed the value set elsewhere. gen_intensity and
/// gen_bpm follow the position (no pickup); gen_mode picks the mode by position (7 equal slices).
/// A trigger target (incl. gen_toggle) is triggered when the control crosses the middle upwards
/// (a CC switch pedal, a button sending 127/0).
class AbsoluteMapping {
 public:
  /// `first_is_baseline`: the first position only says where the control is and sends nothing
  /// (a pot read at start-up); else it is a move like any other (a MIDI CC message).
  AbsoluteMapping(const ControlTarget& target, bool pickup, bool first_is_baseline)
      : target_(target), pickup_(pickup), first_is_baseline_(first_is_baseline) {}

  /// The control's new position 0..1.
  void Position(float position, ControlSink& sink);
  /// The target parameter was set elsewhere to the value in `values` (a preset, the patch at
  /// start): wait for pickup (when enabled).
  void ArmPickup(const ParamValues& values);
  /// Same, with the value the parameter has now.
  void ArmPickupAt(float value);

  const ControlTarget& target() const { return target_; }
  bool waiting_for_pickup() const { return takeover_.armed(); }
  /// Position last reported by the control (nullopt before the first).
  std::optional<float> position() const { return position_; }

 private:
  ControlTarget target_;
  bool pickup_;
  bool first_is_baseline_;
  SoftTakeover takeover_;
  std::optional<float> position_;
  std::optional<float> last_sent_;
};

}  // namespace chronus::firmware
