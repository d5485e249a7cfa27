#include "firmware/sound/fluid_worker.h"

#include <fluidsynth.h>
#include <time.h>

#include <algorithm>

#include "hal/rt/clock.h"
#include "hal/rt/thread_setup.h"

namespace chronus::firmware {

FluidWorker::FluidWorker(const FluidWorkerConfig& config, std::unique_ptr<FluidInstance> instance)
    : config_(config),
      current_(instance.release()),
      storage_(static_cast<size_t>(config.block_frames) * 2 * config.lookahead_blocks, 0.0f),
      fade_(static_cast<size_t>(config.block_frames) * 2, 0.0f),
      blocks_(config.lookahead_blocks),
      ready_(config.lookahead_blocks),
      free_(config.lookahead_blocks) {
  info_.store(current_);
  for (uint32_t i = 0; i < config.lookahead_blocks; ++i) {
    FluidBlock& block = blocks_[i];
    block.left = storage_.data() + static_cast<size_t>(i) * 2 * config.block_frames;
    block.right = block.left + config.block_frames;
    block.frames = config.block_frames;
    free_.push(&block);
  }
}

FluidWorker::~FluidWorker() {
  Stop();
  delete current_;
  delete pending_.exchange(nullptr);
  delete retired_.exchange(nullptr);
}

void FluidWorker::Start() {
  stop_.store(false);
  thread_ = std::thread([this] { Run(); });
  setup_done_.wait(false);
}

void FluidWorker::Stop() {
  if (!thread_.joinable()) return;
  stop_.store(true, std::memory_order_release);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_one();
  thread_.join();
}

bool FluidWorker::EndPeriodRt() {
  if (!events_.push(FluidEvent{FluidEvent::Type::kEndOfPeriod})) return false;
  periods_sent_.fetch_add(1, std::memory_order_release);
  return true;
}

void FluidWorker::returnBlockRt(FluidBlock* block) {
  free_.push(block);
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_one();
}

bool FluidWorker::OfferInstanceNonRt(std::unique_ptr<FluidInstance>& instance) {
  FluidInstance* expected = nullptr;
  FluidInstance* raw = instance.get();
  if (!pending_.compare_exchange_strong(expected, raw, std::memory_order_acq_rel)) return false;
  instance.release();
  wake_.fetch_add(1, std::memory_order_release);
  wake_.notify_one();
  return true;
}

void FluidWorker::Run() {
  hal::SetUpCurrentThread({"chronus-fluid", config_.priority, config_.cpu});
  MarkFluidRtThread();
  setup_done_.store(true);
  setup_done_.notify_all();
  // Render loop: no allocation or lock of ours; FluidSynth with threadsafe-api = 0 takes none.
  while (!stop_.load(std::memory_order_acquire)) {
    const uint32_t seen = wake_.load(std::memory_order_acquire);
    FluidBlock* block = nullptr;
    while (free_.pop(block)) {
      const int64_t start = hal::MonotonicNs();
      render_started_ns_.store(start, std::memory_order_release);
      RenderBlock(block);
      render_started_ns_.store(0, std::memory_order_release);
      ready_.push(block);
      blocks_rendered_.fetch_add(1, std::memory_order_relaxed);
      const auto took = static_cast<uint64_t>(hal::MonotonicNs() - start);
      if (took > worst_render_ns_.load(std::memory_order_relaxed)) {
        worst_render_ns_.store(took, std::memory_order_relaxed);
      }
    }
    if (stop_.load(std::memory_order_acquire)) break;
    wake_.wait(seen, std::memory_order_acquire);
  }
}

void FluidWorker::RenderSpan(float* left, float* right, uint32_t frames) {
  if (frames == 0) return;
  if (current_ == nullptr) {
    std::fill(left, left + frames, 0.0f);
    std::fill(right, right + frames, 0.0f);
    return;
  }
  fluid_synth_write_float(current_->synth(), static_cast<int>(frames), left, 0, 1, right, 0, 1);
}

void FluidWorker::ApplyEvent(const FluidEvent& event) {
  if (current_ == nullptr) return;
  fluid_synth_t* synth = current_->synth();
  switch (event.type) {
    case FluidEvent::Type::kNoteOn:
      fluid_synth_noteon(synth, event.channel, event.key, event.velocity);
      break;
    case FluidEvent::Type::kNoteOff:
      fluid_synth_noteoff(synth, event.channel, event.key);
      break;
    case FluidEvent::Type::kAllNotesOff:
      fluid_synth_all_notes_off(synth, -1);
      break;
    case FluidEvent::Type::kEndOfPeriod:
      break;
  }
}

void FluidWorker::RenderBlock(FluidBlock* block) {
  const double stall = stall_ms_.exchange(0.0, std::memory_order_acq_rel);
  if (stall > 0.0) {
    timespec pause{static_cast<time_t>(stall / 1000), static_cast<long>(stall * 1e6) % 1000000000};
    nanosleep(&pause, nullptr);
  }
  const uint32_t frames = block->frames;
  // A swap at this block boundary: the old instance renders its tail into fade_ (no events), the
  // new one takes the events, and the block crossfades from one to the other.
  bool swapped = false;
  if (pending_.load(std::memory_order_acquire) != nullptr &&
      retired_.load(std::memory_order_acquire) == nullptr) {
    FluidInstance* incoming = pending_.exchange(nullptr, std::memory_order_acq_rel);
    RenderSpan(fade_.data(), fade_.data() + frames, frames);
    retired_.store(current_, std::memory_order_release);
    current_ = incoming;
    info_.store(current_, std::memory_order_release);
    swaps_.fetch_add(1, std::memory_order_relaxed);
    swapped = true;
  }
  // Events of every period closed so far; those of the last one at their offsets, those of
  // periods missed during a stall at the start of the block.
  const uint64_t target = periods_sent_.load(std::memory_order_acquire);
  uint32_t pos = 0;
  FluidEvent event;
  while (periods_applied_ < target && events_.pop(event)) {
    if (event.type == FluidEvent::Type::kEndOfPeriod) {
      ++periods_applied_;
      continue;
    }
    const uint32_t offset = periods_applied_ + 1 == target ? std::min(event.offset, frames) : 0;
    if (offset > pos) {
      RenderSpan(block->left + pos, block->right + pos, offset - pos);
      pos = offset;
    }
    ApplyEvent(event);
  }
  RenderSpan(block->left + pos, block->right + pos, frames - pos);
  if (swapped) {
    const float step = 1.0f / static_cast<float>(frames);
    for (uint32_t i = 0; i < frames; ++i) {
      const float g = static_cast<float>(i) * step;
      block->left[i] = block->left[i] * g + fade_[i] * (1.0f - g);
      block->right[i] = block->right[i] * g + fade_[frames + i] * (1.0f - g);
    }
  }
  block->index = next_index_++;
  voices_.store(current_ != nullptr ? fluid_synth_get_active_voice_count(current_->synth()) : 0,
                std::memory_order_relaxed);
}

}  // namespace chronus::firmware
