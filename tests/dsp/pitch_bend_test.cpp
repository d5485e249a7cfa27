// The pitch bend parameter (kPitchBendSemitones): measured pitch of sounding and new voices, in
// the fast voice bank and in the reference voice.
#include <gtest/gtest.h>

#include <memory>
#include <vector>

#include "dsp/pitch.h"
#include "dsp/voice.h"
#include "dsp/voice_bank.h"
#include "signal_analysis.h"

namespace chronus::dsp {
namespace {

constexpr float kFs = 48000.0f;

std::vector<float> Render(VoiceBank& bank, size_t frames) {
  std::vector<float> x(frames);
  bank.Render(x.data(), x.size());
  return x;
}

std::unique_ptr<VoiceBank> SineBank() {
  auto bank = std::make_unique<VoiceBank>();
  bank->Init(kFs, 4);
  bank->SetParam(ParamId::kWaveform, static_cast<float>(Waveform::kSine));
  bank->SetParam(ParamId::kCutoffHz, 20000.0f);
  bank->SetParam(ParamId::kSustain, 1.0f);
  return bank;
}

TEST(DspPitchBend, BendsASoundingVoice) {
  auto bank = SineBank();
  bank->NoteOn(0, 69.0f, 1.0f);  // A4, 440 Hz
  Render(*bank, 4800);
  EXPECT_NEAR(testing::ZeroCrossingFrequency(Render(*bank, 48000), kFs), 440.0, 0.02);
  bank->SetParam(ParamId::kPitchBendSemitones, 2.0f);
  Render(*bank, 480);
  EXPECT_NEAR(testing::ZeroCrossingFrequency(Render(*bank, 48000), kFs), MidiToHz(71.0f), 0.02);
  bank->SetParam(ParamId::kPitchBendSemitones, -12.0f);
  Render(*bank, 480);
  EXPECT_NEAR(testing::ZeroCrossingFrequency(Render(*bank, 48000), kFs), 220.0, 0.02);
  bank->SetParam(ParamId::kPitchBendSemitones, 0.0f);
  Render(*bank, 480);
  EXPECT_NEAR(testing::ZeroCrossingFrequency(Render(*bank, 48000), kFs), 440.0, 0.02);
}

TEST(DspPitchBend, NewNotesStartBent) {
  auto bank = SineBank();
  bank->SetParam(ParamId::kPitchBendSemitones, -2.0f);
  bank->NoteOn(1, 69.0f, 1.0f);
  Render(*bank, 4800);
  EXPECT_NEAR(testing::ZeroCrossingFrequency(Render(*bank, 48000), kFs), MidiToHz(67.0f), 0.02);
}

TEST(DspPitchBend, OutOfRangeIsClamped) {
  auto bank = SineBank();
  bank->SetParam(ParamId::kPitchBendSemitones, 100.0f);  // clamped to +24
  bank->NoteOn(0, 45.0f, 1.0f);                          // A2, 110 Hz -> A4 at +24
  Render(*bank, 4800);
  EXPECT_NEAR(testing::ZeroCrossingFrequency(Render(*bank, 48000), kFs), 440.0, 0.02);
}

TEST(DspPitchBend, ReferenceVoiceBendsAlike) {
  Voice voice;
  voice.Init(kFs);
  voice.SetParam(ParamId::kWaveform, static_cast<float>(Waveform::kSine));
  voice.SetParam(ParamId::kCutoffHz, 20000.0f);
  voice.SetParam(ParamId::kSustain, 1.0f);
  voice.NoteOn(69.0f, 1.0f);
  voice.SetParam(ParamId::kPitchBendSemitones, 7.0f);
  std::vector<float> x(48000 + 4800, 0.0f);
  voice.RenderAdd(x.data(), x.size());
  x.erase(x.begin(), x.begin() + 4800);
  EXPECT_NEAR(testing::ZeroCrossingFrequency(x, kFs), MidiToHz(76.0f), 0.02);
}

}  // namespace
}  // namespace chronus::dsp
