// The queue of control commands into the audio thread. Each control thread (OSC server, later the
// GPIO and MIDI threads) gets its own wait-free single-producer lane (Boost.Lockfree spsc_queue),
// all preallocated; the audio thread is the one consumer and takes from the lanes in turn.
// (Boost's multi-producer queue was not used: its freelist is reported by ThreadSanitizer,
// boostorg/lockfree#78, and one lane per producer needs no compare-and-swap at all.)
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>

#include <boost/lockfree/spsc_queue.hpp>

#include "firmware/engine/command.h"

namespace chronus::firmware {

class ControlQueue {
 public:
  static constexpr size_t kMaxProducers = 8;
  static constexpr size_t kLaneCapacity = 2048;  ///< Commands per producer lane.

  /// One producer's lane. Exactly one thread may push into it.
  class Producer {
   public:
    /// Queues a command. Non-RT; wait-free. Returns false (and counts a drop) when the lane is
    /// full.
    bool pushNonRt(const Command& command) {
      if (queue_.push(command)) return true;
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    /// Queues a command, waiting up to `max_wait` for room when the lane is full (back-pressure:
    /// while the producer waits, its input, e.g. a socket's receive buffer, holds what comes
    /// next instead of it being dropped here). Non-RT; may sleep, in steps of 200 us. A lane
    /// that stayed full for a whole `max_wait` is "congested": until a push succeeds again, a full
    /// lane drops at once, so a consumer that stopped (audio thread gone) costs the producer one
    /// wait, not one per command. Returns false (and counts a drop) when the command was dropped.
    bool pushNonRtWaiting(const Command& command, std::chrono::microseconds max_wait) {
      if (queue_.push(command)) {
        congested_ = false;
        return true;
      }
      if (!congested_) {
        constexpr std::chrono::microseconds kStep{200};
        for (std::chrono::microseconds waited{0}; waited < max_wait; waited += kStep) {
          std::this_thread::sleep_for(kStep);
          if (queue_.push(command)) {
            waits_.fetch_add(1, std::memory_order_relaxed);
            return true;
          }
        }
        congested_ = true;
      }
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return false;
    }
    /// Commands that can be pushed now without a drop. The producer thread.
    size_t write_available() const { return queue_.write_available(); }
    /// The audio thread has taken every command pushed so far. The producer thread.
    bool drainedNonRt() const { return queue_.write_available() == kLaneCapacity; }
    uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }
    /// Pushes that found the lane full and got in after waiting (pushNonRtWaiting). Any thread.
    uint64_t waits() const { return waits_.load(std::memory_order_relaxed); }

   private:
    friend class ControlQueue;
    boost::lockfree::spsc_queue<Command, boost::lockfree::capacity<kLaneCapacity>> queue_;
    std::atomic<uint64_t> dropped_{0};
    std::atomic<uint64_t> waits_{0};
    bool congested_ = false;  // producer thread only
  };

  ControlQueue() : lanes_(std::make_unique<std::array<Producer, kMaxProducers>>()) {}

  /// Hands out a new producer lane, or nullptr when all kMaxProducers are taken. Non-RT, at
  /// start-up of the producing thread (safe while the audio thread runs).
  Producer* AddProducerNonRt() {
    const size_t index = claimed_.fetch_add(1, std::memory_order_relaxed);
    if (index >= kMaxProducers) return nullptr;
    Producer* lane = &(*lanes_)[index];
    // Publish in order so popRt never reads a lane that is not handed out.
    size_t expected = index;
    while (!published_.compare_exchange_weak(expected, index + 1, std::memory_order_release)) {
      expected = index;
    }
    return lane;
  }

  /// Takes the next command, visiting the lanes in turn so that no producer can starve another.
  /// Audio thread only; wait-free, no allocation.
  bool popRt(Command* command) {
    const size_t count = published_.load(std::memory_order_acquire);
    for (size_t i = 0; i < count; ++i) {
      const size_t lane = next_lane_++ % count;
      if ((*lanes_)[lane].queue_.pop(*command)) return true;
    }
    return false;
  }

  /// Commands refused because a lane was full, over all producers. Any thread.
  uint64_t dropped() const {
    uint64_t total = 0;
    const size_t count = published_.load(std::memory_order_acquire);
    for (size_t i = 0; i < count; ++i) total += (*lanes_)[i].dropped();
    return total;
  }

 private:
  std::unique_ptr<std::array<Producer, kMaxProducers>> lanes_;
  std::atomic<size_t> claimed_{0};
  std::atomic<size_t> published_{0};
  size_t next_lane_ = 0;  // audio thread only
};

}  // namespace chronus::firmware
