// Scripted hardware for the control tests: GPIO lines whose edges a test scripts, an ADC whose
// channels it sets, a MIDI source it feeds. Shared by controls_test and gen_controls_test.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "firmware/control/controls.h"
#include "hal/rt/clock.h"

namespace chronus::firmware::testing {

// GPIO lines whose edges the test scripts (timestamps relative to now, so the debouncer's clock
// agrees), and whose outputs it reads.
class ScriptedLines : public hal::gpio::GpioLines {
 public:
  bool Level(unsigned offset) override {
    std::lock_guard lock(mutex_);
    return levels_[offset];
  }
  std::string Wait(int timeout_ms, std::vector<hal::gpio::LineEvent>* events) override {
    std::unique_lock lock(mutex_);
    auto ready = [&] { return !pending_.empty() || woken_; };
    if (timeout_ms < 0) {
      cv_.wait(lock, ready);
    } else {
      cv_.wait_for(lock, std::chrono::milliseconds(timeout_ms), ready);
    }
    woken_ = false;
    for (const auto& e : pending_) events->push_back(e);
    pending_.clear();
    return {};
  }
  void Set(unsigned offset, bool high) override {
    std::lock_guard lock(mutex_);
    outputs_[offset] = high;
  }
  void Wake() override {
    std::lock_guard lock(mutex_);
    woken_ = true;
    cv_.notify_all();
  }
  // Queues edges: (offset, level) `spacing_ns` apart, starting now.
  void Edges(const std::vector<std::pair<unsigned, bool>>& edges, int64_t spacing_ns) {
    std::lock_guard lock(mutex_);
    int64_t t = hal::MonotonicNs();
    for (const auto& [offset, level] : edges) {
      levels_[offset] = level;
      pending_.push_back({offset, level, t});
      t += spacing_ns;
    }
    cv_.notify_all();
  }
  bool Output(unsigned offset) {
    std::lock_guard lock(mutex_);
    return outputs_[offset];
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<hal::gpio::LineEvent> pending_;
  bool levels_[64] = {};
  bool outputs_[64] = {};
  bool woken_ = false;

 public:
  ScriptedLines() {
    for (bool& l : levels_) l = true;  // pull-ups: idle high
  }
};

// An ADC whose channels the test sets.
class FakeAdc : public hal::adc::AdcReader {
 public:
  std::string Read(int channel, uint16_t* value) override {
    *value = raw[channel].load();
    reads.fetch_add(1);
    return {};
  }
  uint16_t full_scale() const override { return 1023; }
  int channels() const override { return 8; }
  std::atomic<uint16_t> raw[8] = {};
  std::atomic<int> reads{0};
};

class ScriptedMidi : public hal::midi::MidiSource {
 public:
  std::string Wait(int, std::vector<hal::midi::MidiEvent>* events) override {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return !pending_.empty() || woken_; });
    woken_ = false;
    for (const auto& e : pending_) events->push_back(e);
    pending_.clear();
    return {};
  }
  void Wake() override {
    std::lock_guard lock(mutex_);
    woken_ = true;
    cv_.notify_all();
  }
  void Send(const std::vector<hal::midi::MidiEvent>& events) {
    std::lock_guard lock(mutex_);
    for (const auto& e : events) pending_.push_back(e);
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<hal::midi::MidiEvent> pending_;
  bool woken_ = false;
};

}  // namespace chronus::firmware::testing
