#include "firmware/engine/audio_thread.h"

#include <time.h>

#include <algorithm>
#include <cerrno>
#include <chrono>

#include "firmware/log/log.h"
#include "hal/rt/clock.h"
#include "hal/rt/thread_setup.h"

namespace chronus::firmware {

namespace {

constexpr int kMaxConsecutiveErrors = 3;  // then the device counts as lost

void SleepUntil(int64_t deadline_ns) {
  timespec ts{static_cast<time_t>(deadline_ns / 1000000000), deadline_ns % 1000000000};
  clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, nullptr);
}

}  // namespace

AudioThread::AudioThread(const AudioThreadConfig& config, hal::AlsaOutput& output,
                         const hal::AlsaOutputConfig& device, AudioEngine& engine,
                         Recorder* recorder)
    : config_(config),
      output_(output),
      device_config_(device),
      engine_(engine),
      recorder_(recorder),
      buffer_(static_cast<size_t>(output.period_frames()) * output.channels()),
      period_frames_(output.period_frames()),
      sample_rate_(output.sample_rate()) {
  // The device thread reopens with the negotiated settings, so the engine's block size holds.
  device_config_.period_frames = output.period_frames();
  device_config_.periods = output.periods();
  device_config_.format = output.format();
}

AudioThread::~AudioThread() { Stop(); }

std::string AudioThread::Start() {
  stop_.store(false);
  start_state_.store(0);
  thread_ = std::thread([this] { Run(); });
  while (start_state_.load() == 0) start_state_.wait(0);
  if (start_state_.load() < 0) {
    thread_.join();
    return start_error_;
  }
  device_thread_ = std::thread([this] { DeviceThread(); });
  return {};
}

void AudioThread::Stop() {
  stop_.store(true, std::memory_order_release);
  if (thread_.joinable()) thread_.join();
  device_state_.store(kStopping, std::memory_order_release);  // wakes the device thread
  device_state_.notify_all();
  if (device_thread_.joinable()) device_thread_.join();
}

void AudioThread::LoseDeviceRt(long err) {
  clock_reset_ = true;
  device_ok_.store(false, std::memory_order_release);
  device_losses_.fetch_add(1, std::memory_order_relaxed);
  Log::PushRt(LogLevel::kError,
              "audio device lost (error {}): device standby, the engine and the recorder carry "
              "on while it is reopened",
              static_cast<double>(err), 0, 0, 0, 1);
  device_state_.store(kLost, std::memory_order_release);
  device_state_.notify_all();  // a futex wake: the device thread does the closing and reopening
}

void AudioThread::HandleErrorRt(long err) {
  if (err == -EPIPE || err == -ESTRPIPE) {
    const uint64_t count = xruns_.fetch_add(1, std::memory_order_relaxed) + 1;
    const int64_t now = hal::MonotonicNs();
    last_xrun_ns_.store(now, std::memory_order_relaxed);
    Log::PushRt(
        LogLevel::kWarning, "xrun #{} at {} s after start; recovering", static_cast<double>(count),
        static_cast<double>(now - started_ns_.load(std::memory_order_relaxed)) * 1e-9, 0, 0, 2);
  } else {
    device_errors_.fetch_add(1, std::memory_order_relaxed);
    Log::PushRt(LogLevel::kError, "audio device error {} (negative errno); recovering",
                static_cast<double>(err), 0, 0, 0, 1);
  }
  clock_reset_ = true;
  const int result = output_.RecoverRt(static_cast<int>(err));
  if (result < 0 || ++consecutive_errors_ >= kMaxConsecutiveErrors) {
    device_errors_.fetch_add(1, std::memory_order_relaxed);
    LoseDeviceRt(result < 0 ? result : err);
  }
}

void AudioThread::NotePeriodTime(int64_t start) {
  const auto took = static_cast<uint64_t>(hal::MonotonicNs() - start);
  if (took > worst_period_ns_.load(std::memory_order_relaxed)) {
    worst_period_ns_.store(took, std::memory_order_relaxed);
  }
}

void AudioThread::RunDevicePeriodRt(int64_t* next_tick) {
  const int timeout_ms =
      static_cast<int>(1000 * static_cast<uint64_t>(output_.buffer_frames()) * 4 / sample_rate_) +
      10;
  const long avail = output_.WaitRt(timeout_ms);
  if (avail < 0) {
    HandleErrorRt(avail);
    *next_tick = hal::MonotonicNs();
    return;
  }
  const int64_t start = hal::MonotonicNs();
  // The period written now is heard after the frames still queued in the device buffer.
  const uint64_t queued = output_.buffer_frames() > static_cast<uint64_t>(avail)
                              ? output_.buffer_frames() - static_cast<uint64_t>(avail)
                              : 0;
  engine_.clock().PublishRt(engine_.next_period_frame(),
                            start + static_cast<int64_t>(queued * 1000000000 / sample_rate_),
                            clock_reset_);
  clock_reset_ = false;
  engine_.RenderPeriodRt(buffer_.data());
  first_sound_.ObserveRt(buffer_.data(), buffer_.size());
  const int result = output_.WritePeriodRt(buffer_.data());
  if (recorder_ != nullptr) recorder_->PushRt(buffer_.data(), period_frames_);
  NotePeriodTime(start);
  if (result < 0) {
    HandleErrorRt(result);
  } else {
    consecutive_errors_ = 0;
  }
  *next_tick = start;
}

void AudioThread::RunStandbyPeriodRt(int64_t* next_tick) {
  if (device_state_.load(std::memory_order_acquire) == kReopened) {
    const int err = output_.PrefillAndStartRt();
    if (err == 0) {
      consecutive_errors_ = 0;
      device_state_.store(kPlaying, std::memory_order_release);
      device_ok_.store(true, std::memory_order_release);
      device_reopens_.fetch_add(1, std::memory_order_relaxed);
      clock_reset_ = true;
      Log::PushRt(LogLevel::kInfo, "audio device is back: playing again");
      return;
    }
    LoseDeviceRt(err);
  }
  // No device: keep time with the clock so control, voices and recording carry on.
  *next_tick += static_cast<int64_t>(period_frames_) * 1000000000 / sample_rate_;
  const int64_t now = hal::MonotonicNs();
  if (*next_tick < now - 1000000000) *next_tick = now;  // after a long gap, do not race to catch up
  SleepUntil(*next_tick);
  const int64_t start = hal::MonotonicNs();
  engine_.clock().PublishRt(engine_.next_period_frame(), start, clock_reset_);  // no buffer
  clock_reset_ = false;
  engine_.RenderPeriodRt(buffer_.data());
  if (recorder_ != nullptr) recorder_->PushRt(buffer_.data(), period_frames_);
  NotePeriodTime(start);
}

void AudioThread::Run() {
  setup_warnings_ =
      hal::SetUpCurrentThread({"chronus-audio", config_.priority, config_.cpu}).warnings;
  Log::RegisterRtThread();
  const int err = output_.PrefillAndStartRt();
  if (err < 0) {
    start_error_ = std::string("cannot start the audio stream: ") + snd_strerror(err);
    start_state_.store(-1);
    start_state_.notify_all();
    Log::UnregisterRtThread();
    return;
  }
  started_ns_.store(hal::MonotonicNs(), std::memory_order_relaxed);
  start_state_.store(1);
  start_state_.notify_all();

  // The period loop: no allocation, no lock, no logging but RT records.
  int64_t next_tick = hal::MonotonicNs();
  while (!stop_.load(std::memory_order_acquire)) {
    if (const double stall_ms = injected_stall_ms_.exchange(0, std::memory_order_acquire)) {
      SleepUntil(hal::MonotonicNs() + static_cast<int64_t>(stall_ms * 1e6));  // injected fault
    }
    if (device_state_.load(std::memory_order_acquire) == kPlaying) {
      RunDevicePeriodRt(&next_tick);
    } else {
      RunStandbyPeriodRt(&next_tick);
    }
  }
  Log::UnregisterRtThread();
}

void AudioThread::DeviceThread() {
  pthread_setname_np(pthread_self(), "chronus-device");
  while (!stop_.load(std::memory_order_acquire)) {
    int state = device_state_.load(std::memory_order_acquire);
    if (state != kLost) {
      device_state_.wait(state, std::memory_order_acquire);
      continue;
    }
    // The audio thread no longer touches the PCM: close it, then reopen with backoff.
    output_.Close();
    std::chrono::milliseconds backoff{100};
    while (!stop_.load(std::memory_order_acquire)) {
      const std::string error = output_.Open(device_config_);
      if (error.empty() && output_.period_frames() == period_frames_ &&
          output_.channels() * output_.period_frames() == buffer_.size()) {
        LogInfo("audio device reopened");
        device_state_.store(kReopened, std::memory_order_release);
        break;
      }
      if (error.empty()) {
        LogWarning("audio device came back with a different period; closing it again");
        output_.Close();
      }
      std::this_thread::sleep_for(backoff);
      backoff = std::min(backoff * 2, std::chrono::milliseconds(500));
    }
  }
}

}  // namespace chronus::firmware
