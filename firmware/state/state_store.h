// StateStore: keeps the current patch and the presets in the state directory (see README.md).
//
// Threads:
//  - control threads (OSC, main): every *NonRt method, LoadAtStart, the counters. The methods are
//    thread-safe; file writes are serialised internally. They allocate and may block on the disk
//    (except NoteChangedNonRt, which only copies the patch), so never call them on the audio
//    thread or in a DSP worker.
//  - the internal thread "chronus-state" (non-RT): performs the debounced saves.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "firmware/state/patch.h"

namespace chronus::firmware {

struct StateStoreConfig {
  std::filesystem::path directory;  ///< The state directory; created (with parents) if missing.
  double debounce_s = 1.0;   ///< A change is saved once no other change came for this long, s.
  double max_delay_s = 5.0;  ///< ...or at the latest this long after the first unsaved change
                             ///< (a knob turned for minutes is still saved), s.
  int preset_slots = 128;    ///< Preset slots 0 .. preset_slots-1; 1..1000.
  /// Called on the "chronus-state" thread when a debounced save fails (e.g. to log it); may be
  /// empty. The failed save is retried max(debounce_s, 1 s) later (and counted each time).
  std::function<void(std::string_view error)> on_save_error;
};

class StateStore {
 public:
  using Config = StateStoreConfig;

  /// Main thread. Creates the directory and starts the "chronus-state" thread. Does not throw
  /// for file-system problems: they are reported by init_error() and each later save fails
  /// with an error (the firmware runs on without persistence). Throws std::system_error only if
  /// the thread cannot be started.
  explicit StateStore(Config config);
  /// Main thread. Stops the thread, then writes a change that is still pending (as FlushNonRt;
  /// an error is counted in save_errors()). Call FlushNonRt first to see its error.
  ~StateStore();
  StateStore(const StateStore&) = delete;
  StateStore& operator=(const StateStore&) = delete;

  /// "" or why the directory could not be created / the config was adjusted. Any thread.
  const std::string& init_error() const { return init_error_; }
  /// `<directory>/patch.toml`, the current patch. Any thread.
  const std::filesystem::path& patch_path() const { return patch_path_; }
  /// `<directory>/presets/NNN.toml` for `slot` (not range-checked). Any thread.
  std::filesystem::path PresetPath(int slot) const;

  /// Main thread, at start-up, non-RT. Loads the current patch with LoadPatch (the file, else its
  /// previous generation, else the defaults; never fails). A present but unusable patch.toml is
  /// renamed to patch.toml.corrupt so that the next save keeps the good .prev. `*report` (may be
  /// null) receives a line for the log; `*degraded` (may be null) is true when that line should
  /// be a warning (something was wrong).
  Patch LoadAtStart(std::string* report, bool* degraded = nullptr);

  /// Control threads, non-RT but cheap (copies the patch under a mutex, never touches the disk).
  /// Records `current` as the patch to save; the "chronus-state" thread writes it debounced
  /// (see Config). Only the latest patch is written; a patch equal to the last one saved or
  /// loaded is not written again.
  void NoteChangedNonRt(const Patch& current);

  /// Control threads, non-RT, blocks on the disk (write + 2 fsyncs). Writes the pending change
  /// now, if any (used at shutdown). Returns "" (also when nothing was pending) or the error.
  std::string FlushNonRt();

  /// Control threads, non-RT, blocks on the disk. Saves `patch` to preset `slot` (0 ..
  /// preset_slots-1), atomically. Returns "" or an error (slot out of range, I/O).
  std::string SavePresetNonRt(int slot, const Patch& patch);

  /// Control threads, non-RT, reads the disk. Loads preset `slot` as LoadPatch does. When the
  /// slot is out of range or empty (no usable file) the result is !ok() and its report says why.
  PatchLoadResult LoadPresetNonRt(int slot) const;

  /// Control threads, non-RT, reads the disk (parses every preset file, ~0.1 ms each). The slots
  /// holding a usable preset, ascending. For /status; cache it if asked often.
  std::vector<int> ListPresetsNonRt() const;

  /// Successful patch and preset writes. Any thread.
  uint64_t saves() const { return saves_.load(std::memory_order_relaxed); }
  /// Failed patch and preset writes. Any thread.
  uint64_t save_errors() const { return save_errors_.load(std::memory_order_relaxed); }
  /// The most recent write error ("" if none). Any thread.
  std::string last_error() const;

 private:
  using Clock = std::chrono::steady_clock;

  void Run();
  std::string SavePending();
  std::string CheckSlot(int slot) const;
  void CountResult(const std::string& error);

  Config config_;
  std::filesystem::path patch_path_;
  std::filesystem::path presets_dir_;
  std::string init_error_;

  std::mutex io_mutex_;  // serialises file writes; taken before mutex_, never while holding it

  mutable std::mutex mutex_;  // guards the fields below
  std::condition_variable wake_;
  bool stop_ = false;
  bool dirty_ = false;  // pending_ differs from what is on disk
  Patch pending_;       // the latest patch noted
  uint64_t pending_generation_ = 0;
  Patch saved_;  // the patch on disk (saved or loaded)
  bool saved_known_ = false;
  Clock::time_point first_change_;  // first change not in the last snapshot
  Clock::time_point last_change_;
  Clock::time_point last_attempt_;
  bool last_failed_ = false;  // the last attempt failed: retry no sooner than 1 s later
  std::string last_error_;

  std::atomic<uint64_t> saves_{0};
  std::atomic<uint64_t> save_errors_{0};
  std::thread thread_;  // last: started once everything above is initialised
};

}  // namespace chronus::firmware
