#include "firmware/engine/audio_engine.h"

#include <cmath>

#include "dsp/decibel.h"
#include "dsp/soft_clip.h"
#include "firmware/engine/sample_layer.h"
#include "hal/rt/clock.h"

namespace chronus::firmware {

AudioEngine::AudioEngine(const EngineConfig& config, ControlQueue& control)
    : config_(config), control_(control), clock_(static_cast<uint32_t>(config.sample_rate)) {
  const uint32_t n = config.workers == 0 ? 1 : config.workers;
  config_.workers = n;
  for (uint32_t w = 0; w < n; ++w) {
    DspWorkerConfig wc;
    wc.index = static_cast<int>(w);
    wc.cpu = w < config.worker_cpus.size() ? config.worker_cpus[w] : -1;
    wc.priority = config.worker_priority;
    wc.threaded = !(config.audio_thread_renders && w == 0);
    wc.sample_rate = config.sample_rate;
    wc.block_frames = config.block_frames;
    wc.voices = (config.voices + n - 1 - w) / n;  // voices v with v % n == w
    wc.lookahead_blocks = config.lookahead_blocks;
    wc.rendered_ahead_blocks = config.audio_share_ahead_blocks;
    wc.idle_spin_ns = config.worker_idle_spin_ns;
    wc.layer = config.sample_layer;
    owned_.push_back(std::make_unique<DspWorker>(wc));
    shares_.push_back(std::make_unique<WorkerShare>(owned_.back().get(), wc));
  }
  note_on_seq_.assign(config.voices, 0);
  for (const auto& spec : dsp::kParamSpecs) {
    param_values_[static_cast<size_t>(spec.id)].store(spec.default_value);
  }
  mix_.assign(config.block_frames, 0.0f);
  if (config.sample_layer != nullptr) {
    layer_out_.assign(2 * static_cast<size_t>(config.block_frames), 0.0f);
    layer_blocks_.assign(n, nullptr);
  }
  left_.assign(config.block_frames, 0.0f);
  right_.assign(config.block_frames, 0.0f);
  gain_.assign(config.block_frames, 0.0f);
  allocator_.Init(config.voices);
  master_gain_.Init(config.sample_rate, 20.0f,
                    dsp::DbToGain(dsp::Spec(dsp::ParamId::kMasterGainDb).default_value));
}

AudioEngine::~AudioEngine() {
  Stop();
  // An abandoned worker's thread is detached. One that has left its loop published that with a
  // release store, which running() reads with acquire: its object may go. One still running (it
  // spins, or is still stalled) may touch its object any time: that object is kept (leaked) for
  // the rest of the process, as AbandonNonRt requires.
  for (auto& worker : owned_) {
    if (worker->running()) static_cast<void>(worker.release());
  }
}

void AudioEngine::Start() {
  for (auto& share : shares_) share->worker()->Start();
}

void AudioEngine::Stop() {
  std::lock_guard lock(workers_mutex_);
  for (auto& worker : owned_) worker->Stop();  // abandoned workers are detached: no-op
}

std::vector<DspWorker*> AudioEngine::workers() const {
  std::vector<DspWorker*> out;
  for (const auto& share : shares_) out.push_back(share->worker());
  return out;
}

size_t AudioEngine::ReapAbandonedNonRt() {
  std::lock_guard lock(workers_mutex_);
  // running() is an acquire load of the thread's last store: after it reads false, the thread
  // touches its object no more.
  return std::erase_if(owned_, [](const std::unique_ptr<DspWorker>& worker) {
    return worker->abandoned() && !worker->running();
  });
}

DspWorker* AudioEngine::CreateReplacementNonRt(size_t index, int cpu) {
  DspWorkerConfig wc = shares_[index]->config();
  wc.cpu = cpu;
  wc.prefill = false;
  wc.threaded = true;
  auto worker = std::make_unique<DspWorker>(wc);
  worker->Start();
  std::lock_guard lock(workers_mutex_);
  owned_.push_back(std::move(worker));
  return owned_.back().get();
}

void AudioEngine::SendRt(uint32_t voice, WorkerCommand command) {
  const uint32_t n = config_.workers;
  command.slot = static_cast<uint16_t>(voice / n);
  command.frame = event_frame_;
  if (!shares_[voice % n]->SendRt(command)) {
    dropped_commands_.fetch_add(1, std::memory_order_relaxed);
  }
}

void AudioEngine::BroadcastRt(const WorkerCommand& command) {
  WorkerCommand stamped = command;
  stamped.frame = event_frame_;
  for (auto& share : shares_) {
    if (!share->SendRt(stamped)) dropped_commands_.fetch_add(1, std::memory_order_relaxed);
  }
}

void AudioEngine::DispatchRt(const Command& command, uint64_t block_start) {
  // Frames before the block the workers render next cannot be honoured any more: at once.
  if (command.frame != 0 && command.frame < block_start) {
    late_events_.fetch_add(1, std::memory_order_relaxed);
  }
  event_frame_ = command.frame > block_start ? command.frame : block_start;
  ApplyRt(command);
}

void AudioEngine::RouteAndDispatchRt(const Command& command, uint64_t block_start) {
  if (layer_host_ == nullptr) {
    DispatchRt(command, block_start);
    return;
  }
  Command synth = command;
  if (layer_host_->RouteRt(command, block_start, &synth)) {
    DispatchRt(synth, block_start);  // counts a late frame
  } else if (command.frame != 0 && command.frame < block_start) {
    late_events_.fetch_add(1, std::memory_order_relaxed);
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
          shares_[static_cast<uint32_t>(voice) % config_.workers]->commands_sent_rt();
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
      param_values_[static_cast<size_t>(command.param)].store(command.value,
                                                              std::memory_order_relaxed);
      param_changes_.fetch_add(1, std::memory_order_release);
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

void AudioEngine::MixSampleLayerRt() {
  uint32_t usable = 0;
  for (size_t w = 0; w < shares_.size(); ++w) {
    layer_blocks_[w] = shares_[w]->block_rt();
    if (shares_[w]->mode() == WorkerShare::Mode::kWorker) usable |= 1u << w;
  }
  SampleLayer& layer = *config_.sample_layer;
  if (config_.audio_thread_renders) layer.SetAudioThreadWorkRt(0, audio_other_ns_);
  layer.MixPeriodRt(layer_blocks_.data(), usable, layer_out_.data());
  for (size_t i = 0; i < layer.synth_command_count_rt(); ++i) ApplyRt(layer.synth_command_rt(i));
}

void AudioEngine::RenderPeriodRt(int32_t* out) {
  const uint32_t n = config_.workers;
  const uint32_t frames = config_.block_frames;
  const bool renders_share = config_.audio_thread_renders && config_.sample_layer != nullptr;
  const int64_t period_start_ns = renders_share ? hal::MonotonicNs() : 0;

  // 1. Collect the blocks rendered for this period (or engage the standby path for a late one)
  //    and learn which voices have finished.
  for (uint32_t w = 0; w < n; ++w) {
    WorkerShare& share = *shares_[w];
    if (!share.BeginPeriodRt()) late_blocks_.fetch_add(1, std::memory_order_relaxed);
    for (uint32_t voice = w; voice < config_.voices; voice += n) {
      if (allocator_.note(voice) >= 0 && share.ReportsSilentRt(voice / n, note_on_seq_[voice])) {
        allocator_.MarkFree(voice);
      }
    }
  }

  // 2. Apply control commands. The workers render next the block starting at `block_start`
  //    (lookahead_blocks after this period's): immediate commands take effect at its start;
  //    scheduled ones wait in the scheduler until their frame falls into it, and are sent in
  //    frame order so that each share's commands stay in nondecreasing frame order.
  const uint64_t period_start = next_period_frame();
  for (auto& share : shares_) share->SetPeriodFrameRt(period_start);
  const uint64_t block_start = period_start + uint64_t{config_.lookahead_blocks} * frames;
  const uint64_t block_end = block_start + frames;
  // With sound layers (FluidSynth, generative), the host takes its share of a command when the
  // command is due (RouteAndDispatchRt), so that its layers play it on its frame too.
  Command command;
  for (int i = 0; i < kMaxCommandsPerPeriod && control_.popRt(&command); ++i) {
    if (command.frame == 0 || command.frame < block_start) {
      RouteAndDispatchRt(command, block_start);
    } else if (scheduler_.PushRt(command)) {
      scheduled_events_.fetch_add(1, std::memory_order_relaxed);
    } else {
      scheduler_overflows_.fetch_add(1, std::memory_order_relaxed);
      command.frame = 0;
      RouteAndDispatchRt(command, block_start);
    }
  }
  for (int i = 0; i < kMaxCommandsPerPeriod && scheduler_.HasDueRt(block_end); ++i) {
    RouteAndDispatchRt(scheduler_.PopRt(), block_start);
  }
  pending_events_.store(static_cast<uint32_t>(scheduler_.size()), std::memory_order_relaxed);
  if (layer_host_ != nullptr) {
    const uint64_t frame = periods_.load(std::memory_order_relaxed) * frames;
    const uint32_t count = layer_host_->BeginPeriodRt(frame, frames, host_commands_.data(),
                                                      static_cast<uint32_t>(host_commands_.size()));
    for (uint32_t i = 0; i < count; ++i) DispatchRt(host_commands_[i], block_start);
  }
  active_voices_.store(static_cast<uint32_t>(allocator_.ActiveCount()), std::memory_order_relaxed);
  if (config_.sample_layer != nullptr) MixSampleLayerRt();

  // 3. Mix and hand the blocks back so the workers render the next period now.
  for (uint32_t i = 0; i < frames; ++i) mix_[i] = 0.0f;
  // Last to first: a share the audio thread renders itself (share 0, audio_thread_renders) does so
  // in its MixAndReleaseRt, after the worker threads were given their blocks.
  for (auto share = shares_.rbegin(); share != shares_.rend(); ++share) {
    (*share)->MixAndReleaseRt(mix_.data(), frames);
  }

  // 4. Master gain (smoothed per sample), soft clip, 24-bit quantisation into int32 frames.
  if (layer_host_ != nullptr) {
    layer_host_->MixRt(mix_.data(), left_.data(), right_.data(), frames);
  } else {
    std::copy(mix_.begin(), mix_.end(), left_.begin());
    std::copy(mix_.begin(), mix_.end(), right_.begin());
  }
  if (!layer_out_.empty()) {  // the sample layer's stereo on top
    for (uint32_t i = 0; i < frames; ++i) {
      left_[i] += layer_out_[2 * i];
      right_[i] += layer_out_[2 * i + 1];
    }
  }
  WriteOutputRt(out);
  if (renders_share) {  // the audio thread's own work besides share 0, for the layer's balance
    const auto took = static_cast<uint64_t>(hal::MonotonicNs() - period_start_ns);
    const uint64_t share = shares_[0]->worker()->last_render_ns();
    audio_other_ns_ = took > share ? took - share : 0;
  }
  periods_.fetch_add(1, std::memory_order_relaxed);
}

namespace {

// A soft-clipped sample (|y| <= 1) as a 24-bit value in the top bits of an int32, rounded to
// nearest (halves away from zero): plain arithmetic and a truncating conversion, which a loop
// vectorises (std::lrint is a libm call unless errno is given up for the whole build).
inline int32_t ToS24In32(float y) {
  const float scaled = y * 8388607.0f;
  return static_cast<int32_t>(scaled + std::copysign(0.5f, scaled)) * 256;
}

}  // namespace

void AudioEngine::WriteOutputRt(int32_t* __restrict out) {
  const uint32_t frames = config_.block_frames;
  const uint32_t channels = config_.channels;
  // The gain smoother runs sample by sample (each step depends on the last); everything after it
  // is one vectorisable pass per buffer.
  float* __restrict gain = gain_.data();
  for (uint32_t i = 0; i < frames; ++i) gain[i] = master_gain_.Process();
  float* __restrict left = left_.data();
  float* __restrict right = right_.data();
  for (uint32_t i = 0; i < frames; ++i) left[i] = dsp::SoftClip(left[i] * gain[i]);
  for (uint32_t i = 0; i < frames; ++i) right[i] = dsp::SoftClip(right[i] * gain[i]);
  if (channels == 1) {
    for (uint32_t i = 0; i < frames; ++i) out[i] = ToS24In32((left[i] + right[i]) * 0.5f);
  } else if (channels == 2) {
    // A size_t index: with uint32_t, 2 * i may wrap, and GCC 12 leaves the interleave scalar.
    for (size_t i = 0; i < frames; ++i) {
      out[2 * i] = ToS24In32(left[i]);
      out[2 * i + 1] = ToS24In32(right[i]);
    }
  } else {
    for (uint32_t i = 0; i < frames; ++i) {
      for (uint32_t c = 0; c < channels; ++c) {
        out[i * channels + c] = ToS24In32(c % 2 == 0 ? left[i] : right[i]);
      }
    }
  }
}

}  // namespace chronus::firmware
