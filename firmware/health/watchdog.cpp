#include "firmware/health/watchdog.h"

#include <pthread.h>

#include "hal/rt/clock.h"

namespace chronus::firmware {

Watchdog::Watchdog(const WatchdogConfig& config, WorkerSupervisor& supervisor,
                   ProgressSources sources, std::function<void()> alive,
                   std::function<void(const std::string&)> wedged)
    : config_(config),
      supervisor_(supervisor),
      sources_(std::move(sources)),
      alive_(std::move(alive)),
      wedged_(std::move(wedged)) {}

Watchdog::~Watchdog() { Stop(); }

void Watchdog::Start() {
  stop_.store(false);
  thread_ = std::thread([this] { Run(); });
}

void Watchdog::Stop() {
  stop_.store(true);
  if (thread_.joinable()) thread_.join();
}

std::string Watchdog::CheckProgress() {
  std::string problems;
  const uint64_t periods = sources_.audio_periods ? sources_.audio_periods() : 0;
  if (sources_.audio_periods && periods == last_periods_) problems += "audio thread wedged; ";
  last_periods_ = periods;
  if (!supervisor_.AnyWorkerProgressing()) problems += "all DSP workers wedged; ";
  if (sources_.control_alive) {
    const uint64_t control = sources_.control_alive();
    if (control_probed_ && control == last_control_) problems += "control thread wedged; ";
    last_control_ = control;
  }
  return problems;
}

void Watchdog::Run() {
  pthread_setname_np(pthread_self(), "chronus-wdog");
  int64_t next_check = hal::MonotonicNs() + config_.alive_interval.count() * 1000000;
  control_probed_ = sources_.probe_control && sources_.probe_control();
  while (!stop_.load()) {
    std::this_thread::sleep_for(config_.tick);
    const int64_t now = hal::MonotonicNs();
    supervisor_.Tick(now);
    if (config_.periodic) config_.periodic(now);
    if (now < next_check) continue;
    next_check = now + config_.alive_interval.count() * 1000000;
    const std::string problems = CheckProgress();
    if (problems.empty()) {
      alive_count_.fetch_add(1, std::memory_order_relaxed);
      if (alive_) alive_();
    } else {
      wedged_count_.fetch_add(1, std::memory_order_relaxed);
      if (wedged_) wedged_(problems);
    }
    // Answered before the next check.
    control_probed_ = sources_.probe_control && sources_.probe_control();
  }
}

}  // namespace chronus::firmware
