#include "firmware/config/board_config.h"

#include <unistd.h>

#include <toml++/toml.h>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

namespace chronus::firmware {

namespace {

namespace fs = std::filesystem;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return {};
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Reads typed, range-checked values from one table and remembers the first error.
class TableReader {
 public:
  TableReader(const toml::table& root, std::string file, std::string* error)
      : root_(root), file_(std::move(file)), error_(error) {}

  template <typename T>
  void Int(const char* table, const char* key, T* out, long long min, long long max) {
    const toml::node* node = Find(table, key);
    if (node == nullptr) return;
    auto value = node->value<int64_t>();
    if (!node->is_integer() || !value) {
      Fail(table, key, "an integer");
    } else if (*value < min || *value > max) {
      Fail(table, key,
           "an integer from " + std::to_string(min) + " to " + std::to_string(max) + " (got " +
               std::to_string(*value) + ")");
    } else {
      *out = static_cast<T>(*value);
    }
  }

  void Double(const char* table, const char* key, double* out, double min, double max) {
    const toml::node* node = Find(table, key);
    if (node == nullptr) return;
    auto value = node->value<double>();  // integers convert too
    if (!value || !(node->is_floating_point() || node->is_integer())) {
      Fail(table, key, "a number");
    } else if (!(*value >= min && *value <= max)) {
      Fail(table, key,
           "a number from " + std::to_string(min) + " to " + std::to_string(max) + " (got " +
               std::to_string(*value) + ")");
    } else {
      *out = *value;
    }
  }

  void String(const char* table, const char* key, std::string* out) {
    const toml::node* node = Find(table, key);
    if (node == nullptr) return;
    if (!node->is_string()) return Fail(table, key, "a string");
    *out = *node->value<std::string>();
  }

  void IntList(const char* table, const char* key, std::vector<int>* out, int min, int max) {
    const toml::node* node = Find(table, key);
    if (node == nullptr) return;
    const toml::array* array = node->as_array();
    if (array == nullptr) return Fail(table, key, "an array of integers");
    out->clear();
    for (const auto& item : *array) {
      auto value = item.value<int64_t>();
      if (!item.is_integer() || !value || *value < min || *value > max) {
        return Fail(
            table, key,
            "an array of integers from " + std::to_string(min) + " to " + std::to_string(max));
      }
      out->push_back(static_cast<int>(*value));
    }
  }

  void Fail(const char* table, const char* key, const std::string& expected) {
    if (error_->empty()) *error_ = file_ + ": " + table + "." + key + ": expected " + expected;
  }

  // Flags keys that this version does not know (typos would otherwise be silently ignored).
  void CheckKnown(const std::set<std::string>& known) {
    for (const auto& [table_name, node] : root_) {
      const toml::table* table = node.as_table();
      if (table == nullptr) {
        if (error_->empty()) {
          *error_ = file_ + ": " + std::string(table_name.str()) + ": expected a [table]";
        }
        continue;
      }
      for (const auto& [key, value] : *table) {
        const std::string full = std::string(table_name.str()) + "." + std::string(key.str());
        if (!known.count(full) && error_->empty()) *error_ = file_ + ": " + full + ": unknown key";
      }
    }
  }

 private:
  const toml::node* Find(const char* table, const char* key) {
    const toml::node* t = root_.get(table);
    if (t == nullptr || !t->is_table()) return nullptr;
    return t->as_table()->get(key);
  }

  const toml::table& root_;
  std::string file_;
  std::string* error_;
};

}  // namespace

BoardLoadResult LoadBoardFile(const std::string& path) {
  BoardLoadResult result;
  BoardConfig& b = result.board;
  b.source_path = path;
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream ss;
    ss << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
       << e.description();
    result.error = ss.str();
    return result;
  }
  TableReader r(root, path, &result.error);
  r.CheckKnown({"board.name", "board.description", "audio.device", "audio.format",
                "audio.sample_rate", "audio.channels", "audio.period", "audio.periods",
                "audio.priority", "audio.cpu", "engine.workers", "engine.worker_cpus",
                "engine.worker_priority", "engine.voices", "osc.port", "recorder.directory",
                "recorder.flush_interval_s", "state.directory"});
  r.String("board", "name", &b.name);
  r.String("board", "description", &b.description);
  std::string device = "virtual";
  r.String("audio", "device", &device);
  b.audio.virtual_card = device == "virtual";
  b.audio.device = b.audio.virtual_card ? "chronus_vcard" : device;
  std::string format = hal::SampleFormatName(b.audio.format);
  r.String("audio", "format", &format);
  if (!hal::ParseSampleFormat(format, &b.audio.format)) {
    r.Fail("audio", "format", "one of S16_LE, S24_LE, S32_LE, FLOAT_LE (got \"" + format + "\")");
  }
  r.Int("audio", "sample_rate", &b.audio.sample_rate, 8000, 192000);
  r.Int("audio", "channels", &b.audio.channels, 1, 2);
  r.Int("audio", "period", &b.audio.period_frames, 16, 4096);
  r.Int("audio", "periods", &b.audio.periods, 2, 16);
  r.Int("audio", "priority", &b.audio_priority, 0, 99);
  r.Int("audio", "cpu", &b.audio_cpu, -1, 255);
  r.Int("engine", "workers", &b.workers, 1, 16);
  r.IntList("engine", "worker_cpus", &b.worker_cpus, -1, 255);
  r.Int("engine", "worker_priority", &b.worker_priority, 0, 98);
  r.Int("engine", "voices", &b.voices, 1, 256);
  r.Int("osc", "port", &b.osc_port, 1, 65535);
  r.String("recorder", "directory", &b.recordings_dir);
  r.String("state", "directory", &b.state_dir);
  r.Double("recorder", "flush_interval_s", &b.recorder_flush_interval_s, 0.05, 60.0);
  if (result.error.empty() && b.worker_priority >= b.audio_priority && b.audio_priority > 0) {
    r.Fail("engine", "worker_priority",
           "a priority below audio.priority (" + std::to_string(b.audio_priority) + ")");
  }
  return result;
}

std::string FindBoardFile(const std::string& name_or_path,
                          const std::vector<std::string>& search_dirs) {
  if (name_or_path.find('/') != std::string::npos ||
      (name_or_path.size() > 5 && name_or_path.ends_with(".toml"))) {
    return fs::exists(name_or_path) ? name_or_path : std::string();
  }
  for (const auto& dir : search_dirs) {
    fs::path candidate = fs::path(dir) / (name_or_path + ".toml");
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
  }
  return {};
}

std::vector<std::string> DefaultBoardSearchDirs() {
  std::vector<std::string> dirs;
  if (const char* env = std::getenv("CHRONUS_BOARD_DIR")) dirs.emplace_back(env);
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (!ec) dirs.push_back((exe.parent_path().parent_path() / "share/chronus/board").string());
#ifdef CHRONUS_SOURCE_BOARD_DIR
  dirs.emplace_back(CHRONUS_SOURCE_BOARD_DIR);
#endif
  return dirs;
}

std::string DetectBoardName(const std::string& model_path, const std::string& cards_path) {
  const std::string model = ReadFile(model_path);
  if (model.find("Raspberry Pi") == std::string::npos) return "dev-virtual";
  const std::string cards = ReadFile(cards_path);
  if (cards.find("sndrpihifiberry") != std::string::npos ||
      cards.find("HiFiBerry") != std::string::npos) {
    return "rpi4-hifiberry-dacplus";
  }
  return "rpi-headphones";
}

}  // namespace chronus::firmware
