// MCP3008 (8-channel 10-bit SAR ADC) on a Linux spidev device through the spidev ioctl interface
// (SPI_IOC_MESSAGE). Wiring and SPI mode: Microchip MCP3004/3008 data sheet (DS21295), section 6.1
// "Using the MCP3004/3008 with Microcontroller SPI Ports": mode 0, three bytes per conversion:
// start bit, single-ended flag + channel, then 10 result bits.
#pragma once

#include <cstdint>
#include <string>

#include "hal/adc/adc_reader.h"

namespace chronus::hal::adc {

struct Mcp3008Config {
  std::string device = "/dev/spidev0.0";  ///< SPI0, CE0 (dtparam=spi=on in config.txt).
  uint32_t speed_hz = 1'000'000;          ///< SPI clock; the data sheet allows 1.35 MHz at 2.7 V.
};

class Mcp3008 final : public AdcReader {
 public:
  Mcp3008() = default;
  ~Mcp3008() override;
  Mcp3008(const Mcp3008&) = delete;
  Mcp3008& operator=(const Mcp3008&) = delete;

  /// Opens and configures the device. Returns "" or an error: missing device (SPI not enabled),
  /// permission denied (not in group spi), ioctl refused. Main thread.
  std::string Init(const Mcp3008Config& config);

  /// One single-ended conversion of `channel` 0..7 (one SPI transfer, ~30 us at 1 MHz).
  std::string Read(int channel, uint16_t* value) override;
  uint16_t full_scale() const override { return 1023; }
  int channels() const override { return 8; }

 private:
  Mcp3008Config config_;
  int fd_ = -1;
};

}  // namespace chronus::hal::adc
