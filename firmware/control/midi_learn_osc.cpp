#include "firmware/control/midi_learn_osc.h"

#include <cstring>

namespace chronus::firmware {

std::optional<dsp::ParamId> ParseMidiLearn(const char* types, lo_arg* const* argv, int argc,
                                           std::string* error) {
  if (argc != 1 || types == nullptr || argv == nullptr || argv[0] == nullptr ||
      strnlen(types, 1) < 1 || (types[0] != 's' && types[0] != 'S')) {
    *error = "expected one string: the parameter to bind the next MIDI CC to";
    return std::nullopt;
  }
  const char* name = reinterpret_cast<const char*>(argv[0]);  // liblo: NUL-terminated
  const dsp::ParamSpec* spec = dsp::FindParam(std::string_view(name, strnlen(name, 64)));
  if (spec == nullptr) {
    *error = "unknown parameter";
    return std::nullopt;
  }
  return spec->id;
}

}  // namespace chronus::firmware
