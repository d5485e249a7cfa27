// Clocks and OSC timetags for tests that send timetagged bundles.
#pragma once

#include <lo/lo.h>
#include <time.h>

#include <cstdint>

namespace chronus::test {

/// Nanoseconds of clock `id` (CLOCK_REALTIME, CLOCK_MONOTONIC, ...).
inline int64_t ClockNs(clockid_t id) {
  timespec ts{};
  clock_gettime(id, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

/// CLOCK_REALTIME in nanoseconds since 1970.
inline int64_t RealtimeNs() { return ClockNs(CLOCK_REALTIME); }

/// The OSC (NTP) timetag of CLOCK_REALTIME time `ns` (ns since 1970): seconds since 1900 and a
/// 2^-32 s fraction.
inline lo_timetag TimetagAtRealtimeNs(int64_t ns) {
  return lo_timetag{
      static_cast<uint32_t>(ns / 1'000'000'000 + 2'208'988'800LL),
      static_cast<uint32_t>((static_cast<uint64_t>(ns % 1'000'000'000) << 32) / 1'000'000'000)};
}

}  // namespace chronus::test
