#include "dsp/voice_bank.h"

#include <algorithm>

namespace chronus::dsp {

void VoiceBank::Init(float sample_rate, size_t num_voices) {
  num_voices_ = std::min(num_voices, kMaxVoices);
  for (auto& v : voices_) v.Init(sample_rate);
  num_finished_ = 0;
}

void VoiceBank::NoteOn(size_t slot, float midi_note, float velocity) {
  if (slot < num_voices_) voices_[slot].NoteOn(midi_note, velocity);
}

void VoiceBank::NoteOff(size_t slot) {
  if (slot < num_voices_) voices_[slot].NoteOff();
}

void VoiceBank::SetParam(ParamId id, float value) {
  if (id == ParamId::kMasterGainDb) return;
  for (size_t i = 0; i < num_voices_; ++i) voices_[i].SetParam(id, value);
}

void VoiceBank::SetVoiceParam(size_t slot, ParamId id, float value) {
  if (slot < num_voices_) voices_[slot].SetParam(id, value);
}

void VoiceBank::Render(float* out, size_t frames) {
  std::fill(out, out + frames, 0.0f);
  num_finished_ = 0;
  for (size_t i = 0; i < num_voices_; ++i) {
    Voice& v = voices_[i];
    if (!v.IsActive()) continue;
    v.RenderAdd(out, frames);
    if (!v.IsActive()) finished_[num_finished_++] = static_cast<uint16_t>(i);
  }
}

size_t VoiceBank::ActiveCount() const {
  size_t n = 0;
  for (size_t i = 0; i < num_voices_; ++i) n += voices_[i].IsActive() ? 1 : 0;
  return n;
}

void VoiceBank::CopyStateFrom(const VoiceBank& other) {
  num_voices_ = other.num_voices_;
  num_finished_ = 0;
  for (size_t i = 0; i < num_voices_; ++i) voices_[i] = other.voices_[i];
}

}  // namespace chronus::dsp
