// The GPIO lines the control thread uses, behind an interface: the libgpiod backend
// (gpiod_lines.h) on a Pi, a scripted one in tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chronus::hal::gpio {

/// An edge on an input line, as the kernel timestamped it.
struct LineEvent {
  unsigned offset = 0;  ///< Line offset on the chip (the BCM GPIO number on a Pi).
  bool rising = false;  ///< Physical level after the edge: true = high.
  int64_t time_ns = 0;  ///< CLOCK_MONOTONIC.
};

/// Input lines (requested for both edges, with pull-ups) and output lines of one chip.
/// All methods: the control thread that owns the object (Wake: any thread).
class GpioLines {
 public:
  virtual ~GpioLines() = default;
  /// Physical level of input `offset` now (true = high); false for unknown lines.
  virtual bool Level(unsigned offset) = 0;
  /// Waits until edges arrive, `timeout_ms` passes (-1: no limit) or Wake is called, and appends
  /// the edges to `events` in time order. Returns "" or an error (the chip went away).
  virtual std::string Wait(int timeout_ms, std::vector<LineEvent>* events) = 0;
  /// Drives output `offset` (requested as an output) high or low.
  virtual void Set(unsigned offset, bool high) = 0;
  /// Makes a pending or the next Wait return at once. Any thread.
  virtual void Wake() = 0;
};

}  // namespace chronus::hal::gpio
