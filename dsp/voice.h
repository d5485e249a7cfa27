// One synth voice: oscillator -> resonant low-pass -> amplitude envelope.
#pragma once

#include <cstddef>

#include "dsp/adsr.h"
#include "dsp/one_pole.h"
#include "dsp/oscillator.h"
#include "dsp/svf.h"
#include "dsp/synth_params.h"

namespace chronus::dsp {

/// A monophonic voice: Oscillator -> Svf low-pass -> Adsr amplitude envelope, scaled linearly
/// by velocity (0..1). Pitch is a (fractional) MIDI note, 12-TET, A4 = 69 = 440 Hz.
///
/// Cutoff and resonance glide per sample through OnePole smoothers (kSmoothingMs): cutoff in
/// Hz, resonance in the damping domain k = 1 / ResonanceToQ(r). Filter coefficients are
/// recomputed every sample while a glide is running (TanApprox, one division) and kept while
/// settled, so the output is the same whatever the block size. A voice becomes inactive when
/// its release reaches 0; NoteOn on an inactive voice resets phase, filter and glides (it is
/// silent), on an active one it retriggers from the current level without a click.
///
/// This is the straightforward per-sample implementation of the voice, kept as the reference:
/// VoiceBank renders the same chain for many voices at once with SIMD and a 16-sample control
/// grid, and tests/dsp/voice_bank_test.cpp checks it against Voice within stated tolerances.
class Voice {
 public:
  /// Glide time constant of cutoff and resonance, ms.
  static constexpr float kSmoothingMs = 10.0f;

  /// Prepares for `sample_rate` Hz with the synth_params.h defaults; inactive.
  void Init(float sample_rate);
  /// Starts (or retriggers) `midi_note` at `velocity` 0..1. RT-safe.
  void NoteOn(float midi_note, float velocity);
  /// Starts the release. RT-safe.
  void NoteOff();
  /// Sets a parameter in the units of synth_params.h (clamped to its range); kMasterGainDb is
  /// ignored (engine-level). RT-safe.
  void SetParam(ParamId id, float value);
  /// Glide time constant of cutoff and resonance, ms (0 = jump). RT-safe.
  void SetSmoothingMs(float ms);
  /// Adds `frames` samples of this voice to `out` (nothing when inactive). RT-safe.
  void RenderAdd(float* out, size_t frames);

  bool IsActive() const { return env_.IsActive(); }
  float note() const { return note_; }
  /// Current (smoothed) cutoff, Hz.
  float cutoff_hz() const { return cutoff_.value(); }
  const Adsr& envelope() const { return env_; }

 private:
  void UpdateFilter(float cutoff_hz, float damping) {
    svf_.SetCoefficients(TanApprox(cutoff_hz * pi_over_fs_), damping);
  }

  Oscillator osc_;
  Svf svf_;
  Adsr env_;
  OnePole cutoff_;   // Hz
  OnePole damping_;  // k = 1 / Q
  float velocity_ = 0.0f;
  float note_ = 0.0f;
  float bend_ = 0.0f;  // pitch bend, semitones
  float pi_over_fs_ = 0.0f;
  float max_cutoff_hz_ = 20000.0f;
};

}  // namespace chronus::dsp
