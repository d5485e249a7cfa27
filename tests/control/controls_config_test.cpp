// Board files' [controls] and [midi]: the concrete board parses cleanly; bad entries are listed
// and their control left out, the rest kept.
#include <gtest/gtest.h>

#include "firmware/config/board_config.h"
#include "firmware/control/controls_config.h"

namespace chronus::firmware {
namespace {

TEST(ControlsConfig, Rpi4ControlsBoardDescribesThePanel) {
  const std::string path = FindBoardFile("rpi4-controls", {CHRONUS_SOURCE_BOARD_DIR});
  ASSERT_NE(path, "");
  const BoardLoadResult board = LoadBoardFile(path);
  EXPECT_EQ(board.error, "");  // [controls] and [midi] are known to the board loader
  const ControlsLoadResult loaded = LoadControlsConfig(path);
  for (const auto& e : loaded.errors) ADD_FAILURE() << e;
  const ControlsConfig& c = loaded.controls;
  ASSERT_EQ(c.pots.size(), 4u);
  ASSERT_EQ(c.encoders.size(), 2u);
  ASSERT_EQ(c.buttons.size(), 4u);  // 2 encoder pushes + 2 panel buttons
  ASSERT_EQ(c.leds.size(), 1u);
  EXPECT_TRUE(c.midi.enabled);
  EXPECT_EQ(c.pots[0].target.param, dsp::ParamId::kCutoffHz);
  EXPECT_EQ(c.pots[0].target.curve, Curve::kLog);
  EXPECT_FLOAT_EQ(c.pots[0].target.min, 40.0f);
  EXPECT_EQ(c.pots[3].target.param, dsp::ParamId::kMasterGainDb);
  EXPECT_EQ(c.encoders[0].pin_a, 5u);
  EXPECT_EQ(c.encoders[0].pin_b, 6u);
  EXPECT_EQ(c.encoders[1].target.kind, TargetKind::kPresetNext);
  EXPECT_EQ(c.buttons[1].long_target.kind, TargetKind::kPresetPrev);
  EXPECT_EQ(c.buttons[0].long_target.kind, TargetKind::kGenToggle);
  EXPECT_EQ(c.leds[0].pin, 25u);
  ASSERT_EQ(c.midi.cc.size(), 2u);
  EXPECT_EQ(c.midi.cc[0].cc, 1);
  EXPECT_EQ(c.gpio.chip, "auto");
  EXPECT_EQ(c.spi_device, "/dev/spidev0.0");
  EXPECT_DOUBLE_EQ(c.adc_rate_hz, 100.0);
}

TEST(ControlsConfig, OtherBoardsHaveNoControls) {
  for (const char* name : {"dev-virtual", "rpi4-hifiberry-dacplus", "rpi-headphones"}) {
    const ControlsLoadResult loaded =
        LoadControlsConfig(FindBoardFile(name, {CHRONUS_SOURCE_BOARD_DIR}));
    EXPECT_TRUE(loaded.errors.empty()) << name;
    EXPECT_TRUE(loaded.controls.empty()) << name;
  }
}

TEST(ControlsConfig, BadEntriesAreListedAndLeftOut) {
  const ControlsLoadResult r = ParseControlsToml(R"(
[controls]
adc_rate_hz = 0
[[controls.pot]]
channel = 9
target = "cutoff"
[[controls.pot]]
channel = 1
target = "cutof"
[[controls.pot]]
channel = 2
target = "gain"
curve = "log"
[[controls.pot]]
channel = 3
target = "resonance"
[[controls.encoder]]
pin_a = 5
pin_b = 5
target = "attack"
[[controls.encoder]]
pin_a = 17
pin_b = 27
target = "attack"
min = 50.0
[[controls.button]]
pin = 23
target = "cutoff"
[[controls.button]]
pin = 24
target = "panic"
colour = "red"
[[controls.led]]
pin = 25
shows = "midi"
[midi]
enabled = true
channel = 17
[[midi.cc]]
cc = 64
target = "cutoff"
[[midi.cc]]
cc = 1
target = "cutoff"
)",
                                                 "test.toml");
  const auto has = [&](const std::string& text) {
    for (const auto& e : r.errors) {
      if (e.find(text) != std::string::npos) return true;
    }
    return false;
  };
  EXPECT_TRUE(has("test.toml: controls.adc_rate_hz: expected a number from 1 to 1000 (got 0)"));
  EXPECT_TRUE(
      has("controls.pot[0].channel: expected an integer from 0 to 7 (got 9); this pot is "
          "disabled"));
  EXPECT_TRUE(has("controls.pot[1].target: unknown target \"cutof\""));
  EXPECT_TRUE(has("controls.pot[2]: a log curve needs min and max above 0"));
  EXPECT_TRUE(has("controls.encoder[0].pin_b: GPIO 5 is already used by another control"));
  EXPECT_TRUE(has("controls.encoder[1].min: expected a number from 0.0005 to 10"));
  EXPECT_TRUE(has("controls.button[0].target: a button triggers an action"));
  EXPECT_TRUE(has("controls.button[1].colour: unknown key"));
  EXPECT_TRUE(has("controls.led[0].shows: expected \"recording\" or \"on\""));
  EXPECT_TRUE(has("midi.channel: expected an integer from 0 to 16 (got 17); using the default"));
  EXPECT_TRUE(has("midi.cc[0].cc: CC 64 is reserved"));
  EXPECT_EQ(r.errors.size(), 11u);
  // What was valid is kept.
  ASSERT_EQ(r.controls.pots.size(), 1u);
  EXPECT_EQ(r.controls.pots[0].channel, 3);
  EXPECT_TRUE(r.controls.encoders.empty());
  EXPECT_TRUE(r.controls.buttons.empty());
  EXPECT_TRUE(r.controls.leds.empty());
  EXPECT_DOUBLE_EQ(r.controls.adc_rate_hz, 100.0);
  EXPECT_EQ(r.controls.midi.channel, 0);
  ASSERT_EQ(r.controls.midi.cc.size(), 1u);
  EXPECT_EQ(r.controls.midi.cc[0].cc, 1);
}

TEST(ControlsConfig, SyntaxErrorMeansNoControls) {
  const ControlsLoadResult r = ParseControlsToml("[controls\n", "x.toml");
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("x.toml:1"), std::string::npos) << r.errors[0];
  EXPECT_TRUE(r.controls.empty());
}

}  // namespace
}  // namespace chronus::firmware
