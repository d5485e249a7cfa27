// The audio thread: waits on the ALSA mmap playback device, renders each period through the
// AudioEngine, writes it into the mmap area, hands it to the recorder, recovers from xruns.
//
// Device standby: when the device fails for good (unplugged: -ENODEV, -EIO, a recovery that
// fails), the audio thread keeps running the engine and the recorder on CLOCK_MONOTONIC, one
// period at a time, so control, voices and a running recording carry on; a device thread
// ("chronus-device", non-RT) closes the device and reopens it with backoff (100 ms doubling to
// 500 ms), and the audio thread restarts the stream as soon as it is back.
#pragma once

#include <atomic>
#include <cstdint>
#include <string>
#include <thread>
#include <vector>

#include "firmware/engine/audio_engine.h"
#include "firmware/engine/first_sound.h"
#include "firmware/recorder/recorder.h"
#include "hal/audio/alsa_output.h"

namespace chronus::firmware {

struct AudioThreadConfig {
  int priority = 80;  ///< SCHED_FIFO priority (above the workers'), 0 = normal.
  int cpu = -1;       ///< Core to pin to, or -1.
};

/// Start/Stop from the main thread; counters from any thread.
class AudioThread {
 public:
  /// `device` is what `output` was opened with; it is used again to reopen a lost device.
  AudioThread(const AudioThreadConfig& config, hal::AlsaOutput& output,
              const hal::AlsaOutputConfig& device, AudioEngine& engine, Recorder* recorder);
  ~AudioThread();

  /// Starts the thread; returns once the stream has been prefilled and started (or failed).
  /// Returns "" or the reason the stream could not start.
  std::string Start();
  void Stop();

  /// Xruns seen since start (each recovered and counted once).
  uint64_t xruns() const { return xruns_.load(std::memory_order_relaxed); }
  /// CLOCK_MONOTONIC ns of the last xrun, 0 if none.
  int64_t last_xrun_ns() const { return last_xrun_ns_.load(std::memory_order_relaxed); }
  /// Longest period processing time (render + convert + mmap write + recorder copy), ns.
  uint64_t worst_period_ns() const { return worst_period_ns_.load(std::memory_order_relaxed); }
  /// Device errors other than xruns (timeouts, failed recovery, a lost device).
  uint64_t device_errors() const { return device_errors_.load(std::memory_order_relaxed); }
  /// True while the device plays; false during device standby.
  bool device_ok() const { return device_ok_.load(std::memory_order_acquire); }
  /// Times the device was lost / reopened and playing again.
  uint64_t device_losses() const { return device_losses_.load(std::memory_order_relaxed); }
  uint64_t device_reopens() const { return device_reopens_.load(std::memory_order_relaxed); }
  /// CLOCK_MONOTONIC ns when the stream was first started.
  int64_t started_ns() const { return started_ns_.load(std::memory_order_relaxed); }
  /// Test only (--fault stall-audio): the audio thread sleeps `ms` at its next period.
  void InjectStallNonRt(double ms) { injected_stall_ms_.store(ms, std::memory_order_release); }
  /// Resets worst_period_ns (e.g. after warm-up). Any thread.
  void ResetWorst() { worst_period_ns_.store(0, std::memory_order_relaxed); }
  const std::string& setup_warnings() const { return setup_warnings_; }
  /// When the device first played a non-silent block (boot to sound). Any thread.
  const FirstSound& first_sound() const { return first_sound_; }

 private:
  enum DeviceState : int { kPlaying, kLost, kReopened, kStopping };

  void Run();
  void RunDevicePeriodRt(int64_t* next_tick);
  void RunStandbyPeriodRt(int64_t* next_tick);
  void HandleErrorRt(long err);
  void LoseDeviceRt(long err);
  void DeviceThread();
  void NotePeriodTime(int64_t start);

  AudioThreadConfig config_;
  hal::AlsaOutput& output_;
  hal::AlsaOutputConfig device_config_;
  AudioEngine& engine_;
  Recorder* recorder_;
  std::vector<int32_t> buffer_;
  uint32_t period_frames_;
  uint32_t sample_rate_;
  std::thread thread_;
  std::thread device_thread_;
  std::atomic<bool> stop_{false};
  std::atomic<int> start_state_{0};  // 0 pending, 1 started, -1 failed
  std::atomic<int> device_state_{kPlaying};
  std::string start_error_;
  std::string setup_warnings_;
  int consecutive_errors_ = 0;  // audio thread only
  bool clock_reset_ = true;     // audio thread only: the stream (re)started since the last period
  std::atomic<bool> device_ok_{true};
  std::atomic<uint64_t> xruns_{0};
  std::atomic<int64_t> last_xrun_ns_{0};
  std::atomic<uint64_t> worst_period_ns_{0};
  std::atomic<uint64_t> device_errors_{0};
  std::atomic<uint64_t> device_losses_{0};
  std::atomic<uint64_t> device_reopens_{0};
  std::atomic<int64_t> started_ns_{0};
  std::atomic<double> injected_stall_ms_{0};
  FirstSound first_sound_;
};

}  // namespace chronus::firmware
