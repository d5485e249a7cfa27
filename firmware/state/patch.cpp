#include "firmware/state/patch.h"

#include <toml++/toml.h>
#include <algorithm>
#include <charconv>
#include <cmath>
#include <sstream>

#include "firmware/state/atomic_file.h"

namespace chronus::firmware {

namespace {

namespace fs = std::filesystem;

constexpr int64_t kPatchVersion = 1;

// Shortest text that reads back to the same value, in plain decimals for the numbers of a patch
// ("20", "0.0005", "25000.5"; 1e-07 for the odd very small or large one).
template <typename T>
std::string NumberText(T value) {
  char buffer[64];
  const T magnitude = std::fabs(value);
  const bool plain = magnitude == 0 || (magnitude >= T(1e-6) && magnitude < T(1e9));
  const auto result =
      plain ? std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::fixed)
            : std::to_chars(buffer, buffer + sizeof buffer, value);
  return std::string(buffer, result.ptr);
}

// As NumberText, and always a TOML float ("2000.0", "0.005").
std::string FloatText(float value) {
  std::string text = NumberText(value);
  if (text.find_first_of(".eEna") == std::string::npos) text += ".0";
  return text;
}

bool IsEnum(const dsp::ParamSpec& spec) { return spec.unit == "enum"; }

std::string RangeComment(const dsp::ParamSpec& spec) {
  if (spec.id == dsp::ParamId::kWaveform) {
    return "0 sine, 1 saw, 2 square, default " + NumberText(spec.default_value);
  }
  std::string comment = spec.unit.empty() ? "" : std::string(spec.unit) + ", ";
  return comment + NumberText(spec.min) + " .. " + NumberText(spec.max) + ", default " +
         NumberText(spec.default_value);
}

std::string Expected(const dsp::ParamSpec& spec) {
  std::string text = IsEnum(spec) ? "a whole number from " : "a number from ";
  text += NumberText(spec.min) + " to " + NumberText(spec.max);
  if (!spec.unit.empty() && !IsEnum(spec)) text += " " + std::string(spec.unit);
  return text;
}

std::string TypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string:
      return "a string";
    case toml::node_type::boolean:
      return "a boolean";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

// Reads one parameter from [params]; returns "" or the refusal (without the file prefix).
std::string ReadParam(const dsp::ParamSpec& spec, const toml::node& node, float* out) {
  double value = 0.0;
  if (const auto* integer = node.as_integer()) {
    value = static_cast<double>(integer->get());
  } else if (const auto* floating = node.as_floating_point()) {
    value = floating->get();
  } else {
    return "expected " + Expected(spec) + " (got " + TypeName(node) + ")";
  }
  // Compared as float, the type of the ranges and of the patch ("0.0005" is 0.0005f, the minimum).
  const auto as_float = static_cast<float>(value);
  const bool in_range = as_float >= spec.min && as_float <= spec.max;  // false for NaN
  if (!in_range || (IsEnum(spec) && value != std::floor(value))) {
    return "expected " + Expected(spec) + " (got " + NumberText(value) + ")";
  }
  *out = as_float;
  return {};
}

std::string Join(const std::vector<std::string>& items) {
  std::string text;
  for (const auto& item : items) text += (text.empty() ? "" : "; ") + item;
  return text;
}

}  // namespace

Patch DefaultPatch() {
  Patch patch;
  for (const auto& spec : dsp::kParamSpecs) patch[spec.id] = spec.default_value;
  return patch;
}

std::string PatchToToml(const Patch& patch) {
  std::ostringstream out;
  out << "# Chronus patch: one key per synth parameter (OSC /param/<name>), in the unit shown.\n"
         "# Keys left out take their default, unknown keys are ignored, and a value out of range\n"
         "# is refused (the parameter takes its default). Keep [end] last: it marks a complete\n"
         "# file.\n"
         "[patch]\n"
         "version = "
      << kPatchVersion << "\n\n[params]\n";
  for (const auto& spec : dsp::kParamSpecs) {
    const float value = patch[spec.id];
    std::string text = FloatText(value);
    if (IsEnum(spec) && value == std::floor(value) && std::fabs(value) < 1e6f) {
      text = std::to_string(static_cast<long>(value));
    }
    std::string key(spec.name);
    key.resize(std::max<size_t>(key.size(), 9), ' ');
    std::string assignment = key + " = " + text;
    assignment.resize(std::max<size_t>(assignment.size(), 22), ' ');
    out << assignment << "  # " << RangeComment(spec) << "\n";
  }
  out << "\n[end]\n";
  return out.str();
}

PatchParseResult ParsePatchToml(std::string_view text, std::string_view source_name) {
  PatchParseResult result;
  result.patch = DefaultPatch();
  const std::string file(source_name);
  toml::table root;
  try {
    root = toml::parse(text, source_name);
  } catch (const toml::parse_error& e) {
    std::ostringstream ss;
    ss << file << ":" << e.source().begin.line << ":" << e.source().begin.column << ": "
       << e.description();
    result.error = ss.str();
    return result;
  }

  const toml::node* version = root.at_path("patch.version").node();
  if (version == nullptr || !version->is_integer()) {
    result.error =
        file + ": not a Chronus patch (no [patch] version = " + std::to_string(kPatchVersion) + ")";
    return result;
  }
  if (version->as_integer()->get() != kPatchVersion) {
    result.error = file + ": patch.version: expected " + std::to_string(kPatchVersion) + " (got " +
                   std::to_string(version->as_integer()->get()) + ")";
    return result;
  }
  if (!root["end"].is_table()) {
    result.error = file + ": no [end] table: the file was cut short (half-written) or edited";
    return result;
  }
  const toml::node* params_node = root.get("params");
  if (params_node != nullptr && !params_node->is_table()) {
    result.error = file + ": params: expected a [params] table";
    return result;
  }

  for (const auto& [key, node] : root) {
    if (key != "patch" && key != "params" && key != "end") {
      result.warnings.push_back(file + ": " + std::string(key.str()) + ": unknown, ignored");
    }
  }
  for (const auto& [key, node] : *root["patch"].as_table()) {
    if (key != "version") {
      result.warnings.push_back(file + ": patch." + std::string(key.str()) + ": unknown, ignored");
    }
  }
  static const toml::table kEmpty;
  const toml::table& params = params_node != nullptr ? *params_node->as_table() : kEmpty;
  for (const auto& [key, node] : params) {
    if (dsp::FindParam(key.str()) == nullptr) {
      result.warnings.push_back(file + ": params." + std::string(key.str()) +
                                ": unknown parameter, ignored");
    }
  }
  for (const auto& spec : dsp::kParamSpecs) {
    const std::string where = file + ": params." + std::string(spec.name) + ": ";
    const toml::node* node = params.get(spec.name);
    if (node == nullptr) {
      result.warnings.push_back(where + "missing, using the default " +
                                NumberText(spec.default_value));
    } else if (std::string error = ReadParam(spec, *node, &result.patch[spec.id]); !error.empty()) {
      result.key_errors.push_back(where + error + "; using the default " +
                                  NumberText(spec.default_value));
    }
  }
  return result;
}

PatchLoadResult LoadPatch(const fs::path& path) {
  PatchLoadResult result;
  result.patch = DefaultPatch();
  fs::path prev = path;
  prev += ".prev";
  std::string why;  // what was wrong with the files tried so far
  for (const fs::path& candidate : {path, prev}) {
    const bool is_prev = candidate == prev;
    const FileRead read = ReadWholeFile(candidate);
    std::string problem;
    if (!read.exists) {
      problem = candidate.string() + " missing";
    } else if (!read.error.empty()) {
      problem = read.error;
    } else {
      PatchParseResult parsed = ParsePatchToml(read.bytes, candidate.string());
      if (parsed.usable()) {
        result.patch = parsed.patch;
        result.source = is_prev ? PatchSource::kPrevious : PatchSource::kFile;
        result.path = candidate;
        result.report =
            why + (is_prev ? "loaded the previous save " : "loaded ") + candidate.string();
        std::vector<std::string> problems = parsed.key_errors;
        problems.insert(problems.end(), parsed.warnings.begin(), parsed.warnings.end());
        if (!problems.empty()) result.report += " (" + Join(problems) + ")";
        result.degraded = is_prev || !problems.empty();
        return result;
      }
      problem = candidate.string() + " unusable (" + parsed.error + ")";
    }
    if (read.exists) result.degraded = true;
    why += problem + "; ";
  }
  result.report = why + "using the default patch";
  return result;
}

}  // namespace chronus::firmware
