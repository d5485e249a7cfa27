// The engine frame at which a timed OSC message plays: a bundle's timetag (NTP time) mapped
// through the engine clock. One rule for every timed input (OSC bundles, SuperDirt's /dirt/play).
#pragma once

#include <cstdint>

#include "firmware/engine/engine_clock.h"

namespace chronus::firmware {

/// Engine frame (Command::frame, DirtEvent::frame) of the timetag `ntp_seconds`.`ntp_fraction`
/// (seconds since 1900, 2^-32 s): 0 = at once, for OSC's "immediately" (0.1), a message outside
/// a bundle (liblo gives 0.1 too), or no valid clock (`clock` null or nothing published yet);
/// otherwise >= 1: the frame heard then, or 1 for a time already past the engine's frame 0 (played
/// at once and counted late). Reads the clocks; non-RT, any thread.
uint64_t FrameOfTimetag(const EngineClock* clock, uint32_t ntp_seconds, uint32_t ntp_fraction);

}  // namespace chronus::firmware
