// The queue of control commands into the audio thread: many non-RT producers (OSC, later GPIO and
// MIDI threads), one RT consumer.
#pragma once

#include <atomic>
#include <cstdint>

#include <boost/lockfree/queue.hpp>

#include "firmware/engine/command.h"

namespace chronus::firmware {

class ControlQueue {
 public:
  static constexpr size_t kCapacity = 4096;

  /// Queues a command. Any non-RT thread. Returns false (and counts a drop) when full.
  bool pushNonRt(const Command& command) {
    if (queue_.bounded_push(command)) return true;
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  /// Takes the oldest command. Audio thread only. Lock-free, no allocation.
  bool popRt(Command* command) { return queue_.pop(*command); }
  /// Commands refused because the queue was full. Any thread.
  uint64_t dropped() const { return dropped_.load(std::memory_order_relaxed); }

 private:
  boost::lockfree::queue<Command, boost::lockfree::capacity<kCapacity>> queue_;
  std::atomic<uint64_t> dropped_{0};
};

}  // namespace chronus::firmware
