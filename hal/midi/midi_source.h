// Where MIDI events come from, behind an interface: the ALSA sequencer (alsa_seq_input.h) on the
// box, a scripted source in tests.
#pragma once

#include <string>
#include <vector>

#include "hal/midi/midi_event.h"

namespace chronus::hal::midi {

class MidiSource {
 public:
  virtual ~MidiSource() = default;
  /// Waits until events arrive, `timeout_ms` passes (-1: no limit) or Wake is called; appends the
  /// decoded events in arrival order. Returns "" or an error. The MIDI thread.
  virtual std::string Wait(int timeout_ms, std::vector<MidiEvent>* events) = 0;
  /// Makes a pending or the next Wait return at once. Any thread.
  virtual void Wake() = 0;
  /// Descriptions of the sources connected since the last call (for the log). The MIDI thread.
  virtual std::vector<std::string> TakeConnections() { return {}; }
};

}  // namespace chronus::hal::midi
