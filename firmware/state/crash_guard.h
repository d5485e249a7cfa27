// CrashGuard: detects that the previous run did not shut down cleanly (crash, kill -9, power
// loss) and a crash loop, as norns does with its clean-shutdown flag.
//
// Files in the state directory:
//   running         marker written at start (time, pid), removed by LeaveCleanly. Finding it at
//                   start means the previous run ended uncleanly.
//   unclean_starts  the times (Unix seconds) of the last 10 starts that found the marker.
//   known_good.toml the patch that was current at the last clean shutdown (SaveKnownGood).
//
// Rule: a start is in safe mode when the previous run ended uncleanly and at least
// `max_unclean` unclean starts (this one included) happened within `window_s` of now. In safe
// mode the firmware starts with LoadKnownGood() (the known-good patch, else the defaults)
// instead of the last patch, which may be what makes it crash.
//
// Threads: one object, used from the main thread at start-up and shutdown. Non-RT: file I/O
// with fsync. Errors never throw; they are returned (the firmware then runs unguarded).
#pragma once

#include <chrono>
#include <filesystem>
#include <string>

#include "firmware/state/patch.h"

namespace chronus::firmware {

class CrashGuard {
 public:
  struct Result {
    bool unclean_previous = false;  ///< The `running` marker of the previous run was found.
    int recent_unclean = 0;         ///< Unclean starts within window_s of now, this one included.
    bool safe_mode = false;         ///< unclean_previous && recent_unclean >= max_unclean.
    std::string report;             ///< A line for the log (a warning when unclean_previous).
    std::string error;              ///< "" or why the marker/history could not be written.
  };

  static constexpr int kHistoryLength = 10;  ///< Unclean start times kept.

  /// Main thread, at start-up, before loading the patch. Non-RT, blocks on the disk.
  /// Creates `directory` if needed; if the `running` marker exists, records `now` in
  /// unclean_starts (atomically); then writes a new marker (atomically, fsynced) with `now` and
  /// the pid. `now` is a parameter so that tests can inject times. `window_s` in seconds.
  Result Enter(const std::filesystem::path& directory,
               std::chrono::system_clock::time_point now = std::chrono::system_clock::now(),
               int max_unclean = 3, double window_s = 60.0);

  /// Main thread, last thing at a clean shutdown (after the final saves). Removes the marker and
  /// fsyncs the directory. Returns "" or an error (also when Enter was not called).
  std::string LeaveCleanly();

  /// Main thread, at a clean shutdown, before LeaveCleanly. Saves `patch` as the known-good patch
  /// (`<directory>/known_good.toml`, atomically, previous generation kept). Returns "" or an
  /// error. Requires Enter.
  std::string SaveKnownGood(const Patch& patch);

  /// Main thread. The known-good patch (LoadPatch of known_good.toml: the file, else its
  /// previous generation, else the defaults). Requires Enter (else: defaults).
  PatchLoadResult LoadKnownGood() const;

 private:
  std::filesystem::path directory_;
  bool entered_ = false;
};

}  // namespace chronus::firmware
