// The engine frame at which a command that arrived in an OSC bundle takes effect: the frame heard
// at the bundle's timetag (NTP time, compared with CLOCK_REALTIME through the engine clock).
// Used by OscSoundHandler (/midi/note/*); OscServer (/note/*, /param/*) and DirtServer apply the
// same rule in their own code. Non-RT; any thread.
#pragma once

#include <lo/lo.h>

#include <cstdint>

#include "firmware/engine/engine_clock.h"

namespace chronus::firmware {

/// Command::frame for a command carried by a message with timetag `tag`
/// (lo_message_get_timestamp): 0 (at once) for the "immediately" timetag (0.1, or 0.0), for a
/// message outside a bundle, or without a valid clock; else the engine frame heard at `tag`, and
/// 1 (long past: at once, counted late) when that frame is <= 0.
inline uint64_t CommandFrameOfTimetag(const EngineClock* clock, lo_timetag tag) {
  if ((tag.sec == 0 && tag.frac <= 1) || clock == nullptr || !clock->valid()) return 0;
  const int64_t frame = clock->FrameAtNonRt(EngineClock::NtpToRealtime(tag.sec, tag.frac));
  return frame > 0 ? static_cast<uint64_t>(frame) : 1;
}

}  // namespace chronus::firmware
