// The box's hardware controls at run time: a GPIO thread (encoders, buttons, LEDs; waits for edge
// events), an ADC thread (pots, sampled at a fixed rate) and a MIDI thread (ALSA sequencer), each
// an ordinary (non-RT) thread with its own ControlQueue lane, feeding the same typed commands as
// the OSC server. A device that cannot be opened (missing chip or spidev, pin busy, permission
// denied, no sequencer) is logged and counted and its thread not started: the box plays on.
#pragma once

#include <atomic>
#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "firmware/control/control_sink.h"
#include "firmware/control/controls_config.h"
#include "firmware/control/midi_mapper.h"
#include "firmware/engine/control_queue.h"
#include "hal/adc/adc_reader.h"
#include "hal/gpio/gpio_lines.h"
#include "hal/midi/midi_source.h"

namespace chronus::firmware {

/// What the controls ask of the rest of the firmware; called on the control threads (several at
/// once: each hook must be thread-safe). Unset hooks make their actions fail with a log line.
struct ControlHooks {
  std::function<float(dsp::ParamId)> param_value;  ///< The engine's current value.
  /// Reads preset `slot` into the commands that set it; "" or the error (as OscStateHooks).
  std::function<std::string(int slot, std::vector<Command>* commands)> load_preset;
  std::function<std::vector<int>()> list_presets;  ///< Stored preset slots, ascending.
  /// Starts (true) or stops a take; returns {ok, path or error}.
  std::function<std::pair<bool, std::string>(bool start)> record;
  std::function<bool()> recording;
  /// The generative mode's targets (gen_intensity, gen_bpm, gen_mode, gen_toggle; see
  /// ControlSink::Generative) and their current values. Called on the control threads.
  std::function<void(TargetKind, float)> generative;
  std::function<float(TargetKind)> generative_value;
};

/// How the devices are opened: the hardware by default; tests pass scripted ones. Each returns
/// nullptr and sets `error` when the device cannot be used.
struct ControlBackends {
  std::function<std::unique_ptr<hal::gpio::GpioLines>(const ControlsConfig&, std::string* error)>
      gpio;
  std::function<std::unique_ptr<hal::adc::AdcReader>(const ControlsConfig&, std::string* error)>
      adc;
  std::function<std::unique_ptr<hal::midi::MidiSource>(const ControlsConfig&, std::string* error)>
      midi;
};

/// libgpiod, MCP3008 over spidev, ALSA sequencer.
ControlBackends HardwareControlBackends();

class Controls {
 public:
  Controls(ControlsConfig config, ControlQueue& queue, ControlHooks hooks,
           ControlBackends backends = HardwareControlBackends());
  ~Controls();
  Controls(const Controls&) = delete;
  Controls& operator=(const Controls&) = delete;

  /// Opens the devices the config describes and starts their threads. Main thread, once.
  /// Failures are logged as warnings and listed in problems(); never fatal.
  void Start();
  /// Stops and joins the threads. Main thread.
  void Stop();

  /// A patch or preset was loaded (at start, over OSC, by a control): absolute controls wait for
  /// pickup of these values. Any thread.
  void NotePatchLoaded(const ParamValues& values);
  /// MIDI learn, armed by /midi/learn on the OSC thread.
  MidiLearn& midi_learn() { return learn_; }

  /// Devices that could not be opened or failed while running. Any thread.
  uint64_t device_errors() const { return device_errors_.load(); }
  /// Commands queued by the controls (encoders, pots, MIDI). Any thread.
  uint64_t commands() const { return commands_.load(); }
  /// Actions performed (presets, recording). Any thread.
  uint64_t actions() const { return actions_.load(); }
  /// MIDI events handled. Any thread.
  uint64_t midi_events() const { return midi_events_.load(); }
  /// Tempo of the incoming MIDI clock, BPM (0: none). Any thread.
  double midi_tempo_bpm() const { return tempo_bpm_.load(); }
  /// ADC reads that failed. Any thread.
  uint64_t adc_errors() const { return adc_errors_.load(); }
  /// Whether the MIDI thread runs (MIDI learn can bind). Any thread.
  bool midi_running() const { return midi_running_.load(); }
  /// Threads running now (gpio, adc, midi). Any thread.
  int running_threads() const { return running_.load(); }
  /// What could not be started, one line per device. Any thread.
  std::vector<std::string> problems() const;

  class Sink;  // the control threads' ControlSink (controls.cpp)

 private:
  void Problem(const std::string& text);
  void RunGpio(hal::gpio::GpioLines* lines);
  void RunAdc(hal::adc::AdcReader* adc);
  void RunMidi(hal::midi::MidiSource* source);
  ControlQueue::Producer* Lane(const char* thread);
  bool PatchChanged(uint64_t* seen, ParamValues* values) const;
  std::string LoadPreset(int slot, ControlQueue::Producer* lane);
  std::string StepPreset(int direction, ControlQueue::Producer* lane);

  ControlsConfig config_;
  ControlQueue& queue_;
  ControlHooks hooks_;
  ControlBackends backends_;
  MidiLearn learn_;
  std::vector<std::thread> threads_;
  std::atomic<bool> stop_{false};
  std::mutex stop_mutex_;
  std::condition_variable stop_cv_;
  std::unique_ptr<hal::gpio::GpioLines> gpio_;  // owned here: Stop wakes them
  std::unique_ptr<hal::adc::AdcReader> adc_;
  std::unique_ptr<hal::midi::MidiSource> midi_;
  mutable std::mutex mutex_;  // guards problems_, patch_, current_preset_
  std::vector<std::string> problems_;
  ParamValues patch_{};
  std::atomic<uint64_t> patch_generation_{0};
  int current_preset_ = -1;
  std::mutex preset_mutex_;  // one preset load at a time
  std::atomic<uint64_t> device_errors_{0};
  std::atomic<uint64_t> commands_{0};
  std::atomic<uint64_t> actions_{0};
  std::atomic<uint64_t> midi_events_{0};
  std::atomic<uint64_t> adc_errors_{0};
  std::atomic<double> tempo_bpm_{0.0};
  std::atomic<int> running_{0};
  std::atomic<bool> midi_running_{false};
};

}  // namespace chronus::firmware
