// A fixed-capacity set of voices rendered into one mono buffer.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>

#include "dsp/synth_params.h"
#include "dsp/voice.h"

namespace chronus::dsp {

/// The voices one DSP worker owns, addressed by slot 0..num_voices-1. The control side decides
/// which slot plays which note (see VoiceAllocator); the bank only renders. Storage is a fixed
/// array of kMaxVoices voices: no allocation at all. Out-of-range slots are ignored.
class VoiceBank {
 public:
  /// Prepares `num_voices` (clamped to kMaxVoices) inactive voices for `sample_rate` Hz with the
  /// synth_params.h defaults.
  void Init(float sample_rate, size_t num_voices);
  /// Starts (or retriggers) `midi_note` (fractional allowed) at `velocity` 0..1 on `slot`. RT-safe.
  void NoteOn(size_t slot, float midi_note, float velocity);
  /// Releases `slot`. RT-safe.
  void NoteOff(size_t slot);
  /// Sets a parameter on every voice, units of synth_params.h; kMasterGainDb is ignored
  /// (engine-level). RT-safe.
  void SetParam(ParamId id, float value);
  /// Sets a parameter on one voice only (e.g. a per-note cutoff). RT-safe.
  void SetVoiceParam(size_t slot, ParamId id, float value);
  /// Writes (does not add) the mono sum of all voices, `frames` samples. RT-safe.
  void Render(float* out, size_t frames);

  void CopyStateFrom(const VoiceBank& other);

  bool IsActive(size_t slot) const { return slot < num_voices_ && voices_[slot].IsActive(); }
  size_t ActiveCount() const;
  size_t num_voices() const { return num_voices_; }
  /// Slots whose release ended during the last Render (to report to the allocator's MarkFree).
  std::span<const uint16_t> Finished() const { return {finished_.data(), num_finished_}; }
  const Voice& voice(size_t slot) const { return voices_[slot]; }

 private:
  std::array<Voice, kMaxVoices> voices_{};
  std::array<uint16_t, kMaxVoices> finished_{};
  size_t num_voices_ = 0;
  size_t num_finished_ = 0;
};

}  // namespace chronus::dsp
