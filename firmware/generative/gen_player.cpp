#include "firmware/generative/gen_player.h"

#include <algorithm>
#include <chrono>
#include <cmath>

#include "hal/rt/thread_setup.h"

namespace chronus::firmware {

GenPlayer::GenPlayer(SoundLayers& layers, const GenerativeConfig& defaults,
                     const GenPlayerConfig& config)
    : layers_(layers),
      config_(config),
      mode_(generative::ParseMode(defaults.mode).value_or(generative::Mode::kDorian)),
      root_(defaults.root),
      bpm_(defaults.bpm),
      intensity_(defaults.intensity),
      seed_(defaults.seed) {
  channels_ = {static_cast<uint8_t>(defaults.pad_channel - 1),
               static_cast<uint8_t>(defaults.melody_channel - 1),
               static_cast<uint8_t>(defaults.bass_channel - 1)};
  bar_.reserve(generative::Composer::kMaxNotesPerBar);
}

GenPlayer::~GenPlayer() { Stop(); }

void GenPlayer::Start() {
  if (thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    quit_ = false;
  }
  thread_ = std::thread([this] { Run(); });
}

void GenPlayer::Stop() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mutex_);
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

generative::GenParams GenPlayer::params() const {
  generative::GenParams p;
  p.mode = mode_.load(std::memory_order_relaxed);
  p.root = root_.load(std::memory_order_relaxed);
  p.bpm = bpm_.load(std::memory_order_relaxed);
  p.intensity = intensity_.load(std::memory_order_relaxed);
  return p;
}

void GenPlayer::Run() {
  hal::SetUpCurrentThread({"chronus-gen", 0, -1});
  std::unique_lock lock(mutex_);
  while (!quit_) {
    lock.unlock();
    StepNonRt(layers_.frame_now());
    lock.lock();
    cv_.wait_for(lock, std::chrono::duration<double>(config_.poll_s), [this] { return quit_; });
  }
}

void GenPlayer::NextGenerationNonRt() {
  if (++generation_ == 0) generation_ = 1;  // 0 means "not stamped"
  layers_.SetGenerationNonRt(generation_);
}

int GenPlayer::StepNonRt(uint64_t now_frame) {
  const auto lead = static_cast<uint64_t>(std::llround(config_.lead_s * config_.sample_rate));
  if (stop_requested_.exchange(false, std::memory_order_acq_rel)) {
    NextGenerationNonRt();  // drops what is scheduled, releases what sounds
    playing_.store(false, std::memory_order_relaxed);
  }
  if (start_requested_.exchange(false, std::memory_order_acq_rel)) {
    NextGenerationNonRt();
    generative::ComposerConfig cc;
    cc.sample_rate = config_.sample_rate;
    cc.max_voices = config_.max_voices;
    // The first bar starts a little after now, so its notes are queued in time.
    composer_.Init(cc, seed_.load(std::memory_order_relaxed),
                   now_frame + static_cast<uint64_t>(config_.sample_rate * config_.start_s));
    playing_.store(true, std::memory_order_relaxed);
  }
  if (!playing_.load(std::memory_order_relaxed) || lane_ == nullptr) return 0;
  int composed = 0;
  while (composer_.next_bar_frame() < now_frame + lead &&
         lane_->write_available() >= generative::Composer::kMaxNotesPerBar) {
    composer_.ComposeBar(params(), &bar_);
    for (const generative::GenNote& note : bar_) {
      Command command{note.velocity > 0.0f ? CommandType::kNoteOn : CommandType::kNoteOff,
                      note.note, dsp::ParamId::kCutoffHz, note.velocity,
                      channels_[static_cast<size_t>(note.part)]};
      command.frame = note.frame;
      command.generation = generation_;
      if (lane_->pushNonRt(command)) {
        notes_queued_.fetch_add(1, std::memory_order_relaxed);
      } else {
        notes_dropped_.fetch_add(1, std::memory_order_relaxed);
      }
    }
    bars_.fetch_add(1, std::memory_order_relaxed);
    ++composed;
  }
  return composed;
}

}  // namespace chronus::firmware
