#include "dsp/voice.h"

#include <algorithm>
#include <cmath>
#include <numbers>

#include "dsp/pitch.h"

namespace chronus::dsp {

void Voice::Init(float sample_rate) {
  pi_over_fs_ = std::numbers::pi_v<float> / sample_rate;
  max_cutoff_hz_ = Svf::kMaxFreqRatio * sample_rate;
  osc_.Init(sample_rate);
  svf_.Init(sample_rate);
  env_.Init(sample_rate);
  cutoff_.Init(sample_rate, kSmoothingMs);
  damping_.Init(sample_rate, kSmoothingMs);
  velocity_ = 0.0f;
  note_ = 0.0f;
  for (size_t i = 0; i < kParamCount; ++i) {
    SetParam(static_cast<ParamId>(i), kParamSpecs[i].default_value);
  }
  cutoff_.Reset(cutoff_.target());
  damping_.Reset(damping_.target());
  UpdateFilter(cutoff_.value(), damping_.value());
}

void Voice::NoteOn(float midi_note, float velocity) {
  note_ = midi_note;
  velocity_ = std::clamp(velocity, 0.0f, 1.0f);
  osc_.SetFreq(MidiToHz(midi_note + bend_));
  if (!env_.IsActive()) {
    osc_.Reset(0.0f);
    svf_.Reset();
    cutoff_.Reset(cutoff_.target());
    damping_.Reset(damping_.target());
    UpdateFilter(cutoff_.value(), damping_.value());
  }
  env_.Gate(true);
}

void Voice::NoteOff() { env_.Gate(false); }

void Voice::SetParam(ParamId id, float value) {
  if (static_cast<size_t>(id) >= kParamCount) return;
  value = ClampToSpec(id, value);
  switch (id) {
    case ParamId::kCutoffHz:
      cutoff_.SetTarget(std::min(value, max_cutoff_hz_));
      break;
    case ParamId::kResonance:
      damping_.SetTarget(1.0f / ResonanceToQ(value));
      break;
    case ParamId::kAttackS:
      env_.SetAttack(value);
      break;
    case ParamId::kDecayS:
      env_.SetDecay(value);
      break;
    case ParamId::kSustain:
      env_.SetSustain(value);
      break;
    case ParamId::kReleaseS:
      env_.SetRelease(value);
      break;
    case ParamId::kWaveform:
      osc_.SetWaveform(static_cast<Waveform>(static_cast<int>(std::lround(value))));
      break;
    case ParamId::kPitchBendSemitones:
      bend_ = value;
      osc_.SetFreq(MidiToHz(note_ + bend_));
      break;
    case ParamId::kMasterGainDb:
    case ParamId::kCount:
      break;
  }
}

void Voice::SetSmoothingMs(float ms) {
  cutoff_.SetTimeMs(ms);
  damping_.SetTimeMs(ms);
}

void Voice::RenderAdd(float* out, size_t frames) {
  if (!env_.IsActive()) return;
  // Work on local copies: `out` could alias members, which would force a reload per sample.
  Oscillator osc = osc_;
  Svf svf = svf_;
  Adsr env = env_;
  OnePole cutoff = cutoff_;
  OnePole damping = damping_;
  const float velocity = velocity_;
  const float pi_over_fs = pi_over_fs_;
  bool gliding = !(cutoff.settled() && damping.settled());
  for (size_t i = 0; i < frames; ++i) {
    if (gliding) {
      const float fc = cutoff.Process();
      const float k = damping.Process();
      svf.SetCoefficients(TanApprox(fc * pi_over_fs), k);
      gliding = !(cutoff.settled() && damping.settled());
    }
    const float y = svf.Process(osc.Process());
    out[i] += y * (env.Process() * velocity);
    if (!env.IsActive()) break;
  }
  osc_ = osc;
  svf_ = svf;
  env_ = env;
  cutoff_ = cutoff;
  damping_ = damping;
}

}  // namespace chronus::dsp
