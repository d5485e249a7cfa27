// Control mappings: curves, encoders (scripted quadrature incl. bounce and fast turns -> parameter
// steps), buttons' targets, pots with soft takeover.
#include <gtest/gtest.h>

#include <cmath>

#include "firmware/control/control_mapping.h"
#include "firmware/control/control_target.h"
#include "firmware/control/soft_takeover.h"
#include "hal/gpio/encoder_acceleration.h"
#include "hal/gpio/quadrature_decoder.h"
#include "recording_sink.h"

namespace chronus::firmware {
namespace {

using dsp::ParamId;
using testing::RecordingSink;

ControlTarget Target(const char* name) {
  ControlTarget t;
  EXPECT_EQ(ParseTarget(name, &t), "");
  return t;
}

TEST(ControlTarget, CurvesAndTheirInverse) {
  ControlTarget cutoff = Target("cutoff");  // log by default (Hz)
  EXPECT_EQ(cutoff.curve, Curve::kLog);
  EXPECT_FLOAT_EQ(TargetValue(cutoff, 0.0f), 20.0f);
  EXPECT_FLOAT_EQ(TargetValue(cutoff, 1.0f), 20000.0f);
  EXPECT_NEAR(TargetValue(cutoff, 0.5f), std::sqrt(20.0f * 20000.0f), 0.05f);  // geometric mean
  EXPECT_NEAR(TargetPosition(cutoff, 632.4555f), 0.5f, 1e-5f);
  ControlTarget gain = Target("gain");  // linear (dB)
  EXPECT_EQ(gain.curve, Curve::kLinear);
  EXPECT_FLOAT_EQ(TargetValue(gain, 0.5f), -24.0f);
  EXPECT_FLOAT_EQ(TargetPosition(gain, -24.0f), 0.5f);
  EXPECT_FLOAT_EQ(TargetValue(Target("waveform"), 0.4f), 1.0f);  // enum: rounded
  ControlTarget bad = Target("gain");
  bad.curve = Curve::kLog;  // dB range crosses 0
  EXPECT_NE(CheckTarget(bad), "");
  ControlTarget unknown;
  EXPECT_NE(ParseTarget("cutof", &unknown), "");
  EXPECT_EQ(Target("panic").kind, TargetKind::kPanic);
  EXPECT_EQ(TargetName(Target("preset_prev")), "preset_prev");
}

// The GPIO thread's chain for one encoder: decoder -> acceleration -> mapping.
struct EncoderChain {
  hal::gpio::QuadratureDecoder decoder;
  hal::gpio::EncoderAcceleration acceleration;
  EncoderMapping mapping;
  RecordingSink sink;
  int64_t now = 1'000'000'000;

  EncoderChain(const ControlTarget& target, int detents) : mapping(target, detents) {
    decoder.Reset(true, true);
  }
  // One clockwise (+1) or counter-clockwise detent, its four edges `edge_ms` apart, with a bounce
  // of line B on the first edge when `bounce`.
  void Detent(int direction, int64_t edge_ms, bool bounce = false) {
    const bool cw = direction > 0;
    std::vector<std::pair<bool, bool>> edges =
        cw ? std::vector<std::pair<bool, bool>>{{true, false},
                                                {false, false},
                                                {true, true},
                                                {false, true}}
           : std::vector<std::pair<bool, bool>>{
                 {false, false}, {true, false}, {false, true}, {true, true}};
    if (bounce) edges.insert(edges.begin() + 1, {{true, true}, {true, false}});
    for (const auto& [line_b, level] : edges) {
      now += edge_ms * 1'000'000;
      const int steps = decoder.Update(line_b, level);
      if (steps != 0) mapping.Steps(acceleration.Step(steps, now), now, sink);
    }
  }
};

TEST(ControlEncoder, SlowDetentsStepTheCurveByOneDetentEach) {
  ControlTarget gain = Target("gain");  // -60..12 dB linear
  gain.min = -60.0f;
  gain.max = 12.0f;
  EncoderChain e(gain, 72);  // 1 dB per detent
  e.sink.values[static_cast<size_t>(ParamId::kMasterGainDb)] = -6.0f;
  for (int i = 0; i < 3; ++i) e.Detent(+1, 50, /*bounce=*/i == 1);  // 200 ms per detent
  e.Detent(-1, 50);
  const auto sent = e.sink.ParamsSent(ParamId::kMasterGainDb);
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_NEAR(sent[0], -5.0f, 1e-4f);
  EXPECT_NEAR(sent[1], -4.0f, 1e-4f);  // the bouncing detent counts once
  EXPECT_NEAR(sent[2], -3.0f, 1e-4f);
  EXPECT_NEAR(sent[3], -4.0f, 1e-4f);
}

TEST(ControlEncoder, FastTurnStepsFurther) {
  ControlTarget gain = Target("gain");
  EncoderChain e(gain, 72);
  e.sink.apply = false;  // the engine lags: the mapping must keep its own value while turning
  e.sink.values[static_cast<size_t>(ParamId::kMasterGainDb)] = -30.0f;
  for (int i = 0; i < 10; ++i) e.Detent(+1, 2);  // 8 ms per detent: fast
  const auto sent = e.sink.ParamsSent(ParamId::kMasterGainDb);
  ASSERT_EQ(sent.size(), 10u);
  EXPECT_NEAR(sent[0], -29.0f, 1e-4f);  // the first detent of a turn: 1 step
  for (size_t i = 1; i < sent.size(); ++i) EXPECT_NEAR(sent[i] - sent[i - 1], 4.0f, 1e-3f) << i;
  EXPECT_NEAR(sent.back(), -29.0f + 9 * 4.0f, 1e-3f);
}

TEST(ControlEncoder, StopsAtTheEndOfTheRange) {
  EncoderChain e(Target("resonance"), 10);
  e.sink.values[static_cast<size_t>(ParamId::kResonance)] = 0.85f;
  for (int i = 0; i < 5; ++i) e.Detent(+1, 100);
  const auto sent = e.sink.ParamsSent(ParamId::kResonance);
  ASSERT_EQ(sent.size(), 2u);  // 0.95, then 1.0; nothing more at the end
  EXPECT_NEAR(sent[0], 0.95f, 1e-5f);
  EXPECT_FLOAT_EQ(sent[1], 1.0f);
}

TEST(ControlEncoder, EnumParameterStepsWholeValues) {
  EncoderChain e(Target("waveform"), 64);
  e.sink.values[static_cast<size_t>(ParamId::kWaveform)] = 0.0f;
  e.Detent(+1, 100);
  e.Detent(+1, 100);
  e.Detent(+1, 100);
  EXPECT_EQ(e.sink.ParamsSent(ParamId::kWaveform), (std::vector<float>{1.0f, 2.0f}));
}

TEST(ControlEncoder, ResyncsWithChangesMadeElsewhere) {
  EncoderChain e(Target("gain"), 72);
  e.Detent(+1, 100);                                                    // -6 -> -5
  e.sink.values[static_cast<size_t>(ParamId::kMasterGainDb)] = -40.0f;  // OSC set it meanwhile
  e.now += 1'000'000'000;
  e.Detent(+1, 100);
  const auto sent = e.sink.ParamsSent(ParamId::kMasterGainDb);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_NEAR(sent[1], -39.0f, 1e-4f);
}

TEST(ControlEncoder, PresetTargetFollowsTheDirection) {
  EncoderChain e(Target("preset_next"), 64);
  e.Detent(+1, 100);
  e.Detent(-1, 100);
  ASSERT_EQ(e.sink.actions.size(), 2u);
  EXPECT_EQ(e.sink.actions[0], std::make_pair(ControlAction::kPresetStep, 1));
  EXPECT_EQ(e.sink.actions[1], std::make_pair(ControlAction::kPresetStep, -1));
}

TEST(ControlButton, TargetsTriggerTheirActions) {
  RecordingSink sink;
  EXPECT_TRUE(TriggerTarget(Target("record"), sink));
  EXPECT_TRUE(TriggerTarget(Target("preset_prev"), sink));
  EXPECT_TRUE(TriggerTarget(Target("panic"), sink));
  EXPECT_FALSE(TriggerTarget(Target("none"), sink));
  EXPECT_FALSE(TriggerTarget(Target("cutoff"), sink));
  ASSERT_EQ(sink.actions.size(), 2u);
  EXPECT_EQ(sink.actions[0].first, ControlAction::kRecordToggle);
  EXPECT_EQ(sink.actions[1], std::make_pair(ControlAction::kPresetStep, -1));
  ASSERT_EQ(sink.commands.size(), 1u);
  EXPECT_EQ(sink.commands[0].type, CommandType::kAllNotesOff);
}

TEST(ControlSoftTakeover, EngagesOnCrossingOrReaching) {
  SoftTakeover t;
  EXPECT_TRUE(t.Move(0.1f, 0.2f));  // not armed
  t.Arm(0.5f);
  EXPECT_FALSE(t.Move(0.1f, 0.3f));
  EXPECT_FALSE(t.Move(0.3f, 0.45f));
  EXPECT_TRUE(t.Move(0.45f, 0.55f));  // crossed
  EXPECT_TRUE(t.Move(0.55f, 0.2f));   // stays engaged
  t.Arm(0.5f);
  EXPECT_FALSE(t.Move(0.9f, 0.8f));
  EXPECT_TRUE(t.Move(std::nullopt, 0.51f));  // reached, within the tolerance
}

TEST(ControlPot, RestingKnobSendsNothingAndPickupWaitsForTheStoredValue) {
  RecordingSink sink;
  ControlTarget cutoff = Target("cutoff");
  AbsoluteMapping pot(cutoff, /*pickup=*/true, /*first_is_baseline=*/true);
  ParamValues patch = sink.values;
  patch[static_cast<size_t>(ParamId::kCutoffHz)] = 632.4555f;  // position 0.5
  pot.ArmPickup(patch);                                        // the start patch
  pot.Position(0.2f, sink);                                    // start-up reading
  EXPECT_TRUE(sink.commands.empty());
  pot.Position(0.3f, sink);
  pot.Position(0.45f, sink);
  EXPECT_TRUE(sink.commands.empty());  // below the stored value: nothing
  EXPECT_TRUE(pot.waiting_for_pickup());
  pot.Position(0.55f, sink);  // passes it: takes over
  pot.Position(0.6f, sink);
  const auto sent = sink.ParamsSent(ParamId::kCutoffHz);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_NEAR(sent[0], TargetValue(cutoff, 0.55f), 0.01f);
  EXPECT_NEAR(sent[1], TargetValue(cutoff, 0.6f), 0.01f);
  // A preset load: the knob (at 0.6) waits again, now for the preset's 0.8.
  patch[static_cast<size_t>(ParamId::kCutoffHz)] = TargetValue(cutoff, 0.8f);
  pot.ArmPickup(patch);
  pot.Position(0.7f, sink);
  EXPECT_EQ(sink.ParamsSent(ParamId::kCutoffHz).size(), 2u);
  pot.Position(0.85f, sink);
  EXPECT_EQ(sink.ParamsSent(ParamId::kCutoffHz).size(), 3u);
}

TEST(ControlPot, WithoutPickupTheKnobJumps) {
  RecordingSink sink;
  AbsoluteMapping pot(Target("resonance"), /*pickup=*/false, true);
  pot.ArmPickupAt(0.9f);
  pot.Position(0.1f, sink);
  pot.Position(0.2f, sink);
  EXPECT_EQ(sink.ParamsSent(ParamId::kResonance), (std::vector<float>{0.2f}));
}

}  // namespace
}  // namespace chronus::firmware
