// An ADC read one channel at a time, behind an interface: the MCP3008 over spidev (mcp3008.h) on
// a Pi, a fake in tests.
#pragma once

#include <cstdint>
#include <string>

namespace chronus::hal::adc {

class AdcReader {
 public:
  virtual ~AdcReader() = default;
  /// Reads `channel` into `value` (0..full_scale()). Returns "" or an error. The sampling thread.
  virtual std::string Read(int channel, uint16_t* value) = 0;
  virtual uint16_t full_scale() const = 0;
  virtual int channels() const = 0;
};

}  // namespace chronus::hal::adc
