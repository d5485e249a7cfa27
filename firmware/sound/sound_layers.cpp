#include "firmware/sound/sound_layers.h"

#include <algorithm>
#include <cmath>

#include "dsp/decibel.h"

namespace chronus::firmware {

std::vector<int> AssignFluidChannels(const std::vector<LayerConfig>& layers) {
  std::vector<int> channels(layers.size(), -1);
  std::bitset<16> used;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].target == LayerConfig::Target::kFluid && layers[i].bank == 128 && !used[9]) {
      channels[i] = 9;
      used[9] = true;
    }
  }
  int next = 0;
  for (size_t i = 0; i < layers.size(); ++i) {
    if (layers[i].target != LayerConfig::Target::kFluid || channels[i] >= 0) continue;
    while (next < 16 && (used[static_cast<size_t>(next)] || next == 9)) ++next;
    if (next >= 16) break;  // more FluidSynth layers than channels: the rest stay silent
    channels[i] = next;
    used[static_cast<size_t>(next)] = true;
  }
  return channels;
}

SoundLayers::SoundLayers(const SoundPatch& patch, FluidWorker* fluid, float sample_rate)
    : layers_(patch.layers), fluid_channels_(AssignFluidChannels(patch.layers)), fluid_(fluid) {
  for (const LayerConfig& layer : layers_) {
    if (layer.target != LayerConfig::Target::kSynth) continue;
    const float gain = dsp::DbToGain(static_cast<float>(layer.gain_db));
    const float pan = static_cast<float>(layer.pan);
    synth_left_ = gain * std::min(1.0f, 1.0f - pan);
    synth_right_ = gain * std::min(1.0f, 1.0f + pan);
    break;  // the synth voices are one source: the first synth layer's gain and pan
  }
  decay_ = std::exp(-1.0f / (0.003f * sample_rate));
}

void SoundLayers::SendFluidRt(const FluidEvent& event) {
  if (fluid_ == nullptr) return;
  if (fluid_->pushEventRt(event)) {
    fluid_events_.fetch_add(1, std::memory_order_relaxed);
  } else {
    fluid_dropped_.fetch_add(1, std::memory_order_relaxed);
  }
}

bool SoundLayers::RouteNoteRt(uint8_t channel, uint8_t note, float velocity, uint32_t offset,
                              Command* synth) {
  bool to_synth = false;
  for (size_t i = 0; i < layers_.size(); ++i) {
    const LayerConfig& layer = layers_[i];
    if ((layer.channels & (1u << (channel & 15))) == 0) continue;
    if (note < layer.key_low || note > layer.key_high) continue;
    const int key = note + layer.transpose;
    if (key < 0 || key > 127) continue;
    if (layer.target == LayerConfig::Target::kSynth) {
      if (to_synth) continue;  // one synth voice per note
      to_synth = true;
      *synth = Command{velocity > 0.0f ? CommandType::kNoteOn : CommandType::kNoteOff,
                       static_cast<uint8_t>(key), dsp::ParamId::kCutoffHz, velocity, channel};
      continue;
    }
    const int fluid_channel = fluid_channels_[i];
    if (fluid_channel < 0) continue;
    FluidEvent event;
    event.channel = static_cast<uint8_t>(fluid_channel);
    event.key = static_cast<uint8_t>(key);
    event.offset = offset;
    if (velocity > 0.0f) {
      event.type = FluidEvent::Type::kNoteOn;
      event.velocity = static_cast<uint8_t>(std::clamp(std::lround(velocity * 127.0f), 1L, 127L));
    } else {
      event.type = FluidEvent::Type::kNoteOff;
    }
    SendFluidRt(event);
  }
  return to_synth;
}

bool SoundLayers::RouteRt(const Command& command, uint64_t block_start, Command* synth) {
  switch (command.type) {
    case CommandType::kNoteOn:
    case CommandType::kNoteOff: {
      const float velocity = command.type == CommandType::kNoteOn ? command.value : 0.0f;
      const uint8_t channel = command.channel & 15;
      const uint8_t key = command.note & 127;
      if (command.generation != 0) {
        if (command.generation != generation_.load(std::memory_order_acquire)) {
          gen_cancelled_.fetch_add(1, std::memory_order_relaxed);
          return false;
        }
        if (command.frame < block_start) gen_late_.fetch_add(1, std::memory_order_relaxed);
        gen_played_.fetch_add(1, std::memory_order_relaxed);
        gen_held_[channel][key] = velocity > 0.0f ? command.generation : 0;
      }
      // The synth voices' part keeps the command's frame; FluidSynth plays its part at the same
      // offset into the block its worker renders next (the block the synth workers render next:
      // both render lookahead_blocks ahead).
      const uint32_t offset =
          command.frame > block_start ? static_cast<uint32_t>(command.frame - block_start) : 0;
      if (!RouteNoteRt(channel, key, velocity, offset, synth)) return false;
      synth->frame = command.frame;
      return true;
    }
    case CommandType::kAllNotesOff:
      SendFluidRt(FluidEvent{FluidEvent::Type::kAllNotesOff});
      *synth = command;
      return true;
    case CommandType::kSetParam:
      *synth = command;
      return true;
  }
  return false;
}

uint32_t SoundLayers::BeginPeriodRt(uint64_t frame, uint32_t frames, Command* synth,
                                    uint32_t capacity) {
  frame_now_.store(frame, std::memory_order_release);
  uint32_t count = 0;
  const uint16_t generation = generation_.load(std::memory_order_acquire);
  if (generation != seen_generation_) {
    // A new generative generation: release what the older ones left sounding.
    seen_generation_ = generation;
    for (uint8_t channel = 0; channel < 16; ++channel) {
      for (uint8_t note = 0; note < 128; ++note) {
        const uint16_t held = gen_held_[channel][note];
        if (held == 0 || held == generation) continue;
        gen_held_[channel][note] = 0;
        Command off{CommandType::kNoteOff};
        if (RouteNoteRt(channel, note, 0.0f, 0, &off) && count < capacity) synth[count++] = off;
      }
    }
  }
  const uint32_t epoch = epoch_.load(std::memory_order_acquire);
  if (epoch != seen_epoch_) {
    // A new generation: release what the old one left sounding.
    seen_epoch_ = epoch;
    for (uint8_t channel = 0; channel < 16; ++channel) {
      if (timed_held_[channel].none()) continue;
      for (uint8_t note = 0; note < 128; ++note) {
        if (!timed_held_[channel][note]) continue;
        Command off{CommandType::kNoteOff};
        if (RouteNoteRt(channel, note, 0.0f, 0, &off) && count < capacity) synth[count++] = off;
      }
      timed_held_[channel].reset();
    }
  }
  const uint64_t end = frame + frames;
  while (count + 1 < capacity && timed_.read_available() > 0) {
    const TimedNote& next = timed_.front();
    if (next.epoch == epoch && next.frame >= end) break;
    const TimedNote note = next;
    timed_.pop();
    if (note.epoch != epoch) continue;
    if (note.frame < frame) timed_late_.fetch_add(1, std::memory_order_relaxed);
    timed_played_.fetch_add(1, std::memory_order_relaxed);
    const uint32_t offset = note.frame > frame ? static_cast<uint32_t>(note.frame - frame) : 0;
    const uint8_t channel = note.channel & 15;
    const uint8_t key = note.note & 127;
    timed_held_[channel][key] = note.velocity > 0.0f;
    Command command{CommandType::kNoteOn};
    if (RouteNoteRt(channel, key, note.velocity, offset, &command)) synth[count++] = command;
  }
  return count;
}

void SoundLayers::MixRt(const float* synth_mono, float* left, float* right, uint32_t frames) {
  for (uint32_t i = 0; i < frames; ++i) {
    left[i] = synth_mono[i] * synth_left_;
    right[i] = synth_mono[i] * synth_right_;
  }
  if (fluid_ == nullptr) return;
  FluidBlock* block = fluid_->popBlockRt();
  if (block != nullptr) {
    const uint32_t n = std::min(frames, block->frames);
    if (fluid_stalled_) {  // back from a stall: fade in over the block
      const float step = 1.0f / static_cast<float>(n);
      for (uint32_t i = 0; i < n; ++i) {
        const float g = static_cast<float>(i) * step;
        left[i] += block->left[i] * g;
        right[i] += block->right[i] * g;
      }
      fluid_stalled_ = false;
    } else {
      for (uint32_t i = 0; i < n; ++i) {
        left[i] += block->left[i];
        right[i] += block->right[i];
      }
    }
    last_left_ = block->left[n - 1];
    last_right_ = block->right[n - 1];
    if (!fluid_->EndPeriodRt()) fluid_dropped_.fetch_add(1, std::memory_order_relaxed);
    fluid_->returnBlockRt(block);
    return;
  }
  // Late: the layer is silent for the stall, faded out from its last sample (no click).
  fluid_late_.fetch_add(1, std::memory_order_relaxed);
  if (!fluid_stalled_) fluid_stalls_.fetch_add(1, std::memory_order_relaxed);
  fluid_stalled_ = true;
  for (uint32_t i = 0; i < frames; ++i) {
    last_left_ *= decay_;
    last_right_ *= decay_;
    left[i] += last_left_;
    right[i] += last_right_;
  }
  if (!fluid_->EndPeriodRt()) fluid_dropped_.fetch_add(1, std::memory_order_relaxed);
}

}  // namespace chronus::firmware
