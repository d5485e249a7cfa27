#include "firmware/control/control_target.h"

#include <algorithm>
#include <cmath>

namespace chronus::firmware {

namespace {

struct NamedKind {
  std::string_view name;
  TargetKind kind;
};
constexpr NamedKind kKinds[] = {
    {"none", TargetKind::kNone},
    {"preset_next", TargetKind::kPresetNext},
    {"preset_prev", TargetKind::kPresetPrev},
    {"record", TargetKind::kRecordToggle},
    {"record_start", TargetKind::kRecordStart},
    {"record_stop", TargetKind::kRecordStop},
    {"panic", TargetKind::kPanic},
    {"gen_intensity", TargetKind::kGenIntensity},
    {"gen_bpm", TargetKind::kGenBpm},
    {"gen_mode", TargetKind::kGenMode},
    {"gen_toggle", TargetKind::kGenToggle},
};

}  // namespace

bool GenTargetLimits(TargetKind kind, float* lo, float* hi) {
  switch (kind) {
    case TargetKind::kGenIntensity:
      *lo = 0.0f;
      *hi = 1.0f;
      return true;
    case TargetKind::kGenBpm:
      *lo = 20.0f;
      *hi = 300.0f;
      return true;
    case TargetKind::kGenMode:
      *lo = 0.0f;
      *hi = 6.0f;
      return true;
    default:
      return false;
  }
}

Curve DefaultCurve(dsp::ParamId id) {
  const std::string_view unit = dsp::Spec(id).unit;
  return unit == "Hz" || unit == "s" ? Curve::kLog : Curve::kLinear;
}

std::string ParseTarget(std::string_view name, ControlTarget* out) {
  for (const NamedKind& k : kKinds) {
    if (k.name == name) {
      *out = ControlTarget{};
      out->kind = k.kind;
      if (k.kind == TargetKind::kGenBpm) {
        out->min = 40.0f;
        out->max = 160.0f;
      } else if (k.kind == TargetKind::kGenMode) {
        out->max = 6.0f;
      }
      return {};
    }
  }
  const dsp::ParamSpec* spec = dsp::FindParam(name);
  if (spec == nullptr) {
    std::string names;
    for (const auto& s : dsp::kParamSpecs) names += std::string(s.name) + ", ";
    for (const NamedKind& k : kKinds) names += std::string(k.name) + ", ";
    names.resize(names.size() - 2);
    return "unknown target \"" + std::string(name.substr(0, 40)) + "\" (one of " + names + ")";
  }
  *out = ControlTarget{TargetKind::kParam, spec->id, spec->min, spec->max, DefaultCurve(spec->id)};
  return {};
}

std::string CheckTarget(const ControlTarget& t) {
  if (float lo = 0.0f, hi = 0.0f; GenTargetLimits(t.kind, &lo, &hi)) {
    if (!(t.min >= lo && t.min <= hi && t.max >= lo && t.max <= hi)) {
      return "min and max must lie within " + TargetName(t) + "'s range " + std::to_string(lo) +
             ".." + std::to_string(hi);
    }
    if (t.curve == Curve::kLog && !(t.min > 0.0f && t.max > 0.0f)) {
      return "a log curve needs min and max above 0";
    }
    return {};
  }
  if (t.kind != TargetKind::kParam) return {};
  const dsp::ParamSpec& s = dsp::Spec(t.param);
  auto inside = [&](float v) { return v >= s.min && v <= s.max; };
  if (!inside(t.min) || !inside(t.max)) {
    return "min and max must lie within " + std::string(s.name) + "'s range " +
           std::to_string(s.min) + ".." + std::to_string(s.max);
  }
  if (t.curve == Curve::kLog && !(t.min > 0.0f && t.max > 0.0f)) {
    return "a log curve needs min and max above 0";
  }
  return {};
}

float TargetValue(const ControlTarget& t, float position) {
  const float p = std::clamp(position, 0.0f, 1.0f);
  float value = t.curve == Curve::kLog && t.min > 0.0f && t.max > 0.0f
                    ? t.min * std::pow(t.max / t.min, p)
                    : t.min + p * (t.max - t.min);
  if (p == 1.0f) value = t.max;  // exact ends, whatever the rounding of pow
  if (p == 0.0f) value = t.min;
  if (t.kind == TargetKind::kParam && IsEnumParam(t.param)) value = std::round(value);
  if (t.kind == TargetKind::kGenMode) {  // equal slices of the travel, one per mode
    const float span = std::fabs(t.max - t.min);
    const float index = std::min(std::floor(p * (span + 1.0f)), span);
    value = t.min + (t.max >= t.min ? index : -index);
  }
  return t.kind == TargetKind::kParam ? dsp::ClampToSpec(t.param, value) : value;
}

float TargetPosition(const ControlTarget& t, float value) {
  float p = 0.0f;
  if (t.max == t.min) return 0.0f;
  if (t.curve == Curve::kLog && t.min > 0.0f && t.max > 0.0f && value > 0.0f) {
    p = std::log(value / t.min) / std::log(t.max / t.min);
  } else {
    p = (value - t.min) / (t.max - t.min);
  }
  return std::isfinite(p) ? std::clamp(p, 0.0f, 1.0f) : 0.0f;
}

std::string TargetName(const ControlTarget& target) {
  if (target.kind == TargetKind::kParam) return std::string(dsp::Spec(target.param).name);
  for (const NamedKind& k : kKinds) {
    if (k.kind == target.kind) return std::string(k.name);
  }
  return "none";
}

}  // namespace chronus::firmware
