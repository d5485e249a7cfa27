// Synth parameters: identifiers, ranges, units and defaults.
//
// This table is the single description of every synth parameter. The OSC
// control layer maps `/param/<name>` onto it (validation, clamping) and the
// DSP voices consume values in the units given here.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace chronus::dsp {

/// Oscillator waveform of a voice. Sent over OSC as a float (0, 1 or 2).
enum class Waveform : uint8_t { kSine = 0, kSaw = 1, kSquare = 2 };

/// Identifies one synth parameter. The order matches kParamSpecs.
enum class ParamId : uint8_t {
  kCutoffHz = 0,  ///< Low-pass cutoff, Hz (20..20000), smoothed.
  kResonance,     ///< Low-pass resonance, 0..1 (0 = Q 0.707, 1 = near self-oscillation), smoothed.
  kAttackS,       ///< Amp envelope attack time, seconds.
  kDecayS,        ///< Amp envelope decay time, seconds.
  kSustain,       ///< Amp envelope sustain level, 0..1 (linear amplitude).
  kReleaseS,      ///< Amp envelope release time, seconds.
  kWaveform,      ///< Waveform (0 sine, 1 saw, 2 square); switching crossfades.
  kMasterGainDb,  ///< Master gain after the mix, dB (-60..+12), smoothed; engine-level.
  kPitchBendSemitones,  ///< Pitch bend of every voice, semitones (-24..+24), not smoothed.
  kCount
};

inline constexpr size_t kParamCount = static_cast<size_t>(ParamId::kCount);

/// Compile-time maximum number of voices, summed over all DSP workers.
inline constexpr size_t kMaxVoices = 256;

/// Description of one parameter: OSC name, unit, range and default.
struct ParamSpec {
  ParamId id;
  std::string_view name;  ///< OSC name: `/param/<name>`.
  std::string_view unit;  ///< "Hz", "s", "dB", "semitones", "" (normalised) or "enum".
  float min;
  float max;
  float default_value;
};

inline constexpr ParamSpec kParamSpecs[kParamCount] = {
    {ParamId::kCutoffHz, "cutoff", "Hz", 20.0f, 20000.0f, 2000.0f},
    {ParamId::kResonance, "resonance", "", 0.0f, 1.0f, 0.2f},
    {ParamId::kAttackS, "attack", "s", 0.0005f, 10.0f, 0.005f},
    {ParamId::kDecayS, "decay", "s", 0.001f, 10.0f, 0.1f},
    {ParamId::kSustain, "sustain", "", 0.0f, 1.0f, 0.7f},
    {ParamId::kReleaseS, "release", "s", 0.001f, 20.0f, 0.2f},
    {ParamId::kWaveform, "waveform", "enum", 0.0f, 2.0f, 1.0f},
    {ParamId::kMasterGainDb, "gain", "dB", -60.0f, 12.0f, -6.0f},
    {ParamId::kPitchBendSemitones, "bend", "semitones", -24.0f, 24.0f, 0.0f},
};

/// Returns the spec for `id`. Any thread.
constexpr const ParamSpec& Spec(ParamId id) { return kParamSpecs[static_cast<size_t>(id)]; }

/// Clamps `value` to the range of `id`; NaN maps to the minimum. Any thread, RT-safe.
constexpr float ClampToSpec(ParamId id, float value) {
  const ParamSpec& s = Spec(id);
  if (!(value >= s.min)) return s.min;
  return value > s.max ? s.max : value;
}

/// Looks a parameter up by its OSC name; returns nullptr when unknown. Any thread, no allocation.
constexpr const ParamSpec* FindParam(std::string_view name) {
  for (const auto& s : kParamSpecs) {
    if (s.name == name) return &s;
  }
  return nullptr;
}

}  // namespace chronus::dsp
