// The OSC side of MIDI learn: `/midi/learn s <param>` arms MidiLearn (midi_mapper.h) so that the
// next MIDI CC moved is bound to that synth parameter. Replies /done /midi/learn <param>, or
// /fail /midi/learn <reason> (unknown parameter, MIDI in not running). Pure parsing here; the OSC
// server calls it (osc_server.cpp) and the firmware's hook arms the MIDI thread's learn.
#pragma once

#include <lo/lo.h>

#include <optional>
#include <string>
#include <string_view>

#include "dsp/synth_params.h"

namespace chronus::firmware {

inline constexpr std::string_view kMidiLearnAddress = "/midi/learn";

/// Parses the arguments of /midi/learn: one string naming a parameter of dsp::kParamSpecs.
/// Returns it, or nullopt and sets `error`. `types` / `argv` as liblo hands them over (argc type
/// tags); never reads past argc. Any thread.
std::optional<dsp::ParamId> ParseMidiLearn(const char* types, lo_arg* const* argv, int argc,
                                           std::string* error);

}  // namespace chronus::firmware
