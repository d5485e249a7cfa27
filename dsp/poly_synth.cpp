#include "dsp/poly_synth.h"

#include "dsp/decibel.h"
#include "dsp/soft_clip.h"

namespace chronus::dsp {

void PolySynth::Init(float sample_rate, size_t num_voices) {
  allocator_.Init(num_voices);
  bank_.Init(sample_rate, allocator_.num_voices());
  master_gain_.Init(sample_rate, kMasterSmoothingMs,
                    DbToGain(Spec(ParamId::kMasterGainDb).default_value));
}

void PolySynth::NoteOn(int note, float velocity) {
  if (!(velocity > 0.0f)) {
    NoteOff(note);
    return;
  }
  const auto r = allocator_.NoteOn(note);
  if (r.slot >= 0) bank_.NoteOn(static_cast<size_t>(r.slot), static_cast<float>(note), velocity);
}

void PolySynth::NoteOff(int note) {
  const int slot = allocator_.NoteOff(note);
  if (slot >= 0) bank_.NoteOff(static_cast<size_t>(slot));
}

void PolySynth::SetParam(ParamId id, float value) {
  if (id == ParamId::kMasterGainDb) {
    master_gain_.SetTarget(DbToGain(ClampToSpec(id, value)));
  } else {
    bank_.SetParam(id, value);
  }
}

void PolySynth::Render(float* out_mono, size_t frames) {
  bank_.Render(out_mono, frames);
  for (size_t i = 0; i < frames; ++i) out_mono[i] = SoftClip(out_mono[i] * master_gain_.Process());
  for (const uint16_t slot : bank_.Finished()) allocator_.MarkFree(slot);
}

}  // namespace chronus::dsp
