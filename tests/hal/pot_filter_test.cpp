// Pots: a noisy resting knob sends nothing; a sweep gives a monotonic series reaching both ends.
#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "hal/adc/pot_filter.h"

namespace chronus::hal::adc {
namespace {

TEST(HalPotFilter, NoisyRestingKnobSendsNothingAfterItsPosition) {
  PotFilter f;
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> noise(-3, 3);  // +-3 LSB, worse than an MCP3008 on a Pi
  int reports = 0;
  for (int i = 0; i < 6000; ++i) {  // a minute at 100 Hz
    if (f.Push(static_cast<uint16_t>(512 + noise(rng)))) ++reports;
  }
  EXPECT_EQ(reports, 1);  // the first reading: where the knob is
  EXPECT_NEAR(f.position(), 512.0 / 1023.0, 0.004);
}

TEST(HalPotFilter, RestingAtTheEndsStaysQuietAndReadsExactEnds) {
  for (int base : {0, 1023}) {
    PotFilter f;
    std::mt19937 rng(3);
    std::uniform_int_distribution<int> noise(0, 4);
    int reports = 0;
    for (int i = 0; i < 3000; ++i) {
      const int raw = base == 0 ? noise(rng) : 1023 - noise(rng);
      if (f.Push(static_cast<uint16_t>(raw))) ++reports;
    }
    EXPECT_EQ(reports, 1);
    EXPECT_EQ(f.position(), base == 0 ? 0.0f : 1.0f);
  }
}

TEST(HalPotFilter, NoisySweepIsMonotonicAndReachesBothEnds) {
  PotFilter f;
  std::mt19937 rng(11);
  std::uniform_int_distribution<int> noise(-3, 3);
  std::vector<float> up;
  // 0 -> 1023 over 2 s, then held, then back down over 2 s.
  for (int i = 0; i <= 200; ++i) {
    const int raw = std::clamp(i * 1023 / 200 + noise(rng), 0, 1023);
    if (auto p = f.Push(static_cast<uint16_t>(raw))) up.push_back(*p);
  }
  for (int i = 0; i < 50; ++i) {
    if (auto p = f.Push(static_cast<uint16_t>(std::clamp(1023 + noise(rng), 0, 1023)))) {
      up.push_back(*p);
    }
  }
  ASSERT_GT(up.size(), 20u);
  for (size_t i = 1; i < up.size(); ++i) EXPECT_GT(up[i], up[i - 1]) << i;
  EXPECT_EQ(up.back(), 1.0f);
  std::vector<float> down;
  for (int i = 200; i >= 0; --i) {
    const int raw = std::clamp(i * 1023 / 200 + noise(rng), 0, 1023);
    if (auto p = f.Push(static_cast<uint16_t>(raw))) down.push_back(*p);
  }
  for (int i = 0; i < 50; ++i) {
    if (auto p = f.Push(static_cast<uint16_t>(std::clamp(noise(rng), 0, 1023)))) {
      down.push_back(*p);
    }
  }
  ASSERT_GT(down.size(), 20u);
  for (size_t i = 1; i < down.size(); ++i) EXPECT_LT(down[i], down[i - 1]) << i;
  EXPECT_EQ(down.back(), 0.0f);
}

}  // namespace
}  // namespace chronus::hal::adc
