#include "firmware/engine/worker_supervisor.h"

#include <algorithm>
#include <mutex>

#include "firmware/log/log.h"

namespace chronus::firmware {

WorkerSupervisor::WorkerSupervisor(AudioEngine& engine, const SupervisorConfig& config,
                                   std::vector<FaultSpec> faults, int64_t start_ns,
                                   std::function<void(double)> stall_audio)
    : engine_(engine),
      config_(config),
      faults_(std::move(faults)),
      stall_audio_(std::move(stall_audio)),
      fault_fired_(faults_.size(), false),
      start_ns_(start_ns),
      states_(engine.share_count()),
      health_(engine.share_count()) {}

int WorkerSupervisor::PickCore(int failed_cpu) {
  if (failed_cpu < 0) return -1;
  bad_cores_.insert(failed_cpu);
  for (int cpu : engine_.config().worker_cpus) {
    if (!bad_cores_.count(cpu)) return cpu;
  }
  return -1;  // no healthy board core left: let the kernel place it
}

void WorkerSupervisor::Replace(size_t index, const char* why, bool move_core) {
  WorkerShare& share = engine_.share(index);
  ShareState& state = states_[index];
  if (total_replacements_ >= config_.max_replacements) {
    if (!state.replacing) {
      LogError("worker " + std::to_string(index) + " " + why +
               "; replacement limit reached: its voices stay on the audio thread's standby path");
      state.replacing = true;  // do not try again
    }
    return;
  }
  DspWorker* old = share.worker();
  const int cpu = move_core ? PickCore(old->config().cpu) : old->config().cpu;
  LogWarning("worker " + std::to_string(index) + " " + why + "; starting a replacement" +
             (cpu >= 0 ? " on cpu " + std::to_string(cpu) : std::string(" (not pinned)")));
  DspWorker* replacement = engine_.CreateReplacementNonRt(index, cpu);
  if (!share.OfferReplacementNonRt(replacement)) {
    LogError("worker " + std::to_string(index) + ": a replacement is already pending");
    return;
  }
  state.replacing = true;
  ++state.replacements;
  ++total_replacements_;
}

void WorkerSupervisor::Tick(int64_t now_ns) {
  // Planned faults (tests), armed at their time after start.
  for (size_t i = 0; i < faults_.size(); ++i) {
    const FaultSpec& fault = faults_[i];
    if (fault_fired_[i] || now_ns - start_ns_ < static_cast<int64_t>(fault.at_s * 1e9)) continue;
    fault_fired_[i] = true;
    if (fault.type == FaultType::kStallAudio) {
      LogWarning("injecting a stall of " + std::to_string(fault.stall_ms) +
                 " ms into the audio thread");
      if (stall_audio_) stall_audio_(fault.stall_ms);
      continue;
    }
    if (fault.worker < 0 || static_cast<size_t>(fault.worker) >= engine_.share_count()) {
      LogWarning("--fault: no worker " + std::to_string(fault.worker));
      continue;
    }
    LogWarning("injecting fault into worker " + std::to_string(fault.worker));
    engine_.share(static_cast<size_t>(fault.worker)).worker()->InjectFaultNonRt(fault);
  }

  // When every worker is stuck at once the fault is not one thread's: replacing threads would
  // hide it. Leave the shares on standby and let the service watchdog restart the process.
  size_t stuck = 0;
  for (size_t index = 0; index < engine_.share_count(); ++index) {
    const DspWorker* worker = engine_.share(index).worker();
    const int64_t started = worker->render_started_ns();
    if (!worker->running() ||
        (started != 0 && now_ns - started > static_cast<int64_t>(config_.stuck_s * 1e9))) {
      ++stuck;
    }
  }
  const bool all_stuck = engine_.share_count() > 1 && stuck == engine_.share_count();
  if (all_stuck && !all_stuck_reported_) {
    LogError("all DSP workers are stuck: not replacing them; the service watchdog will restart");
  }
  all_stuck_reported_ = all_stuck;

  for (size_t index = 0; index < engine_.share_count(); ++index) {
    WorkerShare& share = engine_.share(index);
    ShareState& state = states_[index];

    // The audio thread has switched to a replacement: abandon the old worker (its thread ends
    // now if it sleeps or has ended, when it comes back if stalled); freed once it has ended.
    if (DspWorker* retired = share.TakeRetiredNonRt()) {
      retired->AbandonNonRt();
      state.replacing = false;
    }

    const uint64_t failovers = share.failovers();
    while (state.seen_failovers < failovers) {
      ++state.seen_failovers;
      state.failover_times.push_back(now_ns);
      LogWarning("worker " + std::to_string(index) + " missed its deadline (failover " +
                 std::to_string(state.seen_failovers) + "): standby path engaged");
    }
    const int64_t window = static_cast<int64_t>(config_.escalate_window_s * 1e9);
    std::erase_if(state.failover_times, [&](int64_t t) { return now_ns - t > window; });

    const bool standby = share.mode() == WorkerShare::Mode::kStandby;
    if (standby) {
      if (state.standby_seen_since == 0) state.standby_seen_since = now_ns;
    } else if (state.standby_seen_since != 0) {
      state.standby_ns_total += now_ns - state.standby_seen_since;
      state.standby_seen_since = 0;
    }

    if (standby && !state.replacing && !all_stuck) {
      DspWorker* worker = share.worker();
      const int64_t started = worker->render_started_ns();
      if (!worker->running()) {
        Replace(index, worker->failed() ? "crashed (its render threw)" : "stopped", false);
      } else if (started != 0 && now_ns - started > static_cast<int64_t>(config_.stuck_s * 1e9)) {
        Replace(index, "is stuck in a render", true);
      } else if (static_cast<int>(state.failover_times.size()) >= config_.escalate_failovers) {
        state.failover_times.clear();
        Replace(index, "keeps missing deadlines", true);
      } else if (started == 0) {
        if (state.idle_since_ns == 0) state.idle_since_ns = now_ns;
        if (now_ns - state.idle_since_ns >= static_cast<int64_t>(config_.quarantine_s * 1e9)) {
          share.RequestHandBackNonRt();
        }
      } else {
        state.idle_since_ns = 0;
      }
    } else if (standby && state.replacing) {
      share.RequestHandBackNonRt();  // to the replacement, once adopted and idle
    } else {
      state.idle_since_ns = 0;
    }

    ShareHealth health;
    health.state = state.replacing ? "replacing" : standby ? "standby" : "ok";
    health.failovers = failovers;
    health.handbacks = share.handbacks();
    health.replacements = state.replacements;
    health.standby_s =
        static_cast<double>(state.standby_ns_total +
                            (state.standby_seen_since ? now_ns - state.standby_seen_since : 0)) *
        1e-9;
    health.cpu = share.worker()->config().cpu;
    std::lock_guard lock(health_mutex_);
    health_[index] = health;
  }
  reaped_ += engine_.ReapAbandonedNonRt();
}

std::vector<ShareHealth> WorkerSupervisor::Health() const {
  std::lock_guard lock(health_mutex_);
  return health_;
}

bool WorkerSupervisor::AnyWorkerProgressing() {
  bool any = false;
  for (size_t index = 0; index < engine_.share_count(); ++index) {
    const uint64_t blocks = engine_.share(index).worker()->blocks_rendered();
    if (blocks != states_[index].last_blocks) any = true;
    states_[index].last_blocks = blocks;
  }
  return any;
}

}  // namespace chronus::firmware
