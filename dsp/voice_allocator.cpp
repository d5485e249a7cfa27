#include "dsp/voice_allocator.h"

#include <algorithm>

namespace chronus::dsp {

void VoiceAllocator::Init(size_t num_voices) {
  num_voices_ = std::clamp<size_t>(num_voices, 1, kMaxVoices);
  Reset();
}

void VoiceAllocator::Reset() {
  slots_.fill(Slot{});
  held_ = 0;
  released_ = 0;
  clock_ = 0;
}

void VoiceAllocator::SetState(Slot& s, SlotState state) {
  held_ -= s.state == SlotState::kHeld ? 1 : 0;
  released_ -= s.state == SlotState::kReleased ? 1 : 0;
  s.state = state;
  held_ += state == SlotState::kHeld ? 1 : 0;
  released_ += state == SlotState::kReleased ? 1 : 0;
}

VoiceAllocator::NoteOnResult VoiceAllocator::NoteOn(int note) {
  NoteOnResult r;
  // Preference: a free slot, else a released one (already fading out), else a held one; within
  // a class the oldest note-on wins. Stealing a fading voice is the least audible steal.
  auto rank = [](SlotState state) {
    return state == SlotState::kFree ? 0 : state == SlotState::kReleased ? 1 : 2;
  };
  size_t best = num_voices_;
  for (size_t i = 0; i < num_voices_; ++i) {
    const Slot& s = slots_[i];
    if (best == num_voices_) {
      best = i;
      continue;
    }
    const Slot& b = slots_[best];
    const int rs = rank(s.state), rb = rank(b.state);
    if (rs < rb || (rs == rb && s.stamp < b.stamp)) best = i;
  }
  const bool best_free = best < num_voices_ && slots_[best].state == SlotState::kFree;
  if (best == num_voices_) return r;
  Slot& s = slots_[best];
  r.slot = static_cast<int>(best);
  r.stole = !best_free;
  r.stolen_note = best_free ? -1 : s.note;
  s.stamp = ++clock_;
  s.note = note;
  SetState(s, SlotState::kHeld);
  return r;
}

int VoiceAllocator::NoteOff(int note) {
  size_t best = num_voices_;
  for (size_t i = 0; i < num_voices_; ++i) {
    const Slot& s = slots_[i];
    if (s.state == SlotState::kHeld && s.note == note &&
        (best == num_voices_ || s.stamp > slots_[best].stamp)) {
      best = i;
    }
  }
  if (best == num_voices_) return -1;
  SetState(slots_[best], SlotState::kReleased);
  return static_cast<int>(best);
}

bool VoiceAllocator::MarkFree(size_t slot) {
  if (slot >= num_voices_ || slots_[slot].state != SlotState::kReleased) return false;
  SetState(slots_[slot], SlotState::kFree);
  return true;
}

}  // namespace chronus::dsp
