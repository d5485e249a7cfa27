#include "firmware/state/crash_guard.h"

#include <unistd.h>

#include <toml++/toml.h>
#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstring>
#include <ctime>
#include <vector>

#include "firmware/state/atomic_file.h"

namespace chronus::firmware {

namespace {

namespace fs = std::filesystem;

double UnixSeconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration<double>(t.time_since_epoch()).count();
}

std::string NumberText(double value) {
  char buffer[32];
  const auto result = std::to_chars(buffer, buffer + sizeof buffer, value);
  std::string text(buffer, result.ptr);
  if (text.find_first_of(".eEna") == std::string::npos) text += ".0";
  return text;
}

std::string IsoUtc(double unix_seconds) {
  const auto t = static_cast<std::time_t>(unix_seconds);
  std::tm tm{};
  char text[32] = "?";
  if (gmtime_r(&t, &tm) != nullptr) std::strftime(text, sizeof text, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return text;
}

std::string FormatSeconds(double s) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", s);
  return text;
}

// The unclean start times in `path`; empty when missing or unreadable (`*problem` says so).
std::vector<double> ReadHistory(const fs::path& path, std::string* problem) {
  std::vector<double> times;
  const FileRead read = ReadWholeFile(path);
  if (!read.exists) return times;
  if (!read.error.empty()) {
    *problem = read.error + "; history restarted";
    return times;
  }
  try {
    const toml::table root = toml::parse(read.bytes, path.string());
    if (const toml::array* array = root["times"].as_array()) {
      for (const auto& item : *array) {
        if (auto value = item.value<double>(); value && std::isfinite(*value)) {
          times.push_back(*value);
        }
      }
    }
  } catch (const toml::parse_error& e) {
    *problem =
        path.string() + " unreadable (" + std::string(e.description()) + "); history restarted";
  }
  return times;
}

std::string HistoryToml(const std::vector<double>& times) {
  std::string text =
      "# Starts of Chronus that found the previous run had not shut down cleanly\n"
      "# (Unix seconds, newest last). The crash guard counts those within its window.\n"
      "times = [\n";
  for (double t : times) text += "  " + NumberText(t) + ",  # " + IsoUtc(t) + "\n";
  return text + "]\n";
}

}  // namespace

CrashGuard::Result CrashGuard::Enter(const fs::path& directory,
                                     std::chrono::system_clock::time_point now, int max_unclean,
                                     double window_s) {
  Result result;
  directory_ = directory;
  entered_ = true;
  std::error_code ec;
  fs::create_directories(directory_, ec);
  if (ec) {
    result.error = "cannot create state directory " + directory_.string() + ": " + ec.message();
    result.report = "crash guard off: " + result.error;
    return result;
  }
  const fs::path marker = directory_ / "running";
  const fs::path history_path = directory_ / "unclean_starts";
  const double now_s = UnixSeconds(now);
  std::string problem;
  std::vector<double> history = ReadHistory(history_path, &problem);

  const FileRead previous = ReadWholeFile(marker);
  if (previous.exists) {
    result.unclean_previous = true;
    std::string who = "the previous run";
    try {
      const toml::table root = toml::parse(previous.bytes, marker.string());
      const auto started = root["started"].value<double>();
      const auto pid = root["pid"].value<int64_t>();
      if (started && pid) {
        who += " (pid " + std::to_string(*pid) + ", started " + IsoUtc(*started) + ")";
      }
    } catch (const toml::parse_error&) {
      who += " (marker unreadable)";
    }
    result.report = who + " did not shut down cleanly";
    history.push_back(now_s);
    if (history.size() > kHistoryLength) {
      history.erase(history.begin(), history.end() - kHistoryLength);
    }
    if (std::string error = WriteFileAtomically(history_path, HistoryToml(history), false);
        !error.empty()) {
      result.error = error;
    }
  } else {
    result.report = "the previous run shut down cleanly";
  }
  result.recent_unclean = static_cast<int>(std::count_if(
      history.begin(), history.end(), [&](double t) { return std::fabs(now_s - t) <= window_s; }));
  result.safe_mode = result.unclean_previous && result.recent_unclean >= max_unclean;
  if (result.unclean_previous) {
    result.report += "; " + std::to_string(result.recent_unclean) + " unclean start(s) within " +
                     FormatSeconds(window_s) + " s";
  }
  if (result.safe_mode) {
    result.report += "; SAFE MODE: starting with the known-good patch instead of the last one";
  }
  if (!problem.empty()) result.report += "; " + problem;

  const std::string marker_text =
      "# Chronus is running: written at start, removed at a clean shutdown.\n"
      "started = " +
      NumberText(now_s) + "  # " + IsoUtc(now_s) + "\npid = " + std::to_string(::getpid()) + "\n";
  if (std::string error = WriteFileAtomically(marker, marker_text, false); !error.empty()) {
    result.error += (result.error.empty() ? "" : "; ") + error;
  }
  if (!result.error.empty()) result.report += "; crash guard impaired: " + result.error;
  return result;
}

std::string CrashGuard::LeaveCleanly() {
  if (!entered_) return "crash guard: LeaveCleanly without Enter";
  const fs::path marker = directory_ / "running";
  if (::unlink(marker.c_str()) != 0 && errno != ENOENT) {
    return "cannot remove " + marker.string() + ": " + std::strerror(errno);
  }
  return FsyncDirectory(directory_);
}

std::string CrashGuard::SaveKnownGood(const Patch& patch) {
  if (!entered_) return "crash guard: SaveKnownGood without Enter";
  return WriteFileAtomically(directory_ / "known_good.toml", PatchToToml(patch));
}

PatchLoadResult CrashGuard::LoadKnownGood() const {
  if (!entered_) {
    PatchLoadResult result;
    result.patch = DefaultPatch();
    result.report = "crash guard not entered; using the default patch";
    return result;
  }
  return LoadPatch(directory_ / "known_good.toml");
}

}  // namespace chronus::firmware
