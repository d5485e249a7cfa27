// MIDI translation: recorded event sequences -> the expected commands and actions (notes,
// velocity, sustain, pitch bend, CC map with pickup, program change, panic, clock, MIDI learn).
#include <gtest/gtest.h>

#include <lo/lo.h>

#include "firmware/control/midi_learn_osc.h"
#include "firmware/control/midi_mapper.h"
#include "recording_sink.h"

namespace chronus::firmware {
namespace {

using dsp::ParamId;
using hal::midi::MidiEvent;
using testing::RecordingSink;
using Type = MidiEvent::Type;

MidiEvent Ev(Type type, uint8_t data1 = 0, uint8_t data2 = 0, uint8_t channel = 0) {
  MidiEvent e;
  e.type = type;
  e.channel = channel;
  e.data1 = data1;
  e.data2 = data2;
  return e;
}
MidiEvent Bend(int16_t value) {
  MidiEvent e = Ev(Type::kPitchBend);
  e.bend = value;
  return e;
}

// Commands as "on 60 0.79", "off 60", "set cutoff 440", "panic" for readable expectations.
std::vector<std::string> Text(const std::vector<Command>& commands) {
  std::vector<std::string> out;
  char buf[64];
  for (const Command& c : commands) {
    switch (c.type) {
      case CommandType::kNoteOn:
        std::snprintf(buf, sizeof(buf), "on %d %.2f", c.note, c.value);
        break;
      case CommandType::kNoteOff:
        std::snprintf(buf, sizeof(buf), "off %d", c.note);
        break;
      case CommandType::kSetParam:
        std::snprintf(buf, sizeof(buf), "set %s %.4g", std::string(dsp::Spec(c.param).name).c_str(),
                      c.value);
        break;
      case CommandType::kAllNotesOff:
        std::snprintf(buf, sizeof(buf), "panic");
        break;
    }
    out.emplace_back(buf);
  }
  return out;
}

TEST(ControlMidi, NotesWithVelocityAndNoteOnZeroAsNoteOff) {
  RecordingSink sink;
  MidiMapper m({}, nullptr);
  for (const MidiEvent& e : {Ev(Type::kNoteOn, 60, 100), Ev(Type::kNoteOn, 64, 127),
                             Ev(Type::kNoteOff, 60, 64), Ev(Type::kNoteOn, 64, 0)}) {
    m.Handle(e, sink);
  }
  EXPECT_EQ(Text(sink.commands),
            (std::vector<std::string>{"on 60 0.79", "on 64 1.00", "off 60", "off 64"}));
}

TEST(ControlMidi, SustainPedalHoldsNoteOffsUntilItIsReleased) {
  RecordingSink sink;
  MidiMapper m({}, nullptr);
  for (const MidiEvent& e : {
           Ev(Type::kNoteOn, 60, 80),
           Ev(Type::kControlChange, 64, 127),  // pedal down
           Ev(Type::kNoteOff, 60),             // held by the pedal
           Ev(Type::kNoteOn, 62, 80),
           Ev(Type::kNoteOff, 62),           // held
           Ev(Type::kNoteOn, 60, 90),        // struck again: the held voice is released first
           Ev(Type::kControlChange, 64, 0),  // pedal up: 62 ends; 60 is still down
           Ev(Type::kNoteOff, 60),
       }) {
    m.Handle(e, sink);
  }
  EXPECT_EQ(Text(sink.commands), (std::vector<std::string>{"on 60 0.63", "on 62 0.63", "off 60",
                                                           "on 60 0.71", "off 62", "off 60"}));
}

TEST(ControlMidi, PitchBendCoversTheConfiguredRange) {
  RecordingSink sink;
  MidiConfig config;
  config.bend_range = 2.0f;
  MidiMapper m(config, nullptr);
  for (int16_t v : {int16_t{0}, int16_t{8191}, int16_t{-8192}, int16_t{4096}})
    m.Handle(Bend(v), sink);
  const auto sent = sink.ParamsSent(ParamId::kPitchBendSemitones);
  ASSERT_EQ(sent.size(), 4u);
  EXPECT_FLOAT_EQ(sent[0], 0.0f);
  EXPECT_FLOAT_EQ(sent[1], 2.0f);
  EXPECT_FLOAT_EQ(sent[2], -2.0f);
  EXPECT_NEAR(sent[3], 1.0f, 1e-3f);
}

TEST(ControlMidi, ModWheelAndCcMapWithPickupAfterAPresetLoad) {
  RecordingSink sink;
  MidiConfig config;
  ControlTarget cutoff;
  ParseTarget("cutoff", &cutoff);
  cutoff.min = 200.0f;
  cutoff.max = 12000.0f;
  config.cc.push_back({1, cutoff});
  MidiMapper m(config, nullptr);
  m.Handle(Ev(Type::kControlChange, 1, 0), sink);
  m.Handle(Ev(Type::kControlChange, 1, 127), sink);
  m.Handle(Ev(Type::kControlChange, 7, 100), sink);  // not mapped: ignored
  EXPECT_EQ(Text(sink.commands),
            (std::vector<std::string>{"set cutoff 200", "set cutoff 1.2e+04"}));
  EXPECT_EQ(m.ignored(), 1u);
  // A preset sets the cutoff to the value at position 0.5 (log: 1549 Hz): the wheel, now at 127,
  // does nothing until it comes down past it.
  ParamValues preset = sink.values;
  preset[static_cast<size_t>(ParamId::kCutoffHz)] = TargetValue(cutoff, 0.5f);
  m.OnPatchLoaded(preset);
  sink.commands.clear();
  m.Handle(Ev(Type::kControlChange, 1, 100), sink);
  m.Handle(Ev(Type::kControlChange, 1, 70), sink);
  EXPECT_TRUE(sink.commands.empty());
  m.Handle(Ev(Type::kControlChange, 1, 60), sink);  // crossed 63.5
  ASSERT_EQ(sink.commands.size(), 1u);
  EXPECT_NEAR(sink.commands[0].value, TargetValue(cutoff, 60.0f / 127.0f), 0.01f);
}

TEST(ControlMidi, ProgramChangeLoadsAPreset) {
  RecordingSink sink;
  MidiMapper m({}, nullptr);
  m.Handle(Ev(Type::kProgramChange, 3), sink);
  ASSERT_EQ(sink.actions.size(), 1u);
  EXPECT_EQ(sink.actions[0], std::make_pair(ControlAction::kPresetLoad, 3));
  MidiConfig off;
  off.program_change = false;
  MidiMapper m2(off, nullptr);
  m2.Handle(Ev(Type::kProgramChange, 4), sink);
  EXPECT_EQ(sink.actions.size(), 1u);
}

TEST(ControlMidi, AllNotesOffAndResetControllers) {
  RecordingSink sink;
  MidiMapper m({}, nullptr);
  m.Handle(Ev(Type::kNoteOn, 60, 100), sink);
  m.Handle(Ev(Type::kControlChange, 64, 127), sink);
  m.Handle(Ev(Type::kNoteOff, 60), sink);
  m.Handle(Ev(Type::kControlChange, 123, 0), sink);  // all notes off: nothing stays held
  m.Handle(Ev(Type::kControlChange, 64, 0), sink);
  m.Handle(Bend(8191), sink);
  m.Handle(Ev(Type::kControlChange, 121, 0), sink);  // reset all controllers: bend back to 0
  EXPECT_EQ(Text(sink.commands),
            (std::vector<std::string>{"on 60 0.79", "panic", "set bend 2", "set bend 0"}));
}

TEST(ControlMidi, ChannelFilter) {
  RecordingSink sink;
  MidiConfig config;
  config.channel = 2;  // MIDI channel 2 = wire channel 1
  MidiMapper m(config, nullptr);
  m.Handle(Ev(Type::kNoteOn, 60, 100, 0), sink);
  m.Handle(Ev(Type::kNoteOn, 61, 100, 1), sink);
  EXPECT_EQ(Text(sink.commands), (std::vector<std::string>{"on 61 0.79"}));
  EXPECT_EQ(m.ignored(), 1u);
}

TEST(ControlMidi, ClockTempoAndTransport) {
  RecordingSink sink;
  MidiMapper m({}, nullptr);
  m.Handle(Ev(Type::kStart), sink);
  EXPECT_TRUE(m.clock_running());
  const int64_t pulse = 60'000'000'000 / (128 * 24);
  for (int i = 0; i < 48; ++i) {
    MidiEvent e = Ev(Type::kClock);
    e.time_ns = i * pulse;
    m.Handle(e, sink);
  }
  EXPECT_NEAR(m.tempo_bpm(), 128.0, 0.01);
  m.Handle(Ev(Type::kStop), sink);
  EXPECT_FALSE(m.clock_running());
  EXPECT_TRUE(sink.commands.empty());
}

TEST(ControlMidi, LearnBindsTheNextCcMoved) {
  RecordingSink sink;
  MidiLearn learn;
  MidiMapper m({}, &learn);
  m.Handle(Ev(Type::kControlChange, 20, 10), sink);  // not armed, not mapped
  EXPECT_TRUE(sink.commands.empty());
  learn.Arm(ParamId::kResonance);  // /midi/learn resonance
  EXPECT_TRUE(learn.armed());
  sink.values[static_cast<size_t>(ParamId::kResonance)] = 0.5f;
  m.Handle(Ev(Type::kControlChange, 20, 30), sink);  // bound; picks up at 0.5 (no jump)
  EXPECT_FALSE(learn.armed());
  EXPECT_EQ(learn.bindings(), 1u);
  EXPECT_EQ(learn.last_binding(), "CC 20 -> resonance");
  EXPECT_TRUE(sink.commands.empty());
  m.Handle(Ev(Type::kControlChange, 20, 60), sink);
  EXPECT_TRUE(sink.commands.empty());
  m.Handle(Ev(Type::kControlChange, 20, 70), sink);  // passed 0.5
  m.Handle(Ev(Type::kControlChange, 20, 127), sink);
  const auto sent = sink.ParamsSent(ParamId::kResonance);
  ASSERT_EQ(sent.size(), 2u);
  EXPECT_NEAR(sent[0], 70.0f / 127.0f, 1e-5f);
  EXPECT_FLOAT_EQ(sent[1], 1.0f);
  ASSERT_EQ(m.mappings().size(), 1u);
  EXPECT_EQ(m.mappings()[0].cc, 20);
  // Learning again on the same CC replaces the binding.
  learn.Arm(ParamId::kMasterGainDb);
  m.Handle(Ev(Type::kControlChange, 20, 127), sink);
  ASSERT_EQ(m.mappings().size(), 1u);
  EXPECT_EQ(m.mappings()[0].target.param, ParamId::kMasterGainDb);
}

TEST(ControlMidi, LearnOscArguments) {
  std::string error;
  lo_message msg = lo_message_new();
  lo_message_add_string(msg, "cutoff");
  const auto param = ParseMidiLearn(lo_message_get_types(msg), lo_message_get_argv(msg),
                                    lo_message_get_argc(msg), &error);
  ASSERT_TRUE(param.has_value()) << error;
  EXPECT_EQ(*param, ParamId::kCutoffHz);
  lo_message_free(msg);

  msg = lo_message_new();
  lo_message_add_string(msg, "nope");
  EXPECT_FALSE(ParseMidiLearn(lo_message_get_types(msg), lo_message_get_argv(msg),
                              lo_message_get_argc(msg), &error));
  EXPECT_EQ(error, "unknown parameter");
  lo_message_free(msg);

  msg = lo_message_new();
  lo_message_add_int32(msg, 3);
  EXPECT_FALSE(ParseMidiLearn(lo_message_get_types(msg), lo_message_get_argv(msg),
                              lo_message_get_argc(msg), &error));
  lo_message_free(msg);
  EXPECT_FALSE(ParseMidiLearn(nullptr, nullptr, 0, &error));
}

}  // namespace
}  // namespace chronus::firmware
