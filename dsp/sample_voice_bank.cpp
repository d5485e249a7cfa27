#include "dsp/sample_voice_bank.h"

#include "dsp/denormals.h"

namespace chronus::dsp {

void SampleVoiceBank::Init(float sample_rate, uint32_t voices) {
  voices_.assign(voices, SampleVoice{});
  for (SampleVoice& voice : voices_) voice.Init(sample_rate);
  scratch_.assign(2 * SampleVoice::kMaxBlockFrames, 0.0f);
}

void SampleVoiceBank::Start(uint32_t slot, const SamplePlay& play, uint32_t offset) {
  if (slot < voices_.size()) voices_[slot].Start(play, offset);
}

void SampleVoiceBank::Cut(uint32_t slot, uint32_t offset) {
  if (slot < voices_.size()) voices_[slot].Cut(offset);
}

void SampleVoiceBank::CutAll() {
  for (SampleVoice& voice : voices_) voice.Cut(0);
}

OrbitMasks SampleVoiceBank::Render(const OrbitBuses& out, uint32_t frames) {
  ScopedFlushDenormals flush;
  OrbitMasks masks;
  for (const SampleVoice& voice : voices_) {
    if (!voice.active()) continue;
    const uint32_t bit = 1u << (voice.orbit() < out.orbits ? voice.orbit() : 0);
    masks.dry |= bit;
    if (voice.play().room > 0.0f) masks.reverb |= bit;
    if (voice.play().delay > 0.0f) masks.delay |= bit;
  }
  for (uint32_t o = 0; o < out.orbits; ++o) {
    if ((masks.dry >> o) & 1u) out.Clear(o);
  }
  for (SampleVoice& voice : voices_) {
    if (voice.active()) voice.Render(out, frames, scratch_.data());
  }
  return masks;
}

uint32_t SampleVoiceBank::active_count() const {
  uint32_t n = 0;
  for (const SampleVoice& voice : voices_) n += voice.active() ? 1 : 0;
  return n;
}

}  // namespace chronus::dsp
