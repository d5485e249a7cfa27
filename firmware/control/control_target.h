// What a hardware control (encoder, button, pot, MIDI CC) acts on, and the curve from a control
// position 0..1 to a parameter value. Pure; any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dsp/synth_params.h"

namespace chronus::firmware {

enum class TargetKind : uint8_t {
  kNone,          ///< does nothing ("none")
  kParam,         ///< a synth parameter (its OSC name: "cutoff", "gain", ...)
  kPresetNext,    ///< load the next stored preset ("preset_next"), wrapping around
  kPresetPrev,    ///< load the previous stored preset ("preset_prev")
  kRecordToggle,  ///< start a take, or stop the running one ("record")
  kRecordStart,   ///< "record_start"
  kRecordStop,    ///< "record_stop"
  kPanic,         ///< all notes off ("panic")
};

/// Position-to-value curve of a parameter target: linear, or logarithmic (equal ratios per equal
/// turn: the natural feel for frequencies and times; needs min > 0).
enum class Curve : uint8_t { kLinear, kLog };

struct ControlTarget {
  TargetKind kind = TargetKind::kNone;
  dsp::ParamId param = dsp::ParamId::kCutoffHz;
  float min = 0.0f;  ///< Value at position 0, units of dsp::kParamSpecs (may exceed max: reversed)
  float max = 1.0f;  ///< Value at position 1.
  Curve curve = Curve::kLinear;
};

/// Parses a target name. A parameter gets its full range from dsp::kParamSpecs and the default
/// curve for its unit (DefaultCurve). Returns "" or why the name is not a target.
std::string ParseTarget(std::string_view name, ControlTarget* out);

/// The curve that suits a parameter: kLog for Hz and seconds, kLinear otherwise.
Curve DefaultCurve(dsp::ParamId id);

/// Checks min/max/curve of a parameter target: both within the parameter's range, and > 0 for
/// kLog. Returns "" or the problem.
std::string CheckTarget(const ControlTarget& target);

/// The parameter value at `position` (clamped to 0..1): lin min + p (max - min), log
/// min (max / min)^p; enum parameters are rounded to the nearest whole value.
float TargetValue(const ControlTarget& target, float position);

/// Inverse of TargetValue: the position 0..1 (clamped) of `value`.
float TargetPosition(const ControlTarget& target, float value);

/// True for parameters whose values are whole choices (waveform).
inline bool IsEnumParam(dsp::ParamId id) { return dsp::Spec(id).unit == "enum"; }

/// The name ParseTarget accepts for `target` ("cutoff", "panic", ...).
std::string TargetName(const ControlTarget& target);

}  // namespace chronus::firmware
