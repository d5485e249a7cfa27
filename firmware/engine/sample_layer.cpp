#include "firmware/engine/sample_layer.h"

#include <algorithm>
#include <cmath>

namespace chronus::firmware {

namespace {

bool Earlier(uint64_t frame_a, uint64_t order_a, uint64_t frame_b, uint64_t order_b) {
  return frame_a < frame_b || (frame_a == frame_b && order_a < order_b);
}

}  // namespace

SampleLayer::SampleLayer(const SampleLayerConfig& config) : config_(config) {
  config_.workers = std::max<uint32_t>(1, config.workers);
  config_.orbits = std::clamp<uint32_t>(config.orbits, 1, dsp::kMaxOrbits);
  config_.block_frames = std::min(config.block_frames, dsp::SampleVoice::kMaxBlockFrames);
  per_worker_ = std::max<uint32_t>(1, (config.voices + config_.workers - 1) / config_.workers);
  const size_t bus_floats =
      static_cast<size_t>(config_.orbits) * dsp::kOrbitChannels * config_.block_frames;
  for (uint32_t w = 0; w < config_.workers; ++w) {
    auto state = std::make_unique<WorkerState>();
    state->bank.Init(config.sample_rate, per_worker_);
    state->blocks.resize(std::max<uint32_t>(1, config.lookahead_blocks));
    auto init = [&](BlockOut& block) {
      block.storage.assign(bus_floats, 0.0f);
      block.buses = {block.storage.data(), config_.block_frames, config_.orbits};
      block.active.assign(per_worker_, 0);
    };
    init(state->standby);
    for (BlockOut& block : state->blocks) init(block);
    state->start_seq.assign(per_worker_, 0);
    workers_.push_back(std::move(state));
  }
  heap_.resize(kPendingCapacity);
  allocator_.Init(config_.workers, per_worker_);
  effects_.resize(config_.orbits);
  for (auto& fx : effects_) fx.Init(config.sample_rate, config.max_delay_s);
  effect_params_.assign(config_.orbits, dsp::OrbitEffectParams{});
  mix_storage_.assign(bus_floats, 0.0f);
  mix_ = {mix_storage_.data(), config_.block_frames, config_.orbits};
  out_left_.assign(config_.block_frames, 0.0f);
  out_right_.assign(config_.block_frames, 0.0f);
  synth_commands_.assign(kMaxSynthCommands, Command{CommandType::kNoteOff});
  retire_seq_.assign(config_.workers, 0);
  applied_seen_.assign(config_.workers, 0);
  outs_.assign(config_.workers, nullptr);
}

SampleLayer::~SampleLayer() {
  delete current_.load();
  delete offered_.load();
  delete retired_.load();
  delete retiring_;
}

bool SampleLayer::PushEventNonRt(const DirtEvent& event) {
  if (events_.push(event)) return true;
  dropped_.fetch_add(1, std::memory_order_relaxed);
  return false;
}

void SampleLayer::SetInitialBankNonRt(std::unique_ptr<SampleBank> bank) {
  delete current_.exchange(bank.release(), std::memory_order_acq_rel);
  bank_rt_ = current_.load();
}

bool SampleLayer::OfferBankNonRt(std::unique_ptr<SampleBank>& bank) {
  SampleBank* expected = nullptr;
  if (!offered_.compare_exchange_strong(expected, bank.get(), std::memory_order_acq_rel)) {
    return false;
  }
  bank.release();
  return true;
}

std::unique_ptr<SampleBank> SampleLayer::TakeRetiredBankNonRt() {
  return std::unique_ptr<SampleBank>(retired_.exchange(nullptr, std::memory_order_acq_rel));
}

bool SampleLayer::RenderWorkerRt(int worker, uint32_t slot, uint64_t start_frame, uint32_t frames) {
  WorkerState& ws = *workers_[static_cast<size_t>(worker)];
  if (ws.rendering.exchange(true, std::memory_order_acquire)) {
    collisions_.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  const bool due = start_frame >= ws.next_frame;
  if (due) {
    RenderStateRt(ws, ws.blocks[slot % ws.blocks.size()], start_frame, frames);
  } else {
    stale_.fetch_add(1, std::memory_order_relaxed);
  }
  ws.rendering.store(false, std::memory_order_release);
  return due;
}

void SampleLayer::RenderStateRt(WorkerState& ws, BlockOut& out, uint64_t start_frame,
                                uint32_t frames) {
  // Commands sent for this block (or, should one have been skipped, an earlier one: at once);
  // those for later blocks stay queued.
  while (ws.commands.read_available() > 0 && ws.commands.front().block_start <= start_frame) {
    const WorkerCommandPacket& packet = ws.commands.front();
    const uint32_t offset = packet.block_start == start_frame ? packet.offset : 0;
    switch (packet.type) {
      case WorkerCommandPacket::kStart:
        ws.bank.Start(packet.slot, packet.play, offset);
        break;
      case WorkerCommandPacket::kCut:
        ws.bank.Cut(packet.slot, offset);
        break;
      case WorkerCommandPacket::kCutAll:
        ws.bank.CutAll();
        break;
    }
    ws.commands.pop();
    ++ws.applied;
  }
  const uint32_t n = std::min(frames, config_.block_frames);
  out.masks = ws.bank.Render(out.buses, n);
  for (uint32_t v = 0; v < per_worker_; ++v) out.active[v] = ws.bank.IsActive(v) ? 1 : 0;
  out.commands_applied = ws.applied;
  out.start_frame = start_frame;
  ws.next_frame = start_frame + frames;
}

const SampleLayer::BlockOut* SampleLayer::RenderStandbyRt(uint32_t worker, uint64_t start_frame) {
  WorkerState& ws = *workers_[worker];
  if (ws.rendering.exchange(true, std::memory_order_acquire)) {
    standby_misses_.fetch_add(1, std::memory_order_relaxed);
    return nullptr;
  }
  const BlockOut* out = nullptr;
  if (start_frame >= ws.next_frame) {
    RenderStateRt(ws, ws.standby, start_frame, config_.block_frames);
    out = &ws.standby;
  } else {
    // The worker's thread came back and rendered this period's block before the audio thread
    // got to it; that block is parked by its share (not handed back to the worker), so the
    // worker cannot render into its slot again while we read it.
    for (const BlockOut& block : ws.blocks) {
      if (block.start_frame == start_frame) out = &block;
    }
  }
  ws.rendering.store(false, std::memory_order_release);
  if (out == nullptr) {
    standby_misses_.fetch_add(1, std::memory_order_relaxed);
  } else {
    standby_blocks_.fetch_add(1, std::memory_order_relaxed);
  }
  return out;
}

bool SampleLayer::SendRt(uint32_t worker, WorkerCommandPacket packet) {
  WorkerState& ws = *workers_[worker];
  packet.block_start = send_block_;
  if (!ws.commands.push(packet)) return false;
  ++ws.sent;
  return true;
}

void SampleLayer::PushPendingRt(const Pending& pending) {
  if (heap_size_ == heap_.size()) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  size_t i = heap_size_++;
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (!Earlier(pending.frame, pending.order, heap_[parent].frame, heap_[parent].order)) break;
    heap_[i] = heap_[parent];
    i = parent;
  }
  heap_[i] = pending;
}

void SampleLayer::PopPendingRt() {
  const Pending last = heap_[--heap_size_];
  size_t i = 0;
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= heap_size_) break;
    if (child + 1 < heap_size_ && Earlier(heap_[child + 1].frame, heap_[child + 1].order,
                                          heap_[child].frame, heap_[child].order)) {
      ++child;
    }
    if (!Earlier(heap_[child].frame, heap_[child].order, last.frame, last.order)) break;
    heap_[i] = heap_[child];
    i = child;
  }
  heap_[i] = last;
}

void SampleLayer::SwapBankRt() {
  if (retiring_ != nullptr) {
    // Free the old bank once every worker has rendered a block that applied the CutAll, and
    // the cut fades are over.
    bool done = period_ >= retire_after_period_;
    for (uint32_t w = 0; w < config_.workers && done; ++w)
      done = applied_seen_[w] >= retire_seq_[w];
    if (done && retired_.load(std::memory_order_acquire) == nullptr) {
      retired_.store(const_cast<SampleBank*>(retiring_), std::memory_order_release);
      retiring_ = nullptr;
    }
    return;
  }
  SampleBank* offered = offered_.load(std::memory_order_acquire);
  if (offered == nullptr) return;
  offered_.store(nullptr, std::memory_order_release);
  retiring_ = bank_rt_;
  bank_rt_ = offered;
  current_.store(offered, std::memory_order_release);
  swaps_.fetch_add(1, std::memory_order_relaxed);
  WorkerCommandPacket cut_all;
  cut_all.type = WorkerCommandPacket::kCutAll;
  for (uint32_t w = 0; w < config_.workers; ++w) {
    if (!SendRt(w, cut_all)) dropped_.fetch_add(1, std::memory_order_relaxed);
    retire_seq_[w] = workers_[w]->sent;
  }
  // The cut fade (kCutFadeTime) and the lookahead are over after a few blocks.
  const auto fade_blocks = static_cast<uint64_t>(std::ceil(
      dsp::kCutFadeTime * config_.sample_rate / static_cast<float>(config_.block_frames)));
  retire_after_period_ = period_ + config_.lookahead_blocks + fade_blocks + 2;
  if (retiring_ == nullptr) retire_after_period_ = 0;
}

void SampleLayer::DispatchRt(const Pending& pending, uint64_t block_start) {
  const DirtEvent& e = pending.event;
  uint32_t offset = 0;
  if (pending.frame >= block_start) {
    offset = static_cast<uint32_t>(pending.frame - block_start);
  } else if (pending.frame != 0) {
    late_.fetch_add(1, std::memory_order_relaxed);
  }
  if (e.kind == DirtEvent::Kind::kSynth) {
    if (synth_count_ < synth_commands_.size()) {
      synth_commands_[synth_count_++] =
          pending.note_off
              ? Command{CommandType::kNoteOff, e.midi_note}
              : Command{CommandType::kNoteOn, e.midi_note, dsp::ParamId::kCutoffHz, e.velocity};
    } else {
      dropped_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    if (!pending.note_off) {
      Pending off = pending;
      off.note_off = true;
      off.frame = std::max(pending.frame, block_start) +
                  static_cast<uint64_t>(std::max(0.0f, e.duration_s) * config_.sample_rate);
      off.order = order_++;
      PushPendingRt(off);
      played_.fetch_add(1, std::memory_order_relaxed);
    }
    return;
  }
  const SampleBank* bank = bank_rt_;
  const int64_t key = bank != nullptr ? bank->IndexOf(e.s, e.s_hash, e.n) : -1;
  if (key < 0) {
    unknown_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  const dsp::SampleView* sample = bank->Find(e.s, e.s_hash, e.n);
  const uint32_t orbit = e.orbit < config_.orbits ? e.orbit : 0;
  dsp::OrbitEffectParams& params = effect_params_[orbit];
  if (e.size >= 0.0f || e.delay_time_s >= 0.0f || e.delay_feedback >= 0.0f) {
    if (e.size >= 0.0f) params.size = e.size;
    if (e.delay_time_s >= 0.0f) params.delay_time_s = e.delay_time_s;
    if (e.delay_feedback >= 0.0f) params.delay_feedback = e.delay_feedback;
    effects_[orbit].Set(params);
  }
  const auto sample_key = static_cast<uint32_t>(key);
  allocator_.ForEachCut(orbit, e.cut, sample_key, [&](int w, int slot) {
    WorkerCommandPacket cut;
    cut.type = WorkerCommandPacket::kCut;
    cut.slot = static_cast<uint16_t>(slot);
    cut.offset = offset;
    if (!SendRt(static_cast<uint32_t>(w), cut)) dropped_.fetch_add(1, std::memory_order_relaxed);
  });
  uint32_t usable = 0;
  for (uint32_t w = 0; w < config_.workers; ++w) {
    if (workers_[w]->commands.write_available() > 0) usable |= 1u << w;
  }
  const dsp::SampleVoiceAllocator::Slot slot =
      allocator_.Allocate(orbit, e.cut, sample_key, usable & usable_mask_);
  if (slot.worker < 0) {
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  if (slot.stole) stolen_.fetch_add(1, std::memory_order_relaxed);
  WorkerCommandPacket start;
  start.type = WorkerCommandPacket::kStart;
  start.slot = static_cast<uint16_t>(slot.slot);
  start.offset = offset;
  dsp::SamplePlay& p = start.play;
  p.sample = *sample;
  p.rate = e.rate;
  p.begin = e.begin;
  p.end = e.end;
  p.amp = e.amp;
  p.pan = e.pan;
  p.sustain_s = e.sustain_s;
  p.attack_s = e.attack_s;
  p.release_s = e.release_s;
  p.lpf_hz = e.lpf_hz;
  p.lpf_resonance = e.lpf_resonance;
  p.hpf_hz = e.hpf_hz;
  p.hpf_resonance = e.hpf_resonance;
  p.shape = e.shape;
  p.room = e.room;
  p.delay = e.delay;
  p.orbit = orbit;
  const auto w = static_cast<uint32_t>(slot.worker);
  if (!SendRt(w, start)) {
    allocator_.MarkFree(w, static_cast<uint32_t>(slot.slot));
    dropped_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  workers_[w]->start_seq[static_cast<size_t>(slot.slot)] = workers_[w]->sent;
  played_.fetch_add(1, std::memory_order_relaxed);
}

void SampleLayer::SetAudioThreadWorkRt(int worker, uint64_t other_ns) {
  audio_worker_ = worker;
  audio_other_ns_ += (double(other_ns) - audio_other_ns_) / 16;
}

void SampleLayer::MixPeriodRt(const WorkerBlock* const* blocks, uint32_t usable, float* out) {
  const uint32_t frames = config_.block_frames;
  usable_mask_ = usable;

  // 1. The workers' blocks of this period (a late worker's rendered here: the standby path):
  //    free the voices that ended, sum the orbit buses.
  const uint64_t period_start = period_ * frames;
  dsp::OrbitMasks used;
  for (uint32_t w = 0; w < config_.workers; ++w) {
    const BlockOut* b = nullptr;
    if (blocks[w] != nullptr) {
      if (blocks[w]->layer_rendered) {
        b = &workers_[w]->blocks[blocks[w]->slot % workers_[w]->blocks.size()];
      }
    } else if ((usable & (1u << w)) == 0) {
      b = RenderStandbyRt(w, period_start);
    }
    outs_[w] = b;
    if (b != nullptr) {
      used.dry |= b->masks.dry;
      used.reverb |= b->masks.reverb;
      used.delay |= b->masks.delay;
    }
  }
  for (uint32_t o = 0; o < config_.orbits; ++o) {
    if (((used.dry >> o) & 1u) || effects_[o].reverb_awake() || effects_[o].delay_awake()) {
      mix_.Clear(o);
    }
  }
  uint32_t active = 0;
  uint64_t rendered_ns = 0;
  uint32_t rendered_voices = 0;
  for (uint32_t w = 0; w < config_.workers; ++w) {
    if (outs_[w] == nullptr) {
      for (uint32_t v = 0; v < per_worker_; ++v) active += allocator_.busy(w, v) ? 1 : 0;
      continue;
    }
    WorkerState& ws = *workers_[w];
    const BlockOut& b = *outs_[w];
    applied_seen_[w] = b.commands_applied;
    const bool by_worker = blocks[w] != nullptr;  // else the standby path's (not timed)
    if (by_worker) rendered_ns += blocks[w]->render_ns;
    for (uint32_t v = 0; v < per_worker_; ++v) {
      rendered_voices += by_worker && b.active[v] != 0 ? 1 : 0;
      if (allocator_.busy(w, v) && b.active[v] == 0 && b.commands_applied >= ws.start_seq[v]) {
        allocator_.MarkFree(w, v);
      }
      active += allocator_.busy(w, v) ? 1 : 0;
    }
    for (uint32_t o = 0; o < config_.orbits; ++o) {
      if (((b.masks.dry >> o) & 1u) == 0) continue;
      const float* src = b.buses.channel(o, 0);
      float* dst = mix_.channel(o, 0);
      for (size_t i = 0; i < static_cast<size_t>(dsp::kOrbitChannels) * frames; ++i) {
        dst[i] += src[i];
      }
    }
  }
  active_.store(active, std::memory_order_relaxed);
  if (audio_worker_ >= 0 && rendered_voices > 0) {
    // Smoothed over ~16 periods: one slow block (a page fault, a VM gap) moves it little.
    const double per_voice = double(rendered_ns) / double(rendered_voices);
    ns_per_voice_ += (per_voice - ns_per_voice_) * (ns_per_voice_ == 0 ? 1.0 : 1.0 / 16);
    const double offset = audio_other_ns_ / ns_per_voice_;
    allocator_.SetLoadOffset(static_cast<uint32_t>(audio_worker_),
                             static_cast<uint32_t>(std::clamp(offset, 0.0, double(per_worker_))));
  }

  // 2. Orbit effects after the mix, into the stereo output.
  std::fill(out_left_.begin(), out_left_.end(), 0.0f);
  std::fill(out_right_.begin(), out_right_.end(), 0.0f);
  for (uint32_t o = 0; o < config_.orbits; ++o) {
    const uint32_t bit = 1u << o;
    const bool dry = (used.dry & bit) != 0;
    if (!dry && !effects_[o].reverb_awake() && !effects_[o].delay_awake()) continue;
    effects_[o].Process(mix_, o, dry, (used.reverb & bit) != 0, (used.delay & bit) != 0,
                        out_left_.data(), out_right_.data());
  }
  for (uint32_t i = 0; i < frames; ++i) {
    out[2 * i] = out_left_[i];
    out[2 * i + 1] = out_right_[i];
  }

  // 3. A new bank, at this block boundary. Commands sent from here on are for the block the
  //    workers render next.
  send_block_ = (period_ + config_.lookahead_blocks) * frames;
  SwapBankRt();

  // 4. New events into the schedule; dispatch those due in the blocks the workers render next.
  DirtEvent event;
  for (size_t i = 0; i < kEventQueueCapacity && events_.pop(event); ++i) {
    PushPendingRt(Pending{event.frame, order_++, event, false});
  }
  synth_count_ = 0;
  const uint64_t block_start = (period_ + config_.lookahead_blocks) * frames;
  const uint64_t block_end = block_start + frames;
  while (heap_size_ > 0 && heap_[0].frame < block_end) {
    const Pending due = heap_[0];
    PopPendingRt();
    DispatchRt(due, block_start);
  }
  ++period_;
}

}  // namespace chronus::firmware
