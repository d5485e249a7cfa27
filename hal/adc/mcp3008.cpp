#include "hal/adc/mcp3008.h"

#include <fcntl.h>
#include <linux/spi/spidev.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace chronus::hal::adc {

namespace {

std::string Why(int error) {
  switch (error) {
    case ENOENT:
      return "missing (enable SPI: dtparam=spi=on in /boot/firmware/config.txt)";
    case EACCES:
    case EPERM:
      return "permission denied (add the user to group spi)";
    case EBUSY:
      return "busy";
    default:
      return std::strerror(error);
  }
}

}  // namespace

Mcp3008::~Mcp3008() {
  if (fd_ >= 0) close(fd_);
}

std::string Mcp3008::Init(const Mcp3008Config& config) {
  config_ = config;
  fd_ = open(config.device.c_str(), O_RDWR | O_CLOEXEC);
  if (fd_ < 0) return config.device + ": " + Why(errno);
  uint8_t mode = SPI_MODE_0;
  uint8_t bits = 8;
  uint32_t speed = config.speed_hz;
  if (ioctl(fd_, SPI_IOC_WR_MODE, &mode) < 0 || ioctl(fd_, SPI_IOC_WR_BITS_PER_WORD, &bits) < 0 ||
      ioctl(fd_, SPI_IOC_WR_MAX_SPEED_HZ, &speed) < 0) {
    const std::string error = config.device + ": cannot configure SPI: " + Why(errno);
    close(fd_);
    fd_ = -1;
    return error;
  }
  return {};
}

std::string Mcp3008::Read(int channel, uint16_t* value) {
  if (fd_ < 0) return "MCP3008 not open";
  if (channel < 0 || channel > 7) return "MCP3008 channel " + std::to_string(channel) + " (0..7)";
  // Start bit, then SGL/DIFF = 1 and D2..D0, then 8 clocks for the low result bits.
  uint8_t tx[3] = {0x01, static_cast<uint8_t>((0x08 | channel) << 4), 0x00};
  uint8_t rx[3] = {};
  spi_ioc_transfer transfer{};
  transfer.tx_buf = reinterpret_cast<uintptr_t>(tx);
  transfer.rx_buf = reinterpret_cast<uintptr_t>(rx);
  transfer.len = sizeof(tx);
  transfer.speed_hz = config_.speed_hz;
  transfer.bits_per_word = 8;
  if (ioctl(fd_, SPI_IOC_MESSAGE(1), &transfer) < 0) {
    return config_.device + ": SPI transfer failed: " + Why(errno);
  }
  *value = static_cast<uint16_t>(((rx[1] & 0x03) << 8) | rx[2]);
  return {};
}

}  // namespace chronus::hal::adc
