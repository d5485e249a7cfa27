// Counts heap allocations in test binaries. Linking alloc_counter.cpp replaces the global
// operator new/delete (all standard forms) with counting versions.
#pragma once

#include <cstdint>

namespace chronus::test {

/// Counts operator new / delete calls made by the current thread while the scope is alive.
class AllocCountScope {
 public:
  AllocCountScope();
  ~AllocCountScope();
  AllocCountScope(const AllocCountScope&) = delete;
  AllocCountScope& operator=(const AllocCountScope&) = delete;

  /// operator new / delete calls on this thread since the scope began.
  uint64_t allocations() const;
  uint64_t deallocations() const;

 private:
  uint64_t start_allocs_;
  uint64_t start_frees_;
};

/// Starts counting allocations made by the firmware's real-time threads, recognised by name
/// ("chronus-audio*", "chronus-dsp*"), on any thread. Resets the count.
void StartCountingRtAllocations();
/// Stops counting and returns the RT-thread allocations seen since Start.
uint64_t StopCountingRtAllocations();

}  // namespace chronus::test
