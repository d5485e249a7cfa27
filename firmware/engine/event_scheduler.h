// Future control commands (timetagged OSC bundles, sequencers) waiting in the audio thread for the
// block in which their engine frame falls: a fixed-capacity binary min-heap ordered by frame, then
// by arrival (so a NoteOn and a NoteOff for the same frame keep their order). Storage is
// allocated once at construction; PushRt/PopRt never allocate, lock or block.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

#include "firmware/engine/command.h"

namespace chronus::firmware {

/// Construction: non-RT. Everything else: the audio thread only.
class EventScheduler {
 public:
  /// `capacity` commands can wait at once (the firmware uses kDefaultCapacity).
  static constexpr size_t kDefaultCapacity = 4096;

  explicit EventScheduler(size_t capacity = kDefaultCapacity) : heap_(capacity) {}

  /// Keeps `command` until its frame is due. False (nothing kept) when full.
  bool PushRt(const Command& command) {
    if (size_ == heap_.size()) return false;
    size_t i = size_++;
    heap_[i] = Entry{command, next_seq_++};
    while (i > 0) {
      const size_t parent = (i - 1) / 2;
      if (!Less(heap_[i], heap_[parent])) break;
      Swap(i, parent);
      i = parent;
    }
    return true;
  }

  /// True when the earliest waiting command's frame is < `end_frame`.
  bool HasDueRt(uint64_t end_frame) const {
    return size_ > 0 && heap_[0].command.frame < end_frame;
  }

  /// Removes and returns the earliest waiting command. Precondition: size() > 0.
  Command PopRt() {
    const Command top = heap_[0].command;
    heap_[0] = heap_[--size_];
    size_t i = 0;
    for (;;) {
      const size_t left = 2 * i + 1;
      const size_t right = left + 1;
      size_t smallest = i;
      if (left < size_ && Less(heap_[left], heap_[smallest])) smallest = left;
      if (right < size_ && Less(heap_[right], heap_[smallest])) smallest = right;
      if (smallest == i) break;
      Swap(i, smallest);
      i = smallest;
    }
    return top;
  }

  size_t size() const { return size_; }
  size_t capacity() const { return heap_.size(); }

 private:
  struct Entry {
    Command command{CommandType::kNoteOn};
    uint64_t seq = 0;
  };
  static bool Less(const Entry& a, const Entry& b) {
    return a.command.frame != b.command.frame ? a.command.frame < b.command.frame : a.seq < b.seq;
  }
  void Swap(size_t a, size_t b) {
    const Entry t = heap_[a];
    heap_[a] = heap_[b];
    heap_[b] = t;
  }

  std::vector<Entry> heap_;
  size_t size_ = 0;
  uint64_t next_seq_ = 0;
};

}  // namespace chronus::firmware
