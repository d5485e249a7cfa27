// The one clock of the firmware: CLOCK_MONOTONIC (also what the virtual card paces by).
#pragma once

#include <time.h>

#include <cstdint>

namespace chronus::hal {

/// CLOCK_MONOTONIC in nanoseconds. RT-safe (vDSO, no system call).
inline int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace chronus::hal
