// Note -> voice slot assignment (pure logic).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>

#include "dsp/synth_params.h"

namespace chronus::dsp {

/// Assigns notes to voice slots, deterministically. A slot is free, held (gate on) or released
/// (gate off, release still sounding until the rendering side reports it finished via
/// MarkFree). NoteOn takes the free slot that has been unused longest (so load rotates over all
/// slots, whichever way they are split between workers; ties -> lowest slot), else steals the
/// released slot of the oldest note-on (it is already fading out), else the held slot of the
/// oldest note-on. O(num_voices) per call, no allocation.
class VoiceAllocator {
 public:
  enum class SlotState : uint8_t { kFree, kHeld, kReleased };

  struct NoteOnResult {
    int slot = -1;         ///< Slot to start the note on; -1 only when num_voices is 0.
    bool stole = false;    ///< The slot was sounding and is being retriggered.
    int stolen_note = -1;  ///< Note that was playing on the stolen slot, else -1.
  };

  /// `num_voices` slots (clamped to 1..kMaxVoices), all free.
  void Init(size_t num_voices = 16);
  /// Frees every slot.
  void Reset();
  /// Picks a slot for `note`. RT-safe.
  NoteOnResult NoteOn(int note);
  /// Releases the most recently started held slot playing `note`; returns it, or -1 when no
  /// held slot plays it (e.g. it was stolen). RT-safe.
  int NoteOff(int note);
  /// Frees `slot` if it is released (its voice finished); returns whether it did. Held or free
  /// slots are left alone, so a stale report after a steal cannot free a sounding voice. RT-safe.
  bool MarkFree(size_t slot);

  size_t num_voices() const { return num_voices_; }
  /// Held plus released slots.
  size_t ActiveCount() const { return held_ + released_; }
  size_t HeldCount() const { return held_; }
  size_t ReleasedCount() const { return released_; }
  SlotState state(size_t slot) const { return slots_[slot].state; }
  /// Note of a held or released slot, -1 for a free one.
  int note(size_t slot) const {
    return slots_[slot].state == SlotState::kFree ? -1 : slots_[slot].note;
  }

 private:
  struct Slot {
    uint64_t stamp = 0;  // note-on order of the last note started here; 0 = never used
    int note = -1;
    SlotState state = SlotState::kFree;
  };
  void SetState(Slot& s, SlotState state);

  std::array<Slot, kMaxVoices> slots_{};
  size_t num_voices_ = 0;
  size_t held_ = 0;
  size_t released_ = 0;
  uint64_t clock_ = 0;
};

}  // namespace chronus::dsp
