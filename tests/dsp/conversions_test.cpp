#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "dsp/decibel.h"
#include "dsp/one_pole.h"
#include "dsp/pitch.h"
#include "dsp/soft_clip.h"
#include "dsp/synth_params.h"

namespace chronus::dsp {
namespace {

TEST(DspSoftClip, BoundedForAnyInput) {
  for (float x = -1000.0f; x <= 1000.0f; x += 0.37f) EXPECT_LE(std::fabs(SoftClip(x)), 1.0f);
  EXPECT_EQ(SoftClip(INFINITY), 1.0f);
  EXPECT_EQ(SoftClip(-INFINITY), -1.0f);
  EXPECT_EQ(SoftClip(1e30f), 1.0f);
}

TEST(DspSoftClip, UnitySmallSignalGainOddAndMonotonic) {
  for (float x : {1e-6f, 1e-4f, 1e-3f}) {
    EXPECT_NEAR(SoftClip(x) / x, 1.0f, 1e-6f);
    EXPECT_EQ(SoftClip(-x), -SoftClip(x));
  }
  EXPECT_NEAR(SoftClip(0.1f) / 0.1f, 1.0f, 0.004f);  // -0.03 dB
  float prev = SoftClip(-10.0f);
  for (float x = -10.0f; x <= 10.0f; x += 0.01f) {
    const float y = SoftClip(x);
    ASSERT_GE(y, prev);
    prev = y;
  }
  float buf[3] = {0.0f, 2.0f, -50.0f};
  SoftClip(buf, 3);
  EXPECT_EQ(buf[0], 0.0f);
  EXPECT_NEAR(buf[1], std::tanh(2.0f), 1e-6f);
  EXPECT_EQ(buf[2], -1.0f);
}

TEST(DspSoftClip, MatchesTanhForEveryFloatInItsRange) {
  // Every float in [-12, 12] with the low 8 mantissa bits zero (about 2 million inputs): the
  // approximation stays within 2.5e-7 of tanh (computed in double), about 2 LSB at 24 bits, and
  // never steps back as x grows.
  double worst = 0.0;
  float worst_x = 0.0f;
  const float top = 12.0f;
  uint32_t top_bits;
  std::memcpy(&top_bits, &top, sizeof top_bits);
  float previous = 0.0f;
  for (uint32_t bits = 0; bits <= top_bits; bits += 256) {  // positive floats ascend with bits
    float x;
    std::memcpy(&x, &bits, sizeof x);
    ASSERT_GE(SoftClip(x), previous) << x;
    previous = SoftClip(x);
    for (const float v : {x, -x}) {
      const double error = std::fabs(double(SoftClip(v)) - std::tanh(double(v)));
      if (error > worst) {
        worst = error;
        worst_x = v;
      }
    }
  }
  std::printf("[ measure  ] SoftClip vs tanh: largest error %.3g at x = %.6g\n", worst,
              double(worst_x));
  EXPECT_LT(worst, 2.5e-7);
  EXPECT_TRUE(std::isnan(SoftClip(NAN)));
}

TEST(DspDecibel, RoundTripAndKnownValues) {
  EXPECT_FLOAT_EQ(DbToGain(0.0f), 1.0f);
  EXPECT_NEAR(DbToGain(-6.0206f), 0.5f, 1e-5f);
  EXPECT_NEAR(DbToGain(20.0f), 10.0f, 1e-4f);
  EXPECT_NEAR(GainToDb(0.1f), -20.0f, 1e-4f);
  EXPECT_EQ(GainToDb(0.0f), -200.0f);
  for (float db = -60.0f; db <= 12.0f; db += 0.5f) EXPECT_NEAR(GainToDb(DbToGain(db)), db, 1e-4f);
}

TEST(DspPitch, MidiToHz) {
  EXPECT_FLOAT_EQ(MidiToHz(69.0f), 440.0f);
  EXPECT_FLOAT_EQ(MidiToHz(81.0f), 880.0f);
  EXPECT_NEAR(MidiToHz(60.0f), 261.6256f, 1e-3f);
  EXPECT_NEAR(MidiToHz(0.0f), 8.1758f, 1e-3f);
  EXPECT_NEAR(HzToMidi(MidiToHz(61.3f)), 61.3f, 1e-4f);
}

TEST(DspOnePole, ReachesTimeConstantAndSettles) {
  OnePole p;
  p.Init(48000.0f, 10.0f, 0.0f);
  p.SetTarget(1.0f);
  float prev = 0.0f;
  float max_step = 0.0f;
  for (int i = 0; i < 480; ++i) {
    const float v = p.Process();
    max_step = std::max(max_step, v - prev);
    prev = v;
  }
  EXPECT_NEAR(prev, 1.0f - std::exp(-1.0f), 1e-3f);  // one time constant
  EXPECT_NEAR(max_step, 1.0f / 480.0f, 1e-5f);       // first step is the largest
  for (int i = 0; i < 48000 && !p.settled(); ++i) p.Process();
  EXPECT_TRUE(p.settled());
  EXPECT_EQ(p.value(), 1.0f);
}

TEST(DspSynthParams, ClampToSpec) {
  EXPECT_EQ(ClampToSpec(ParamId::kCutoffHz, 5.0f), 20.0f);
  EXPECT_EQ(ClampToSpec(ParamId::kCutoffHz, 1e9f), 20000.0f);
  EXPECT_EQ(ClampToSpec(ParamId::kResonance, NAN), 0.0f);
  EXPECT_EQ(ClampToSpec(ParamId::kSustain, 0.5f), 0.5f);
}

}  // namespace
}  // namespace chronus::dsp
