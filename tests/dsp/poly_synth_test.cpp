#include "dsp/poly_synth.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <memory>
#include <vector>

#include "tests/dsp/signal_analysis.h"

namespace chronus::dsp {
namespace {

constexpr float kFs = 48000.0f;
constexpr size_t kUnit = 4096;  // every event sits on a multiple of this

// Events at unit boundaries, exercising notes, stealing (4 voices), note-offs of stolen notes,
// and cutoff / resonance / waveform / envelope / master-gain changes while notes sound.
void ApplyEvents(PolySynth& s, size_t unit) {
  switch (unit) {
    case 0:
      s.SetParam(ParamId::kAttackS, 0.01f);
      s.SetParam(ParamId::kReleaseS, 0.3f);
      s.NoteOn(60, 0.8f);
      s.NoteOn(64, 0.7f);
      s.NoteOn(67, 0.6f);
      break;
    case 2:
      s.SetParam(ParamId::kCutoffHz, 500.0f);
      break;
    case 3:
      s.NoteOn(72, 1.0f);
      s.SetParam(ParamId::kResonance, 0.9f);
      break;
    case 5:
      s.SetParam(ParamId::kWaveform, 2.0f);
      break;
    case 6:
      s.NoteOff(64);
      s.SetParam(ParamId::kMasterGainDb, 0.0f);
      break;
    case 8:
      s.SetParam(ParamId::kCutoffHz, 8000.0f);
      s.SetParam(ParamId::kWaveform, 0.0f);
      break;
    case 9:
      s.NoteOn(48, 0.9f);  // all 4 slots busy: steals
      break;
    case 10:
      s.SetParam(ParamId::kReleaseS, 0.05f);
      s.NoteOff(60);
      s.NoteOff(67);
      break;
    case 12:
      s.SetParam(ParamId::kAttackS, 0.2f);
      s.SetParam(ParamId::kDecayS, 0.3f);
      s.SetParam(ParamId::kSustain, 0.3f);
      s.NoteOn(76, 0.5f);
      break;
    case 14:
      s.SetParam(ParamId::kMasterGainDb, -20.0f);
      s.SetParam(ParamId::kCutoffHz, 300.0f);
      s.SetParam(ParamId::kResonance, 0.3f);
      break;
    case 16:
      for (int n : {48, 60, 64, 67, 72, 76}) s.NoteOff(n);
      break;
    case 20:
      s.SetParam(ParamId::kMasterGainDb, 6.0f);
      s.NoteOn(62, 1.0f);
      break;
    case 22:
      s.SetParam(ParamId::kWaveform, 1.0f);
      s.NoteOff(62);
      break;
    default:
      break;
  }
}

constexpr size_t kUnits = 30;

std::vector<float> RenderSequence(size_t block) {
  auto synth = std::make_unique<PolySynth>();
  synth->Init(kFs, 4);
  std::vector<float> out(kUnits * kUnit);
  for (size_t u = 0; u < kUnits; ++u) {
    ApplyEvents(*synth, u);
    for (size_t i = 0; i < kUnit; i += block) synth->Render(out.data() + u * kUnit + i, block);
  }
  EXPECT_EQ(synth->ActiveVoices(), 0u);
  return out;
}

TEST(DspPolySynth, OutputIndependentOfBlockSize) {
  const auto ref = RenderSequence(4096);
  // Not silence: every unit while notes sound carries signal (units 17..19 are silent).
  for (size_t u : {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 21, 22}) {
    double energy = 0.0;
    for (size_t i = 0; i < kUnit; ++i) energy += ref[u * kUnit + i] * ref[u * kUnit + i];
    EXPECT_GT(std::sqrt(energy / kUnit), 1e-3) << "unit " << u;
  }
  for (size_t block : {1u, 64u}) {
    const auto x = RenderSequence(block);
    float max_diff = 0.0f;
    for (size_t i = 0; i < x.size(); ++i) max_diff = std::max(max_diff, std::fabs(x[i] - ref[i]));
    std::printf("block %zu vs 4096: max abs diff %g\n", block, static_cast<double>(max_diff));
    EXPECT_LT(max_diff, 1e-6f) << "block " << block;
  }
}

TEST(DspPolySynth, OutputIsSoftClipped) {
  auto synth = std::make_unique<PolySynth>();
  synth->Init(kFs, 16);
  synth->SetParam(ParamId::kMasterGainDb, 12.0f);
  synth->SetParam(ParamId::kResonance, 1.0f);
  for (int n = 40; n < 56; ++n) synth->NoteOn(n, 1.0f);
  std::vector<float> out(48000);
  synth->Render(out.data(), out.size());
  float peak = 0.0f;
  for (float s : out) peak = std::max(peak, std::fabs(s));
  EXPECT_LE(peak, 1.0f);
  EXPECT_GT(peak, 0.9f);
}

TEST(DspPolySynth, MasterGainJumpIsSmoothed) {
  auto synth = std::make_unique<PolySynth>();
  synth->Init(kFs, 4);
  synth->SetParam(ParamId::kWaveform, 0.0f);
  synth->SetParam(ParamId::kCutoffHz, 20000.0f);
  synth->SetParam(ParamId::kAttackS, 0.001f);
  synth->SetParam(ParamId::kSustain, 1.0f);
  synth->SetParam(ParamId::kMasterGainDb, -40.0f);
  std::vector<float> out(48000);
  synth->Render(out.data(), 48000);  // the -40 dB glide from -6 dB settles
  synth->NoteOn(55, 1.0f);           // 196 Hz sine, amplitude 1 before the master gain
  synth->Render(out.data(), 24000);
  const float before = out[23999];
  synth->SetParam(ParamId::kMasterGainDb, 0.0f);
  synth->Render(out.data() + 24000, 24000);
  // A cut from -40 to 0 dB would jump by |x| * 0.99; the sine steps by <= 0.026 per sample.
  EXPECT_LT(testing::MaxStep(std::span<const float>(out).subspan(23000)), 0.04f);
  EXPECT_GT(std::fabs(out.back() - before), 0.0f);
  float peak = 0.0f;
  for (size_t i = 40000; i < 48000; ++i) peak = std::max(peak, std::fabs(out[i]));
  EXPECT_NEAR(peak, std::tanh(1.0f), 0.01f);  // reaches 0 dB, then soft clip
}

TEST(DspPolySynth, FinishedVoicesAreFreedAndReused) {
  auto synth = std::make_unique<PolySynth>();
  synth->Init(kFs, 2);
  synth->SetParam(ParamId::kReleaseS, 0.01f);
  std::vector<float> out(64);
  synth->NoteOn(60, 1.0f);
  synth->NoteOn(62, 1.0f);
  EXPECT_EQ(synth->ActiveVoices(), 2u);
  synth->NoteOff(60);
  EXPECT_EQ(synth->ActiveVoices(), 2u);                                // releasing
  for (int i = 0; i < 10; ++i) synth->Render(out.data(), out.size());  // 640 frames > 480
  EXPECT_EQ(synth->ActiveVoices(), 1u);
  EXPECT_FALSE(synth->bank().IsActive(0));
  synth->NoteOn(64, 1.0f);  // goes to the freed slot, no steal
  EXPECT_EQ(synth->allocator().note(0), 64);
  EXPECT_EQ(synth->allocator().note(1), 62);
}

}  // namespace
}  // namespace chronus::dsp
