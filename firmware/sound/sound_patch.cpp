#include "firmware/sound/sound_patch.h"

#include <toml++/toml.h>

#include <filesystem>
#include <set>
#include <sstream>

namespace chronus::firmware {

namespace {

namespace fs = std::filesystem;

// How a value from the file is shown in an error.
std::string Describe(const toml::node& node) {
  std::ostringstream ss;
  node.visit([&](const auto& value) {
    if constexpr (toml::is_string<decltype(value)>) {
      ss << '"' << value.get().substr(0, 40) << '"';
    } else if constexpr (toml::is_number<decltype(value)> || toml::is_boolean<decltype(value)>) {
      ss << value.get();
    } else if constexpr (toml::is_array<decltype(value)>) {
      ss << "an array";
    } else if constexpr (toml::is_table<decltype(value)>) {
      ss << "a table";
    } else {
      ss << "a date or time";
    }
  });
  return ss.str();
}

class Reader {
 public:
  Reader(std::string file, SoundPatchLoadResult* result) : file_(std::move(file)), r_(result) {}

  void Fail(const std::string& key, const std::string& expected, const toml::node* got) {
    std::string message = file_ + ": " + key + ": expected " + expected;
    if (got != nullptr) message += " (got " + Describe(*got) + ")";
    if (r_->error.empty()) r_->error = message;
    r_->errors.push_back(message);
  }

  bool Int(const toml::table& t, const std::string& prefix, const char* key, int* out, int min,
           int max) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return true;
    const auto* v = node->as_integer();
    if (v == nullptr || v->get() < min || v->get() > max) {
      Fail(prefix + key, "an integer from " + std::to_string(min) + " to " + std::to_string(max),
           node);
      return false;
    }
    *out = static_cast<int>(v->get());
    return true;
  }

  bool Double(const toml::table& t, const std::string& prefix, const char* key, double* out,
              double min, double max) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return true;
    const std::optional<double> v =
        node->is_number() ? node->value<double>() : std::optional<double>();
    if (!v || !(*v >= min && *v <= max)) {
      std::ostringstream ss;
      ss << "a number from " << min << " to " << max;
      Fail(prefix + key, ss.str(), node);
      return false;
    }
    *out = *v;
    return true;
  }

  bool Bool(const toml::table& t, const std::string& prefix, const char* key, bool* out) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return true;
    if (!node->is_boolean()) {
      Fail(prefix + key, "true or false", node);
      return false;
    }
    *out = node->as_boolean()->get();
    return true;
  }

  bool String(const toml::table& t, const std::string& prefix, const char* key, std::string* out,
              size_t max_bytes) {
    const toml::node* node = t.get(key);
    if (node == nullptr) return true;
    const auto* v = node->as_string();
    bool ok = v != nullptr && v->get().size() <= max_bytes;
    if (ok) {
      for (const char c : v->get()) ok = ok && static_cast<unsigned char>(c) >= 0x20 && c != 0x7f;
    }
    if (!ok) {
      Fail(prefix + key,
           "a string of at most " + std::to_string(max_bytes) + " bytes without control characters",
           node);
      return false;
    }
    *out = v->get();
    return true;
  }

  void Known(const toml::table& t, const std::string& prefix, const std::set<std::string>& keys) {
    for (const auto& [key, node] : t) {
      if (!keys.count(std::string(key.str()))) {
        Fail(prefix + std::string(key.str()), "a known key (this one is unknown)", nullptr);
      }
    }
  }

 private:
  std::string file_;
  SoundPatchLoadResult* r_;
};

void ReadFluid(Reader& r, const toml::table& t, FluidConfig* f) {
  const std::string p = "fluidsynth.";
  r.Known(t, p,
          {"soundfont", "soundfont_dirs", "polyphony", "gain", "reverb", "reverb_room_size",
           "reverb_damping", "reverb_width", "reverb_level", "chorus", "chorus_voices",
           "chorus_level", "chorus_speed_hz", "chorus_depth_ms", "cpu_cores", "cpu"});
  r.String(t, p, "soundfont", &f->soundfont, 1024);
  if (const toml::node* dirs = t.get("soundfont_dirs")) {
    std::vector<std::string> out;
    bool ok = dirs->is_array() && dirs->as_array()->size() <= 8;
    if (ok) {
      for (const auto& item : *dirs->as_array()) {
        ok = ok && item.is_string() && !item.as_string()->get().empty() &&
             item.as_string()->get().size() <= 1024;
        if (ok) out.push_back(item.as_string()->get());
      }
    }
    if (ok) {
      f->soundfont_dirs = out;
    } else {
      r.Fail(p + "soundfont_dirs", "an array of at most 8 directory names", dirs);
    }
  }
  r.Int(t, p, "polyphony", &f->polyphony, 1, 4096);
  r.Double(t, p, "gain", &f->gain, 0.0, 10.0);
  r.Bool(t, p, "reverb", &f->reverb);
  r.Double(t, p, "reverb_room_size", &f->reverb_room_size, 0.0, 1.0);
  r.Double(t, p, "reverb_damping", &f->reverb_damping, 0.0, 1.0);
  r.Double(t, p, "reverb_width", &f->reverb_width, 0.0, 100.0);
  r.Double(t, p, "reverb_level", &f->reverb_level, 0.0, 1.0);
  r.Bool(t, p, "chorus", &f->chorus);
  r.Int(t, p, "chorus_voices", &f->chorus_voices, 0, 99);
  r.Double(t, p, "chorus_level", &f->chorus_level, 0.0, 10.0);
  r.Double(t, p, "chorus_speed_hz", &f->chorus_speed_hz, 0.1, 5.0);
  r.Double(t, p, "chorus_depth_ms", &f->chorus_depth_ms, 0.0, 256.0);
  r.Int(t, p, "cpu_cores", &f->cpu_cores, 1, 256);
  r.Int(t, p, "cpu", &f->cpu, -1, 255);
}

bool ReadLayer(Reader& r, const toml::table& t, size_t index, LayerConfig* layer) {
  const std::string p = "layer[" + std::to_string(index) + "].";
  r.Known(t, p,
          {"name", "target", "channels", "keys", "transpose", "gain_db", "pan", "bank", "program",
           "font_slot"});
  bool ok = r.String(t, p, "name", &layer->name, 64);
  std::string target = "synth";
  ok = r.String(t, p, "target", &target, 16) && ok;
  if (target == "synth") {
    layer->target = LayerConfig::Target::kSynth;
  } else if (target == "fluidsynth") {
    layer->target = LayerConfig::Target::kFluid;
  } else {
    r.Fail(p + "target", "\"synth\" or \"fluidsynth\"", t.get("target"));
    ok = false;
  }
  if (const toml::node* channels = t.get("channels")) {
    uint16_t mask = 0;
    bool good = channels->is_array() && !channels->as_array()->empty();
    if (good) {
      for (const auto& item : *channels->as_array()) {
        const auto* v = item.as_integer();
        good = good && v != nullptr && v->get() >= 1 && v->get() <= 16;
        if (good) mask = static_cast<uint16_t>(mask | (1u << (v->get() - 1)));
      }
    }
    if (good) {
      layer->channels = mask;
    } else {
      r.Fail(p + "channels", "a non-empty array of MIDI channels 1..16", channels);
      ok = false;
    }
  }
  if (const toml::node* keys = t.get("keys")) {
    const toml::array* a = keys->as_array();
    const bool good = a != nullptr && a->size() == 2 && (*a)[0].is_integer() &&
                      (*a)[1].is_integer() && (*a)[0].as_integer()->get() >= 0 &&
                      (*a)[1].as_integer()->get() <= 127 &&
                      (*a)[0].as_integer()->get() <= (*a)[1].as_integer()->get();
    if (good) {
      layer->key_low = static_cast<int>((*a)[0].as_integer()->get());
      layer->key_high = static_cast<int>((*a)[1].as_integer()->get());
    } else {
      r.Fail(p + "keys", "[low, high] MIDI notes with 0 <= low <= high <= 127", keys);
      ok = false;
    }
  }
  ok = r.Int(t, p, "transpose", &layer->transpose, -48, 48) && ok;
  const double max_gain = layer->target == LayerConfig::Target::kFluid ? 0.0 : 24.0;
  ok = r.Double(t, p, "gain_db", &layer->gain_db, -96.0, max_gain) && ok;
  ok = r.Double(t, p, "pan", &layer->pan, -1.0, 1.0) && ok;
  ok = r.Int(t, p, "bank", &layer->bank, 0, 16383) && ok;
  ok = r.Int(t, p, "program", &layer->program, 0, 127) && ok;
  ok = r.Int(t, p, "font_slot", &layer->font_slot, 0, 3) && ok;
  return ok;
}

void ReadGenerative(Reader& r, const toml::table& t, GenerativeConfig* g) {
  const std::string p = "generative.";
  r.Known(t, p,
          {"pad_channel", "melody_channel", "bass_channel", "mode", "root", "bpm", "intensity",
           "seed"});
  r.Int(t, p, "pad_channel", &g->pad_channel, 1, 16);
  r.Int(t, p, "melody_channel", &g->melody_channel, 1, 16);
  r.Int(t, p, "bass_channel", &g->bass_channel, 1, 16);
  r.String(t, p, "mode", &g->mode, 16);
  r.Int(t, p, "root", &g->root, 0, 127);
  r.Double(t, p, "bpm", &g->bpm, 20.0, 300.0);
  r.Double(t, p, "intensity", &g->intensity, 0.0, 1.0);
  int seed = static_cast<int>(g->seed);
  r.Int(t, p, "seed", &seed, 0, 2147483647);
  g->seed = static_cast<uint32_t>(seed);
}

}  // namespace

SoundPatch DefaultSoundPatch() {
  SoundPatch patch;
  patch.fluid.soundfont = "none";
  LayerConfig synth;
  synth.name = "synth";
  patch.layers.push_back(synth);
  return patch;
}

SoundPatchLoadResult LoadSoundPatch(const std::string& path) {
  SoundPatchLoadResult result;
  result.patch.source_path = path;
  Reader r(path, &result);
  toml::table root;
  try {
    root = toml::parse_file(path);
  } catch (const toml::parse_error& e) {
    std::ostringstream ss;
    ss << path << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
       << e.description();
    result.error = ss.str();
    result.errors.push_back(result.error);
    return result;
  }
  for (const auto& [key, node] : root) {
    const std::string name(key.str());
    if (name == "name" && node.is_string()) {
      result.patch.name = node.as_string()->get().substr(0, 64);
    } else if (name == "fluidsynth" && node.is_table()) {
      ReadFluid(r, *node.as_table(), &result.patch.fluid);
    } else if (name == "generative" && node.is_table()) {
      ReadGenerative(r, *node.as_table(), &result.patch.generative);
    } else if (name == "layer" && node.is_array_of_tables()) {
      size_t index = 0;
      for (const auto& item : *node.as_array()) {
        LayerConfig layer;
        if (result.patch.layers.size() >= kMaxLayers) {
          r.Fail("layer[" + std::to_string(index) + "]",
                 "at most " + std::to_string(kMaxLayers) + " layers", nullptr);
        } else if (ReadLayer(r, *item.as_table(), index, &layer)) {
          result.patch.layers.push_back(layer);
        }
        ++index;
      }
    } else {
      r.Fail(name, "name = \"...\", [fluidsynth], [[layer]] or [generative] (unknown key)",
             nullptr);
    }
  }
  return result;
}

std::string FindSoundPatch(const std::string& name_or_path,
                           const std::vector<std::string>& board_dirs) {
  if (name_or_path.find('/') != std::string::npos || name_or_path.ends_with(".toml")) {
    return fs::exists(name_or_path) ? name_or_path : std::string();
  }
  for (const auto& dir : board_dirs) {
    const fs::path candidate = fs::path(dir) / "sounds" / (name_or_path + ".toml");
    std::error_code ec;
    if (fs::is_regular_file(candidate, ec)) return candidate.string();
  }
  return {};
}

std::string ResolveSoundFont(const std::string& name, const std::vector<std::string>& dirs,
                             std::string* error) {
  std::error_code ec;
  if (name.empty()) {
    for (const char* fallback : {"FluidR3_GM.sf2", "TimGM6mb.sf2"}) {
      for (const auto& dir : dirs) {
        const fs::path candidate = fs::path(dir) / fallback;
        if (fs::is_regular_file(candidate, ec)) return candidate.string();
      }
    }
    *error = "no default SoundFont (FluidR3_GM.sf2, TimGM6mb.sf2) in the SoundFont directories";
    return {};
  }
  if (name.size() > 1024) {
    *error = "SoundFont name longer than 1024 bytes";
    return {};
  }
  for (const char c : name) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      *error = "SoundFont name with control characters";
      return {};
    }
  }
  if (name.find('/') == std::string::npos) {
    if (name == "." || name == "..") {
      *error = "not a SoundFont file name: " + name;
      return {};
    }
    for (const auto& dir : dirs) {
      const fs::path candidate = fs::path(dir) / name;
      if (fs::exists(candidate, ec)) return candidate.string();
    }
    *error = "no such SoundFont in the SoundFont directories: " + name;
    return {};
  }
  const fs::path canonical = fs::weakly_canonical(fs::absolute(name, ec), ec);
  for (const auto& dir : dirs) {
    const fs::path root = fs::weakly_canonical(fs::absolute(dir, ec), ec);
    const auto rel = canonical.lexically_relative(root);
    if (!rel.empty() && *rel.begin() != ".." && rel != ".") {
      if (!fs::exists(canonical, ec)) {
        *error = "no such file: " + name;
        return {};
      }
      return canonical.string();
    }
  }
  *error = "not inside a SoundFont directory (fluidsynth.soundfont_dirs): " + name;
  return {};
}

}  // namespace chronus::firmware
