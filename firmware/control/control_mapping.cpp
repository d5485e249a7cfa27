#include "firmware/control/control_mapping.h"

#include <algorithm>
#include <cmath>

namespace chronus::firmware {

bool TriggerTarget(const ControlTarget& target, ControlSink& sink) {
  switch (target.kind) {
    case TargetKind::kNone:
    case TargetKind::kParam:
      return false;
    case TargetKind::kPresetNext:
      sink.Act(ControlAction::kPresetStep, +1);
      return true;
    case TargetKind::kPresetPrev:
      sink.Act(ControlAction::kPresetStep, -1);
      return true;
    case TargetKind::kRecordToggle:
      sink.Act(ControlAction::kRecordToggle, 0);
      return true;
    case TargetKind::kRecordStart:
      sink.Act(ControlAction::kRecordStart, 0);
      return true;
    case TargetKind::kRecordStop:
      sink.Act(ControlAction::kRecordStop, 0);
      return true;
    case TargetKind::kPanic:
      sink.Send(Command{CommandType::kAllNotesOff});
      return true;
    case TargetKind::kGenToggle:
      sink.Generative(TargetKind::kGenToggle, 1.0f);
      return true;
    case TargetKind::kGenIntensity:
    case TargetKind::kGenBpm:
    case TargetKind::kGenMode:
      return false;
  }
  return false;
}

void EncoderMapping::Steps(int steps, int64_t time_ns, ControlSink& sink) {
  if (steps == 0) return;
  if (target_.kind != TargetKind::kParam && IsValueTarget(target_.kind)) {
    GenSteps(steps, time_ns, sink);
    return;
  }
  if (target_.kind != TargetKind::kParam) {
    if (target_.kind == TargetKind::kPresetNext || target_.kind == TargetKind::kPresetPrev) {
      const int direction = target_.kind == TargetKind::kPresetNext ? 1 : -1;
      sink.Act(ControlAction::kPresetStep, steps > 0 ? direction : -direction);
    } else {
      TriggerTarget(target_, sink);
    }
    return;
  }
  const std::optional<float> value = StepValue(steps, time_ns, IsEnumParam(target_.param),
                                               [&] { return sink.ParamValue(target_.param); });
  if (value) sink.Send(Command{CommandType::kSetParam, 0, target_.param, *value});
}

void EncoderMapping::GenSteps(int steps, int64_t time_ns, ControlSink& sink) {
  const std::optional<float> value = StepValue(steps, time_ns, target_.kind == TargetKind::kGenMode,
                                               [&] { return sink.GenerativeValue(target_.kind); });
  if (value) sink.Generative(target_.kind, *value);
}

std::optional<float> EncoderMapping::StepValue(int steps, int64_t time_ns, bool whole_steps,
                                               const std::function<float()>& current) {
  // After a pause the target may have moved (OSC, a preset, MIDI): resume from its value.
  if (time_ns - last_step_ns_ > kResyncNs) {
    last_value_ = current();
    position_ = TargetPosition(target_, last_value_);
  }
  last_step_ns_ = time_ns;
  float value = 0.0f;
  if (whole_steps) {  // one choice per detent
    const float lo = std::min(target_.min, target_.max);
    const float hi = std::max(target_.min, target_.max);
    value = std::clamp(std::round(last_value_) + static_cast<float>(steps), lo, hi);
    position_ = TargetPosition(target_, value);
  } else {
    position_ = std::clamp(position_ + static_cast<float>(steps) / static_cast<float>(detents_),
                           0.0f, 1.0f);
    value = TargetValue(target_, position_);
  }
  if (value == last_value_) return std::nullopt;  // at the end of the range
  last_value_ = value;
  return value;
}

void AbsoluteMapping::Position(float position, ControlSink& sink) {
  const std::optional<float> from = position_;
  position_ = position;
  if (target_.kind != TargetKind::kParam && IsValueTarget(target_.kind)) {
    if (!from && first_is_baseline_) return;
    const float value = TargetValue(target_, position);
    if (last_sent_ && *last_sent_ == value) return;
    last_sent_ = value;
    sink.Generative(target_.kind, value);
    return;
  }
  if (target_.kind != TargetKind::kParam) {
    const bool was_low = from ? *from < 0.5f : !first_is_baseline_;
    if (was_low && position >= 0.5f) TriggerTarget(target_, sink);
    return;
  }
  if (!from && first_is_baseline_) return;
  if (!takeover_.Move(from, position)) return;
  const float value = TargetValue(target_, position);
  if (last_sent_ && *last_sent_ == value) return;
  last_sent_ = value;
  sink.Send(Command{CommandType::kSetParam, 0, target_.param, value});
}

void AbsoluteMapping::ArmPickup(const ParamValues& values) {
  if (target_.kind != TargetKind::kParam) return;
  ArmPickupAt(values[static_cast<size_t>(target_.param)]);
}

void AbsoluteMapping::ArmPickupAt(float value) {
  if (target_.kind != TargetKind::kParam || !pickup_) return;
  takeover_.Arm(TargetPosition(target_, value));
  last_sent_.reset();
}

}  // namespace chronus::firmware
