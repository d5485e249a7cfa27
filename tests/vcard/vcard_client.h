// Test helpers for the virtual card: a client shaped like the firmware's (OpenPcm, hw/sw params,
// prefill, explicit start, wait/avail_update/mmap loop, recover), test signals, capture reading.
#pragma once

#include <alsa/asoundlib.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "hal/vcard/frame_clock.h"

namespace chronus::hal::vcard::testing {

/// Writes frame number `k` (interleaved, device format) to `out`.
using SignalFn = std::function<void(uint64_t k, uint8_t* out)>;

/// Stereo S16 ramp that encodes the frame number and is never zero in either channel:
/// left = (k & 0x3fff) + 1, right = (k >> 14) + 1. Decode with RampFrameIndex.
void RampFrame(uint64_t k, uint8_t* out);
/// Inverse of RampFrame; -1 for a silent (all-zero) frame.
int64_t RampFrameIndex(const uint8_t* frame);

/// Full-range pseudo-random samples (nonzero, exact in the format) for sample-exact checks.
SignalFn NoiseSignal(snd_pcm_format_t format, unsigned channels);

/// Stream set-up. Sizes in frames.
struct ClientConfig {
  std::string capture_path;  ///< empty: no capture
  std::string control_path;  ///< empty: never unplugged
  snd_pcm_access_t access = SND_PCM_ACCESS_MMAP_INTERLEAVED;
  snd_pcm_format_t format = SND_PCM_FORMAT_S16_LE;
  unsigned rate = 48000;
  unsigned channels = 2;
  snd_pcm_uframes_t period = 256;
  unsigned periods = 3;
  bool explicit_start = true;  ///< start_threshold = boundary (firmware style); else buffer size
};

/// Counters of a Loop.
struct LoopStats {
  int xruns = 0;     ///< -EPIPE seen (and recovered)
  int timeouts = 0;  ///< snd_pcm_wait returned 0
};

/// One client of the virtual card. Test thread only.
class Client {
 public:
  explicit Client(SignalFn signal = RampFrame) : signal_(std::move(signal)) {}
  ~Client();

  /// Opens and configures; returns 0 or a negative errno.
  int Open(const ClientConfig& config);
  void Close();

  /// Writes `frames` frames of the signal (continuing its frame counter) with
  /// mmap_begin/commit or writei, per the access. Returns 0 or a negative errno.
  int Write(snd_pcm_uframes_t frames);
  /// Fills the available space, then snd_pcm_start. Stores the start time bracket.
  int PrefillAndStart();
  /// Firmware-style loop for `duration_ns`: snd_pcm_wait(1 s) / avail_update / write whole
  /// periods; on -EPIPE recover, prefill and start again. Stops early after `max_frames`
  /// written frames. Returns 0 or a negative errno.
  int Loop(int64_t duration_ns, LoopStats* stats, uint64_t max_frames = UINT64_MAX);

  snd_pcm_t* pcm() const { return pcm_; }
  snd_pcm_uframes_t period() const { return period_; }
  snd_pcm_uframes_t buffer() const { return buffer_; }
  unsigned frame_bytes() const { return frame_bytes_; }
  uint64_t written() const { return written_; }
  /// Frames written before the current run's prefill.
  uint64_t run_base() const { return run_base_; }
  /// CLOCK_MONOTONIC ns just before / after the last snd_pcm_start.
  int64_t start_before_ns() const { return start_before_ns_; }
  int64_t start_after_ns() const { return start_after_ns_; }

 private:
  SignalFn signal_;
  ClientConfig config_;
  snd_pcm_t* pcm_ = nullptr;
  snd_pcm_uframes_t period_ = 0;
  snd_pcm_uframes_t buffer_ = 0;
  unsigned frame_bytes_ = 0;
  uint64_t written_ = 0;
  uint64_t run_base_ = 0;
  int64_t start_before_ns_ = 0;
  int64_t start_after_ns_ = 0;
  std::vector<uint8_t> scratch_;
};

/// A capture file read back.
struct Capture {
  bool ok = false;
  int format = 0;  ///< SF_FORMAT_* of the file
  int channels = 0;
  int rate = 0;
  int64_t frames = 0;
  int64_t t0_ns = -1;          ///< from <path>.t0, -1 if absent
  std::vector<uint8_t> bytes;  ///< raw little-endian frames
  unsigned frame_bytes = 0;

  const uint8_t* frame(int64_t f) const { return bytes.data() + f * frame_bytes; }
  bool silent(int64_t f) const;
};

/// Reads a WAV capture and its .t0 sidecar.
Capture ReadCapture(const std::string& path);

/// A fresh directory under TMPDIR (or /tmp), removed with its files by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  std::string path(const std::string& name) const { return dir_ + "/" + name; }

 private:
  std::string dir_;
};

/// While alive, runs the calling thread at SCHED_FIFO `priority` and holds /dev/cpu_dma_latency
/// at 0 when permitted (silently not otherwise), to reduce scheduling gaps in timing tests.
class RealtimeScope {
 public:
  explicit RealtimeScope(int priority);
  ~RealtimeScope();
  bool fifo() const { return fifo_; }

 private:
  bool fifo_ = false;
  int latency_fd_ = -1;
};

}  // namespace chronus::hal::vcard::testing
