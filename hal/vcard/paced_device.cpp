#include "hal/vcard/paced_device.h"

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace chronus::hal::vcard {

void PacedDevice::SetHwParams(const HwConfig& config, int64_t now_ns) {
  StopRun(now_ns, false);
  buffer_.assign(config.buffer_frames * config.format.frame_bytes(), 0);
  if (!format_sent_ || !(config.format == config_.format)) {
    format_sent_ = true;
    if (pending_ && pending_->format == config.format) {
      // The capture file of a previous device goes on: same t0, same frame grid.
      timeline_started_ = true;
      clock_ = FrameClock{pending_->t0_ns, config.format.rate_hz};
      end_ = pending_->frames;
      if (capture_ != nullptr) {
        const Continuation record{config.format, end_};
        capture_->PushControl(RecordType::kContinue, &record, sizeof(record));
      }
    } else {
      // A new format is a new capture file with its own timeline.
      timeline_started_ = false;
      end_ = 0;
      if (capture_ != nullptr) {
        capture_->PushControl(RecordType::kFormat, &config.format, sizeof(config.format));
      }
    }
    pending_.reset();
  }
  config_ = config;
  hw_pos_ = 0;
  appl_pos_ = 0;
}

std::optional<Timeline> PacedDevice::timeline() const {
  if (timeline_started_) return Timeline{config_.format, clock_.t0_ns, captured_frames()};
  return pending_;
}

void PacedDevice::Prepare(int64_t now_ns) {
  StopRun(now_ns, false);
  hw_pos_ = 0;
  appl_pos_ = 0;
}

void PacedDevice::Start(int64_t now_ns, uint64_t appl) {
  SyncAppl(appl);
  if (!timeline_started_) {
    timeline_started_ = true;
    clock_ = FrameClock{now_ns, config_.format.rate_hz};
    end_ = 0;
    if (capture_ != nullptr) capture_->PushControl(RecordType::kStart, &now_ns, sizeof(now_ns));
  }
  // The run starts on the timeline's frame grid, never before what was already accounted.
  const int64_t start = std::max(clock_.FramesAtCeil(now_ns), end_);
  if (capture_ != nullptr) capture_->PushSilence(static_cast<uint64_t>(start - end_));
  origin_ = start - static_cast<int64_t>(hw_pos_);
  running_ = true;
  xrun_ = false;
}

void PacedDevice::Stop(int64_t now_ns, uint64_t appl, bool draining) {
  SyncAppl(appl);
  StopRun(now_ns, draining);
}

void PacedDevice::StopRun(int64_t now_ns, bool draining) {
  Advance(now_ns, draining);
  if (running_) EndRun();
  xrun_ = false;
}

int64_t PacedDevice::Pointer(int64_t now_ns, uint64_t appl, bool draining) {
  SyncAppl(appl);
  Advance(now_ns, draining);
  if (xrun_) return -EPIPE;
  return static_cast<int64_t>(sw_.boundary > 0 ? hw_pos_ % sw_.boundary : hw_pos_);
}

void PacedDevice::Write(int64_t now_ns, uint64_t appl, const uint8_t* frames, uint64_t count) {
  SyncAppl(appl);
  Advance(now_ns, false);  // an xrun that happened before these frames arrived stays an xrun
  if (xrun_) return;
  const uint64_t frame_bytes = config_.format.frame_bytes();
  const uint64_t size = config_.buffer_frames;
  // Frames already due (or beyond one buffer) would never be played.
  uint64_t first = std::max(appl_pos_, hw_pos_);
  if (appl_pos_ + count > size) first = std::max(first, appl_pos_ + count - size);
  for (uint64_t pos = first; pos < appl_pos_ + count;) {
    const uint64_t at = pos % size;
    const uint64_t n = std::min(appl_pos_ + count - pos, size - at);
    std::memcpy(buffer_.data() + at * frame_bytes, frames + (pos - appl_pos_) * frame_bytes,
                n * frame_bytes);
    pos += n;
  }
  appl_pos_ += count;
}

Readiness PacedDevice::Poll(int64_t now_ns, uint64_t appl, bool draining) {
  SyncAppl(appl);
  Advance(now_ns, draining);
  if (xrun_) return Readiness::kXrun;
  if (running_ && draining) return hw_pos_ >= appl_pos_ ? Readiness::kReady : Readiness::kNotReady;
  return Avail() >= sw_.avail_min ? Readiness::kReady : Readiness::kNotReady;
}

int64_t PacedDevice::WakeTimeNs(bool draining) const {
  if (xrun_) return 0;
  if (!running_) return Avail() >= sw_.avail_min ? 0 : kNever;
  const auto hw = static_cast<int64_t>(hw_pos_);
  const auto appl = static_cast<int64_t>(appl_pos_);
  if (draining) return hw >= appl ? 0 : clock_.TimeOf(origin_ + appl);
  const auto size = static_cast<int64_t>(config_.buffer_frames);
  const int64_t need = appl + static_cast<int64_t>(sw_.avail_min) - size;
  if (need <= hw) return 0;
  const auto period = static_cast<int64_t>(config_.period_frames);
  int64_t wake = (need + period - 1) / period * period;
  if (sw_.stop_threshold < sw_.boundary) {
    const int64_t xrun_at = appl + static_cast<int64_t>(sw_.stop_threshold) - size;
    if (xrun_at <= hw) return 0;
    wake = std::min(wake, xrun_at);
  }
  return clock_.TimeOf(origin_ + wake);
}

void PacedDevice::Advance(int64_t now_ns, bool draining) {
  if (!running_) return;
  const int64_t clock_pos = clock_.FramesAt(now_ns) - origin_;
  uint64_t target =
      std::max<uint64_t>(hw_pos_, static_cast<uint64_t>(std::max<int64_t>(clock_pos, 0)));
  if (draining) {
    // A drain ends when everything committed has played; it never underruns.
    target = std::min(target, std::max(hw_pos_, appl_pos_));
  } else if (sw_.stop_threshold < sw_.boundary) {
    // As the kernel does: xrun once avail >= stop_threshold, i.e. hw >= appl + stop - size.
    const int64_t xrun_at = static_cast<int64_t>(appl_pos_ + sw_.stop_threshold) -
                            static_cast<int64_t>(config_.buffer_frames);
    if (static_cast<int64_t>(target) >= xrun_at) {
      target = std::max<uint64_t>(hw_pos_, static_cast<uint64_t>(std::max<int64_t>(xrun_at, 0)));
      xrun_ = true;
      ++xruns_;
    }
  }
  EmitPlayed(hw_pos_, target);
  hw_pos_ = target;
  if (xrun_) EndRun();  // the "DMA" stops at the xrun; the gap to the next start is silence
}

void PacedDevice::SyncAppl(uint64_t appl) {
  // ALSA's pointer wraps at boundary; follow it, including rewinds.
  if (sw_.boundary == 0) {
    appl_pos_ = appl;
    return;
  }
  const uint64_t delta = (appl + sw_.boundary - appl_pos_ % sw_.boundary) % sw_.boundary;
  if (delta <= sw_.boundary / 2) {
    appl_pos_ += delta;
  } else {
    appl_pos_ -= sw_.boundary - delta;
  }
}

void PacedDevice::EndRun() {
  running_ = false;
  end_ = origin_ + static_cast<int64_t>(hw_pos_);
}

void PacedDevice::EmitPlayed(uint64_t from, uint64_t to) {
  if (capture_ == nullptr || to <= from) return;
  const uint64_t frame_bytes = config_.format.frame_bytes();
  const uint64_t size = config_.buffer_frames;
  const uint64_t data_end = std::min(to, std::max(from, appl_pos_));
  if (data_end > from) {
    const uint64_t at = from % size;
    const uint64_t n = data_end - from;
    const uint64_t first = std::min(n, size - at);
    capture_->PushData(n, buffer_.data() + at * frame_bytes, first * frame_bytes, buffer_.data(),
                       (n - first) * frame_bytes);
  }
  capture_->PushSilence(to - std::max(from, data_end));
}

}  // namespace chronus::hal::vcard
