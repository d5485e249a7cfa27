#include "firmware/engine/dsp_worker.h"

#include <time.h>

#include "hal/rt/thread_setup.h"

namespace chronus::firmware {

namespace {

uint64_t MonotonicNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000u + static_cast<uint64_t>(ts.tv_nsec);
}

}  // namespace

DspWorker::DspWorker(const DspWorkerConfig& config)
    : config_(config),
      storage_(static_cast<size_t>(config.block_frames) * config.lookahead_blocks),
      blocks_(config.lookahead_blocks),
      ready_(config.lookahead_blocks),
      free_(config.lookahead_blocks) {
  bank_.Init(config.sample_rate, config.voices);
  for (uint32_t i = 0; i < config.lookahead_blocks; ++i) {
    blocks_[i].samples = storage_.data() + static_cast<size_t>(i) * config.block_frames;
    blocks_[i].frames = config.block_frames;
    free_.push(&blocks_[i]);
  }
}

DspWorker::~DspWorker() { Stop(); }

void DspWorker::Start() {
  stop_.store(false);
  thread_ = std::thread([this] { Run(); });
  setup_done_.wait(false);
}

void DspWorker::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_one();
  thread_.join();
}

std::string DspWorker::setup_warnings() const { return setup_warnings_; }

void DspWorker::returnBlockRt(WorkerBlock* block) {
  free_.push(block);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_one();
}

void DspWorker::Apply(const WorkerCommand& command) {
  switch (command.type) {
    case CommandType::kNoteOn:
      bank_.NoteOn(command.slot, command.note, command.value);
      break;
    case CommandType::kNoteOff:
      bank_.NoteOff(command.slot);
      break;
    case CommandType::kSetParam:
      bank_.SetParam(command.param, command.value);
      break;
    case CommandType::kAllNotesOff:
      for (uint32_t slot = 0; slot < config_.voices; ++slot) bank_.NoteOff(slot);
      break;
  }
}

void DspWorker::Run() {
  hal::RtThreadConfig rt{"chronus-dsp" + std::to_string(config_.index), config_.priority,
                         config_.cpu};
  setup_warnings_ = hal::SetUpCurrentThread(rt).warnings;
  setup_done_.store(true);
  setup_done_.notify_all();
  in_loop_.store(true, std::memory_order_release);
  // Render loop: no allocation, no lock, no syscall but the futex wait when idle.
  while (!stop_.load(std::memory_order_acquire)) {
    const uint32_t seen = wake_.load(std::memory_order_acquire);
    WorkerBlock* block = nullptr;
    while (free_.pop(block)) {
      const uint64_t start = MonotonicNs();
      WorkerCommand command;
      while (commands_.pop(command)) {
        Apply(command);
        ++commands_applied_;
      }
      bank_.Render(block->samples, block->frames);
      block->commands_applied = commands_applied_;
      for (uint32_t slot = 0; slot < config_.voices; ++slot) {
        block->active[slot] = bank_.IsActive(slot);
      }
      ready_.push(block);
      blocks_rendered_.fetch_add(1, std::memory_order_relaxed);
      const uint64_t took = MonotonicNs() - start;
      if (took > worst_render_ns_.load(std::memory_order_relaxed)) {
        worst_render_ns_.store(took, std::memory_order_relaxed);
      }
    }
    if (stop_.load(std::memory_order_acquire)) break;
    wake_.wait(seen, std::memory_order_acquire);
  }
  in_loop_.store(false, std::memory_order_release);
}

}  // namespace chronus::firmware
