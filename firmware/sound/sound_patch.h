// The sound patch (board/sounds/*.toml): FluidSynth settings, the layers that route MIDI channels
// and key ranges to the synth voices or to FluidSynth programs (with gain and pan), and the
// generative mode's defaults. A keyboard split or a layered pad + piano is a patch, not code.
// Loaded with toml++ on the main thread at start-up.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chronus::firmware {

/// [fluidsynth]: the settings of the FluidSynth instance (names of FluidSynth's own settings in
/// brackets).
struct FluidConfig {
  /// SoundFont to load at start: a file name looked up in `soundfont_dirs`, an absolute path, ""
  /// for the first default found (FluidR3_GM.sf2, then TimGM6mb.sf2), or "none" (synth only).
  std::string soundfont;
  std::vector<std::string> soundfont_dirs = {"/usr/share/sounds/sf2", "sdcard/soundfonts"};
  int polyphony = 64;             ///< [synth.polyphony] voices, 1..4096.
  double gain = 0.4;              ///< [synth.gain] linear, 0..10.
  bool reverb = true;             ///< [synth.reverb.active]
  double reverb_room_size = 0.2;  ///< [synth.reverb.room-size] 0..1
  double reverb_damping = 0.0;    ///< [synth.reverb.damp] 0..1
  double reverb_width = 0.5;      ///< [synth.reverb.width] 0..100
  double reverb_level = 0.9;      ///< [synth.reverb.level] 0..1
  bool chorus = true;             ///< [synth.chorus.active]
  int chorus_voices = 3;          ///< [synth.chorus.nr] 0..99
  double chorus_level = 2.0;      ///< [synth.chorus.level] 0..10
  double chorus_speed_hz = 0.3;   ///< [synth.chorus.speed] 0.1..5 Hz
  double chorus_depth_ms = 8.0;   ///< [synth.chorus.depth] 0..256 ms
  int cpu_cores = 1;  ///< [synth.cpu-cores]: 1 = FluidSynth renders in our worker thread only.
  int cpu = -1;       ///< Core of the FluidSynth worker thread, -1 = not pinned.
};

/// One [[layer]]: what a MIDI channel's notes (within a key range) play.
struct LayerConfig {
  enum class Target : uint8_t { kSynth, kFluid };
  std::string name;
  Target target = Target::kSynth;
  uint16_t channels = 1;  ///< Bit c set: MIDI channel c + 1 (OSC /note/* is channel 1).
  int key_low = 0;        ///< Key range, MIDI notes, inclusive.
  int key_high = 127;
  int transpose = 0;     ///< Semitones added to the note.
  double gain_db = 0.0;  ///< Layer gain, dB (<= 0 for FluidSynth layers: MIDI volume, CC 7).
  double pan = 0.0;      ///< -1 left .. +1 right (balance; 0 = unchanged).
  int bank = 0;          ///< FluidSynth layers: SoundFont bank (128 = GM drum kits).
  int program = 0;       ///< FluidSynth layers: program 0..127 (GM numbering from 0).
  int font_slot = 0;     ///< FluidSynth layers: SoundFont slot (see /sf/load).
};

/// [generative]: the generative mode's defaults and the MIDI channels its parts play on (they go
/// through the layers like any other note).
struct GenerativeConfig {
  int pad_channel = 14;     ///< 1..16
  int melody_channel = 15;  ///< 1..16
  int bass_channel = 16;    ///< 1..16
  std::string mode = "dorian";
  int root = 50;  ///< MIDI note (D3)
  double bpm = 60.0;
  double intensity = 0.5;
  uint32_t seed = 1;
};

struct SoundPatch {
  std::string name = "default";
  std::string source_path;
  FluidConfig fluid;
  std::vector<LayerConfig> layers;  ///< In file order; a note may sound on several layers.
  GenerativeConfig generative;
};

/// Layers at most (each FluidSynth layer plays on its own FluidSynth channel).
inline constexpr size_t kMaxLayers = 16;

struct SoundPatchLoadResult {
  SoundPatch patch;
  std::string error;                ///< "" or the first problem.
  std::vector<std::string> errors;  ///< Every problem ("file: key: expected ... (got ...)").
};

/// The patch without a file: one synth layer on channel 1 and nothing else (synth only).
SoundPatch DefaultSoundPatch();

/// Parses a sound patch. Unknown keys are errors; an invalid value keeps its default and is listed
/// in `errors`; an invalid layer is dropped. Main thread.
SoundPatchLoadResult LoadSoundPatch(const std::string& path);

/// Resolves a patch name ("default") or path to a file: a name is looked up as
/// "<dir>/sounds/<name>.toml" in `board_dirs`. "" when not found.
std::string FindSoundPatch(const std::string& name_or_path,
                           const std::vector<std::string>& board_dirs);

/// Resolves a SoundFont name or path against `dirs`: a bare file name is looked up in each
/// directory, an absolute path must lie inside one of them (after resolving "..", symlinks), and
/// "" picks FluidR3_GM.sf2 then TimGM6mb.sf2 from the directories. Returns the path, or "" with
/// `*error` set. Any non-RT thread.
std::string ResolveSoundFont(const std::string& name, const std::vector<std::string>& dirs,
                             std::string* error);

}  // namespace chronus::firmware
