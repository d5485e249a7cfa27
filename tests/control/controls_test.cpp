// The control threads with scripted backends (a scripted encoder and button on fake GPIO lines, a
// fake ADC, a scripted MIDI source): what reaches the control queue, preset actions, pickup after
// a preset load; and, with the real backends on a machine without the devices, clear problems
// and no threads while the rest keeps working.
#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>

#include "firmware/control/controls.h"
#include "hal/rt/clock.h"
#include "scripted_backends.h"

namespace chronus::firmware {
namespace {

using dsp::ParamId;
using namespace std::chrono_literals;

using testing::FakeAdc;
using testing::ScriptedLines;
using testing::ScriptedMidi;

ControlTarget Target(const char* name) {
  ControlTarget t;
  EXPECT_EQ(ParseTarget(name, &t), "");
  return t;
}

class ControlsTest : public ::testing::Test {
 protected:
  ControlsTest() {
    for (const auto& spec : dsp::kParamSpecs)
      values_[static_cast<size_t>(spec.id)] = spec.default_value;
    hooks_.param_value = [this](ParamId id) {
      std::lock_guard lock(mutex_);
      return values_[static_cast<size_t>(id)];
    };
    hooks_.list_presets = [] { return std::vector<int>{2, 5, 9}; };
    hooks_.load_preset = [this](int slot, std::vector<Command>* commands) {
      loaded_.push_back(slot);
      commands->push_back(Command{CommandType::kSetParam, 0, ParamId::kCutoffHz,
                                  100.0f * static_cast<float>(slot + 1)});
      return std::string();
    };
    hooks_.recording = [this] { return recording_.load(); };
    hooks_.record = [this](bool start) {
      recording_ = start;
      return std::make_pair(true, std::string(start ? "take.wav" : "take.wav done"));
    };
  }

  // Drains the queue (acting as the audio thread: parameters are applied) until `count` commands
  // arrived or `timeout` passed.
  std::vector<Command> Drain(size_t count, std::chrono::milliseconds timeout = 2000ms) {
    std::vector<Command> out;
    const auto until = std::chrono::steady_clock::now() + timeout;
    while (out.size() < count && std::chrono::steady_clock::now() < until) {
      Command c;
      if (queue_.popRt(&c)) {
        out.push_back(c);
        if (c.type == CommandType::kSetParam) {
          std::lock_guard lock(mutex_);
          values_[static_cast<size_t>(c.param)] = c.value;
        }
      } else {
        std::this_thread::sleep_for(1ms);
      }
    }
    return out;
  }

  ControlBackends Scripted() {
    ControlBackends b;
    b.gpio = [this](const ControlsConfig&, std::string*) {
      auto lines = std::make_unique<ScriptedLines>();
      lines_ = lines.get();
      return std::unique_ptr<hal::gpio::GpioLines>(std::move(lines));
    };
    b.adc = [this](const ControlsConfig&, std::string*) {
      auto adc = std::make_unique<FakeAdc>();
      adc_ = adc.get();
      for (auto& r : adc_->raw) r = 512;
      return std::unique_ptr<hal::adc::AdcReader>(std::move(adc));
    };
    b.midi = [this](const ControlsConfig&, std::string*) {
      auto midi = std::make_unique<ScriptedMidi>();
      midi_ = midi.get();
      return std::unique_ptr<hal::midi::MidiSource>(std::move(midi));
    };
    return b;
  }

  ControlQueue queue_;
  ControlHooks hooks_;
  std::mutex mutex_;
  ParamValues values_{};
  std::vector<int> loaded_;
  std::atomic<bool> recording_{false};
  ScriptedLines* lines_ = nullptr;
  FakeAdc* adc_ = nullptr;
  ScriptedMidi* midi_ = nullptr;
};

TEST_F(ControlsTest, EncoderButtonsAndLedThroughTheGpioThread) {
  ControlsConfig config;
  EncoderControlConfig encoder;
  encoder.pin_a = 5;
  encoder.pin_b = 6;
  encoder.target = Target("gain");
  encoder.detents = 72;  // 1 dB per detent
  config.encoders.push_back(encoder);
  ButtonControlConfig record;
  record.pin = 23;
  record.target = Target("record");
  config.buttons.push_back(record);
  ButtonControlConfig preset;
  preset.pin = 22;
  preset.target = Target("preset_next");
  preset.long_target = Target("panic");
  preset.timing.long_press_ns = 200'000'000;
  config.buttons.push_back(preset);
  config.leds.push_back({"rec", 25, LedControlConfig::Shows::kRecording, false});
  Controls controls(config, queue_, hooks_, Scripted());
  controls.Start();
  ASSERT_NE(lines_, nullptr);
  // Two slow detents clockwise (B falls, A falls, B rises, A rises), with a bounce on B.
  std::vector<Command> steps;
  for (int i = 0; i < 2; ++i) {
    lines_->Edges({{6, false}, {6, true}, {6, false}, {5, false}, {6, true}, {5, true}},
                  50'000'000);
    for (const Command& c : Drain(1)) steps.push_back(c);
    std::this_thread::sleep_for(250ms);
  }
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0].param, ParamId::kMasterGainDb);
  EXPECT_NEAR(steps[0].value, -5.0f, 1e-4f);
  EXPECT_NEAR(steps[1].value, -4.0f, 1e-4f);
  // The record button: pressed with bounce, released 100 ms later -> a take starts; the LED
  // follows the recorder.
  lines_->Edges({{23, false}, {23, true}, {23, false}}, 1'000'000);
  std::this_thread::sleep_for(100ms);
  lines_->Edges({{23, true}}, 0);
  for (int i = 0; i < 100 && !lines_->Output(25); ++i) std::this_thread::sleep_for(10ms);
  EXPECT_TRUE(recording_.load());
  EXPECT_TRUE(lines_->Output(25));
  // The preset button: a short press loads the next stored preset (2), a long press is panic.
  lines_->Edges({{22, false}}, 0);
  std::this_thread::sleep_for(60ms);
  lines_->Edges({{22, true}}, 0);
  auto preset_commands = Drain(1);
  ASSERT_EQ(preset_commands.size(), 1u);
  EXPECT_FLOAT_EQ(preset_commands[0].value, 300.0f);
  lines_->Edges({{22, false}}, 0);
  auto panic = Drain(1);  // reported at 200 ms while held
  ASSERT_EQ(panic.size(), 1u);
  EXPECT_EQ(panic[0].type, CommandType::kAllNotesOff);
  lines_->Edges({{22, true}}, 0);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(loaded_, (std::vector<int>{2}));
  EXPECT_EQ(controls.running_threads(), 1);
  controls.Stop();
  EXPECT_EQ(controls.running_threads(), 0);
  EXPECT_EQ(controls.device_errors(), 0u);
}

TEST_F(ControlsTest, PotsAtRestSendNothingAndPickUpAfterAPresetLoad) {
  ControlsConfig config;
  config.adc_rate_hz = 200.0;
  PotControlConfig pot;
  pot.name = "res";
  pot.channel = 1;
  pot.target = Target("resonance");  // linear 0..1
  config.pots.push_back(pot);
  Controls controls(config, queue_, hooks_, Scripted());
  ParamValues start = values_;
  start[static_cast<size_t>(ParamId::kResonance)] = 0.8f;
  controls.NotePatchLoaded(start);
  controls.Start();
  ASSERT_NE(adc_, nullptr);
  // At rest (with a little noise) for 0.3 s: nothing.
  for (int i = 0; i < 30; ++i) {
    adc_->raw[1] = static_cast<uint16_t>(300 + (i % 3) - 1);
    std::this_thread::sleep_for(10ms);
  }
  EXPECT_GT(adc_->reads.load(), 20);
  EXPECT_TRUE(Drain(1, 10ms).empty());
  // Turned up to 0.7 (below the start patch's 0.8): still nothing; past 0.8: it takes over.
  adc_->raw[1] = 716;
  EXPECT_TRUE(Drain(1, 100ms).empty());
  adc_->raw[1] = 900;
  const auto sent = Drain(1);
  ASSERT_EQ(sent.size(), 1u);
  EXPECT_EQ(sent[0].param, ParamId::kResonance);
  std::this_thread::sleep_for(100ms);
  Command last = sent[0];
  for (const Command& c : Drain(100, 10ms)) last = c;
  EXPECT_NEAR(last.value, 900.0f / 1023.0f, 0.01f);
  controls.Stop();
}

TEST_F(ControlsTest, MidiNotesProgramChangeAndLearnThroughTheMidiThread) {
  ControlsConfig config;
  config.midi.enabled = true;
  Controls controls(config, queue_, hooks_, Scripted());
  controls.Start();
  ASSERT_NE(midi_, nullptr);
  for (int i = 0; i < 100 && !controls.midi_running(); ++i) std::this_thread::sleep_for(5ms);
  ASSERT_TRUE(controls.midi_running());
  using Type = hal::midi::MidiEvent::Type;
  midi_->Send({{Type::kNoteOn, 0, 60, 127, 0, 0}, {Type::kProgramChange, 0, 5, 0, 0, 0}});
  const auto commands = Drain(2);
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_EQ(commands[0].type, CommandType::kNoteOn);
  EXPECT_EQ(commands[0].note, 60);
  EXPECT_FLOAT_EQ(commands[1].value, 600.0f);  // preset 5's cutoff
  EXPECT_EQ(loaded_, (std::vector<int>{5}));
  controls.midi_learn().Arm(ParamId::kSustain);
  midi_->Send({{Type::kControlChange, 0, 21, 90, 0, 0}});
  for (int i = 0; i < 100 && controls.midi_learn().bindings() == 0; ++i) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(controls.midi_learn().bindings(), 1u);
  EXPECT_EQ(controls.midi_learn().last_binding(), "CC 21 -> sustain");
  EXPECT_EQ(controls.midi_events(), 3u);
  controls.Stop();
  EXPECT_FALSE(controls.midi_running());
}

TEST_F(ControlsTest, MissingDevicesAreProblemsNotFailures) {
  ControlsConfig config;
  config.gpio.labels = {"no-such-gpio-controller"};  // never matches, even on a Pi
  config.spi_device = "/nonexistent/spidev0.0";
  EncoderControlConfig encoder;
  encoder.pin_a = 5;
  encoder.pin_b = 6;
  encoder.target = Target("gain");
  config.encoders.push_back(encoder);
  PotControlConfig pot;
  pot.target = Target("cutoff");
  config.pots.push_back(pot);
  Controls controls(config, queue_, hooks_);  // the hardware backends
  controls.Start();
  const auto problems = controls.problems();
  ASSERT_EQ(problems.size(), 2u);
  EXPECT_NE(problems[0].find("GPIO controls"), std::string::npos) << problems[0];
  EXPECT_NE(problems[1].find("/nonexistent/spidev0.0"), std::string::npos) << problems[1];
  EXPECT_EQ(controls.device_errors(), 2u);
  EXPECT_EQ(controls.running_threads(), 0);
  // The queue still works for everyone else.
  ControlQueue::Producer* lane = queue_.AddProducerNonRt();
  ASSERT_NE(lane, nullptr);
  EXPECT_TRUE(lane->pushNonRt(Command{CommandType::kAllNotesOff}));
  EXPECT_EQ(Drain(1).size(), 1u);
  controls.Stop();
}

}  // namespace
}  // namespace chronus::firmware
