#include "dsp/adsr.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "tests/dsp/signal_analysis.h"

namespace chronus::dsp {
namespace {

constexpr float kFs = 48000.0f;
constexpr long kBlock = 64;

// Index of the first sample at or after `from` satisfying `pred`, or -1.
template <typename Pred>
long FirstFrame(const std::vector<float>& x, size_t from, Pred pred) {
  for (size_t i = from; i < x.size(); ++i) {
    if (pred(x[i])) return static_cast<long>(i);
  }
  return -1;
}

struct Times {
  float attack, decay, sustain, release;
};

class DspAdsrTiming : public ::testing::TestWithParam<Times> {};

TEST_P(DspAdsrTiming, SegmentsEndWithinOneBlock) {
  const Times t = GetParam();
  Adsr env;
  env.Init(kFs);
  env.SetAttack(t.attack);
  env.SetDecay(t.decay);
  env.SetSustain(t.sustain);
  env.SetRelease(t.release);
  const auto hold = static_cast<size_t>((t.attack + t.decay + 0.2f) * kFs);
  std::vector<float> x(hold + static_cast<size_t>((t.release + 0.2f) * kFs));
  env.Gate(true);
  // Blocks of 64, as the engine renders.
  for (size_t i = 0; i < hold; i += kBlock)
    env.Process(x.data() + i, std::min<size_t>(kBlock, hold - i));
  env.Gate(false);
  for (size_t i = hold; i < x.size(); i += kBlock) {
    env.Process(x.data() + i, std::min<size_t>(kBlock, x.size() - i));
  }

  // Frame counts: the value after n processed frames is x[n - 1].
  const long peak = FirstFrame(x, 0, [](float v) { return v >= 1.0f - 1e-6f; }) + 1;
  const long at_sustain = FirstFrame(x, static_cast<size_t>(peak),
                                     [&](float v) { return std::fabs(v - t.sustain) <= 1e-6f; }) +
                          1;
  // The release ends with exactly 0, when the envelope goes idle.
  const long silent =
      FirstFrame(x, hold, [](float v) { return v == 0.0f; }) + 1 - static_cast<long>(hold);
  EXPECT_LE(std::labs(peak - std::lround(t.attack * kFs)), kBlock) << peak;
  EXPECT_LE(std::labs(at_sustain - peak - std::lround(t.decay * kFs)), kBlock) << at_sustain;
  EXPECT_LE(std::labs(silent - std::lround(t.release * kFs)), kBlock) << silent;
  EXPECT_FALSE(env.IsActive());
  // No step where a segment ends: one block before, the level is already within 1 % of the
  // segment's span from its end level (exponential approach).
  const size_t rel_end = hold + static_cast<size_t>(silent) - 1;
  EXPECT_LT(x[rel_end - kBlock], 0.01f * t.sustain + 1e-6f);
  // Monotonic segments, no overshoot.
  for (size_t i = 1; i < static_cast<size_t>(peak); ++i) ASSERT_GE(x[i], x[i - 1]);
  for (size_t i = static_cast<size_t>(peak); i < static_cast<size_t>(at_sustain); ++i) {
    ASSERT_LE(x[i], x[i - 1] + 1e-6f);
  }
  for (size_t i = hold + 1; i <= rel_end; ++i) ASSERT_LE(x[i], x[i - 1]);
  for (float v : x) ASSERT_LE(v, 1.0f + 1e-5f);
  for (float v : x) ASSERT_GE(v, 0.0f);
}

std::string TimesName(const ::testing::TestParamInfo<Times>& info) {
  const Times& t = info.param;
  auto us = [](float s) { return std::to_string(std::lround(s * 1e6f)); };
  return "A" + us(t.attack) + "us_D" + us(t.decay) + "us_S" +
         std::to_string(std::lround(t.sustain * 100.0f)) + "pct_R" + us(t.release) + "us";
}

INSTANTIATE_TEST_SUITE_P(Times, DspAdsrTiming,
                         ::testing::Values(Times{0.1f, 0.2f, 0.5f, 0.3f},
                                           Times{0.005f, 0.1f, 0.7f, 0.2f},
                                           Times{1.0f, 2.0f, 0.2f, 3.0f},
                                           Times{0.0005f, 0.001f, 0.0f, 0.001f}),
                         TimesName);

TEST(DspAdsr, RetriggerContinuesFromCurrentLevel) {
  Adsr env;
  env.Init(kFs);
  env.SetAttack(0.01f);
  env.SetDecay(0.05f);
  env.SetSustain(0.6f);
  env.SetRelease(0.5f);
  env.Gate(true);
  std::vector<float> x(48000);
  env.Process(x.data(), 9600);
  env.Gate(false);
  env.Process(x.data() + 9600, 4800);  // part-way down the release
  const float before = x[9600 + 4799];
  ASSERT_GT(before, 0.01f);
  env.Gate(true);
  env.Process(x.data() + 14400, x.size() - 14400);
  EXPECT_LT(std::fabs(x[14400] - before), 0.01f);
  EXPECT_LT(testing::MaxStep(x), 0.02f);
  // The retriggered attack still reaches 1 after the attack time.
  EXPECT_FLOAT_EQ(x[14400 + 480 - 1], 1.0f);
  EXPECT_LT(x[14400 + 480 - 2], 1.0f);
}

TEST(DspAdsr, SustainChangeGlides) {
  Adsr env;
  env.Init(kFs);
  env.SetAttack(0.001f);
  env.SetDecay(0.001f);
  env.SetSustain(1.0f);
  env.Gate(true);
  std::vector<float> x(7200);
  env.Process(x.data(), 2400);
  ASSERT_EQ(env.stage(), Adsr::Stage::kSustain);
  env.SetSustain(0.0f);
  env.Process(x.data() + 2400, 4800);  // 20 time constants of the 5 ms glide
  EXPECT_LT(testing::MaxStep(std::span<const float>(x).subspan(2400)), 0.01f);
  EXPECT_EQ(x.back(), 0.0f);
  EXPECT_TRUE(env.IsActive());  // gate still held
}

TEST(DspAdsr, IdleUntilGated) {
  Adsr env;
  env.Init(kFs);
  EXPECT_FALSE(env.IsActive());
  EXPECT_EQ(env.Process(), 0.0f);
  env.Gate(false);
  EXPECT_FALSE(env.IsActive());
}

}  // namespace
}  // namespace chronus::dsp
