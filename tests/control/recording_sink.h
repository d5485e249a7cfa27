// A ControlSink that records what the mappings send, for the control tests.
#pragma once

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

  std::vector<float> ParamsSent(dsp::ParamId id) const {
    std::vector<float> out;
    for (const Command& c : commands) {
      if (c.type == CommandType::kSetParam && c.param == id) out.push_back(c.value);
    }
    return out;
  }

  std::vector<Command> commands;
  std::vector<std::pair<ControlAction, int>> actions;
  ParamValues values{};
  bool apply = true;
};

}  // namespace chronus::firmware::testing
