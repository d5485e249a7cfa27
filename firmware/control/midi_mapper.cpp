#include "firmware/control/midi_mapper.h"

#include <algorithm>

namespace chronus::firmware {

using hal::midi::MidiEvent;

MidiMapper::MidiMapper(const MidiConfig& config, MidiLearn* learn)
    : config_(config), learn_(learn) {
  for (const MidiCcMapping& m : config.cc) {
    bindings_.push_back({m.cc, AbsoluteMapping(m.target, config.pickup, false)});
  }
}

std::vector<MidiCcMapping> MidiMapper::mappings() const {
  std::vector<MidiCcMapping> out;
  for (const Binding& b : bindings_) out.push_back({b.cc, b.mapping.target()});
  return out;
}

void MidiMapper::OnPatchLoaded(const ParamValues& values) {
  for (Binding& b : bindings_) b.mapping.ArmPickup(values);
}

void MidiMapper::ReleaseSustained(ControlSink& sink) {
  for (size_t note = 0; note < 128; ++note) {
    if (sustained_[note]) sink.Send(Command{CommandType::kNoteOff, static_cast<uint8_t>(note)});
  }
  sustained_.reset();
}

void MidiMapper::Panic(ControlSink& sink) {
  sink.Send(Command{CommandType::kAllNotesOff});
  down_.reset();
  sustained_.reset();
}

void MidiMapper::Handle(const MidiEvent& e, ControlSink& sink) {
  using Type = MidiEvent::Type;
  switch (e.type) {
    case Type::kClock:
      clock_.Pulse(e.time_ns);
      ++handled_;
      return;
    case Type::kStart:
    case Type::kContinue:
      if (e.type == Type::kStart) clock_.Forget();
      clock_running_ = true;
      ++handled_;
      return;
    case Type::kStop:
      clock_running_ = false;
      ++handled_;
      return;
    default:
      break;
  }
  if (config_.channel != 0 && e.channel != config_.channel - 1) {
    ++ignored_;
    return;
  }
  ++handled_;
  switch (e.type) {
    case Type::kNoteOn:
      if (e.data2 > 0) {
        const uint8_t note = e.data1 & 0x7f;
        if (sustained_[note]) {  // struck again while the pedal holds it: release the old voice
          sink.Send(Command{CommandType::kNoteOff, note});
          sustained_[note] = false;
        }
        down_[note] = true;
        sink.Send(Command{CommandType::kNoteOn, note, dsp::ParamId::kCutoffHz,
                          static_cast<float>(e.data2) / 127.0f});
        return;
      }
      [[fallthrough]];
    case Type::kNoteOff: {
      const uint8_t note = e.data1 & 0x7f;
      if (!down_[note] && !pedal_) {
        // A note-off for a key we never saw go down (e.g. pressed before start): pass it on.
        sink.Send(Command{CommandType::kNoteOff, note});
        return;
      }
      down_[note] = false;
      if (pedal_) {
        sustained_[note] = true;
      } else {
        sink.Send(Command{CommandType::kNoteOff, note});
      }
      return;
    }
    case Type::kControlChange:
      ControlChange(e.data1 & 0x7f, e.data2 & 0x7f, sink);
      return;
    case Type::kProgramChange:
      if (config_.program_change) {
        sink.Act(ControlAction::kPresetLoad, e.data1 & 0x7f);
      } else {
        ++ignored_;
      }
      return;
    case Type::kPitchBend: {
      const float amount =
          e.bend >= 0 ? static_cast<float>(e.bend) / 8191.0f : static_cast<float>(e.bend) / 8192.0f;
      sink.Send(Command{
          CommandType::kSetParam, 0, dsp::ParamId::kPitchBendSemitones,
          dsp::ClampToSpec(dsp::ParamId::kPitchBendSemitones, amount * config_.bend_range)});
      return;
    }
    default:
      return;
  }
}

void MidiMapper::ControlChange(uint8_t cc, uint8_t value, ControlSink& sink) {
  switch (cc) {
    case 64: {  // sustain pedal
      const bool down = value >= 64;
      if (pedal_ && !down) ReleaseSustained(sink);
      pedal_ = down;
      return;
    }
    case 120:  // all sound off
    case 123:  // all notes off
      Panic(sink);
      return;
    case 121:  // reset all controllers
      if (pedal_) ReleaseSustained(sink);
      pedal_ = false;
      sink.Send(Command{CommandType::kSetParam, 0, dsp::ParamId::kPitchBendSemitones, 0.0f});
      return;
    default:
      break;
  }
  if (learn_ != nullptr) {
    if (const std::optional<dsp::ParamId> param = learn_->Take()) {
      ControlTarget target;
      ParseTarget(dsp::Spec(*param).name, &target);
      bindings_.erase(std::remove_if(bindings_.begin(), bindings_.end(),
                                     [&](const Binding& b) { return b.cc == cc; }),
                      bindings_.end());
      bindings_.push_back({cc, AbsoluteMapping(target, config_.pickup, false)});
      // Learned controls pick the value up where it is, so learning never makes a jump.
      bindings_.back().mapping.ArmPickupAt(sink.ParamValue(*param));
      learn_->NoteBound(cc, *param);
    }
  }
  bool mapped = false;
  for (Binding& b : bindings_) {
    if (b.cc != cc) continue;
    mapped = true;
    b.mapping.Position(static_cast<float>(value) / 127.0f, sink);
  }
  if (!mapped) ++ignored_;
}

}  // namespace chronus::firmware
