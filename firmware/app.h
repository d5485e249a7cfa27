// The firmware application: wires the board, the audio device, the engine, the recorder and the
// OSC server together, runs until SIGINT/SIGTERM, and shuts down cleanly.
#pragma once

#include <string>
#include <vector>

#include "firmware/control/osc_server.h"

namespace chronus::firmware {

/// Command-line overrides of the board file; negative / empty = keep the board's value.
struct AppOptions {
  std::string board;          ///< Board name or path; empty = detect.
  std::string capture;        ///< Virtual card: WAV of what was played.
  std::string vcard_control;  ///< Virtual card: control file ("unplugged" = card gone).
  std::string recordings;     ///< Recordings directory.
  std::string state;          ///< State directory (patch, presets, crash guard).
  int osc_port = -1;
  int period = -1;  ///< frames
  int periods = -1;
  std::vector<std::string> faults;  ///< --fault specs (tests only; see engine/fault.h)
  std::string model_path = "/proc/device-tree/model";  ///< For board detection (tests inject).
  std::string cards_path = "/proc/asound/cards";

  // SuperDirt (issue #6): negative / empty = keep the board's value.
  int dirt_port = -1;                                       ///< SuperDirt UDP port.
  std::string samples;                                      ///< Sample bank directory.
  std::string settings_path = "/etc/chronus/chronus.toml";  ///< `board` override (board_detect.h)
};

/// Runs the firmware until SIGINT or SIGTERM. Returns the process exit code: 0 after a clean
/// shutdown, 2 for a configuration error, 3 when the audio device cannot be opened or started.
/// Main thread; SIGINT and SIGTERM must be blocked in every thread (main does that first).
int RunApp(const AppOptions& options);

/// `chronus --detect-board`: prints the board RunApp would start with when --board is not given
/// (options' settings, model and cards paths) on stdout, the reason (and any problem with
/// chronus.toml) on stderr. Returns 0. Used by the package's postinst. Main thread.
int PrintBoardChoice(const AppOptions& options);

}  // namespace chronus::firmware
