// Where the hardware control mappings (encoders, buttons, pots, MIDI) send what they do: typed
// commands for the audio thread (the same as OSC's), and actions that the firmware performs on the
// control thread (preset loads, recording). An interface, so the mappings are tested with a
// recording sink; the firmware's sink pushes into the control thread's own ControlQueue lane.
#pragma once

#include <array>

#include "dsp/synth_params.h"
#include "firmware/control/control_target.h"
#include "firmware/engine/command.h"

namespace chronus::firmware {

/// Every synth parameter's value, indexed by dsp::ParamId (units of dsp::kParamSpecs).
using ParamValues = std::array<float, dsp::kParamCount>;

enum class ControlAction : uint8_t {
  kPresetLoad,    ///< arg: preset slot
  kPresetStep,    ///< arg: +1 next stored preset, -1 previous (wrapping)
  kRecordToggle,  ///< start a take, or stop the running one
  kRecordStart,
  kRecordStop,
};

/// Called on one control thread (the one that owns the mapping); implementations used by several
/// threads must be thread-safe.
class ControlSink {
 public:
  virtual ~ControlSink() = default;
  /// Queues a command for the audio thread (already clamped to the parameter's range).
  virtual void Send(const Command& command) = 0;
  /// Performs an action (may block on the SD card: never on the audio thread).
  virtual void Act(ControlAction action, int arg) = 0;
  /// The parameter's value as the engine plays it now.
  virtual float ParamValue(dsp::ParamId id) = 0;
  /// Sets a generative-mode target: gen_intensity 0..1, gen_bpm (quarter notes per minute),
  /// gen_mode 0..6 (Ionian..Locrian); gen_toggle (value ignored) starts the mode, or stops it
  /// when it plays. Takes effect at the next bar.
  virtual void Generative(TargetKind kind, float value) = 0;
  /// The generative target's current value (gen_toggle: 1 while the mode plays, else 0).
  virtual float GenerativeValue(TargetKind kind) = 0;
};

}  // namespace chronus::firmware
