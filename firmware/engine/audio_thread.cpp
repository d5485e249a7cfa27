#include "firmware/engine/audio_thread.h"

#include <time.h>

#include <cerrno>

#include "firmware/log/log.h"
#include "hal/rt/thread_setup.h"

namespace chronus::firmware {

namespace {

int64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

}  // namespace

AudioThread::AudioThread(const AudioThreadConfig& config, hal::AlsaOutput& output,
                         AudioEngine& engine, Recorder* recorder)
    : config_(config),
      output_(output),
      engine_(engine),
      recorder_(recorder),
      buffer_(static_cast<size_t>(output.period_frames()) * output.channels()) {}

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
  return {};
}

void AudioThread::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  thread_.join();
}

void AudioThread::HandleErrorRt(long err) {
  if (err == -EPIPE || err == -ESTRPIPE) {
    const uint64_t count = xruns_.fetch_add(1, std::memory_order_relaxed) + 1;
    const int64_t now = MonotonicNs();
    last_xrun_ns_.store(now, std::memory_order_relaxed);
    Log::PushRt(
        LogLevel::kWarning, "xrun #{} at {} s after start; recovering", static_cast<double>(count),
        static_cast<double>(now - started_ns_.load(std::memory_order_relaxed)) * 1e-9, 0, 0, 2);
  } else {
    device_errors_.fetch_add(1, std::memory_order_relaxed);
    Log::PushRt(LogLevel::kError, "audio device error {} (negative errno); recovering",
                static_cast<double>(err), 0, 0, 0, 1);
  }
  const int result = output_.RecoverRt(static_cast<int>(err));
  if (result < 0) {
    device_errors_.fetch_add(1, std::memory_order_relaxed);
    Log::PushRt(LogLevel::kError, "audio device recovery failed ({}); retrying in 100 ms",
                static_cast<double>(result), 0, 0, 0, 1);
    timespec pause{0, 100 * 1000 * 1000};
    nanosleep(&pause, nullptr);  // the device is gone: no audio deadline to keep
  }
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
  started_ns_.store(MonotonicNs(), std::memory_order_relaxed);
  start_state_.store(1);
  start_state_.notify_all();

  const uint32_t period = output_.period_frames();
  const int timeout_ms = static_cast<int>(1000 * static_cast<uint64_t>(output_.buffer_frames()) *
                                          4 / output_.sample_rate()) +
                         10;
  // The period loop: no allocation, no lock, no logging but RT records.
  while (!stop_.load(std::memory_order_acquire)) {
    const long avail = output_.WaitRt(timeout_ms);
    if (avail < 0) {
      HandleErrorRt(avail);
      continue;
    }
    const int64_t start = MonotonicNs();
    engine_.RenderPeriodRt(buffer_.data());
    const int result = output_.WritePeriodRt(buffer_.data());
    if (recorder_ != nullptr) recorder_->PushRt(buffer_.data(), period);
    const uint64_t took = static_cast<uint64_t>(MonotonicNs() - start);
    if (took > worst_period_ns_.load(std::memory_order_relaxed)) {
      worst_period_ns_.store(took, std::memory_order_relaxed);
    }
    if (result < 0) HandleErrorRt(result);
  }
  Log::UnregisterRtThread();
}

}  // namespace chronus::firmware
