#include "firmware/engine/dsp_worker.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <cstdint>
#include <stdexcept>

#include "hal/rt/clock.h"
#include "hal/rt/cpu_relax.h"
#include "hal/rt/thread_setup.h"

namespace chronus::firmware {

void ApplyWorkerCommand(dsp::VoiceBank& bank, const WorkerCommand& command) {
  switch (command.type) {
    case CommandType::kNoteOn:
      bank.NoteOn(command.slot, command.note, command.value);
      break;
    case CommandType::kNoteOff:
      bank.NoteOff(command.slot);
      break;
    case CommandType::kSetParam:
      bank.SetParam(command.param, command.value);
      break;
    case CommandType::kAllNotesOff:
      for (size_t slot = 0; slot < bank.num_voices(); ++slot) bank.NoteOff(slot);
      break;
  }
}

DspWorker::DspWorker(const DspWorkerConfig& config)
    : config_(config),
      checkpoints_(config.lookahead_blocks + 1),
      storage_(static_cast<size_t>(config.block_frames) * config.lookahead_blocks),
      blocks_(config.lookahead_blocks),
      ready_(config.lookahead_blocks),
      free_(config.lookahead_blocks) {
  bank_.Init(config.sample_rate, config.voices);
  for (auto& checkpoint : checkpoints_) checkpoint.CopyStateFrom(bank_);
  for (uint32_t i = 0; i < config.lookahead_blocks; ++i) {
    WorkerBlock& block = blocks_[i];
    block.samples = storage_.data() + static_cast<size_t>(i) * config.block_frames;
    block.frames = config.block_frames;
    block.slot = i;
    block.start_frame = uint64_t{i} * config.block_frames;  // prefill: the first blocks played
    block.checkpoint = &checkpoints_[0];
    if (config.prefill) {
      free_.push(&block);
    } else {
      ready_.push(&block);
    }
  }
}

DspWorker::~DspWorker() { Stop(); }

void DspWorker::Start() {
  stop_.store(false);
  if (!config_.threaded) {  // the caller renders: the first blocks now
    in_loop_.store(true, std::memory_order_release);
    RenderFreeBlocksRt(ReadyTargetRt());
    return;
  }
  thread_ = std::thread([this] { Run(); });
  setup_done_.wait(false);
}

void DspWorker::Stop() {
  if (!config_.threaded) {
    in_loop_.store(false, std::memory_order_release);
    return;
  }
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_one();
  thread_.join();
}

void DspWorker::AbandonNonRt() {
  if (!thread_.joinable()) return;
  sched_param param{};
  pthread_setschedparam(thread_.native_handle(), SCHED_IDLE, &param);
  stop_.store(true, std::memory_order_release);
  abandoned_.store(true, std::memory_order_release);
  // A thread asleep between blocks (a worker replaced after missing deadlines is usually idle by
  // then) would sleep forever, its 8 MiB stack locked by mlockall: wake it so that it ends.
  wake_.fetch_add(1, std::memory_order_seq_cst);
  wake_.notify_one();
  thread_.detach();
}

void DspWorker::returnBlockRt(WorkerBlock* block) {
  free_.push(block);
  if (!config_.threaded) {
    RenderFreeBlocksRt(ReadyTargetRt());
    return;
  }
  // Pairs with the worker's sleeping_ store and wake_ re-check (both seq_cst): either it sees
  // this increment before it waits, or this sees it sleeping and wakes it.
  wake_.fetch_add(1, std::memory_order_seq_cst);
  if (sleeping_.load(std::memory_order_seq_cst)) wake_.notify_one();
}

void DspWorker::InjectFaultNonRt(const FaultSpec& fault) {
  fault_stall_ms_.store(fault.stall_ms, std::memory_order_relaxed);
  fault_type_.store(static_cast<uint8_t>(fault.type), std::memory_order_release);
}

void DspWorker::ConsumeFault() {
  const auto type = static_cast<FaultType>(fault_type_.exchange(0, std::memory_order_acquire));
  switch (type) {
    case FaultType::kNone:
    case FaultType::kStallAudio:  // not a worker fault
      return;
    case FaultType::kStall: {
      const double ms = fault_stall_ms_.load(std::memory_order_relaxed);
      timespec pause{static_cast<time_t>(ms / 1000), static_cast<long>(ms * 1e6) % 1000000000};
      nanosleep(&pause, nullptr);
      return;
    }
    case FaultType::kSpin:
      for (;;) asm volatile("" ::: "memory");
    case FaultType::kThrow:
      throw std::runtime_error("injected fault");
  }
}

void DspWorker::Run() {
  const hal::RtThreadConfig rt{"chronus-dsp" + std::to_string(config_.index), config_.priority,
                               config_.cpu};
  setup_warnings_ = hal::SetUpCurrentThread(rt).warnings;
  setup_done_.store(true);
  setup_done_.notify_all();
  in_loop_.store(true, std::memory_order_release);
  try {
    RunLoop();
  } catch (...) {
    // Only an injected fault throws here: the thread ends and the watchdog replaces it.
    failed_.store(true, std::memory_order_release);
  }
  in_loop_.store(false, std::memory_order_release);
}

size_t DspWorker::ReadyTargetRt() const {
  const uint32_t ahead = config_.rendered_ahead_blocks;
  return ahead == 0 || ahead > config_.lookahead_blocks ? config_.lookahead_blocks : ahead;
}

bool DspWorker::SpinForWake(uint32_t seen) const {
  const int64_t until = hal::MonotonicNs() + config_.idle_spin_ns;
  while (wake_.load(std::memory_order_acquire) == seen) {
    if (hal::MonotonicNs() >= until) return false;
    hal::CpuRelax();
  }
  return true;
}

bool DspWorker::RenderFreeBlocksRt(size_t max_ready) {
  WorkerBlock* block = nullptr;
  while ((max_ready == SIZE_MAX || ready_.read_available() < max_ready) && free_.pop(block)) {
    const int64_t start = hal::MonotonicNs();
    render_started_ns_.store(start, std::memory_order_release);
    if (config_.threaded) ConsumeFault();
    // Abandoned while stalled: the replacement owns this worker's voices and layer state now.
    if (stop_.load(std::memory_order_acquire)) return false;
    // Commands for later blocks stay queued (the audio thread sends in frame order).
    commands_applied_ +=
        RenderWithEvents(bank_, block->samples, block->frames, block->start_frame,
                         [this](uint64_t limit, WorkerCommand* command) {
                           if (commands_.read_available() == 0 || commands_.front().frame >= limit)
                             return false;
                           return commands_.pop(*command);
                         });
    block->layer_rendered = config_.layer != nullptr &&
                            config_.layer->RenderWorkerRt(config_.index, block->slot,
                                                          block->start_frame, block->frames);
    block->index = next_index_++;
    block->commands_applied = commands_applied_;
    dsp::VoiceBank& checkpoint = checkpoints_[block->index % checkpoints_.size()];
    checkpoint.CopyStateFrom(bank_);
    block->checkpoint = &checkpoint;
    for (uint32_t slot = 0; slot < config_.voices; ++slot) {
      block->active[slot] = bank_.IsActive(slot);
    }
    const auto took = static_cast<uint64_t>(hal::MonotonicNs() - start);
    block->render_ns = static_cast<uint32_t>(std::min<uint64_t>(took, UINT32_MAX));
    last_render_ns_.store(took, std::memory_order_relaxed);
    render_started_ns_.store(0, std::memory_order_release);
    ready_.push(block);
    blocks_rendered_.fetch_add(1, std::memory_order_relaxed);
    if (took > worst_render_ns_.load(std::memory_order_relaxed)) {
      worst_render_ns_.store(took, std::memory_order_relaxed);
    }
  }
  return true;
}

void DspWorker::RunLoop() {
  // Render loop: no allocation, no lock, no syscall but the futex wait when idle.
  while (!stop_.load(std::memory_order_acquire)) {
    const uint32_t seen = wake_.load(std::memory_order_acquire);
    if (!RenderFreeBlocksRt()) return;
    if (stop_.load(std::memory_order_acquire)) break;
    if (config_.idle_spin_ns > 0 && SpinForWake(seen)) continue;
    sleeping_.store(true, std::memory_order_seq_cst);
    if (wake_.load(std::memory_order_seq_cst) == seen) wake_.wait(seen, std::memory_order_acquire);
    sleeping_.store(false, std::memory_order_relaxed);
  }
}

}  // namespace chronus::firmware
