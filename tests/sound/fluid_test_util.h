// Helpers of the FluidSynth tests: a small SoundFont found on this machine.
#pragma once

#include <filesystem>
#include <string>

namespace chronus::test {

/// A General MIDI SoundFont installed by tools/install-deps: TimGM6mb (6 MB, quick to load) or
/// FluidR3_GM; "" when neither is installed.
inline std::string TestSoundFont() {
  for (const char* path :
       {"/usr/share/sounds/sf2/TimGM6mb.sf2", "/usr/share/sounds/sf2/FluidR3_GM.sf2"}) {
    if (std::filesystem::exists(path)) return path;
  }
  return {};
}

}  // namespace chronus::test
