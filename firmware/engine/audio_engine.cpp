#include "firmware/engine/audio_engine.h"

#include <cmath>

#include "dsp/decibel.h"
#include "dsp/soft_clip.h"

namespace chronus::firmware {

AudioEngine::AudioEngine(const EngineConfig& config, ControlQueue& control)
    : config_(config), control_(control) {
  const uint32_t n = config.workers == 0 ? 1 : config.workers;
  config_.workers = n;
  for (uint32_t w = 0; w < n; ++w) {
    DspWorkerConfig wc;
    wc.index = static_cast<int>(w);
    wc.cpu = w < config.worker_cpus.size() ? config.worker_cpus[w] : -1;
    wc.priority = config.worker_priority;
    wc.sample_rate = config.sample_rate;
    wc.block_frames = config.block_frames;
    wc.voices = (config.voices + n - 1 - w) / n;  // voices v with v % n == w
    wc.lookahead_blocks = config.lookahead_blocks;
    workers_.push_back(std::make_unique<DspWorker>(wc));
  }
  popped_.assign(n, nullptr);
  commands_sent_.assign(n, 0);
  note_on_seq_.assign(config.voices, 0);
  mix_.assign(config.block_frames, 0.0f);
  allocator_.Init(config.voices);
  master_gain_.Init(config.sample_rate, 20.0f,
                    dsp::DbToGain(dsp::Spec(dsp::ParamId::kMasterGainDb).default_value));
}

AudioEngine::~AudioEngine() { Stop(); }

void AudioEngine::Start() {
  for (auto& worker : workers_) worker->Start();
}

void AudioEngine::Stop() {
  for (auto& worker : workers_) worker->Stop();
}

void AudioEngine::SendRt(uint32_t voice, WorkerCommand command) {
  const uint32_t n = config_.workers;
  const uint32_t w = voice % n;
  command.slot = static_cast<uint16_t>(voice / n);
  if (workers_[w]->pushCommandRt(command)) {
    ++commands_sent_[w];
  } else {
    dropped_commands_.fetch_add(1, std::memory_order_relaxed);
  }
}

void AudioEngine::BroadcastRt(const WorkerCommand& command) {
  for (uint32_t w = 0; w < config_.workers; ++w) {
    if (workers_[w]->pushCommandRt(command)) {
      ++commands_sent_[w];
    } else {
      dropped_commands_.fetch_add(1, std::memory_order_relaxed);
    }
  }
}

void AudioEngine::ApplyRt(const Command& command) {
  switch (command.type) {
    case CommandType::kNoteOn: {
      if (command.value <= 0.0f) {  // MIDI convention: velocity 0 is a note-off
        ApplyRt(Command{CommandType::kNoteOff, command.note});
        return;
      }
      const dsp::VoiceAllocator::NoteOnResult result = allocator_.NoteOn(command.note);
      const int voice = result.slot;
      if (voice < 0) return;
      if (result.stole) voices_stolen_.fetch_add(1, std::memory_order_relaxed);
      SendRt(static_cast<uint32_t>(voice),
             WorkerCommand{CommandType::kNoteOn, command.note, {}, 0, command.value});
      note_on_seq_[static_cast<size_t>(voice)] =
          commands_sent_[static_cast<uint32_t>(voice) % config_.workers];
      break;
    }
    case CommandType::kNoteOff: {
      const int voice = allocator_.NoteOff(command.note);
      if (voice >= 0) {
        SendRt(static_cast<uint32_t>(voice), WorkerCommand{CommandType::kNoteOff, command.note});
      }
      break;
    }
    case CommandType::kSetParam:
      if (command.param == dsp::ParamId::kMasterGainDb) {
        master_gain_.SetTarget(dsp::DbToGain(command.value));
      } else {
        BroadcastRt(WorkerCommand{CommandType::kSetParam, 0, command.param, 0, command.value});
      }
      break;
    case CommandType::kAllNotesOff:
      for (uint32_t voice = 0; voice < config_.voices; ++voice) {
        const int note = allocator_.note(voice);
        if (note >= 0) allocator_.NoteOff(note);
      }
      BroadcastRt(WorkerCommand{CommandType::kAllNotesOff});
      break;
  }
}

void AudioEngine::RenderPeriodRt(int32_t* out) {
  const uint32_t n = config_.workers;
  const uint32_t frames = config_.block_frames;

  // 1. Collect the blocks rendered for this period and learn which voices have finished.
  for (uint32_t w = 0; w < n; ++w) {
    WorkerBlock* block = workers_[w]->popBlockRt();
    popped_[w] = block;
    if (block == nullptr) {
      late_blocks_.fetch_add(1, std::memory_order_relaxed);
      continue;
    }
    for (uint32_t voice = w; voice < config_.voices; voice += n) {
      if (allocator_.note(voice) >= 0 && !block->active[voice / n] &&
          block->commands_applied >= note_on_seq_[voice]) {
        allocator_.MarkFree(voice);
      }
    }
  }

  // 2. Apply control commands at this block boundary; workers see them in their next block.
  Command command;
  for (int i = 0; i < kMaxCommandsPerPeriod && control_.popRt(&command); ++i) ApplyRt(command);
  active_voices_.store(static_cast<uint32_t>(allocator_.ActiveCount()), std::memory_order_relaxed);

  // 3. Mix and hand the blocks back so the workers render the next period now.
  for (uint32_t i = 0; i < frames; ++i) mix_[i] = 0.0f;
  for (uint32_t w = 0; w < n; ++w) {
    WorkerBlock* block = popped_[w];
    if (block == nullptr) continue;
    for (uint32_t i = 0; i < frames; ++i) mix_[i] += block->samples[i];
    workers_[w]->returnBlockRt(block);
  }

  // 4. Master gain (smoothed per sample), soft clip, 24-bit quantisation into int32 frames.
  const uint32_t channels = config_.channels;
  for (uint32_t i = 0; i < frames; ++i) {
    const float gain = master_gain_.Process();
    const float y = dsp::SoftClip(mix_[i] * gain);
    const int32_t sample = static_cast<int32_t>(std::lrint(y * 8388607.0f)) * 256;
    for (uint32_t c = 0; c < channels; ++c) out[i * channels + c] = sample;
  }
  periods_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace chronus::firmware
