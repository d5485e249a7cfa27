// Reading what reached the engine's control queue, for tests of its producers (OSC, MIDI, knobs).
#pragma once

#include <chrono>
#include <cstddef>
#include <thread>
#include <vector>

#include "firmware/engine/control_queue.h"

namespace chronus::test {

/// Pops commands from `control` (as the audio thread would) until `expected` arrived or
/// `timeout_ms` passed; returns them in order. The test thread plays the audio thread.
inline std::vector<firmware::Command> DrainControl(firmware::ControlQueue& control, size_t expected,
                                                   int timeout_ms = 1000) {
  std::vector<firmware::Command> out;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (out.size() < expected && std::chrono::steady_clock::now() < deadline) {
    firmware::Command c;
    if (control.popRt(&c)) {
      out.push_back(c);
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  return out;
}

}  // namespace chronus::test
