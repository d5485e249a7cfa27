// Encoder decoding: scripted quadrature sequences (clean, bouncing, fast with missed edges) ->
// detent steps; acceleration from scripted detent times.
#include <gtest/gtest.h>

#include <vector>

#include "hal/gpio/encoder_acceleration.h"
#include "hal/gpio/quadrature_decoder.h"

namespace chronus::hal::gpio {
namespace {

// One detent clockwise from rest AB = 11: 11 -> 10 -> 00 -> 01 -> 11, as single-line edges
// (line_b, level): B falls, A falls, B rises, A rises.
const std::vector<std::pair<bool, bool>> kClockwise = {
    {true, false}, {false, false}, {true, true}, {false, true}};
const std::vector<std::pair<bool, bool>> kCounterClockwise = {
    {false, false}, {true, false}, {false, true}, {true, true}};

int Feed(QuadratureDecoder& d, const std::vector<std::pair<bool, bool>>& edges) {
  int steps = 0;
  for (const auto& [line_b, level] : edges) steps += d.Update(line_b, level);
  return steps;
}

TEST(HalQuadrature, OneDetentEachWay) {
  QuadratureDecoder d;
  d.Reset(true, true);
  EXPECT_EQ(Feed(d, kClockwise), 1);
  EXPECT_EQ(Feed(d, kCounterClockwise), -1);
  EXPECT_EQ(d.invalid(), 0u);
}

TEST(HalQuadrature, StepIsReportedOnlyAtTheRestState) {
  QuadratureDecoder d;
  d.Reset(true, true);
  EXPECT_EQ(d.Update(true, false), 0);
  EXPECT_EQ(d.Update(false, false), 0);
  EXPECT_EQ(d.Update(true, true), 0);
  EXPECT_EQ(d.Update(false, true), 1);  // back at 11: the detent is complete
}

TEST(HalQuadrature, ContactBounceCountsOnce) {
  QuadratureDecoder d;
  d.Reset(true, true);
  // B bounces twice on its first edge, A once on the last.
  const std::vector<std::pair<bool, bool>> bouncy = {
      {true, false},  {true, true}, {true, false}, {true, true},   {true, false},
      {false, false}, {true, true}, {false, true}, {false, false}, {false, true}};
  EXPECT_EQ(Feed(d, bouncy), 1);
  EXPECT_EQ(d.invalid(), 0u);
}

TEST(HalQuadrature, BounceAtRestWithoutTurningGivesNothing) {
  QuadratureDecoder d;
  d.Reset(true, true);
  const std::vector<std::pair<bool, bool>> jitter = {{true, false}, {true, true},   {true, false},
                                                     {true, true},  {false, false}, {false, true}};
  EXPECT_EQ(Feed(d, jitter), 0);
}

TEST(HalQuadrature, TwentyDetentsOfAFastTurnWithMissedEdges) {
  QuadratureDecoder d;
  d.Reset(true, true);
  int steps = 0;
  for (int i = 0; i < 20; ++i) {
    if (i % 3 == 0) {
      // The middle edges of A and B came too close together and were read as one double
      // change 10 -> 01 (counted invalid); the detent still completes.
      steps += d.UpdateBoth(true, false);
      steps += d.UpdateBoth(false, true);
      steps += d.UpdateBoth(true, true);
    } else {
      steps += Feed(d, kClockwise);
    }
  }
  EXPECT_EQ(steps, 20);
  EXPECT_EQ(d.invalid(), 7u);
}

TEST(HalQuadrature, ReverseSwapsTheDirection) {
  QuadratureDecoder d({4, 3, true});
  d.Reset(true, true);
  EXPECT_EQ(Feed(d, kClockwise), -1);
}

TEST(HalQuadrature, HalfStepEncoderCountsTwoDetentsPerCycle) {
  QuadratureDecoder d({2, 3, false});
  d.Reset(true, true);
  EXPECT_EQ(d.Update(true, false), 0);   // 10
  EXPECT_EQ(d.Update(false, false), 1);  // 00: a rest state of a half-step encoder
  EXPECT_EQ(d.Update(true, true), 0);    // 01
  EXPECT_EQ(d.Update(false, true), 1);   // 11
}

TEST(HalAcceleration, FasterTurnsStepFurther) {
  EncoderAcceleration a;
  int64_t t = 0;
  EXPECT_EQ(a.Step(1, t), 1);  // first detent
  t += 300'000'000;            // slow: 300 ms later
  EXPECT_EQ(a.Step(1, t), 1);
  t += 100'000'000;  // 100 ms: medium
  EXPECT_EQ(a.Step(1, t), 2);
  t += 20'000'000;  // 20 ms: fast
  EXPECT_EQ(a.Step(1, t), 4);
  t += 20'000'000;  // reversal: always one step
  EXPECT_EQ(a.Step(-1, t), -1);
  t += 20'000'000;
  EXPECT_EQ(a.Step(-1, t), -4);
}

TEST(HalAcceleration, DisabledIsAlwaysOneStep) {
  AccelerationConfig config;
  config.enabled = false;
  EncoderAcceleration a(config);
  EXPECT_EQ(a.Step(1, 0), 1);
  EXPECT_EQ(a.Step(1, 1'000'000), 1);
}

}  // namespace
}  // namespace chronus::hal::gpio
