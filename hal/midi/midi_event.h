// A MIDI channel or clock event, decoded from whatever transport delivered it (ALSA sequencer
// here). Plain data: the translation into firmware commands is firmware/control/midi_mapper.h.
#pragma once

#include <cstdint>

namespace chronus::hal::midi {

struct MidiEvent {
  enum class Type : uint8_t {
    kNoteOn,         ///< data1 = note, data2 = velocity 0..127 (0 = note off)
    kNoteOff,        ///< data1 = note, data2 = release velocity
    kControlChange,  ///< data1 = controller 0..127, data2 = value 0..127
    kProgramChange,  ///< data1 = program 0..127
    kPitchBend,      ///< bend = -8192..8191 (0 = centre)
    kClock,          ///< timing clock, 24 per quarter note
    kStart,
    kContinue,
    kStop,
  };
  Type type = Type::kNoteOn;
  uint8_t channel = 0;  ///< 0..15 (MIDI channel 1..16)
  uint8_t data1 = 0;
  uint8_t data2 = 0;
  int16_t bend = 0;
  int64_t time_ns = 0;  ///< CLOCK_MONOTONIC when received.
};

}  // namespace chronus::hal::midi
