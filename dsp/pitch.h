// MIDI note <-> frequency conversion (12-TET).
#pragma once

#include <cmath>

namespace chronus::dsp {

inline constexpr float kA4Hz = 440.0f;
inline constexpr float kA4Note = 69.0f;

/// Frequency in Hz of a (possibly fractional) MIDI note, 12-TET with A4 = note 69 = 440 Hz.
/// RT-safe.
inline float MidiToHz(float note) { return kA4Hz * std::exp2((note - kA4Note) / 12.0f); }

/// MIDI note (fractional) of a frequency in Hz (> 0); inverse of MidiToHz. RT-safe.
inline float HzToMidi(float hz) { return kA4Note + 12.0f * std::log2(hz / kA4Hz); }

}  // namespace chronus::dsp
