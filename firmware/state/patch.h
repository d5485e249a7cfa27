// The patch: the value of every synth parameter (dsp::kParamSpecs), and its TOML file format.
//
// File format (written by PatchToToml, human-editable):
//
//   [patch]
//   version = 1
//
//   [params]
//   cutoff    = 2000.0  # Hz, 20 .. 20000
//   ...                  (one key per parameter, by its OSC name /param/<name>, in its unit)
//
//   [end]               # must stay last: marks a complete file
//
// Reading rules (ParsePatchToml):
//  - The file as a whole is refused (PatchParseResult::error, patch = defaults) when it is not
//    valid TOML, has no `[patch] version = 1`, has a [params] that is not a table, or lacks the
//    `[end]` table. A file cut short by a crash or power loss (empty, or truncated anywhere)
//    fails one of these checks, so it is never mistaken for a patch with missing keys.
//  - In a usable file, each parameter key must be a number (integer or float) within the
//    parameter's range (an enum parameter such as waveform must also be a whole number).
//    A value that is not is refused, never clamped: the refusal names file, key, what was
//    expected and what was found (key_errors), and that parameter takes its default. The rest
//    of the file is used.
//  - Missing parameter keys take their default; unknown keys or tables are ignored. Both are
//    reported in `warnings`.
//
// Threads: all functions are pure or non-RT file I/O; any non-RT thread. They allocate, so never
// call them on the audio thread or in a DSP worker.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "dsp/synth_params.h"

namespace chronus::firmware {

/// The value of every synth parameter, indexed by dsp::ParamId, in the units of dsp::kParamSpecs
/// (Hz, s, dB, normalised 0..1, or an enum number).
struct Patch {
  std::array<float, dsp::kParamCount> values{};

  float& operator[](dsp::ParamId id) { return values[static_cast<size_t>(id)]; }
  float operator[](dsp::ParamId id) const { return values[static_cast<size_t>(id)]; }
  bool operator==(const Patch&) const = default;
};

/// Every parameter at its dsp::kParamSpecs default. Any thread.
Patch DefaultPatch();

/// The patch as a complete TOML document in the format above (floats written with the shortest
/// text that reads back to the identical float). Values are written as given, not validated.
std::string PatchToToml(const Patch& patch);

/// Result of ParsePatchToml.
struct PatchParseResult {
  /// The file's values where usable, defaults elsewhere. All defaults when `error` is set.
  Patch patch;
  /// Why the file is unusable as a whole ("" = usable), e.g.
  /// "/s/patch.toml:7:11: expected a value" or "/s/patch.toml: no [end] table (file cut short)".
  std::string error;
  /// Refused values, e.g. "/s/patch.toml: params.cutoff: expected a number from 20 to 20000 Hz
  /// (got 25000)"; each such parameter took its default.
  std::vector<std::string> key_errors;
  /// Ignored unknown keys and defaulted missing keys.
  std::vector<std::string> warnings;

  bool usable() const { return error.empty(); }
};

/// Parses a patch file's text; `source_name` (usually the path) prefixes every message.
PatchParseResult ParsePatchToml(std::string_view text, std::string_view source_name);

/// Where LoadPatch found the patch it returns.
enum class PatchSource : uint8_t {
  kFile,      ///< `path` itself.
  kPrevious,  ///< `<path>.prev`: `path` was missing or unusable.
  kDefaults,  ///< Neither file was usable (or there were none): DefaultPatch().
};

/// Result of LoadPatch.
struct PatchLoadResult {
  Patch patch;
  PatchSource source = PatchSource::kDefaults;
  std::filesystem::path path;  ///< The file used; empty for kDefaults.
  /// One line for the log saying what was used and why, including refused and ignored keys,
  /// e.g. "/s/patch.toml unusable (...); loaded the previous save /s/patch.toml.prev".
  std::string report;
  /// True when something was wrong (a file unusable, `path` missing while `.prev` exists, keys
  /// refused or ignored): log the report as a warning. False for a clean load and for a first
  /// start with no file at all.
  bool degraded = false;

  /// A file was used (not the defaults).
  bool ok() const { return source != PatchSource::kDefaults; }
};

/// Loads the patch at `path`: `path` if it exists and is usable, else `<path>.prev` (the
/// generation kept by WriteFileAtomically), else the defaults. Never fails: a corrupt,
/// half-written, empty or unreadable file only makes it fall back, and the report says so.
/// Non-RT (file I/O).
PatchLoadResult LoadPatch(const std::filesystem::path& path);

}  // namespace chronus::firmware
