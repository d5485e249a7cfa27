#include "dsp/voice_allocator.h"

#include <gtest/gtest.h>

#include <vector>

namespace chronus::dsp {
namespace {

TEST(DspVoiceAllocator, FillsFreeSlotsFirst) {
  VoiceAllocator a;
  a.Init(4);
  for (int i = 0; i < 4; ++i) {
    const auto r = a.NoteOn(60 + i);
    EXPECT_EQ(r.slot, i);
    EXPECT_FALSE(r.stole);
  }
  EXPECT_EQ(a.ActiveCount(), 4u);
  EXPECT_EQ(a.HeldCount(), 4u);
}

TEST(DspVoiceAllocator, StealsOldestNote) {
  VoiceAllocator a;
  a.Init(3);
  a.NoteOn(60);  // slot 0
  a.NoteOn(61);  // slot 1
  a.NoteOn(62);  // slot 2
  auto r = a.NoteOn(63);
  EXPECT_EQ(r.slot, 0);
  EXPECT_TRUE(r.stole);
  EXPECT_EQ(r.stolen_note, 60);
  r = a.NoteOn(64);
  EXPECT_EQ(r.slot, 1);
  EXPECT_EQ(r.stolen_note, 61);
  // A released (fading) voice is stolen before any held one, even an older held one.
  a.NoteOff(63);
  r = a.NoteOn(65);
  EXPECT_EQ(r.slot, 0);
  EXPECT_EQ(r.stolen_note, 63);
  // With every voice held again, the oldest held note (62 on slot 2) goes.
  r = a.NoteOn(66);
  EXPECT_EQ(r.slot, 2);
  EXPECT_EQ(r.stolen_note, 62);
  EXPECT_EQ(a.ActiveCount(), 3u);
}

TEST(DspVoiceAllocator, StealsOldestReleasedBeforeHeld) {
  VoiceAllocator a;
  a.Init(4);
  for (int n = 60; n < 64; ++n) a.NoteOn(n);  // slots 0..3
  a.NoteOff(63);                              // newest note, released: slot 3
  a.NoteOff(61);                              // older note, released: slot 1
  auto r = a.NoteOn(70);
  EXPECT_EQ(r.slot, 1);  // oldest released
  EXPECT_EQ(r.stolen_note, 61);
  r = a.NoteOn(71);
  EXPECT_EQ(r.slot, 3);  // the other released one
  r = a.NoteOn(72);
  EXPECT_EQ(r.slot, 0);  // then the oldest held (60)
  EXPECT_EQ(r.stolen_note, 60);
}

TEST(DspVoiceAllocator, NoteOffOfStolenNoteDoesNothing) {
  VoiceAllocator a;
  a.Init(2);
  a.NoteOn(60);
  a.NoteOn(61);
  a.NoteOn(62);  // steals 60's slot 0
  EXPECT_EQ(a.NoteOff(60), -1);
  EXPECT_EQ(a.state(0), VoiceAllocator::SlotState::kHeld);
  EXPECT_EQ(a.note(0), 62);
  EXPECT_EQ(a.NoteOff(62), 0);
  EXPECT_EQ(a.NoteOff(62), -1);  // already released
}

TEST(DspVoiceAllocator, FreeSlotReuseAfterMarkFree) {
  VoiceAllocator a;
  a.Init(4);
  a.NoteOn(60);  // 0
  a.NoteOn(61);  // 1
  a.NoteOn(62);  // 2
  EXPECT_EQ(a.NoteOff(61), 1);
  EXPECT_EQ(a.state(1), VoiceAllocator::SlotState::kReleased);
  EXPECT_EQ(a.ActiveCount(), 3u);
  EXPECT_EQ(a.ReleasedCount(), 1u);
  // Still sounding: the new note takes the never-used slot 3, not the releasing slot 1.
  EXPECT_EQ(a.NoteOn(63).slot, 3);
  auto r = a.NoteOn(64);  // all busy: steals the releasing voice (61 on slot 1)
  EXPECT_TRUE(r.stole);
  EXPECT_EQ(r.slot, 1);
  EXPECT_FALSE(a.MarkFree(1));  // a stale "finished" report for the stolen voice is ignored
  EXPECT_EQ(a.NoteOff(60), 0);
  EXPECT_EQ(a.NoteOff(62), 2);
  EXPECT_TRUE(a.MarkFree(0));
  EXPECT_TRUE(a.MarkFree(2));
  EXPECT_EQ(a.ActiveCount(), 2u);
  // Longest-unused free slot first: slot 0 (used at t=1) before slot 2 (t=3).
  r = a.NoteOn(65);
  EXPECT_EQ(r.slot, 0);
  EXPECT_FALSE(r.stole);
  EXPECT_EQ(a.NoteOn(66).slot, 2);
}

TEST(DspVoiceAllocator, MarkFreeIgnoresHeldAndFreeSlots) {
  VoiceAllocator a;
  a.Init(2);
  a.NoteOn(60);
  EXPECT_FALSE(a.MarkFree(0));  // held: a stale report must not free it
  EXPECT_FALSE(a.MarkFree(1));  // already free
  EXPECT_FALSE(a.MarkFree(99));
  EXPECT_EQ(a.ActiveCount(), 1u);
}

TEST(DspVoiceAllocator, NoteOffReleasesMostRecentDuplicate) {
  VoiceAllocator a;
  a.Init(4);
  a.NoteOn(60);  // 0
  a.NoteOn(60);  // 1
  EXPECT_EQ(a.NoteOff(60), 1);
  EXPECT_EQ(a.NoteOff(60), 0);
  EXPECT_EQ(a.NoteOff(60), -1);
  EXPECT_EQ(a.HeldCount(), 0u);
}

TEST(DspVoiceAllocator, Deterministic) {
  auto run = [] {
    VoiceAllocator a;
    a.Init(5);
    std::vector<int> slots;
    for (int i = 0; i < 200; ++i) {
      const int note = (i * 7) % 24;
      if (i % 3 == 2) {
        const int s = a.NoteOff((i * 5) % 24);
        slots.push_back(s);
        if (s >= 0 && i % 2) a.MarkFree(static_cast<size_t>(s));
      } else {
        slots.push_back(a.NoteOn(note).slot);
      }
    }
    return slots;
  };
  EXPECT_EQ(run(), run());
}

TEST(DspVoiceAllocator, CapacityClamped) {
  VoiceAllocator a;
  a.Init(100000);
  EXPECT_EQ(a.num_voices(), kMaxVoices);
  for (size_t i = 0; i < kMaxVoices; ++i) EXPECT_FALSE(a.NoteOn(static_cast<int>(i % 128)).stole);
  EXPECT_TRUE(a.NoteOn(1).stole);
}

}  // namespace
}  // namespace chronus::dsp
