// The generative mode's control targets (gen_intensity, gen_bpm, gen_mode, gen_toggle): names and
// ranges in the board file, encoders / pots / buttons through a RecordingSink, a pot and a button
// through the control threads (scripted backends) into a GenPlayer.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "firmware/control/control_mapping.h"
#include "firmware/control/controls.h"
#include "firmware/control/controls_config.h"
#include "firmware/generative/gen_control.h"
#include "firmware/generative/gen_player.h"
#include "hal/rt/clock.h"
#include "recording_sink.h"
#include "scripted_backends.h"

namespace chronus::firmware {
namespace {

using namespace std::chrono_literals;
using testing::RecordingSink;

ControlTarget Target(const char* name) {
  ControlTarget t;
  EXPECT_EQ(ParseTarget(name, &t), "");
  return t;
}

TEST(GenControlTargets, NamesAndDefaultRanges) {
  EXPECT_EQ(Target("gen_intensity").kind, TargetKind::kGenIntensity);
  EXPECT_FLOAT_EQ(Target("gen_intensity").min, 0.0f);
  EXPECT_FLOAT_EQ(Target("gen_intensity").max, 1.0f);
  EXPECT_EQ(Target("gen_bpm").kind, TargetKind::kGenBpm);
  EXPECT_FLOAT_EQ(Target("gen_bpm").min, 40.0f);
  EXPECT_FLOAT_EQ(Target("gen_bpm").max, 160.0f);
  EXPECT_EQ(Target("gen_bpm").curve, Curve::kLinear);
  EXPECT_EQ(Target("gen_mode").kind, TargetKind::kGenMode);
  EXPECT_EQ(Target("gen_toggle").kind, TargetKind::kGenToggle);
  EXPECT_EQ(TargetName(Target("gen_toggle")), "gen_toggle");
  ControlTarget t;
  EXPECT_NE(ParseTarget("gen_tempo", &t).find("gen_bpm"), std::string::npos)
      << "the error lists the valid names";
  // gen_mode: 7 equal slices of a pot's travel.
  const ControlTarget mode = Target("gen_mode");
  EXPECT_FLOAT_EQ(TargetValue(mode, 0.0f), 0.0f);
  EXPECT_FLOAT_EQ(TargetValue(mode, 0.14f), 0.0f);
  EXPECT_FLOAT_EQ(TargetValue(mode, 0.15f), 1.0f);
  EXPECT_FLOAT_EQ(TargetValue(mode, 0.5f), 3.0f);
  EXPECT_FLOAT_EQ(TargetValue(mode, 0.86f), 6.0f);
  EXPECT_FLOAT_EQ(TargetValue(mode, 1.0f), 6.0f);
}

TEST(GenControlTargets, BoardFileRangesAreCheckedAndRefusedWhereTheyMakeNoSense) {
  const ControlsLoadResult r = ParseControlsToml(R"(
[[controls.pot]]
channel = 0
target = "gen_bpm"
min = 60
max = 90

[[controls.pot]]
channel = 1
target = "gen_intensity"
max = 1.5

[[controls.pot]]
channel = 2
target = "gen_mode"
curve = "log"

[[controls.pot]]
channel = 3
target = "gen_mode"
min = 1
max = 5

[[controls.pot]]
channel = 4
target = "gen_toggle"
min = 0

[[controls.pot]]
channel = 5
target = "gen_mode"
max = 2.5

[[controls.button]]
pin = 17
target = "gen_toggle"

[[controls.button]]
pin = 18
target = "gen_intensity"

[[controls.encoder]]
pin_a = 5
pin_b = 6
target = "gen_mode"
)",
                                                 "gen.toml");
  ASSERT_EQ(r.controls.pots.size(), 2u);
  EXPECT_EQ(r.controls.pots[0].target.kind, TargetKind::kGenBpm);
  EXPECT_FLOAT_EQ(r.controls.pots[0].target.min, 60.0f);
  EXPECT_FLOAT_EQ(r.controls.pots[0].target.max, 90.0f);
  EXPECT_EQ(r.controls.pots[1].target.kind, TargetKind::kGenMode);
  EXPECT_FLOAT_EQ(r.controls.pots[1].target.min, 1.0f);
  EXPECT_FLOAT_EQ(r.controls.pots[1].target.max, 5.0f);
  ASSERT_EQ(r.controls.buttons.size(), 1u);
  EXPECT_EQ(r.controls.buttons[0].target.kind, TargetKind::kGenToggle);
  ASSERT_EQ(r.controls.encoders.size(), 1u);
  EXPECT_EQ(r.controls.encoders[0].target.kind, TargetKind::kGenMode);
  ASSERT_EQ(r.errors.size(), 5u);
  std::string all;
  for (const std::string& e : r.errors) all += e + "\n";
  EXPECT_NE(all.find("max"), std::string::npos) << all;  // intensity 1.5
  EXPECT_NE(all.find("no curve"), std::string::npos) << all;
  EXPECT_NE(all.find("only a parameter or gen_"), std::string::npos) << all;  // gen_toggle min
  EXPECT_NE(all.find("whole modes"), std::string::npos) << all;
  EXPECT_NE(all.find("a button triggers"), std::string::npos) << all;
}

TEST(GenControlMapping, EncoderStepsIntensityBpmAndOneModePerDetent) {
  RecordingSink sink;
  EncoderMapping intensity(Target("gen_intensity"), 20);  // 0.05 per detent
  int64_t t = 0;
  intensity.Steps(+1, t += 200'000'000, sink);
  intensity.Steps(+2, t += 10'000'000, sink);
  EncoderMapping bpm(Target("gen_bpm"), 120);  // 1 bpm per detent over 40..160
  bpm.Steps(-3, t += 200'000'000, sink);
  EncoderMapping mode(Target("gen_mode"), 24);
  mode.Steps(+1, t += 200'000'000, sink);  // Dorian -> Phrygian
  mode.Steps(+1, t += 200'000'000, sink);  // -> Lydian
  mode.Steps(-5, t += 200'000'000, sink);  // clamped at Ionian
  mode.Steps(-1, t += 200'000'000, sink);  // already there: nothing
  ASSERT_EQ(sink.generative.size(), 6u);
  EXPECT_EQ(sink.generative[0].first, TargetKind::kGenIntensity);
  EXPECT_NEAR(sink.generative[0].second, 0.55f, 1e-5f);  // resumed from the mode's 0.5
  EXPECT_NEAR(sink.generative[1].second, 0.65f, 1e-5f);
  EXPECT_EQ(sink.generative[2].first, TargetKind::kGenBpm);
  EXPECT_NEAR(sink.generative[2].second, 57.0f, 1e-3f);  // resumed from 60 bpm
  EXPECT_EQ(sink.generative[3], std::make_pair(TargetKind::kGenMode, 2.0f));
  EXPECT_EQ(sink.generative[4], std::make_pair(TargetKind::kGenMode, 3.0f));
  EXPECT_EQ(sink.generative[5], std::make_pair(TargetKind::kGenMode, 0.0f));
  EXPECT_TRUE(sink.commands.empty()) << "nothing for the audio thread";
}

TEST(GenControlMapping, PotSetsValuesPicksModesAndTogglesOnTheMiddle) {
  RecordingSink sink;
  AbsoluteMapping bpm(Target("gen_bpm"), /*pickup=*/true, /*first_is_baseline=*/true);
  bpm.Position(0.5f, sink);  // start-up read: nothing
  bpm.Position(0.25f, sink);
  bpm.Position(1.0f, sink);
  AbsoluteMapping mode(Target("gen_mode"), true, true);
  mode.Position(0.0f, sink);
  mode.Position(0.05f, sink);  // same slice (Ionian): nothing new
  mode.Position(0.0f, sink);
  mode.Position(0.99f, sink);
  AbsoluteMapping toggle(Target("gen_toggle"), false, true);
  toggle.Position(0.1f, sink);
  toggle.Position(0.7f, sink);  // up through the middle: toggles
  toggle.Position(0.2f, sink);  // down: nothing
  toggle.Position(0.8f, sink);  // up again: toggles again
  ASSERT_EQ(sink.generative.size(), 6u);
  EXPECT_EQ(sink.generative[0], std::make_pair(TargetKind::kGenBpm, 70.0f));
  EXPECT_EQ(sink.generative[1], std::make_pair(TargetKind::kGenBpm, 160.0f));
  EXPECT_EQ(sink.generative[2], std::make_pair(TargetKind::kGenMode, 0.0f));
  EXPECT_EQ(sink.generative[3], std::make_pair(TargetKind::kGenMode, 6.0f));
  EXPECT_EQ(sink.generative[4].first, TargetKind::kGenToggle);
  EXPECT_EQ(sink.generative[5].first, TargetKind::kGenToggle);
  EXPECT_FLOAT_EQ(sink.gen_values[TargetKind::kGenToggle], 0.0f) << "started, then stopped";
  // A button (TriggerTarget) toggles.
  EXPECT_TRUE(TriggerTarget(Target("gen_toggle"), sink));
  EXPECT_FALSE(TriggerTarget(Target("gen_bpm"), sink));
  EXPECT_FLOAT_EQ(sink.gen_values[TargetKind::kGenToggle], 1.0f);
}

using testing::FakeAdc;
using testing::ScriptedLines;

template <typename F>
bool WaitFor(F done, std::chrono::milliseconds timeout = 2000ms) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!done()) {
    if (std::chrono::steady_clock::now() > until) return false;
    std::this_thread::sleep_for(5ms);
  }
  return true;
}

// The firmware's wiring (app.cpp): the hooks call ApplyGenControl / GenControlValue on a
// GenPlayer; a pot on gen_bpm and a button on gen_toggle, through the ADC and GPIO threads.
TEST(GenControls, PotAndButtonThroughTheControlThreadsReachTheGenPlayer) {
  SoundPatch patch;
  patch.layers = {LayerConfig{}};
  SoundLayers layers(patch, nullptr, 48000.0f);
  GenPlayer player(layers, GenerativeConfig{}, GenPlayerConfig{});
  ControlQueue queue;
  player.SetLaneNonRt(queue.AddProducerNonRt());
  ControlHooks hooks;
  hooks.generative = [&](TargetKind kind, float value) { ApplyGenControl(player, kind, value); };
  hooks.generative_value = [&](TargetKind kind) { return GenControlValue(player, kind); };
  ControlsConfig config;
  config.adc_rate_hz = 200.0;
  PotControlConfig pot;
  pot.channel = 2;
  pot.target = Target("gen_bpm");
  config.pots.push_back(pot);
  ButtonControlConfig button;
  button.pin = 17;
  button.target = Target("gen_toggle");
  config.buttons.push_back(button);
  FakeAdc* adc = nullptr;
  ScriptedLines* lines = nullptr;
  ControlBackends backends;
  backends.adc = [&](const ControlsConfig&, std::string*) {
    auto a = std::make_unique<FakeAdc>();
    adc = a.get();
    for (auto& r : a->raw) r = 512;
    return std::unique_ptr<hal::adc::AdcReader>(std::move(a));
  };
  backends.gpio = [&](const ControlsConfig&, std::string*) {
    auto l = std::make_unique<ScriptedLines>();
    lines = l.get();
    return std::unique_ptr<hal::gpio::GpioLines>(std::move(l));
  };
  Controls controls(config, queue, hooks, backends);
  controls.Start();
  ASSERT_NE(adc, nullptr);
  ASSERT_NE(lines, nullptr);
  std::this_thread::sleep_for(50ms);
  EXPECT_DOUBLE_EQ(player.params().bpm, 60.0) << "a pot at rest sends nothing";
  adc->raw[2] = 1023;  // full up: 160 bpm
  EXPECT_TRUE(WaitFor([&] { return player.params().bpm > 159.0; })) << player.params().bpm;
  // The button: pressed and released -> the mode starts (at the player's next step).
  lines->Edges({{17, false}}, 0);
  std::this_thread::sleep_for(60ms);
  lines->Edges({{17, true}}, 0);
  EXPECT_TRUE(WaitFor([&] {
    player.StepNonRt(48000);
    return player.playing();
  }));
  EXPECT_GT(player.bars(), 0u);
  lines->Edges({{17, false}}, 0);
  std::this_thread::sleep_for(60ms);
  lines->Edges({{17, true}}, 0);
  EXPECT_TRUE(WaitFor([&] {
    player.StepNonRt(96000);
    return !player.playing();
  }));
  controls.Stop();
  EXPECT_EQ(controls.device_errors(), 0u);
}

}  // namespace
}  // namespace chronus::firmware
