#include "firmware/engine/timetag_frame.h"

namespace chronus::firmware {

uint64_t FrameOfTimetag(const EngineClock* clock, uint32_t ntp_seconds, uint32_t ntp_fraction) {
  if ((ntp_seconds == 0 && ntp_fraction <= 1) || clock == nullptr || !clock->valid()) return 0;
  const int64_t frame = clock->FrameAtNonRt(EngineClock::NtpToRealtime(ntp_seconds, ntp_fraction));
  return frame > 0 ? static_cast<uint64_t>(frame) : 1;
}

}  // namespace chronus::firmware
