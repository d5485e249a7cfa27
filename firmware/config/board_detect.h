// Board selection at start-up (and at package installation: `chronus --detect-board`): the
// user's choice in /etc/chronus/chronus.toml, else the board detected from the Raspberry Pi model
// (/proc/device-tree/model) and the sound cards the kernel lists (/proc/asound/cards).
// DetectBoard is pure; the file paths of the others are parameters so tests inject contents.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace chronus::firmware {

/// Default locations (what the firmware and the package's postinst read).
inline constexpr const char* kDefaultSettingsPath = "/etc/chronus/chronus.toml";
inline constexpr const char* kDefaultModelPath = "/proc/device-tree/model";
inline constexpr const char* kDefaultCardsPath = "/proc/asound/cards";

/// Environment variables that replace kDefaultModelPath / kDefaultCardsPath for
/// `chronus --detect-board` only (the firmware's start ignores them): tests of the package's
/// postinst, and image builds for another board, point them at sample files, e.g.
/// CHRONUS_DT_MODEL=/tmp/pi5-model chronus --detect-board.
inline constexpr const char* kModelPathEnv = "CHRONUS_DT_MODEL";
inline constexpr const char* kCardsPathEnv = "CHRONUS_ASOUND_CARDS";

/// The outcome: a board name (board/<name>.toml) or a board file path, and why it was chosen.
struct BoardChoice {
  std::string board;    ///< "rpi4-hifiberry-dacplus", or a path when chronus.toml names one.
  std::string reason;   ///< One line for the log: "Raspberry Pi 5 Model B Rev 1.0 with ..."
  std::string warning;  ///< A problem with chronus.toml that was ignored; "" when none.
};

/// The card ids ("sndrpihifiberry", "Headphones", "vc4hdmi0") of /proc/asound/cards contents,
/// in card order. Lines that are not card headers (" N [id   ]: driver - name") are skipped.
std::vector<std::string> ParseCardIds(std::string_view cards);

/// Picks the board for a device-tree model string (NUL-terminated on a Pi; "" on a PC, which has
/// no /proc/device-tree) and /proc/asound/cards contents:
///  - not a Raspberry Pi: "dev-virtual" (the virtual card);
///  - a Raspberry Pi with a HiFiBerry DAC (card id sndrpihifiberry: DAC+, DAC+ Pro, DAC2 HD,
///    DAC+ Zero/Light): "rpi4-hifiberry-dacplus" (Pi 4 and Pi 5 alike);
///  - else with the bcm2835 headphone output (Pi 4, 3): "rpi-headphones";
///  - else with HDMI audio only (a Pi 5, which has no analogue output): "rpi-hdmi";
///  - no card listed yet (the driver may still be probing): by model, Pi 5 "rpi-hdmi", other
///    Pis "rpi-headphones".
/// Pure; any thread.
BoardChoice DetectBoard(std::string_view model, std::string_view cards);

/// Reads the `board` key of the settings file (chronus.toml). Returns "" when the file or the key
/// is absent; sets `*warning` when the file cannot be parsed, `board` is not a non-empty string,
/// or a key is unknown (the rest of the file is still used). Main thread, at start-up.
std::string ReadBoardSetting(const std::string& settings_path, std::string* warning);

/// The board to start with when --board is not given: the settings file's `board` if set, else
/// DetectBoard on the contents of `model_path` and `cards_path` (missing files read as "").
/// Main thread, at start-up.
BoardChoice SelectBoard(const std::string& settings_path = kDefaultSettingsPath,
                        const std::string& model_path = kDefaultModelPath,
                        const std::string& cards_path = kDefaultCardsPath);

/// --detect-board only: replaces `*model_path` / `*cards_path` by the values of kModelPathEnv /
/// kCardsPathEnv when those are set and non-empty (a missing file then reads as "", like a PC).
/// Main thread, at start-up.
void ApplyDetectionPathsFromEnvironment(std::string* model_path, std::string* cards_path);

}  // namespace chronus::firmware
