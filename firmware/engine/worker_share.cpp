#include "firmware/engine/worker_share.h"

#include "firmware/log/log.h"
#include "hal/rt/clock.h"

namespace chronus::firmware {

WorkerShare::WorkerShare(DspWorker* worker, const DspWorkerConfig& config)
    : config_(config),
      worker_(worker),
      standby_out_(config.block_frames),
      log_(kLogCapacity),
      parked_(config.lookahead_blocks, nullptr) {
  standby_.Init(config.sample_rate, config.voices);
  checkpoint_ = &standby_;  // a fresh bank: what the worker starts from
}

bool WorkerShare::OfferReplacementNonRt(DspWorker* replacement) {
  DspWorker* expected = nullptr;
  return replacement_.compare_exchange_strong(expected, replacement, std::memory_order_acq_rel);
}

void WorkerShare::ParkReadyBlocksRt() {
  DspWorker* worker = worker_.load(std::memory_order_relaxed);
  while (WorkerBlock* block = worker->popBlockRt()) {
    if (parked_count_ < parked_.size()) parked_[parked_count_++] = block;
  }
}

void WorkerShare::RenderStandbyRt(uint32_t frames) {
  // The standby bank applies the logged commands as a worker would: each at its frame, the
  // render split there; commands for later blocks stay pending (standby_applied_seq_ < seq).
  if (commands_sent_ - standby_applied_seq_ > kLogCapacity) {
    replay_gaps_.fetch_add(1, std::memory_order_relaxed);  // the log wrapped: some are lost
    standby_applied_seq_ = commands_sent_ - kLogCapacity;
  }
  RenderWithEvents(standby_, standby_out_.data(), frames, period_frame_,
                   [this](uint64_t limit, WorkerCommand* command) {
                     if (standby_applied_seq_ >= commands_sent_) return false;
                     // Command with sequence number s is log entry s - 1 (see SendRt).
                     const LoggedCommand& entry = log_[standby_applied_seq_ % kLogCapacity];
                     if (entry.command.frame >= limit) return false;
                     *command = entry.command;
                     ++standby_applied_seq_;
                     return true;
                   });
}

void WorkerShare::TakeOverRt() {
  if (checkpoint_ != &standby_) standby_.CopyStateFrom(*checkpoint_);
  standby_applied_seq_ = checkpoint_seq_;
  checkpoint_ = &standby_;
  mode_.store(Mode::kStandby, std::memory_order_release);
  standby_since_ns_.store(hal::MonotonicNs(), std::memory_order_release);
  failovers_.fetch_add(1, std::memory_order_relaxed);
  Log::PushRt(LogLevel::kWarning, "worker {} late: its voices are rendered on standby",
              config_.index, 0, 0, 0, 1);
}

void WorkerShare::AdoptReplacementRt(DspWorker* replacement) {
  retired_.store(worker_.load(std::memory_order_relaxed), std::memory_order_release);
  worker_.store(replacement, std::memory_order_release);
  parked_count_ = 0;  // the old worker's blocks stay with the old worker
  seq_base_ = commands_sent_;
  adoptions_.fetch_add(1, std::memory_order_relaxed);
}

bool WorkerShare::BeginPeriodRt() {
  if (mode_.load(std::memory_order_relaxed) == Mode::kStandby) {
    if (DspWorker* replacement = replacement_.load(std::memory_order_acquire)) {
      if (retired_.load(std::memory_order_acquire) == nullptr) {
        replacement_.store(nullptr, std::memory_order_relaxed);
        AdoptReplacementRt(replacement);
      }
    }
    ParkReadyBlocksRt();  // a late block that arrived since is kept, not played
    block_ = nullptr;
    standby_periods_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  block_ = worker_.load(std::memory_order_relaxed)->popBlockRt();
  if (block_ == nullptr) {
    TakeOverRt();  // the standby render replays what the worker had not applied
    standby_periods_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  checkpoint_ = block_->checkpoint;
  checkpoint_seq_ = seq_base_ + block_->commands_applied;
  return true;
}

bool WorkerShare::SendRt(const WorkerCommand& command) {
  if (mode_.load(std::memory_order_relaxed) == Mode::kWorker &&
      !worker_.load(std::memory_order_relaxed)->pushCommandRt(command)) {
    return false;
  }
  ++commands_sent_;
  log_[log_next_ % kLogCapacity] = LoggedCommand{commands_sent_, command};
  ++log_next_;
  return true;
}

bool WorkerShare::ReportsSilentRt(uint32_t slot, uint64_t seq) const {
  if (mode_.load(std::memory_order_relaxed) == Mode::kStandby) {
    return !standby_.IsActive(slot) && standby_applied_seq_ >= seq;
  }
  return block_ != nullptr && !block_->active[slot] && seq_base_ + block_->commands_applied >= seq;
}

void WorkerShare::HandBackRt() {
  DspWorker* worker = worker_.load(std::memory_order_relaxed);
  // The worker is idle and we hold all its blocks: its bank is ours to write until we return one.
  worker->bankForHandoverRt().CopyStateFrom(standby_);
  seq_base_ = standby_applied_seq_ - worker->commands_applied_for_handover_rt();
  // Commands not applied yet (sent in this period, or for later blocks) go to the worker, which
  // applies each at its frame. The worker's queue is empty here: every command sent to it
  // before the takeover had a frame inside a block it was given (and has rendered since).
  for (uint64_t i = log_next_ - (commands_sent_ - standby_applied_seq_); i < log_next_; ++i) {
    worker->pushCommandRt(log_[i % kLogCapacity].command);
  }
  checkpoint_ = &standby_;
  checkpoint_seq_ = standby_applied_seq_;
  mode_.store(Mode::kWorker, std::memory_order_release);
  standby_since_ns_.store(0, std::memory_order_release);
  handback_requested_.store(false, std::memory_order_relaxed);
  handbacks_.fetch_add(1, std::memory_order_relaxed);
  for (size_t i = 0; i < parked_count_; ++i) {  // they play in the next periods, in order
    parked_[i]->start_frame = period_frame_ + (i + 1) * config_.block_frames;
    worker->returnBlockRt(parked_[i]);
  }
  parked_count_ = 0;
  Log::PushRt(LogLevel::kInfo, "worker {} renders its voices again", config_.index, 0, 0, 0, 1);
}

void WorkerShare::MixAndReleaseRt(float* mix, uint32_t frames) {
  if (mode_.load(std::memory_order_relaxed) == Mode::kWorker) {
    if (block_ != nullptr) {
      for (uint32_t i = 0; i < frames; ++i) mix[i] += block_->samples[i];
      // Returned now, the block plays lookahead_blocks periods after this one.
      block_->start_frame = period_frame_ + uint64_t{config_.lookahead_blocks} * frames;
      worker_.load(std::memory_order_relaxed)->returnBlockRt(block_);
      block_ = nullptr;
    }
    return;
  }
  RenderStandbyRt(frames);
  for (uint32_t i = 0; i < frames; ++i) mix[i] += standby_out_[i];
  if (handback_requested_.load(std::memory_order_acquire) && parked_count_ == parked_.size()) {
    HandBackRt();
  }
}

}  // namespace chronus::firmware
