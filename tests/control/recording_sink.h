// A ControlSink that records what the mappings send, for the control tests.
#pragma once

#include <map>
#include <utility>
#include <vector>

#include "firmware/control/control_sink.h"

namespace chronus::firmware::testing {

class RecordingSink : public ControlSink {
 public:
  RecordingSink() {
    for (const auto& spec : dsp::kParamSpecs)
      values[static_cast<size_t>(spec.id)] = spec.default_value;
  }
  void Send(const Command& command) override {
    commands.push_back(command);
    // The engine applies parameters a period later; tests that want that set `apply` false.
    if (apply && command.type == CommandType::kSetParam) {
      values[static_cast<size_t>(command.param)] = command.value;
    }
  }
  void Act(ControlAction action, int arg) override { actions.emplace_back(action, arg); }
  float ParamValue(dsp::ParamId id) override { return values[static_cast<size_t>(id)]; }
  void Generative(TargetKind kind, float value) override {
    generative.emplace_back(kind, value);
    if (kind == TargetKind::kGenToggle) {
      gen_values[kind] = gen_values[kind] > 0.5f ? 0.0f : 1.0f;
    } else if (apply) {
      gen_values[kind] = value;
    }
  }
  float GenerativeValue(TargetKind kind) override { return gen_values[kind]; }

  std::vector<float> ParamsSent(dsp::ParamId id) const {
    std::vector<float> out;
    for (const Command& c : commands) {
      if (c.type == CommandType::kSetParam && c.param == id) out.push_back(c.value);
    }
    return out;
  }

  std::vector<Command> commands;
  std::vector<std::pair<ControlAction, int>> actions;
  std::vector<std::pair<TargetKind, float>> generative;
  // The generative mode as it plays (gen_toggle: 1 = playing): defaults intensity 0.5, 60 bpm,
  // Dorian.
  std::map<TargetKind, float> gen_values = {{TargetKind::kGenIntensity, 0.5f},
                                            {TargetKind::kGenBpm, 60.0f},
                                            {TargetKind::kGenMode, 1.0f},
                                            {TargetKind::kGenToggle, 0.0f}};
  ParamValues values{};
  bool apply = true;
};

}  // namespace chronus::firmware::testing
