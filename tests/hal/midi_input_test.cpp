// MIDI input: clock tempo estimate, decoding of ALSA sequencer events, auto-connect policy; and,
// where the kernel offers the ALSA sequencer (/dev/snd/seq), events sent by a real sequencer
// client into "Chronus".
#include <alsa/asoundlib.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <random>
#include <vector>

#include "hal/midi/alsa_seq_input.h"
#include "hal/midi/midi_clock.h"

namespace chronus::hal::midi {
namespace {

TEST(HalMidiClock, TempoOfAJitteryClock) {
  MidiClock clock;
  std::mt19937 rng(5);
  std::uniform_int_distribution<int64_t> jitter(-1'000'000, 1'000'000);  // +-1 ms
  const int64_t pulse = 60'000'000'000 / (120 * 24);                     // 120 BPM
  EXPECT_EQ(clock.bpm(), 0.0);
  int64_t last = 0;
  for (int i = 0; i < 24 * 8; ++i) {
    last = 1'000'000'000 + i * pulse + jitter(rng);
    clock.Pulse(last);
  }
  EXPECT_NEAR(clock.bpm(), 120.0, 0.5);
  // Tempo change to 90 BPM: one beat later the estimate follows.
  const int64_t start = last;
  const int64_t slower = 60'000'000'000 / (90 * 24);
  for (int i = 1; i <= 24; ++i) clock.Pulse(start + i * slower);
  EXPECT_NEAR(clock.bpm(), 90.0, 0.01);
}

TEST(HalMidiClock, AGapForgetsTheTempo) {
  MidiClock clock;
  for (int i = 0; i < 48; ++i) clock.Pulse(i * 20'833'333LL);
  EXPECT_GT(clock.bpm(), 0.0);
  clock.Pulse(48 * 20'833'333LL + 2'000'000'000);
  EXPECT_EQ(clock.bpm(), 0.0);
}

snd_seq_event_t Event(snd_seq_event_type_t type) {
  snd_seq_event_t e{};
  e.type = type;
  return e;
}

TEST(HalMidiDecode, ChannelMessagesAndClock) {
  MidiEvent m;
  auto on = Event(SND_SEQ_EVENT_NOTEON);
  on.data.note = {3, 60, 100, 0, 0};
  ASSERT_TRUE(DecodeSeqEvent(on, 42, &m));
  EXPECT_EQ(m.type, MidiEvent::Type::kNoteOn);
  EXPECT_EQ(m.channel, 3);
  EXPECT_EQ(m.data1, 60);
  EXPECT_EQ(m.data2, 100);
  EXPECT_EQ(m.time_ns, 42);

  auto cc = Event(SND_SEQ_EVENT_CONTROLLER);
  cc.data.control.channel = 0;
  cc.data.control.param = 74;
  cc.data.control.value = 127;
  ASSERT_TRUE(DecodeSeqEvent(cc, 0, &m));
  EXPECT_EQ(m.type, MidiEvent::Type::kControlChange);
  EXPECT_EQ(m.data1, 74);
  EXPECT_EQ(m.data2, 127);

  auto bend = Event(SND_SEQ_EVENT_PITCHBEND);
  bend.data.control.value = -8192;
  ASSERT_TRUE(DecodeSeqEvent(bend, 0, &m));
  EXPECT_EQ(m.type, MidiEvent::Type::kPitchBend);
  EXPECT_EQ(m.bend, -8192);
  bend.data.control.value = 9000;  // out of range: refused
  EXPECT_FALSE(DecodeSeqEvent(bend, 0, &m));

  auto program = Event(SND_SEQ_EVENT_PGMCHANGE);
  program.data.control.value = 5;
  ASSERT_TRUE(DecodeSeqEvent(program, 0, &m));
  EXPECT_EQ(m.type, MidiEvent::Type::kProgramChange);
  EXPECT_EQ(m.data1, 5);

  ASSERT_TRUE(DecodeSeqEvent(Event(SND_SEQ_EVENT_CLOCK), 0, &m));
  EXPECT_EQ(m.type, MidiEvent::Type::kClock);
  EXPECT_FALSE(DecodeSeqEvent(Event(SND_SEQ_EVENT_SYSEX), 0, &m));
  EXPECT_FALSE(DecodeSeqEvent(Event(SND_SEQ_EVENT_PORT_START), 0, &m));
}

TEST(HalMidiDecode, AutoConnectsHardwarePortsOnly) {
  const unsigned readable = SND_SEQ_PORT_CAP_READ | SND_SEQ_PORT_CAP_SUBS_READ;
  const unsigned usb = SND_SEQ_PORT_TYPE_MIDI_GENERIC | SND_SEQ_PORT_TYPE_HARDWARE;
  EXPECT_TRUE(IsHardwareMidiSource(true, 20, "Keystation 49", readable, usb));
  EXPECT_FALSE(IsHardwareMidiSource(false, 128, "qsynth", readable, usb));  // user-space client
  EXPECT_FALSE(
      IsHardwareMidiSource(true, 14, "Midi Through", readable, SND_SEQ_PORT_TYPE_MIDI_GENERIC));
  EXPECT_FALSE(IsHardwareMidiSource(true, 0, "System", readable, 0));
  EXPECT_FALSE(IsHardwareMidiSource(true, 20, "Keystation 49", SND_SEQ_PORT_CAP_WRITE, usb));
}

// A real sequencer client sends into "Chronus". Needs /dev/snd/seq (kernel module snd-seq).
TEST(HalMidiAlsaSeq, EventsFromAnotherClientArrive) {
  if (access("/dev/snd/seq", R_OK | W_OK) != 0) {
    GTEST_SKIP() << "no /dev/snd/seq: the snd-seq kernel module is not loaded here; the "
                    "sequencer client, port creation, announce subscription and auto-connect are "
                    "not exercised (the decoding and translation are, above and in "
                    "tests/control)";
  }
  AlsaSeqInput input;
  ASSERT_EQ(input.Open({"Chronus", "Chronus In", false}), "");
  snd_seq_t* sender = nullptr;
  ASSERT_GE(snd_seq_open(&sender, "default", SND_SEQ_OPEN_OUTPUT, 0), 0);
  snd_seq_set_client_name(sender, "chronus-test-keyboard");
  const int port =
      snd_seq_create_simple_port(sender, "out", SND_SEQ_PORT_CAP_READ | SND_SEQ_PORT_CAP_SUBS_READ,
                                 SND_SEQ_PORT_TYPE_MIDI_GENERIC);
  ASSERT_GE(port, 0);
  ASSERT_GE(snd_seq_connect_to(sender, port, input.client(), input.port()), 0);
  auto send = [&](snd_seq_event_t ev) {
    snd_seq_ev_set_source(&ev, static_cast<unsigned char>(port));
    snd_seq_ev_set_subs(&ev);
    snd_seq_ev_set_direct(&ev);
    ASSERT_GE(snd_seq_event_output_direct(sender, &ev), 0);
  };
  snd_seq_event_t ev{};
  snd_seq_ev_set_noteon(&ev, 0, 64, 90);
  send(ev);
  snd_seq_ev_clear(&ev);
  snd_seq_ev_set_pitchbend(&ev, 0, 4096);
  send(ev);
  snd_seq_ev_clear(&ev);
  snd_seq_ev_set_noteoff(&ev, 0, 64, 0);
  send(ev);
  std::vector<MidiEvent> events;
  for (int i = 0; i < 50 && events.size() < 3; ++i) ASSERT_EQ(input.Wait(100, &events), "");
  snd_seq_close(sender);
  ASSERT_EQ(events.size(), 3u);
  EXPECT_EQ(events[0].type, MidiEvent::Type::kNoteOn);
  EXPECT_EQ(events[0].data1, 64);
  EXPECT_EQ(events[0].data2, 90);
  EXPECT_EQ(events[1].type, MidiEvent::Type::kPitchBend);
  EXPECT_EQ(events[1].bend, 4096);
  EXPECT_EQ(events[2].type, MidiEvent::Type::kNoteOff);
}

TEST(HalMidiAlsaSeq, MissingSequencerIsAClearError) {
  if (access("/dev/snd/seq", F_OK) == 0) GTEST_SKIP() << "this machine has a sequencer";
  AlsaSeqInput input;
  const std::string error = input.Open({});
  EXPECT_NE(error.find("ALSA sequencer"), std::string::npos) << error;
  std::vector<MidiEvent> events;
  EXPECT_NE(input.Wait(0, &events), "");
}

}  // namespace
}  // namespace chronus::hal::midi
