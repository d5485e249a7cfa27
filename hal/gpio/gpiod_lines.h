// libgpiod (v1.6 API, Debian bookworm) backend of GpioLines: finds the chip of the SoC's GPIO
// header by its label, requests the input lines for both-edge events with the internal pull-up and
// the output lines, and waits for edges with poll() on the lines' event fds and an eventfd for
// Wake (no polling of levels).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "hal/gpio/gpio_lines.h"

struct gpiod_chip;
struct gpiod_line;

namespace chronus::hal::gpio {

/// Labels of the GPIO controllers behind the 40-pin header, searched in this order: Pi 5 (RP1;
/// gpiochip4 on kernels before 6.6.45, gpiochip0 after), Pi 4, Pi 3 and earlier.
inline const std::vector<std::string>& DefaultChipLabels() {
  static const std::vector<std::string> labels = {"pinctrl-rp1", "pinctrl-bcm2711",
                                                  "pinctrl-bcm2835"};
  return labels;
}

struct GpioChipConfig {
  /// "auto": the first chip whose label is in `labels`; else a chip name ("gpiochip0"), path
  /// ("/dev/gpiochip4") or label.
  std::string chip = "auto";
  std::vector<std::string> labels = DefaultChipLabels();
  std::string consumer = "chronus";  ///< Shown by gpioinfo as the lines' user.
};

/// Finds the chip for `config`: returns its name ("gpiochip0") or "" and sets `error` (no GPIO
/// chip at all, none with a known label, permission denied). Any thread.
std::string FindGpioChip(const GpioChipConfig& config, std::string* error);

class GpiodLines final : public GpioLines {
 public:
  GpiodLines();
  ~GpiodLines() override;
  GpiodLines(const GpiodLines&) = delete;
  GpiodLines& operator=(const GpiodLines&) = delete;

  /// Opens the chip and requests the lines: `inputs` for both edges with pull-up (bias needs
  /// kernel 5.5+; older kernels: the request is retried without bias), `outputs` driven low.
  /// Returns "" or an error naming the chip and line: missing chip, line out of range, line busy
  /// (EBUSY: used by another driver or program), permission denied (EACCES: not in group gpio).
  /// Main thread, once.
  std::string Open(const GpioChipConfig& config, const std::vector<unsigned>& inputs,
                   const std::vector<unsigned>& outputs);
  const std::string& chip_name() const { return chip_name_; }

  bool Level(unsigned offset) override;
  std::string Wait(int timeout_ms, std::vector<LineEvent>* events) override;
  void Set(unsigned offset, bool high) override;
  void Wake() override;

 private:
  struct Line {
    unsigned offset;
    gpiod_line* line;
    int fd;
  };
  gpiod_chip* chip_ = nullptr;
  std::string chip_name_;
  std::vector<Line> inputs_;
  std::vector<Line> outputs_;
  int wake_fd_ = -1;
};

}  // namespace chronus::hal::gpio
