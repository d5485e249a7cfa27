#include "firmware/config/board_config.h"

#include "firmware/control/net_allow_list.h"

#include <unistd.h>

#include <toml++/toml.h>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "firmware/config/board_detect.h"

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

// How a value from the file is shown in an error: strings quoted (control characters escaped, cut
// at 40 bytes), numbers and booleans as written, other nodes by their kind.
std::string Describe(const toml::node& node) {
  if (const auto* s = node.as_string()) {
    std::string out = "\"";
    for (const char c : s->get().substr(0, 40)) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte < 0x20 || byte == 0x7f) {
        char hex[8];
        std::snprintf(hex, sizeof(hex), "\\x%02x", byte);
        out += hex;
      } else {
        out += c;
      }
    }
    return out + (s->get().size() > 40 ? "...\"" : "\"");
  }
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* f = node.as_floating_point()) {
    std::ostringstream ss;
    ss << f->get();
    return ss.str() + " (a float)";
  }
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  if (node.is_array()) return "an array";
  if (node.is_table()) return "a table";
  return "a date or time";
}

// Reads typed, range-checked values from one table and records every error, keeping the default
// of each invalid key.
class TableReader {
 public:
  TableReader(const toml::table& root, std::string file, BoardLoadResult* result)
      : root_(root), file_(std::move(file)), result_(result) {}

  template <typename T>
  void Int(const char* table, const char* key, T* out, long long min, long long max) {
    const toml::node* node = Find(table, key);
    if (node == nullptr) return;
    const std::string fallback = std::to_string(*out);
    const std::string range = "an integer from " + std::to_string(min) + " to " +
                              std::to_string(max) + " (got " + Describe(*node) + ")";
    if (!node->is_integer()) return Fail(table, key, range, fallback);
    const int64_t value = node->as_integer()->get();
    if (value < min || value > max) return Fail(table, key, range, fallback);
    *out = static_cast<T>(value);
  }

  void Bool(const char* table, const char* key, bool* out) {
    const toml::node* node = Find(table, key);
    if (node == nullptr) return;
    if (!node->is_boolean()) {
      return Fail(table, key, "true or false (got " + Describe(*node) + ")",
                  *out ? "true" : "false");
    }
    *out = node->as_boolean()->get();
  }

  void Double(const char* table, const char* key, double* out, double min, double max) {
    const toml::node* node = Find(table, key);
    if (node == nullptr) return;
    const std::string fallback = std::to_string(*out);
    const std::string range = "a number from " + std::to_string(min) + " to " +
                              std::to_string(max) + " (got " + Describe(*node) + ")";
    if (!node->is_floating_point() && !node->is_integer()) {
      return Fail(table, key, range, fallback);
    }
    const double value = *node->value<double>();
    if (!(value >= min && value <= max)) return Fail(table, key, range, fallback);
    *out = value;
  }

  // A string of at most `max_bytes` bytes without control characters; `essential` when the key
  // has no safe default (the board must not start with the default instead).
  void String(const char* table, const char* key, std::string* out, size_t max_bytes,
              bool allow_empty, bool essential = false) {
    const toml::node* node = Find(table, key);
    if (node == nullptr) return;
    const std::string fallback = essential ? std::string() : "\"" + *out + "\"";
    const std::string expected = std::string(allow_empty ? "a string" : "a non-empty string") +
                                 " of at most " + std::to_string(max_bytes) +
                                 " bytes without control characters (got " + Describe(*node) + ")";
    const toml::value<std::string>* value = node->as_string();
    if (value == nullptr) return Fail(table, key, expected, fallback, essential);
    const std::string& text = value->get();
    if (text.size() > max_bytes || (!allow_empty && text.empty())) {
      return Fail(table, key, expected, fallback, essential);
    }
    for (const char c : text) {
      const auto byte = static_cast<unsigned char>(c);
      if (byte < 0x20 || byte == 0x7f) return Fail(table, key, expected, fallback, essential);
    }
    *out = text;
  }

  void IntList(const char* table, const char* key, std::vector<int>* out, int min, int max,
               size_t max_entries) {
    const toml::node* node = Find(table, key);
    if (node == nullptr) return;
    const std::string expected = "an array of at most " + std::to_string(max_entries) +
                                 " integers from " + std::to_string(min) + " to " +
                                 std::to_string(max) + " (one per worker)";
    const toml::array* array = node->as_array();
    if (array == nullptr) {
      return Fail(table, key, expected + " (got " + Describe(*node) + ")", "[] (not pinned)");
    }
    if (array->size() > max_entries) {
      return Fail(table, key, expected + " (got " + std::to_string(array->size()) + " entries)",
                  "[] (not pinned)");
    }
    std::vector<int> values;
    for (const auto& item : *array) {
      const auto* integer = item.as_integer();
      if (integer == nullptr || integer->get() < min || integer->get() > max) {
        return Fail(table, key, expected + " (got " + Describe(item) + " in it)",
                    "[] (not pinned)");
      }
      values.push_back(static_cast<int>(integer->get()));
    }
    *out = std::move(values);
  }

  // An array of at most `max_entries` networks in CIDR notation (see NetAllowList).
  void NetworkList(const char* table, const char* key, std::vector<std::string>* out,
                   size_t max_entries) {
    const toml::node* node = Find(table, key);
    if (node == nullptr) return;
    const std::string expected = "an array of at most " + std::to_string(max_entries) +
                                 " networks such as \"192.168.1.0/24\" or \"::1\"";
    const toml::array* array = node->as_array();
    if (array == nullptr || array->size() > max_entries) {
      return Fail(table, key, expected + " (got " + Describe(*node) + ")", "", /*essential=*/true);
    }
    std::vector<std::string> values;
    NetAllowList check;
    for (const auto& item : *array) {
      const auto* text = item.as_string();
      const std::string error = text != nullptr ? check.Add(text->get()) : "not a string";
      if (!error.empty()) {
        return Fail(table, key, expected + " (" + error + ")", "", /*essential=*/true);
      }
      values.push_back(text->get());
    }
    *out = std::move(values);
  }

  void Fail(const char* table, const std::string& key, const std::string& expected,
            const std::string& fallback, bool essential = false) {
    const std::string full = std::string(table) + (key.empty() ? "" : "." + key);
    Add(full, file_ + ": " + full + ": expected " + expected, fallback);
    if (essential) result_->defaults_usable = false;
  }

  void Add(const std::string& key, const std::string& message, const std::string& fallback) {
    if (result_->error.empty()) result_->error = message;
    result_->errors.push_back({key, message, fallback});
  }

  // Flags tables and keys this version does not know (typos would otherwise be silently ignored).
  // Keys of further tables that CheckKnown accepts too (call before it).
  void AlsoKnown(const std::set<std::string>& keys) {
    also_known_.insert(keys.begin(), keys.end());
  }

  void CheckKnown(std::set<std::string> known) {
    known.insert(also_known_.begin(), also_known_.end());
    std::set<std::string> tables;
    for (const std::string& k : known) tables.insert(k.substr(0, k.find('.')));
    for (const auto& [table_name, node] : root_) {
      const std::string name(table_name.str());
      const toml::table* table = node.as_table();
      if (table == nullptr || !tables.count(name)) {
        Add(name,
            file_ + ": " + name + ": " +
                (tables.count(name) ? "expected a [table] (got " + Describe(node) + ")"
                                    : std::string("unknown table or key")),
            "ignored");
        continue;
      }
      for (const auto& [key, value] : *table) {
        const std::string full = name + "." + std::string(key.str());
        if (!known.count(full)) Add(full, file_ + ": " + full + ": unknown key", "ignored");
      }
    }
  }

 private:
  std::set<std::string> also_known_;
  const toml::node* Find(const char* table, const char* key) {
    const toml::node* t = root_.get(table);
    if (t == nullptr || !t->is_table()) return nullptr;
    return t->as_table()->get(key);
  }

  const toml::table& root_;
  std::string file_;
  BoardLoadResult* result_;
};

}  // namespace

BoardLoadResult LoadBoardFile(const std::string& path) {
  BoardLoadResult result;
  BoardConfig& b = result.board;
  b.source_path = path;
  auto file_error = [&](const std::string& message) {
    result.error = message;
    result.errors.push_back({"", message, ""});
    result.defaults_usable = false;
    return result;
  };
  std::error_code ec;
  const auto size = fs::file_size(path, ec);
  if (ec) return file_error(path + ": cannot read the board file (" + ec.message() + ")");
  if (size > kMaxBoardFileBytes) {
    return file_error(path + ": expected a board file of at most " +
                      std::to_string(kMaxBoardFileBytes) + " bytes (got " + std::to_string(size) +
                      ")");
  }
  std::ifstream in(path, std::ios::binary);
  std::string text(kMaxBoardFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (!in.eof() || text.size() > kMaxBoardFileBytes) {
    return file_error(path + ": cannot read the board file (or it grew past " +
                      std::to_string(kMaxBoardFileBytes) + " bytes)");
  }
  toml::table root;
  try {
    root = toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    std::ostringstream ss;
    ss << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
       << e.description();
    return file_error(ss.str());
  }
  TableReader r(root, path, &result);
  r.AlsoKnown({"dirt.port", "dirt.samples", "dirt.sample_memory_mb", "dirt.voices", "dirt.synths"});
  r.CheckKnown({"board.name", "board.description", "audio.device", "audio.format",
                "audio.sample_rate", "audio.channels", "audio.period", "audio.periods",
                "audio.priority", "audio.cpu", "engine.workers", "engine.worker_cpus",
                "engine.worker_priority", "engine.voices", "engine.audio_thread_renders",
                "osc.port", "recorder.directory", "recorder.flush_interval_s", "state.directory",
                "osc.bind", "osc.tcp_port", "osc.allow", "sound.patch",
                // [controls] and [midi]: validated by firmware/control/controls_config.cpp
                "controls.gpio_chip", "controls.spi_device", "controls.spi_speed_hz",
                "controls.adc_rate_hz", "controls.encoder", "controls.button", "controls.pot",
                "controls.led", "midi.enabled", "midi.channel", "midi.bend_range",
                "midi.program_change", "midi.pickup", "midi.auto_connect", "midi.cc"});
  r.String("board", "name", &b.name, 64, false);
  r.String("board", "description", &b.description, 256, true);
  std::string device = "virtual";
  r.String("audio", "device", &device, 128, false, /*essential=*/true);
  b.audio.virtual_card = device == "virtual";
  b.audio.device = b.audio.virtual_card ? "chronus_vcard" : device;
  std::string format = hal::SampleFormatName(b.audio.format);
  r.String("audio", "format", &format, 16, false);
  if (!hal::ParseSampleFormat(format, &b.audio.format)) {
    r.Fail("audio", "format", "one of S16_LE, S24_LE, S32_LE, FLOAT_LE (got \"" + format + "\")",
           hal::SampleFormatName(b.audio.format));
  }
  r.Int("audio", "sample_rate", &b.audio.sample_rate, 8000, 192000);
  r.Int("audio", "channels", &b.audio.channels, 1, 2);
  r.Int("audio", "period", &b.audio.period_frames, 16, 4096);
  r.Int("audio", "periods", &b.audio.periods, 2, 16);
  r.Int("audio", "priority", &b.audio_priority, 0, 99);
  r.Int("audio", "cpu", &b.audio_cpu, -1, 255);
  r.Int("engine", "workers", &b.workers, 1, 16);
  r.IntList("engine", "worker_cpus", &b.worker_cpus, -1, 255, b.workers);
  r.Int("engine", "worker_priority", &b.worker_priority, 0, 98);
  r.Int("engine", "voices", &b.voices, 1, 256);
  r.Bool("engine", "audio_thread_renders", &b.audio_thread_renders);
  r.Int("osc", "port", &b.osc_port, 1, 65535);
  r.Int("osc", "tcp_port", &b.osc_tcp_port, 0, 65535);
  r.String("osc", "bind", &b.osc_bind, 64, true);
  if (!b.osc_bind.empty() && !NetAllowList::ParseAddress(b.osc_bind, nullptr)) {
    r.Fail("osc", "bind", "an IPv4 or IPv6 address (got \"" + b.osc_bind + "\")",
           "\"\" (every interface)");
    b.osc_bind.clear();
  }
  r.NetworkList("osc", "allow", &b.osc_allow, 64);
  r.String("recorder", "directory", &b.recordings_dir, 1024, false, /*essential=*/true);
  r.String("state", "directory", &b.state_dir, 1024, false, /*essential=*/true);
  r.String("sound", "patch", &b.sound_patch, 1024, false);
  r.Double("recorder", "flush_interval_s", &b.recorder_flush_interval_s, 0.05, 60.0);
  r.Int("dirt", "port", &b.dirt_port, 1, 65535);
  r.String("dirt", "samples", &b.samples_dir, 1024, false);
  r.Int("dirt", "sample_memory_mb", &b.sample_memory_mb, 1, 4096);
  r.Int("dirt", "voices", &b.dirt_voices, 1, 1024);
  r.String("dirt", "synths", &b.dirt_synths, 1024, true);
  if (b.worker_priority >= b.audio_priority && b.audio_priority > 0) {
    const int safe = b.audio_priority > 10 ? b.audio_priority - 10 : 0;
    r.Fail("engine", "worker_priority",
           "a priority below audio.priority (" + std::to_string(b.audio_priority) + "; got " +
               std::to_string(b.worker_priority) + ")",
           std::to_string(safe));
    b.worker_priority = safe;
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
  return DetectBoard(ReadFile(model_path), ReadFile(cards_path)).board;  // board_detect.h
}

}  // namespace chronus::firmware
