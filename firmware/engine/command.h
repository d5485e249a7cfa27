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
  /// Producer generation of a note, 0 = none. The generative mode stamps its notes with its
  /// current generation; the sound layers drop a stamped note whose generation is no longer current
  /// when its frame comes (/gen/stop or a restart cancels what it had scheduled). See
  /// SoundLayers::SetGenerationNonRt.
  uint16_t generation = 0;
  /// Engine frame at which the command takes effect, sample-accurately: frame f of the engine's
  /// output stream is the f-th frame the audio thread rendered (period p starts at frame
  /// p * block_frames; see EngineClock for the mapping to time). 0 = apply at once (at the start
  /// of the next block the workers render). A frame already past is applied at once and counted
  /// (AudioEngine::late_events).
  uint64_t frame = 0;
};

/// A command for one worker's voice bank; `slot` is the worker-local voice slot.
struct WorkerCommand {
  CommandType type;
  uint8_t note = 0;
  dsp::ParamId param = dsp::ParamId::kCutoffHz;
  uint16_t slot = 0;
  float value = 0.0f;
  /// Engine frame at which it applies: whoever renders the block containing that frame (the
  /// worker, or the audio thread's standby path) splits its render there, so the frame offset
  /// within the block is `frame - block start`. Earlier frames apply at the block's start. The
  /// audio thread sends commands in nondecreasing frame order per share.
  uint64_t frame = 0;
};

}  // namespace chronus::firmware
