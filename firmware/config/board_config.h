// Board descriptions (board/*.toml): which sound card, period sizes, threads and cores, ports and
// directories a box uses. Loaded with toml++.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "hal/audio/alsa_output.h"

namespace chronus::firmware {

/// Everything a board file sets. Defaults are those of a PC with the virtual card.
struct BoardConfig {
  std::string name = "dev-virtual";
  std::string description;
  std::string source_path;  ///< The file it was loaded from.

  hal::AlsaOutputConfig audio;  ///< [audio] device, format, sample_rate, channels, period, periods
  int audio_priority = 80;      ///< [audio] priority: SCHED_FIFO priority of the audio thread.
  int audio_cpu = -1;           ///< [audio] cpu: core of the audio thread, -1 = any.

  uint32_t workers = 2;          ///< [engine] workers
  std::vector<int> worker_cpus;  ///< [engine] worker_cpus
  int worker_priority = 70;      ///< [engine] worker_priority (below the audio thread)
  uint32_t voices = 16;          ///< [engine] voices: polyphony
  /// [engine] audio_thread_renders: the audio thread renders worker 0's share itself (no thread
  /// of its own; EngineConfig::audio_thread_renders). For machines with few cores.
  bool audio_thread_renders = false;

  int osc_port = 9000;                 ///< [osc] port (UDP)
  std::string osc_bind;                ///< [osc] bind: local address of the UDP port, "" = all
  int osc_tcp_port = 0;                ///< [osc] tcp_port: OSC over TCP, 0 = off
  std::vector<std::string> osc_allow;  ///< [osc] allow: sender networks (CIDR), empty = all
  std::string recordings_dir = "sdcard/recordings";  ///< [recorder] directory
  /// [recorder] flush_interval_s: audio made durable (fdatasync) at least this often, s: at
  /// most this much of a take is lost in a power cut.
  double recorder_flush_interval_s = 1.0;
  std::string state_dir = "sdcard/state";  ///< [state] directory: patch, presets, crash guard

  // [dirt]: the SuperDirt protocol (TidalCycles) and its sample engine.
  int dirt_port = 57120;                       ///< [dirt] port (UDP)
  std::string samples_dir = "sdcard/samples";  ///< [dirt] samples: bank in SuperDirt's layout
  uint32_t sample_memory_mb = 64;              ///< [dirt] sample_memory_mb: sample data budget
  uint32_t dirt_voices = 128;                  ///< [dirt] voices: sample voices over the workers
  std::string dirt_synths = "superpiano";  ///< [dirt] synths: comma-separated `s` names -> synth
  /// [sound] patch: the sound patch (layers, FluidSynth, generative mode), a name looked up as
  /// board/sounds/<name>.toml, or a path (see firmware/sound/sound_patch.h).
  std::string sound_patch = "default";
};

/// One problem found in a board file.
struct BoardError {
  std::string key;       ///< "audio.period"; "" for the file as a whole (unreadable, syntax).
  std::string message;   ///< "file: audio.period: expected ... (got ...)"
  std::string fallback;  ///< The safe default `board` holds instead ("128"); "" when none.
};

/// Result of loading. `error` is empty on success, else the first problem, "file: key: what was
/// expected (got what)"; `errors` lists every problem in file order. The values of `board` are
/// those of the file where valid and the safe defaults of BoardConfig where a key is missing or
/// invalid. `defaults_usable` says whether that `board` is safe to start with despite the errors:
/// true when the file could be read and parsed and no invalid key is one without a safe default
/// (audio.device: a wrong sound card; recorder.directory, state.directory: files written
/// somewhere else).
struct BoardLoadResult {
  BoardConfig board;
  std::string error;
  std::vector<BoardError> errors;
  bool defaults_usable = true;
};

/// Largest board file read, in bytes (a board file is ~1 KiB).
inline constexpr size_t kMaxBoardFileBytes = 64 * 1024;

/// Parses a board file. Unknown keys and tables are errors (they are usually typos); values are
/// type- and range-checked, strings are bounded and free of control characters. Missing keys keep
/// their defaults. Main thread, at start-up.
BoardLoadResult LoadBoardFile(const std::string& path);

/// Resolves `--board` (a name such as "dev-virtual", or a path to a .toml file) to a file path,
/// searching `search_dirs` in order for "<name>.toml". Returns "" when not found.
std::string FindBoardFile(const std::string& name_or_path,
                          const std::vector<std::string>& search_dirs);

/// The directories searched for board files: $CHRONUS_BOARD_DIR, <exe>/../share/chronus/board,
/// and the source tree's board/ directory of this build.
std::vector<std::string> DefaultBoardSearchDirs();

/// Picks the default board for this machine: a Raspberry Pi board when `model_path` (normally
/// /proc/device-tree/model) says "Raspberry Pi" — the HiFiBerry DAC+ board when `cards_path`
/// (/proc/asound/cards) lists a HiFiBerry, else the Pi's headphone output — and "dev-virtual"
/// otherwise. The paths are parameters so that tests can inject sample contents.
std::string DetectBoardName(const std::string& model_path = "/proc/device-tree/model",
                            const std::string& cards_path = "/proc/asound/cards");

}  // namespace chronus::firmware
