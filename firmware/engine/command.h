// Typed command packets that cross threads (norns crone style): control threads -> audio thread
// (Command), audio thread -> DSP workers (WorkerCommand). Both are trivially copyable so that they
// fit Boost.Lockfree queues.
#pragma once

#include <cstdint>

#include "dsp/synth_params.h"

namespace chronus::firmware {

enum class CommandType : uint8_t {
  kNoteOn,       ///< note, value = velocity 0..1
  kNoteOff,      ///< note
  kSetParam,     ///< param, value in the units of dsp::kParamSpecs
  kAllNotesOff,  ///< release every voice
};

/// A control command, already validated and clamped by the thread that made it.
struct Command {
  CommandType type;
  uint8_t note = 0;
  dsp::ParamId param = dsp::ParamId::kCutoffHz;
  float value = 0.0f;
  uint8_t channel = 0;  ///< kNoteOn / kNoteOff: MIDI channel 0..15 (OSC /note/* = 0, channel 1)
};

/// A command for one worker's voice bank; `slot` is the worker-local voice slot.
struct WorkerCommand {
  CommandType type;
  uint8_t note = 0;
  dsp::ParamId param = dsp::ParamId::kCutoffHz;
  uint16_t slot = 0;
  float value = 0.0f;
};

}  // namespace chronus::firmware
