#include "dsp/voice.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "dsp/pitch.h"
#include "tests/dsp/signal_analysis.h"

namespace chronus::dsp {
namespace {

using testing::MaxStep;

constexpr float kFs = 48000.0f;

std::vector<float> RenderVoice(Voice& v, size_t frames, size_t block = 64) {
  std::vector<float> out(frames, 0.0f);
  for (size_t i = 0; i < frames; i += block)
    v.RenderAdd(out.data() + i, std::min(block, frames - i));
  return out;
}

void OpenSine(Voice& v) {
  v.Init(kFs);
  v.SetParam(ParamId::kWaveform, 0.0f);
  v.SetParam(ParamId::kCutoffHz, 20000.0f);
  v.SetParam(ParamId::kResonance, 0.0f);
  v.SetParam(ParamId::kAttackS, 0.001f);
  v.SetParam(ParamId::kSustain, 1.0f);
}

TEST(DspVoice, Note69Is440HzMeasured) {
  Voice v;
  OpenSine(v);
  v.NoteOn(69.0f, 1.0f);
  auto x = RenderVoice(v, 48000 + 4800);
  x.erase(x.begin(), x.begin() + 4800);  // past attack and decay
  const double f = testing::ZeroCrossingFrequency(x, kFs);
  EXPECT_NEAR(f, 440.0, 0.01);
  v.NoteOff();
  v.NoteOn(60.0f, 1.0f);
  x = RenderVoice(v, 48000 + 4800);
  x.erase(x.begin(), x.begin() + 4800);
  EXPECT_NEAR(testing::ZeroCrossingFrequency(x, kFs), 261.6256, 0.01);
}

TEST(DspVoice, VelocityScalesAmplitudeLinearly) {
  Voice a;
  Voice b;
  OpenSine(a);
  OpenSine(b);
  a.NoteOn(60.0f, 1.0f);
  b.NoteOn(60.0f, 0.25f);
  const auto xa = RenderVoice(a, 9600);
  const auto xb = RenderVoice(b, 9600);
  for (size_t i = 0; i < xa.size(); ++i) ASSERT_NEAR(xb[i], 0.25f * xa[i], 1e-6f);
  float peak = 0.0f;
  for (size_t i = 4800; i < xa.size(); ++i) peak = std::max(peak, std::fabs(xa[i]));
  EXPECT_NEAR(peak, 1.0f, 0.01f);  // open filter, Q 0.707: unity in the passband
}

TEST(DspVoice, BecomesInactiveAtEndOfRelease) {
  Voice v;
  OpenSine(v);
  v.SetParam(ParamId::kReleaseS, 0.25f);
  EXPECT_FALSE(v.IsActive());
  v.NoteOn(64.0f, 0.8f);
  EXPECT_TRUE(v.IsActive());
  RenderVoice(v, 4800);
  v.NoteOff();
  size_t frames = 0;
  std::vector<float> block(64);
  while (v.IsActive() && frames < 96000) {
    v.RenderAdd(block.data(), block.size());
    frames += block.size();
  }
  EXPECT_FALSE(v.IsActive());
  EXPECT_NEAR(static_cast<double>(frames), 0.25 * kFs, 64.0);
  // Inactive voices add nothing.
  std::vector<float> out(64, 0.5f);
  v.RenderAdd(out.data(), out.size());
  for (float s : out) EXPECT_EQ(s, 0.5f);
}

// Sine at 1 kHz through the low-pass at 100 Hz (output ~0.01), cutoff jumps to 20 kHz at a
// block boundary where the input is at its peak. Returns the largest sample-to-sample step.
float CutoffJumpMaxStep(float smoothing_ms, float* cutoff_after_tau) {
  Voice v;
  OpenSine(v);
  v.SetSmoothingMs(smoothing_ms);
  v.SetParam(ParamId::kCutoffHz, 100.0f);
  v.NoteOn(HzToMidi(1000.0f), 1.0f);
  constexpr size_t kJump = 4800 + 12;  // 1 kHz starting at phase 0: peak at 12 + 48 k
  auto x = RenderVoice(v, kJump, 4);
  v.SetParam(ParamId::kCutoffHz, 20000.0f);
  std::vector<float> y(4800, 0.0f);
  v.RenderAdd(y.data(), 480);
  if (cutoff_after_tau) *cutoff_after_tau = v.cutoff_hz();
  v.RenderAdd(y.data() + 480, y.size() - 480);
  x.insert(x.end(), y.begin(), y.end());
  return MaxStep(std::span<const float>(x).subspan(4000));
}

TEST(DspVoice, CutoffJumpIsSmoothedWithoutStep) {
  float cutoff_after_tau = 0.0f;
  const float smoothed = CutoffJumpMaxStep(Voice::kSmoothingMs, &cutoff_after_tau);
  const float unsmoothed = CutoffJumpMaxStep(0.0f, nullptr);
  std::printf("cutoff 100 Hz -> 20 kHz: max step %.3f smoothed, %.3f unsmoothed\n", smoothed,
              unsmoothed);
  // The 1 kHz sine itself steps by up to 0.131 per sample.
  EXPECT_LT(smoothed, 0.2f);
  EXPECT_GT(unsmoothed, 0.4f);  // the same check fails without smoothing
  // One time constant after the jump the glide has covered 1 - 1/e of the distance.
  EXPECT_NEAR(cutoff_after_tau, 100.0f + 19900.0f * (1.0f - std::exp(-1.0f)), 100.0f);
}

TEST(DspVoice, WaveformChangeWhileSoundingCrossfades) {
  auto make = [](Voice& v) {
    OpenSine(v);
    v.SetParam(ParamId::kCutoffHz, 2000.0f);
    v.NoteOn(45.0f, 1.0f);  // 110 Hz
  };
  Voice v;
  Voice ref;  // stays a sine
  make(v);
  make(ref);
  auto x = RenderVoice(v, 4900);
  v.SetParam(ParamId::kWaveform, 2.0f);  // square
  auto y = RenderVoice(v, 960);
  x.insert(x.end(), y.begin(), y.end());
  const auto r = RenderVoice(ref, x.size());
  const auto fade = static_cast<size_t>(Oscillator::kCrossfadeS * kFs);
  // The square's share grows linearly from 0 over the crossfade, so the deviation from the
  // sine is bounded by share * max|square - sine| (< 2.5 after the filter's overshoot).
  float max_dev = 0.0f;
  for (size_t k = 0; k < fade; ++k) {
    const float dev = std::fabs(x[4900 + k] - r[4900 + k]);
    ASSERT_LE(dev, 2.5f * static_cast<float>(k) / static_cast<float>(fade) + 1e-6f) << k;
    max_dev = std::max(max_dev, dev);
  }
  EXPECT_GT(max_dev, 0.2f);  // the square did come in
}

}  // namespace
}  // namespace chronus::dsp
