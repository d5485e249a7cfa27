// Translation of incoming MIDI (hal/midi/midi_event.h) into the firmware's typed commands and
// actions: notes with velocity, sustain pedal, pitch bend, CC -> parameter (the board file's map
// and MIDI learn), program change -> preset load, all-notes-off, MIDI clock -> tempo. Pure apart
// from the sink: tested with recorded event sequences. The MIDI thread owns a MidiMapper.
//
// Conventions (MIDI 1.0 Detailed Specification): note-on with velocity 0 is a note-off; CC 64 >=
// 64 holds the note-offs of released keys until the pedal goes up (a key struck again while held
// by the pedal is released first, so the allocator never holds two voices of one key); CC 120
// (all sound off) and 123 (all notes off) -> panic; CC 121 (reset all controllers) -> bend 0,
// pedal up. Pitch bend: -8192..8191 -> -range..+range semitones (the "bend" parameter).
#pragma once

#include <atomic>
#include <bitset>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "firmware/control/control_mapping.h"
#include "hal/midi/midi_clock.h"
#include "hal/midi/midi_event.h"

namespace chronus::firmware {

/// One CC -> target binding ([[midi.cc]] in the board file, or made by MIDI learn).
struct MidiCcMapping {
  uint8_t cc = 1;
  ControlTarget target;
};

/// [midi] in the board file.
struct MidiConfig {
  bool enabled = false;        ///< Open the ALSA sequencer client at all.
  int channel = 0;             ///< 1..16, or 0 = every channel (omni).
  float bend_range = 2.0f;     ///< Semitones at full pitch bend.
  bool program_change = true;  ///< Program change n loads preset slot n.
  bool pickup = true;          ///< Soft takeover for mapped CCs after a preset load.
  bool auto_connect = true;    ///< Connect hardware MIDI ports as they appear.
  std::vector<MidiCcMapping> cc;
};

/// MIDI learn: `/midi/learn <param>` arms it (OSC thread); the next CC the MIDI thread sees is
/// bound to that parameter. Thread-safe.
class MidiLearn {
 public:
  /// Arms learning for `param`: the next CC moved is bound to it (replacing an earlier arm).
  void Arm(dsp::ParamId param) { armed_.store(static_cast<int>(param) + 1); }
  /// Takes the armed parameter, if any (the MIDI thread, on a CC).
  std::optional<dsp::ParamId> Take() {
    const int armed = armed_.exchange(0);
    if (armed == 0) return std::nullopt;
    return static_cast<dsp::ParamId>(armed - 1);
  }
  bool armed() const { return armed_.load() != 0; }
  /// Records a binding made (the MIDI thread); bindings() and last_binding(): any thread.
  void NoteBound(uint8_t cc, dsp::ParamId param) {
    std::lock_guard lock(mutex_);
    last_ = "CC " + std::to_string(cc) + " -> " + std::string(dsp::Spec(param).name);
    bindings_.fetch_add(1);
  }
  uint64_t bindings() const { return bindings_.load(); }
  std::string last_binding() const {
    std::lock_guard lock(mutex_);
    return last_;
  }

 private:
  std::atomic<int> armed_{0};
  std::atomic<uint64_t> bindings_{0};
  mutable std::mutex mutex_;
  std::string last_;
};

class MidiMapper {
 public:
  /// `learn` may be null (no MIDI learn).
  MidiMapper(const MidiConfig& config, MidiLearn* learn);

  /// Handles one event; sends what it means to `sink`.
  void Handle(const hal::midi::MidiEvent& event, ControlSink& sink);
  /// A preset or patch was loaded elsewhere: mapped CCs wait for pickup (when enabled).
  void OnPatchLoaded(const ParamValues& values);

  /// Tempo of the incoming MIDI clock, BPM (0: none). The MIDI thread; see MidiClock.
  double tempo_bpm() const { return clock_.bpm(); }
  /// Between MIDI Start/Continue and Stop.
  bool clock_running() const { return clock_running_; }
  /// Events handled / ignored (other channel, unmapped CC). The MIDI thread.
  uint64_t handled() const { return handled_; }
  uint64_t ignored() const { return ignored_; }
  /// The CC bindings, MIDI-learned ones included.
  std::vector<MidiCcMapping> mappings() const;

 private:
  struct Binding {
    uint8_t cc;
    AbsoluteMapping mapping;
  };
  void ControlChange(uint8_t cc, uint8_t value, ControlSink& sink);
  void ReleaseSustained(ControlSink& sink);
  void Panic(ControlSink& sink);

  MidiConfig config_;
  MidiLearn* learn_;
  std::vector<Binding> bindings_;
  std::bitset<128> down_;       // keys held down
  std::bitset<128> sustained_;  // released keys whose note-off the pedal holds
  bool pedal_ = false;
  hal::midi::MidiClock clock_;
  bool clock_running_ = false;
  uint64_t handled_ = 0;
  uint64_t ignored_ = 0;
};

}  // namespace chronus::firmware
