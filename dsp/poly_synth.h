// Single-threaded polyphonic synth: allocator + voice bank + master gain + soft clip.
#pragma once

#include <cstddef>

#include "dsp/one_pole.h"
#include "dsp/synth_params.h"
#include "dsp/voice_allocator.h"
#include "dsp/voice_bank.h"

namespace chronus::dsp {

/// VoiceAllocator + VoiceBank + master gain (kMasterGainDb, smoothed per sample in the linear
/// domain with kMasterSmoothingMs) + SoftClip, for offline rendering (tests, benchmarks, file
/// rendering). The firmware splits the same pieces over threads instead. About 75 KB: construct
/// it once, not on a small stack.
class PolySynth {
 public:
  static constexpr float kMasterSmoothingMs = 20.0f;

  /// Prepares `num_voices` voices (1..kMaxVoices) for `sample_rate` Hz, synth_params.h defaults.
  void Init(float sample_rate, size_t num_voices = 16);
  /// Starts `note` (MIDI 0..127) at `velocity` 0..1; velocity 0 means NoteOff. RT-safe.
  void NoteOn(int note, float velocity);
  /// Releases the most recent voice playing `note`. RT-safe.
  void NoteOff(int note);
  /// Sets any parameter in the units of synth_params.h. RT-safe.
  void SetParam(ParamId id, float value);
  /// Writes `frames` mono samples in [-1, 1]. RT-safe.
  void Render(float* out_mono, size_t frames);

  size_t ActiveVoices() const { return allocator_.ActiveCount(); }
  const VoiceAllocator& allocator() const { return allocator_; }
  const VoiceBank& bank() const { return bank_; }

 private:
  VoiceAllocator allocator_;
  VoiceBank bank_;
  OnePole master_gain_;
};

}  // namespace chronus::dsp
