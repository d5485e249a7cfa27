#include "firmware/config/board_detect.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <toml++/toml.h>

namespace chronus::firmware {

namespace {

constexpr size_t kMaxReadBytes = 64 * 1024;

std::string ReadSmallFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::string text(kMaxReadBytes, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  return text;
}

// The model string without its NUL terminator and trailing white space.
std::string_view TrimModel(std::string_view model) {
  const size_t nul = model.find('\0');
  if (nul != std::string_view::npos) model = model.substr(0, nul);
  while (!model.empty() && (model.back() == '\n' || model.back() == ' ')) model.remove_suffix(1);
  return model;
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

}  // namespace

std::vector<std::string> ParseCardIds(std::string_view cards) {
  std::vector<std::string> ids;
  size_t pos = 0;
  while (pos < cards.size()) {
    size_t end = cards.find('\n', pos);
    if (end == std::string_view::npos) end = cards.size();
    std::string_view line = cards.substr(pos, end - pos);
    pos = end + 1;
    // " 0 [sndrpihifiberry]: RPi-simple - snd_rpi_hifiberry_dacplus"
    size_t i = 0;
    while (i < line.size() && line[i] == ' ') ++i;
    const size_t digits = i;
    while (i < line.size() && line[i] >= '0' && line[i] <= '9') ++i;
    if (i == digits || i + 1 >= line.size() || line[i] != ' ') continue;
    const size_t open = line.find('[', i);
    const size_t close = line.find("]:", i);
    if (open == std::string_view::npos || close == std::string_view::npos || close < open) continue;
    std::string_view id = line.substr(open + 1, close - open - 1);
    while (!id.empty() && id.back() == ' ') id.remove_suffix(1);
    if (!id.empty()) ids.emplace_back(id);
  }
  return ids;
}

BoardChoice DetectBoard(std::string_view model_contents, std::string_view cards_contents) {
  const std::string_view model = TrimModel(model_contents);
  if (model.find("Raspberry Pi") == std::string_view::npos) {
    return {"dev-virtual",
            model.empty() ? "no /proc/device-tree/model: not a Raspberry Pi (virtual card)"
                          : "'" + std::string(model) + "' is not a Raspberry Pi (virtual card)",
            ""};
  }
  const std::vector<std::string> ids = ParseCardIds(cards_contents);
  auto has = [&](std::string_view prefix) {
    for (const auto& id : ids) {
      if (id.starts_with(prefix)) return true;
    }
    return false;
  };
  const std::string on = std::string(model) + " with sound cards [" + Join(ids) + "]";
  if (has("sndrpihifiberry")) return {"rpi4-hifiberry-dacplus", on + ": HiFiBerry DAC", ""};
  if (has("Headphones")) return {"rpi-headphones", on + ": on-board headphone output", ""};
  if (has("vc4hdmi")) return {"rpi-hdmi", on + ": HDMI audio only", ""};
  const bool pi5 = model.find("Raspberry Pi 5") != std::string_view::npos;
  if (ids.empty()) {
    return {pi5 ? "rpi-hdmi" : "rpi-headphones",
            std::string(model) + ", no sound card listed yet: the model's default output", ""};
  }
  return {pi5 ? "rpi-hdmi" : "rpi-headphones",
          on + ": none of them known; the model's default output", ""};
}

std::string ReadBoardSetting(const std::string& settings_path, std::string* warning) {
  std::ifstream probe(settings_path);
  if (!probe) return {};
  const std::string text = ReadSmallFile(settings_path);
  toml::table table;
  try {
    table = toml::parse(text, settings_path);
  } catch (const toml::parse_error& error) {
    *warning = settings_path + ": " + std::string(error.description()) + " (line " +
               std::to_string(error.source().begin.line) + "); ignored";
    return {};
  }
  std::string board;
  for (const auto& [key, node] : table) {
    if (key.str() != "board") {
      *warning += (warning->empty() ? "" : "; ") + settings_path + ": unknown key '" +
                  std::string(key.str()) + "' ignored";
      continue;
    }
    const auto* value = node.as_string();
    if (value == nullptr || value->get().empty() || value->get().size() > 1024) {
      *warning += (warning->empty() ? "" : "; ") + settings_path +
                  ": board: expected a board name or a path (a non-empty string); ignored";
      continue;
    }
    board = value->get();
  }
  return board;
}

BoardChoice SelectBoard(const std::string& settings_path, const std::string& model_path,
                        const std::string& cards_path) {
  std::string warning;
  const std::string board = ReadBoardSetting(settings_path, &warning);
  if (!board.empty()) return {board, "set in " + settings_path, warning};
  BoardChoice choice = DetectBoard(ReadSmallFile(model_path), ReadSmallFile(cards_path));
  choice.warning = warning;
  return choice;
}

void ApplyDetectionPathsFromEnvironment(std::string* model_path, std::string* cards_path) {
  if (const char* env = std::getenv(kModelPathEnv); env != nullptr && *env != '\0') {
    *model_path = env;
  }
  if (const char* env = std::getenv(kCardsPathEnv); env != nullptr && *env != '\0') {
    *cards_path = env;
  }
}

}  // namespace chronus::firmware
