#include "firmware/control/controls_config.h"

#include <toml++/toml.h>

#include <cmath>
#include <fstream>
#include <set>
#include <sstream>

#include "firmware/config/board_config.h"

namespace chronus::firmware {

namespace {

std::string Shown(const toml::node& node) {
  if (const auto* s = node.as_string()) {
    std::string text = s->get().substr(0, 40);
    for (char& c : text) {
      if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) c = '?';
    }
    return "\"" + text + "\"";
  }
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* f = node.as_floating_point()) {
    std::ostringstream ss;
    ss << f->get();
    return ss.str();
  }
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  if (node.is_array()) return "an array";
  if (node.is_table()) return "a table";
  return "a date or time";
}

// Reads one table (a control entry, [controls], [midi]) and collects its problems; `ok()` turns
// false on the first one, so that the caller leaves the control out.
class Entry {
 public:
  Entry(const toml::table& table, std::string where, std::string file,
        std::vector<std::string>* errors, std::string consequence)
      : table_(table),
        where_(std::move(where)),
        file_(std::move(file)),
        errors_(errors),
        consequence_(std::move(consequence)) {}

  bool ok() const { return ok_; }

  void Fail(const std::string& key, const std::string& what) {
    errors_->push_back(file_ + ": " + where_ + (key.empty() ? "" : "." + key) + ": " + what + "; " +
                       consequence_);
    ok_ = false;
  }

  void Known(const std::set<std::string>& keys) {
    for (const auto& [key, node] : table_) {
      if (!keys.count(std::string(key.str()))) Fail(std::string(key.str()), "unknown key");
    }
  }

  template <typename T>
  bool Int(const char* key, T* out, int64_t min, int64_t max, bool required = false) {
    const toml::node* node = table_.get(key);
    if (node == nullptr) {
      if (required) Fail(key, "missing (an integer " + Range(min, max) + ")");
      return !required;
    }
    const auto* value = node->as_integer();
    if (value == nullptr || value->get() < min || value->get() > max) {
      Fail(key, "expected an integer " + Range(min, max) + " (got " + Shown(*node) + ")");
      return false;
    }
    *out = static_cast<T>(value->get());
    return true;
  }

  bool Number(const char* key, double* out, double min, double max) {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return true;
    const std::optional<double> value = node->value<double>();
    if (!(node->is_number()) || !value || !(*value >= min && *value <= max)) {
      std::ostringstream range;
      range << "a number from " << min << " to " << max;
      Fail(key, "expected " + range.str() + " (got " + Shown(*node) + ")");
      return false;
    }
    *out = *value;
    return true;
  }

  bool Bool(const char* key, bool* out) {
    const toml::node* node = table_.get(key);
    if (node == nullptr) return true;
    if (!node->is_boolean()) {
      Fail(key, "expected true or false (got " + Shown(*node) + ")");
      return false;
    }
    *out = node->as_boolean()->get();
    return true;
  }

  bool String(const char* key, std::string* out, size_t max_bytes, bool required = false) {
    const toml::node* node = table_.get(key);
    if (node == nullptr) {
      if (required) Fail(key, "missing");
      return !required;
    }
    const auto* value = node->as_string();
    bool clean = value != nullptr && value->get().size() <= max_bytes;
    if (clean) {
      for (const char c : value->get()) {
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) clean = false;
      }
    }
    if (!clean) {
      Fail(key, "expected a string of at most " + std::to_string(max_bytes) +
                    " bytes without control characters (got " + Shown(*node) + ")");
      return false;
    }
    *out = value->get();
    return true;
  }

  // `target` (required unless `key` is optional), then min / max / curve when it is a parameter.
  bool Target(const char* key, ControlTarget* out, bool required, bool with_range) {
    std::string name;
    if (!String(key, &name, 64, required)) return false;
    if (name.empty()) return !required;
    if (std::string error = ParseTarget(name, out); !error.empty()) {
      Fail(key, error);
      return false;
    }
    if (!with_range) return true;
    const bool is_param = out->kind == TargetKind::kParam;
    // gen_intensity and gen_bpm take a range and a curve, gen_mode a range (whole modes 0..6).
    float gen_lo = 0.0f, gen_hi = 0.0f;
    const bool is_gen = GenTargetLimits(out->kind, &gen_lo, &gen_hi);
    for (const char* range_key : {"min", "max", "curve"}) {
      if (table_.get(range_key) == nullptr) continue;
      if (!is_param && !is_gen) {
        Fail(range_key, "only a parameter or gen_intensity/gen_bpm/gen_mode has a range");
        return false;
      }
      if (out->kind == TargetKind::kGenMode && std::string_view(range_key) == "curve") {
        Fail(range_key, "gen_mode steps through whole modes: no curve");
        return false;
      }
    }
    if (!is_param && !is_gen) return true;
    double min = out->min;
    double max = out->max;
    const double lo = is_gen ? gen_lo : dsp::Spec(out->param).min;
    const double hi = is_gen ? gen_hi : dsp::Spec(out->param).max;
    if (!Number("min", &min, lo, hi) || !Number("max", &max, lo, hi)) return false;
    if (out->kind == TargetKind::kGenMode && (min != std::round(min) || max != std::round(max))) {
      Fail("min", "gen_mode's min and max are whole modes 0..6 (Ionian..Locrian)");
      return false;
    }
    out->min = static_cast<float>(min);
    out->max = static_cast<float>(max);
    std::string curve;
    if (!String("curve", &curve, 8)) return false;
    if (curve == "lin" || curve == "linear") {
      out->curve = Curve::kLinear;
    } else if (curve == "log") {
      out->curve = Curve::kLog;
    } else if (!curve.empty()) {
      Fail("curve", "expected \"lin\" or \"log\" (got \"" + curve + "\")");
      return false;
    }
    if (std::string error = CheckTarget(*out); !error.empty()) {
      Fail("", error);
      return false;
    }
    return true;
  }

 private:
  static std::string Range(int64_t min, int64_t max) {
    return "from " + std::to_string(min) + " to " + std::to_string(max);
  }

  const toml::table& table_;
  std::string where_;
  std::string file_;
  std::vector<std::string>* errors_;
  std::string consequence_;
  bool ok_ = true;
};

constexpr unsigned kMaxPin = 63;  // GPIO lines of the header's chip (BCM2711: 58, RP1: 54)

// Calls `parse` for each table of the array `name` in `parent`; reports non-tables.
template <typename F>
void EachEntry(const toml::table& parent, const char* name, const std::string& prefix,
               const std::string& file, std::vector<std::string>* errors, F parse) {
  const toml::node* node = parent.get(name);
  if (node == nullptr) return;
  const toml::array* array = node->as_array();
  if (array == nullptr) {
    errors->push_back(file + ": " + prefix + name + ": expected [[" + prefix + name +
                      "]] tables; ignored");
    return;
  }
  for (size_t i = 0; i < array->size(); ++i) {
    const std::string where = prefix + name + "[" + std::to_string(i) + "]";
    const toml::table* table = (*array)[i].as_table();
    if (table == nullptr) {
      errors->push_back(file + ": " + where + ": expected a table; ignored");
      continue;
    }
    parse(*table, where);
  }
}

}  // namespace

ControlsLoadResult ParseControlsToml(std::string_view text, std::string_view source_name) {
  ControlsLoadResult result;
  ControlsConfig& c = result.controls;
  const std::string file(source_name);
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream ss;
    ss << file << ":" << e.source().begin.line << ": " << e.description()
       << "; no hardware controls";
    result.errors.push_back(ss.str());
    return result;
  }
  std::set<unsigned> pins;
  std::set<int> channels;
  auto claim_pin = [&](Entry& entry, const char* key, unsigned pin) {
    if (!pins.insert(pin).second) {
      entry.Fail(key, "GPIO " + std::to_string(pin) + " is already used by another control");
    }
  };

  if (const toml::table* controls = root["controls"].as_table()) {
    Entry top(*controls, "controls", file, &result.errors, "using the default");
    top.Known({"gpio_chip", "spi_device", "spi_speed_hz", "adc_rate_hz", "encoder", "button", "pot",
               "led"});
    top.String("gpio_chip", &c.gpio.chip, 64);
    top.String("spi_device", &c.spi_device, 128);
    top.Int("spi_speed_hz", &c.spi_speed_hz, 10'000, 3'600'000);
    top.Number("adc_rate_hz", &c.adc_rate_hz, 1.0, 1000.0);

    EachEntry(*controls, "encoder", "controls.", file, &result.errors,
              [&](const toml::table& t, const std::string& where) {
                EncoderControlConfig e;
                e.name = where;
                Entry r(t, where, file, &result.errors, "this encoder is disabled");
                r.Known({"name", "pin_a", "pin_b", "target", "min", "max", "curve", "detents",
                         "steps_per_detent", "acceleration", "reverse"});
                r.String("name", &e.name, 32);
                r.Int("pin_a", &e.pin_a, 0, kMaxPin, true);
                r.Int("pin_b", &e.pin_b, 0, kMaxPin, true);
                r.Target("target", &e.target, true, true);
                r.Int("detents", &e.detents, 1, 10000);
                r.Bool("acceleration", &e.acceleration.enabled);
                r.Bool("reverse", &e.quadrature.reverse);
                if (r.Int("steps_per_detent", &e.quadrature.steps_per_detent, 1, 4) &&
                    e.quadrature.steps_per_detent == 3) {
                  r.Fail("steps_per_detent", "expected 1, 2 or 4 (got 3)");
                }
                if (!r.ok()) return;
                claim_pin(r, "pin_a", e.pin_a);
                claim_pin(r, "pin_b", e.pin_b);
                if (r.ok()) c.encoders.push_back(e);
              });
    EachEntry(*controls, "button", "controls.", file, &result.errors,
              [&](const toml::table& t, const std::string& where) {
                ButtonControlConfig b;
                b.name = where;
                Entry r(t, where, file, &result.errors, "this button is disabled");
                r.Known({"name", "pin", "target", "long_target", "active_low", "debounce_ms",
                         "long_press_ms"});
                r.String("name", &b.name, 32);
                r.Int("pin", &b.pin, 0, kMaxPin, true);
                r.Target("target", &b.target, true, false);
                r.Target("long_target", &b.long_target, false, false);
                r.Bool("active_low", &b.active_low);
                double debounce_ms = 10.0;
                double long_ms = 600.0;
                r.Number("debounce_ms", &debounce_ms, 0.0, 100.0);
                r.Number("long_press_ms", &long_ms, 100.0, 10000.0);
                b.timing.debounce_ns = static_cast<int64_t>(debounce_ms * 1e6);
                b.timing.long_press_ns = static_cast<int64_t>(long_ms * 1e6);
                if (IsValueTarget(b.target.kind) || IsValueTarget(b.long_target.kind)) {
                  r.Fail("target",
                         "a button triggers an action (preset_next, preset_prev, record, "
                         "record_start, record_stop, panic, gen_toggle), not a parameter");
                }
                if (!r.ok()) return;
                claim_pin(r, "pin", b.pin);
                if (r.ok()) c.buttons.push_back(b);
              });
    EachEntry(*controls, "pot", "controls.", file, &result.errors,
              [&](const toml::table& t, const std::string& where) {
                PotControlConfig p;
                p.name = where;
                Entry r(t, where, file, &result.errors, "this pot is disabled");
                r.Known({"name", "channel", "target", "min", "max", "curve", "pickup", "hysteresis",
                         "smoothing"});
                r.String("name", &p.name, 32);
                r.Int("channel", &p.channel, 0, 7, true);
                r.Target("target", &p.target, true, true);
                r.Bool("pickup", &p.pickup);
                double hysteresis = p.filter.hysteresis;
                double smoothing = p.filter.smoothing;
                r.Number("hysteresis", &hysteresis, 0.0, 100.0);
                r.Number("smoothing", &smoothing, 0.01, 1.0);
                p.filter.hysteresis = static_cast<float>(hysteresis);
                p.filter.smoothing = static_cast<float>(smoothing);
                if (!r.ok()) return;
                if (!channels.insert(p.channel).second) {
                  r.Fail("channel", "ADC channel " + std::to_string(p.channel) +
                                        " is already used by another pot");
                }
                if (r.ok()) c.pots.push_back(p);
              });
    EachEntry(*controls, "led", "controls.", file, &result.errors,
              [&](const toml::table& t, const std::string& where) {
                LedControlConfig l;
                l.name = where;
                Entry r(t, where, file, &result.errors, "this LED is disabled");
                r.Known({"name", "pin", "shows", "active_low"});
                r.String("name", &l.name, 32);
                r.Int("pin", &l.pin, 0, kMaxPin, true);
                r.Bool("active_low", &l.active_low);
                std::string shows = "recording";
                r.String("shows", &shows, 16);
                if (shows == "recording") {
                  l.shows = LedControlConfig::Shows::kRecording;
                } else if (shows == "on") {
                  l.shows = LedControlConfig::Shows::kOn;
                } else {
                  r.Fail("shows", "expected \"recording\" or \"on\" (got \"" + shows + "\")");
                }
                if (!r.ok()) return;
                claim_pin(r, "pin", l.pin);
                if (r.ok()) c.leds.push_back(l);
              });
  } else if (root.contains("controls")) {
    result.errors.push_back(file + ": controls: expected a [controls] table; no GPIO/ADC controls");
  }

  if (const toml::table* midi = root["midi"].as_table()) {
    MidiConfig& m = c.midi;
    Entry top(*midi, "midi", file, &result.errors, "using the default");
    top.Known(
        {"enabled", "channel", "bend_range", "program_change", "pickup", "auto_connect", "cc"});
    top.Bool("enabled", &m.enabled);
    top.Int("channel", &m.channel, 0, 16);
    double bend = m.bend_range;
    top.Number("bend_range", &bend, 0.0, 24.0);
    m.bend_range = static_cast<float>(bend);
    top.Bool("program_change", &m.program_change);
    top.Bool("pickup", &m.pickup);
    top.Bool("auto_connect", &m.auto_connect);
    std::set<int> ccs;
    EachEntry(*midi, "cc", "midi.", file, &result.errors,
              [&](const toml::table& t, const std::string& where) {
                MidiCcMapping map;
                Entry r(t, where, file, &result.errors, "this CC mapping is ignored");
                r.Known({"cc", "target", "min", "max", "curve"});
                r.Int("cc", &map.cc, 0, 127, true);
                r.Target("target", &map.target, true, true);
                if (map.cc == 64 || map.cc == 120 || map.cc == 121 || map.cc == 123) {
                  r.Fail("cc", "CC " + std::to_string(map.cc) +
                                   " is reserved (sustain pedal, all sound/notes off, reset)");
                }
                if (!r.ok()) return;
                if (!ccs.insert(map.cc).second) {
                  r.Fail("cc", "CC " + std::to_string(map.cc) + " is mapped twice");
                }
                if (r.ok()) m.cc.push_back(map);
              });
  } else if (root.contains("midi")) {
    result.errors.push_back(file + ": midi: expected a [midi] table; MIDI in disabled");
  }
  return result;
}

ControlsLoadResult LoadControlsConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::string text(kMaxBoardFileBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<size_t>(in.gcount()));
  if (!in.eof() || text.size() > kMaxBoardFileBytes) {
    ControlsLoadResult result;
    result.errors.push_back(path + ": cannot read the board file; no hardware controls");
    return result;
  }
  return ParseControlsToml(text, path);
}

}  // namespace chronus::firmware
