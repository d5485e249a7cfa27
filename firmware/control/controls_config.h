// The hardware controls of a board ([controls] and [midi] in board/*.toml): which pins and ADC
// channels, and what each control acts on. Parsed with toml++ separately from the rest of the
// board file (firmware/config/board_config.h), in the same style: every problem is listed, and a
// control with a bad entry is left out (its safe default: the box plays on without it).
//
//   [controls]
//   gpio_chip = "auto"              # or "gpiochip0", "/dev/gpiochip4", a chip label
//   spi_device = "/dev/spidev0.0"   # MCP3008
//   adc_rate_hz = 100
//   [[controls.encoder]]  name, pin_a, pin_b, target, [min, max, curve, detents,
//                         steps_per_detent, acceleration]
//   [[controls.button]]   name, pin, target, [long_target, active_low, debounce_ms, long_press_ms]
//   [[controls.pot]]      name, channel, target, [min, max, curve, pickup, hysteresis]
//   [[controls.led]]      name, pin, shows ("recording" | "on"), [active_low]
//   [midi]                enabled, channel, bend_range, program_change, pickup, auto_connect
//   [[midi.cc]]           cc, target, [min, max, curve]
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "firmware/control/control_target.h"
#include "firmware/control/midi_mapper.h"
#include "hal/adc/pot_filter.h"
#include "hal/gpio/button_debouncer.h"
#include "hal/gpio/encoder_acceleration.h"
#include "hal/gpio/gpiod_lines.h"
#include "hal/gpio/quadrature_decoder.h"

namespace chronus::firmware {

struct EncoderControlConfig {
  std::string name;
  unsigned pin_a = 0;  ///< BCM GPIO number (line offset on the header's chip)
  unsigned pin_b = 0;
  ControlTarget target;
  int detents = 64;  ///< Detents from one end of the range to the other (before acceleration).
  hal::gpio::QuadratureConfig quadrature;
  hal::gpio::AccelerationConfig acceleration;
};

struct ButtonControlConfig {
  std::string name;
  unsigned pin = 0;
  bool active_low = true;     ///< Pressed = low (button to ground, pull-up): the usual wiring.
  ControlTarget target;       ///< On a short press.
  ControlTarget long_target;  ///< On a long press (kNone: a long press acts as a short one).
  hal::gpio::ButtonConfig timing;
};

struct PotControlConfig {
  std::string name;
  int channel = 0;  ///< MCP3008 channel 0..7
  ControlTarget target;
  bool pickup = true;  ///< Soft takeover after a preset load.
  hal::adc::PotFilterConfig filter;
};

struct LedControlConfig {
  enum class Shows : uint8_t { kRecording, kOn };
  std::string name;
  unsigned pin = 0;
  Shows shows = Shows::kRecording;
  bool active_low = false;
};

struct ControlsConfig {
  hal::gpio::GpioChipConfig gpio;
  std::string spi_device = "/dev/spidev0.0";
  uint32_t spi_speed_hz = 1'000'000;
  double adc_rate_hz = 100.0;
  std::vector<EncoderControlConfig> encoders;
  std::vector<ButtonControlConfig> buttons;
  std::vector<PotControlConfig> pots;
  std::vector<LedControlConfig> leds;
  MidiConfig midi;

  bool uses_gpio() const { return !encoders.empty() || !buttons.empty() || !leds.empty(); }
  bool uses_adc() const { return !pots.empty(); }
  bool empty() const { return !uses_gpio() && !uses_adc() && !midi.enabled; }
};

/// Each problem: "file: controls.pot[2].channel: expected ... (got ...); <what is done instead>".
struct ControlsLoadResult {
  ControlsConfig controls;
  std::vector<std::string> errors;
};

/// Parses the [controls] and [midi] tables of board file text (other tables are ignored: they are
/// board_config's). Main thread, at start-up.
ControlsLoadResult ParseControlsToml(std::string_view text, std::string_view source_name);
/// Reads and parses a board file (at most kMaxBoardFileBytes).
ControlsLoadResult LoadControlsConfig(const std::string& path);

}  // namespace chronus::firmware
