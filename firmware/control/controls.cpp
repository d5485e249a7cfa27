#include "firmware/control/controls.h"

#include <pthread.h>

#include <algorithm>
#include <chrono>

#include "firmware/control/control_mapping.h"
#include "firmware/log/log.h"
#include "hal/adc/mcp3008.h"
#include "hal/gpio/gpiod_lines.h"
#include "hal/midi/alsa_seq_input.h"
#include "hal/rt/clock.h"

namespace chronus::firmware {

ControlBackends HardwareControlBackends() {
  ControlBackends b;
  b.gpio = [](const ControlsConfig& c,
              std::string* error) -> std::unique_ptr<hal::gpio::GpioLines> {
    std::vector<unsigned> inputs;
    std::vector<unsigned> outputs;
    for (const auto& e : c.encoders) {
      inputs.push_back(e.pin_a);
      inputs.push_back(e.pin_b);
    }
    for (const auto& button : c.buttons) inputs.push_back(button.pin);
    for (const auto& led : c.leds) outputs.push_back(led.pin);
    auto lines = std::make_unique<hal::gpio::GpiodLines>();
    *error = lines->Open(c.gpio, inputs, outputs);
    if (!error->empty()) return nullptr;
    LogInfo("controls: GPIO on " + lines->chip_name());
    return lines;
  };
  b.adc = [](const ControlsConfig& c, std::string* error) -> std::unique_ptr<hal::adc::AdcReader> {
    auto adc = std::make_unique<hal::adc::Mcp3008>();
    *error = adc->Init({c.spi_device, c.spi_speed_hz});
    if (!error->empty()) return nullptr;
    return adc;
  };
  b.midi = [](const ControlsConfig& c,
              std::string* error) -> std::unique_ptr<hal::midi::MidiSource> {
    auto seq = std::make_unique<hal::midi::AlsaSeqInput>();
    hal::midi::AlsaSeqConfig config;
    config.auto_connect = c.midi.auto_connect;
    *error = seq->Open(config);
    if (!error->empty()) return nullptr;
    LogInfo("controls: MIDI in as ALSA sequencer client " + std::to_string(seq->client()) + ":" +
            std::to_string(seq->port()) + " \"" + config.client_name + "\"");
    return seq;
  };
  return b;
}

// The sink of one control thread: its own lane of the control queue, and the shared actions.
class Controls::Sink final : public ControlSink {
 public:
  Sink(Controls& controls, ControlQueue::Producer* lane) : controls_(controls), lane_(lane) {}

  void Send(const Command& command) override {
    if (lane_ != nullptr && lane_->pushNonRt(command)) controls_.commands_.fetch_add(1);
  }

  void Act(ControlAction action, int arg) override {
    controls_.actions_.fetch_add(1);
    std::string error;
    switch (action) {
      case ControlAction::kPresetLoad:
        error = controls_.LoadPreset(arg, lane_);
        break;
      case ControlAction::kPresetStep:
        error = controls_.StepPreset(arg, lane_);
        break;
      case ControlAction::kRecordToggle:
      case ControlAction::kRecordStart:
      case ControlAction::kRecordStop: {
        const ControlHooks& hooks = controls_.hooks_;
        if (!hooks.record) {
          error = "recording is not available";
          break;
        }
        bool start = action == ControlAction::kRecordStart;
        if (action == ControlAction::kRecordToggle) start = !(hooks.recording && hooks.recording());
        const auto [ok, text] = hooks.record(start);
        if (ok) {
          LogInfo(std::string("controls: ") + (start ? "recording to " : "recording stopped: ") +
                  text);
        } else {
          error = std::string(start ? "record start" : "record stop") + " failed: " + text;
        }
        break;
      }
    }
    if (!error.empty()) LogWarning("controls: " + error);
  }

  float ParamValue(dsp::ParamId id) override {
    return controls_.hooks_.param_value ? controls_.hooks_.param_value(id)
                                        : dsp::Spec(id).default_value;
  }

  void Generative(TargetKind kind, float value) override {
    controls_.actions_.fetch_add(1);
    if (!controls_.hooks_.generative) {
      LogWarning("controls: the generative mode is not available");
      return;
    }
    controls_.hooks_.generative(kind, value);
  }

  float GenerativeValue(TargetKind kind) override {
    return controls_.hooks_.generative_value ? controls_.hooks_.generative_value(kind) : 0.0f;
  }

 private:
  Controls& controls_;
  ControlQueue::Producer* lane_;
};

namespace {

void NameThread(const char* name) { pthread_setname_np(pthread_self(), name); }

}  // namespace

Controls::Controls(ControlsConfig config, ControlQueue& queue, ControlHooks hooks,
                   ControlBackends backends)
    : config_(std::move(config)),
      queue_(queue),
      hooks_(std::move(hooks)),
      backends_(std::move(backends)) {
  for (const auto& spec : dsp::kParamSpecs) {
    patch_[static_cast<size_t>(spec.id)] = spec.default_value;
  }
}

Controls::~Controls() { Stop(); }

void Controls::Problem(const std::string& text) {
  device_errors_.fetch_add(1);
  LogWarning("controls: " + text + "; playing on without it");
  std::lock_guard lock(mutex_);
  problems_.push_back(text);
}

std::vector<std::string> Controls::problems() const {
  std::lock_guard lock(mutex_);
  return problems_;
}

void Controls::NotePatchLoaded(const ParamValues& values) {
  std::lock_guard lock(mutex_);
  patch_ = values;
  patch_generation_.fetch_add(1);
}

bool Controls::PatchChanged(uint64_t* seen, ParamValues* values) const {
  const uint64_t generation = patch_generation_.load();
  if (generation == *seen) return false;
  std::lock_guard lock(mutex_);
  *values = patch_;
  *seen = patch_generation_.load();
  return true;
}

std::string Controls::LoadPreset(int slot, ControlQueue::Producer* lane) {
  if (!hooks_.load_preset) return "presets are not available";
  std::lock_guard serial(preset_mutex_);
  std::vector<Command> commands;
  std::string error = hooks_.load_preset(slot, &commands);
  if (!error.empty()) return "preset " + std::to_string(slot) + ": " + error;
  ParamValues values;
  {
    std::lock_guard lock(mutex_);
    values = patch_;
  }
  for (const Command& c : commands) {
    if (lane == nullptr || !lane->pushNonRt(c))
      return "control queue full; preset not fully applied";
    if (c.type == CommandType::kSetParam) values[static_cast<size_t>(c.param)] = c.value;
  }
  NotePatchLoaded(values);
  {
    std::lock_guard lock(mutex_);
    current_preset_ = slot;
  }
  LogInfo("controls: loaded preset " + std::to_string(slot));
  return {};
}

std::string Controls::StepPreset(int direction, ControlQueue::Producer* lane) {
  if (!hooks_.list_presets) return "presets are not available";
  const std::vector<int> slots = hooks_.list_presets();
  if (slots.empty()) return "no stored presets to step through";
  int current = 0;
  {
    std::lock_guard lock(mutex_);
    current = current_preset_;
  }
  int next = slots.front();
  if (direction > 0) {
    const auto it = std::upper_bound(slots.begin(), slots.end(), current);
    next = it == slots.end() ? slots.front() : *it;
  } else {
    const auto it = std::lower_bound(slots.begin(), slots.end(), current);
    next = (current < 0 || it == slots.begin()) ? slots.back() : *(it - 1);
  }
  return LoadPreset(next, lane);
}

void Controls::Start() {
  if (!threads_.empty()) return;
  stop_ = false;
  if (config_.uses_gpio()) {
    std::string error;
    gpio_ = backends_.gpio ? backends_.gpio(config_, &error) : nullptr;
    if (gpio_ == nullptr) {
      Problem("GPIO controls (" + std::to_string(config_.encoders.size()) + " encoders, " +
              std::to_string(config_.buttons.size()) + " buttons, " +
              std::to_string(config_.leds.size()) +
              " LEDs): " + (error.empty() ? "no backend" : error));
    } else {
      threads_.emplace_back([this] { RunGpio(gpio_.get()); });
    }
  }
  if (config_.uses_adc()) {
    std::string error;
    adc_ = backends_.adc ? backends_.adc(config_, &error) : nullptr;
    if (adc_ == nullptr) {
      Problem("pots (" + std::to_string(config_.pots.size()) +
              " on the ADC): " + (error.empty() ? "no backend" : error));
    } else {
      threads_.emplace_back([this] { RunAdc(adc_.get()); });
    }
  }
  if (config_.midi.enabled) {
    std::string error;
    midi_ = backends_.midi ? backends_.midi(config_, &error) : nullptr;
    if (midi_ == nullptr) {
      Problem("MIDI in: " + (error.empty() ? "no backend" : error));
    } else {
      threads_.emplace_back([this] { RunMidi(midi_.get()); });
    }
  }
}

void Controls::Stop() {
  {
    std::lock_guard lock(stop_mutex_);
    stop_ = true;
  }
  stop_cv_.notify_all();
  if (gpio_ != nullptr) gpio_->Wake();
  if (midi_ != nullptr) midi_->Wake();
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
  threads_.clear();
  gpio_.reset();
  adc_.reset();
  midi_.reset();
}

ControlQueue::Producer* Controls::Lane(const char* thread) {
  ControlQueue::Producer* lane = queue_.AddProducerNonRt();
  if (lane == nullptr) Problem(std::string(thread) + " controls: no free control queue lane");
  return lane;
}

void Controls::RunGpio(hal::gpio::GpioLines* lines) {
  NameThread("chronus-gpio");
  ControlQueue::Producer* lane = Lane("gpio");
  if (lane == nullptr) return;
  running_.fetch_add(1);
  Sink sink(*this, lane);
  struct Encoder {
    const EncoderControlConfig* config;
    hal::gpio::QuadratureDecoder decoder;
    hal::gpio::EncoderAcceleration acceleration;
    EncoderMapping mapping;
  };
  struct Button {
    const ButtonControlConfig* config;
    hal::gpio::ButtonDebouncer debouncer;
  };
  std::vector<Encoder> encoders;
  std::vector<Button> buttons;
  for (const auto& e : config_.encoders) {
    encoders.push_back({&e, hal::gpio::QuadratureDecoder(e.quadrature),
                        hal::gpio::EncoderAcceleration(e.acceleration),
                        EncoderMapping(e.target, e.detents)});
    encoders.back().decoder.Reset(lines->Level(e.pin_a), lines->Level(e.pin_b));
  }
  for (const auto& b : config_.buttons) {
    buttons.push_back({&b, hal::gpio::ButtonDebouncer(b.timing)});
    buttons.back().debouncer.Reset(lines->Level(b.pin) != b.active_low);
  }
  auto update_leds = [&] {
    const bool recording = hooks_.recording && hooks_.recording();
    for (const auto& led : config_.leds) {
      const bool on = led.shows == LedControlConfig::Shows::kOn || recording;
      lines->Set(led.pin, on != led.active_low);
    }
  };
  update_leds();
  std::vector<hal::gpio::LineEvent> events;
  while (!stop_.load()) {
    int64_t deadline = hal::gpio::ButtonDebouncer::kNoDeadline;
    for (const Button& b : buttons) deadline = std::min(deadline, b.debouncer.NextDeadline());
    int timeout_ms = config_.leds.empty() ? -1 : 100;  // LEDs follow the recorder's state
    if (deadline != hal::gpio::ButtonDebouncer::kNoDeadline) {
      const int64_t wait_ms = std::max<int64_t>(0, (deadline - hal::MonotonicNs()) / 1'000'000 + 1);
      timeout_ms = timeout_ms < 0 ? static_cast<int>(std::min<int64_t>(wait_ms, 60'000))
                                  : std::min(timeout_ms, static_cast<int>(wait_ms));
    }
    events.clear();
    const std::string error = lines->Wait(timeout_ms, &events);
    if (stop_.load()) break;
    if (!error.empty()) {
      Problem("GPIO controls stopped: " + error);
      break;
    }
    for (const hal::gpio::LineEvent& ev : events) {
      for (Encoder& e : encoders) {
        int steps = 0;
        if (ev.offset == e.config->pin_a) steps = e.decoder.Update(false, ev.rising);
        if (ev.offset == e.config->pin_b) steps = e.decoder.Update(true, ev.rising);
        if (steps != 0) {
          e.mapping.Steps(e.acceleration.Step(steps, ev.time_ns), ev.time_ns, sink);
        }
      }
      for (Button& b : buttons) {
        if (ev.offset == b.config->pin)
          b.debouncer.Edge(ev.rising != b.config->active_low, ev.time_ns);
      }
    }
    const int64_t now = hal::MonotonicNs();
    for (Button& b : buttons) {
      while (const std::optional<hal::gpio::ButtonEvent> press = b.debouncer.Poll(now)) {
        const bool use_long = *press == hal::gpio::ButtonEvent::kLongPress &&
                              b.config->long_target.kind != TargetKind::kNone;
        TriggerTarget(use_long ? b.config->long_target : b.config->target, sink);
      }
    }
    if (!config_.leds.empty()) update_leds();
  }
  running_.fetch_sub(1);
}

void Controls::RunAdc(hal::adc::AdcReader* adc) {
  NameThread("chronus-adc");
  ControlQueue::Producer* lane = Lane("adc");
  if (lane == nullptr) return;
  running_.fetch_add(1);
  Sink sink(*this, lane);
  struct Pot {
    const PotControlConfig* config;
    hal::adc::PotFilter filter;
    AbsoluteMapping mapping;
  };
  std::vector<Pot> pots;
  for (const auto& p : config_.pots) {
    hal::adc::PotFilterConfig filter = p.filter;
    filter.full_scale = adc->full_scale();
    pots.push_back({&p, hal::adc::PotFilter(filter), AbsoluteMapping(p.target, p.pickup, true)});
  }
  uint64_t seen_patch = 0;
  ParamValues patch{};
  using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC
  const auto period = std::chrono::duration_cast<Clock::duration>(
      std::chrono::duration<double>(1.0 / config_.adc_rate_hz));
  auto next = Clock::now();
  while (true) {
    {
      std::unique_lock lock(stop_mutex_);
      if (stop_cv_.wait_until(lock, next, [&] { return stop_.load(); })) break;
    }
    if (PatchChanged(&seen_patch, &patch)) {
      for (Pot& p : pots) p.mapping.ArmPickup(patch);
    }
    for (Pot& p : pots) {
      uint16_t raw = 0;
      const std::string error = adc->Read(p.config->channel, &raw);
      if (!error.empty()) {
        const uint64_t n = adc_errors_.fetch_add(1);
        if (n < 5 || n % 1000 == 0) LogWarning("controls: " + p.config->name + ": " + error);
        continue;
      }
      if (const std::optional<float> position = p.filter.Push(raw)) {
        p.mapping.Position(*position, sink);
      }
    }
    next += period;
    const auto now = Clock::now();
    if (next < now - period) next = now;  // fell behind (suspend, overload): no catch-up burst
  }
  running_.fetch_sub(1);
}

void Controls::RunMidi(hal::midi::MidiSource* source) {
  NameThread("chronus-midi");
  ControlQueue::Producer* lane = Lane("midi");
  if (lane == nullptr) return;
  running_.fetch_add(1);
  Sink sink(*this, lane);
  MidiMapper mapper(config_.midi, &learn_);
  midi_running_.store(true);
  uint64_t seen_patch = 0;
  ParamValues patch{};
  std::vector<hal::midi::MidiEvent> events;
  while (!stop_.load()) {
    for (const std::string& connected : source->TakeConnections()) {
      LogInfo("controls: MIDI in from " + connected);
    }
    events.clear();
    const std::string error = source->Wait(-1, &events);
    if (stop_.load()) break;
    if (!error.empty()) {
      Problem("MIDI in stopped: " + error);
      break;
    }
    if (PatchChanged(&seen_patch, &patch)) mapper.OnPatchLoaded(patch);
    const uint64_t bindings = learn_.bindings();
    for (const hal::midi::MidiEvent& e : events) mapper.Handle(e, sink);
    midi_events_.fetch_add(events.size());
    tempo_bpm_.store(mapper.tempo_bpm());
    if (learn_.bindings() != bindings) LogInfo("controls: MIDI learn: " + learn_.last_binding());
  }
  midi_running_.store(false);
  running_.fetch_sub(1);
}

}  // namespace chronus::firmware
