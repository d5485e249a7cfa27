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
  // The generative mode (firmware/generative), through ControlSink::Generative:
  kGenIntensity,  ///< "gen_intensity": 0..1 (note density, velocity, register spread)
  kGenBpm,        ///< "gen_bpm": tempo, quarter notes per minute (default range 40..160, linear)
  kGenMode,       ///< "gen_mode": 0..6 = Ionian..Locrian, whole steps
  kGenToggle,     ///< "gen_toggle": start the generative mode, or stop it when it plays
};

/// Targets with a value (a position maps to it): kParam, gen_intensity, gen_bpm, gen_mode. The
/// others are triggered.
inline bool IsValueTarget(TargetKind kind) {
  return kind == TargetKind::kParam || kind == TargetKind::kGenIntensity ||
         kind == TargetKind::kGenBpm || kind == TargetKind::kGenMode;
}

/// The range a board file may give gen_intensity (0..1), gen_bpm (20..300: the composer's) and
/// gen_mode (0..6) with min/max; false for other kinds.
bool GenTargetLimits(TargetKind kind, float* lo, float* hi);

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
/// curve for its unit (DefaultCurve); gen_intensity 0..1, gen_bpm 40..160, gen_mode 0..6, all
/// linear. Returns "" or why the name is not a target.
std::string ParseTarget(std::string_view name, ControlTarget* out);

/// The curve that suits a parameter: kLog for Hz and seconds, kLinear otherwise.
Curve DefaultCurve(dsp::ParamId id);

/// Checks min/max/curve of a parameter or generative target: both within its range
/// (GenTargetLimits), and > 0 for kLog. Returns "" or the problem.
std::string CheckTarget(const ControlTarget& target);

/// The parameter value at `position` (clamped to 0..1): lin min + p (max - min), log
/// min (max / min)^p; enum parameters and gen_mode are rounded to the nearest whole value.
float TargetValue(const ControlTarget& target, float position);

/// Inverse of TargetValue: the position 0..1 (clamped) of `value`.
float TargetPosition(const ControlTarget& target, float value);

/// True for parameters whose values are whole choices (waveform).
inline bool IsEnumParam(dsp::ParamId id) { return dsp::Spec(id).unit == "enum"; }

/// The name ParseTarget accepts for `target` ("cutoff", "panic", ...).
std::string TargetName(const ControlTarget& target);

}  // namespace chronus::firmware
