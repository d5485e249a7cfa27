// Model of the paced virtual card: a playback "DMA" that consumes frames at exactly the rate of
// CLOCK_MONOTONIC, signals xruns as hardware does, and reports what it played to a CaptureRing.
// Time is passed in, so the model is deterministic and testable without ALSA.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <vector>

#include "hal/vcard/capture_ring.h"
#include "hal/vcard/frame_clock.h"

namespace chronus::hal::vcard {

/// Hardware parameters, as negotiated by ALSA. Sizes in frames.
struct HwConfig {
  CaptureFormat format;
  uint64_t period_frames = 0;
  uint64_t buffer_frames = 0;
};

/// Software parameters (from snd_pcm_sw_params). Sizes in frames.
struct SwConfig {
  uint64_t avail_min = 1;
  uint64_t stop_threshold = 0;  ///< >= boundary: never stops on underrun (plays silence).
  uint64_t boundary = 0;        ///< Wrap point of ALSA's hw/appl pointers.
};

/// A capture timeline: its format, its origin t0 (CLOCK_MONOTONIC ns of global frame 0) and the
/// global frames accounted to it so far (played or silence).
struct Timeline {
  CaptureFormat format;
  int64_t t0_ns = 0;
  int64_t frames = 0;
};

/// What a poll on the device reports.
enum class Readiness { kNotReady, kReady, kXrun };

/// The device state machine. Positions ("local frames") count from the last Prepare; the
/// capture timeline ("global frames") counts from the first Start after the format was set,
/// whose CLOCK_MONOTONIC time is t0: global frame g was played at t0 + g / rate.
///
/// Threading: not thread-safe; the caller serialises all calls. SetHwParams and SetSwParams may
/// allocate (non-RT); all other methods are RT-safe (no allocation, no locks, no syscalls).
/// `appl` arguments are ALSA's application pointer (modulo boundary) before the call.
class PacedDevice {
 public:
  /// No wake-up pending (see WakeTimeNs).
  static constexpr int64_t kNever = std::numeric_limits<int64_t>::max();

  /// `capture` may be null (no capture); it must outlive the device.
  explicit PacedDevice(CaptureRing* capture) : capture_(capture) {}

  /// Sets the format and sizes; stops a running stream. A new format starts a new capture
  /// (a kFormat record; the next Start defines a new t0), unless it is the format of a pending
  /// ContinueTimeline. Throws std::bad_alloc.
  void SetHwParams(const HwConfig& config, int64_t now_ns);
  /// Makes the first SetHwParams continue `timeline` (e.g. the capture of a card that was
  /// unplugged and is open again) if it sets exactly timeline.format: a kContinue record instead
  /// of kFormat, no kStart, global frame g still plays at timeline.t0_ns + g / rate, and the
  /// frames from timeline.frames to the next Start are silence. Another format drops it. Call
  /// before the first SetHwParams.
  void ContinueTimeline(const Timeline& timeline) { pending_ = timeline; }
  /// The current timeline once started (or continued) by this device; before that, a pending
  /// ContinueTimeline; else none.
  std::optional<Timeline> timeline() const;
  /// A ContinueTimeline is still waiting for its SetHwParams.
  bool continuation_pending() const { return pending_.has_value(); }
  void SetSwParams(const SwConfig& config) { sw_ = config; }

  /// snd_pcm_prepare: stops a running stream, then resets hw and appl positions to 0.
  void Prepare(int64_t now_ns);
  /// Starts consuming: the next frame plays at the first frame of the timeline's grid at or
  /// after now (the first Start defines t0). The time since the previous stop is captured as
  /// silence.
  void Start(int64_t now_ns, uint64_t appl);
  /// snd_pcm_drop / end of drain: accounts what played up to now, discards the rest.
  void Stop(int64_t now_ns, uint64_t appl, bool draining);
  /// Hardware position modulo boundary, or -EPIPE after an xrun (until Prepare/Stop).
  /// While draining, the position stops at appl instead of signalling an xrun.
  int64_t Pointer(int64_t now_ns, uint64_t appl, bool draining);
  /// Accepts `count` interleaved frames for positions [appl, appl + count). Frames whose time
  /// has passed, and all frames after an xrun, are dropped (as hardware would never play them).
  void Write(int64_t now_ns, uint64_t appl, const uint8_t* frames, uint64_t count);
  /// Whether a poll should report POLLOUT (avail >= avail_min; while draining: all played) or
  /// an xrun.
  Readiness Poll(int64_t now_ns, uint64_t appl, bool draining);
  /// CLOCK_MONOTONIC ns at which Poll stops returning kNotReady if nothing else happens (a time
  /// <= now means "now"), or kNever. Wake-ups fall on period boundaries, like interrupts.
  int64_t WakeTimeNs(bool draining) const;

  /// Xruns since construction.
  uint64_t xruns() const { return xruns_; }
  /// Global frames accounted to the capture so far (played or silence).
  int64_t captured_frames() const {
    return running_ ? origin_ + static_cast<int64_t>(hw_pos_) : end_;
  }

 private:
  void StopRun(int64_t now_ns, bool draining);
  void Advance(int64_t now_ns, bool draining);
  void SyncAppl(uint64_t appl);
  void EndRun();
  void EmitPlayed(uint64_t from, uint64_t to);
  uint64_t Avail() const { return hw_pos_ + config_.buffer_frames - appl_pos_; }

  CaptureRing* const capture_;
  HwConfig config_;
  SwConfig sw_;
  bool format_sent_ = false;     // a kFormat record for config_.format was pushed
  std::vector<uint8_t> buffer_;  // the "DMA" buffer: buffer_frames frames

  // Timeline.
  std::optional<Timeline> pending_;  // ContinueTimeline not yet applied
  bool timeline_started_ = false;
  FrameClock clock_;
  int64_t end_ = 0;  // global frames accounted when not running

  // Current run.
  bool running_ = false;
  bool xrun_ = false;
  int64_t origin_ = 0;     // global frame of local frame 0
  uint64_t hw_pos_ = 0;    // local frames played (and emitted to the capture)
  uint64_t appl_pos_ = 0;  // local frames committed
  uint64_t xruns_ = 0;
};

}  // namespace chronus::hal::vcard
