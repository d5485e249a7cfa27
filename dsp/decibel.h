// Decibel <-> linear amplitude gain.
#pragma once

#include <cmath>

namespace chronus::dsp {

/// Linear amplitude gain of `db` decibels: 10^(db/20). RT-safe.
inline float DbToGain(float db) { return std::pow(10.0f, db * 0.05f); }

/// Decibels of a linear amplitude gain: 20*log10(gain); gains below 1e-10 (and <= 0) give -200 dB.
/// RT-safe.
inline float GainToDb(float gain) { return gain > 1e-10f ? 20.0f * std::log10(gain) : -200.0f; }

}  // namespace chronus::dsp
