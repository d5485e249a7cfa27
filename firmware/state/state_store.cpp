#include "firmware/state/state_store.h"

#include <pthread.h>

#include <algorithm>
#include <cstdio>
#include <set>
#include <system_error>

#include "firmware/state/atomic_file.h"

namespace chronus::firmware {

namespace {

namespace fs = std::filesystem;

std::chrono::steady_clock::duration Seconds(double s) {
  return std::chrono::duration_cast<std::chrono::steady_clock::duration>(
      std::chrono::duration<double>(s));
}

void Append(std::string* text, const std::string& more) {
  *text += (text->empty() ? "" : "; ") + more;
}

}  // namespace

StateStore::StateStore(Config config) : config_(std::move(config)) {
  if (!(config_.preset_slots >= 1 && config_.preset_slots <= 1000)) {
    Append(&init_error_,
           "preset_slots " + std::to_string(config_.preset_slots) + " outside 1..1000; using 128");
    config_.preset_slots = 128;
  }
  if (!(config_.debounce_s >= 0.0 && config_.debounce_s <= 3600.0)) {
    Append(&init_error_, "debounce_s outside 0..3600 s; using 1 s");
    config_.debounce_s = 1.0;
  }
  if (!(config_.max_delay_s >= config_.debounce_s && config_.max_delay_s <= 3600.0)) {
    Append(&init_error_, "max_delay_s outside debounce_s..3600 s; using debounce_s");
    config_.max_delay_s = config_.debounce_s;
  }
  patch_path_ = config_.directory / "patch.toml";
  presets_dir_ = config_.directory / "presets";
  std::error_code ec;
  fs::create_directories(config_.directory, ec);
  if (ec) {
    Append(&init_error_,
           "cannot create state directory " + config_.directory.string() + ": " + ec.message());
  }
  thread_ = std::thread([this] { Run(); });
  pthread_setname_np(thread_.native_handle(), "chronus-state");  // named before we return
}

StateStore::~StateStore() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  thread_.join();
  SavePending();
}

fs::path StateStore::PresetPath(int slot) const {
  char name[32];
  std::snprintf(name, sizeof name, "%03d.toml", slot);
  return presets_dir_ / name;
}

Patch StateStore::LoadAtStart(std::string* report, bool* degraded) {
  PatchLoadResult loaded = LoadPatch(patch_path_);
  std::error_code ec;
  if (loaded.source != PatchSource::kFile && fs::exists(patch_path_, ec)) {
    // patch.toml is there but unusable: move it aside, so that the next save does not turn it
    // into the .prev generation in place of the good one.
    fs::path corrupt = patch_path_;
    corrupt += ".corrupt";
    fs::rename(patch_path_, corrupt, ec);
    loaded.report += ec ? "; could not move the unusable file aside: " + ec.message()
                        : "; the unusable file was kept as " + corrupt.string();
  }
  if (report != nullptr) *report = loaded.report;
  if (degraded != nullptr) *degraded = loaded.degraded;
  std::lock_guard lock(mutex_);
  saved_ = loaded.patch;
  saved_known_ = loaded.source == PatchSource::kFile;
  return loaded.patch;
}

void StateStore::NoteChangedNonRt(const Patch& current) {
  std::lock_guard lock(mutex_);
  if (!dirty_ && saved_known_ && current == saved_) return;
  const Clock::time_point now = Clock::now();
  // The first change the last snapshot (last_attempt_) did not include starts the max delay; a
  // change made while a slow save was in flight counts from itself, not from before that save.
  if (!dirty_ || first_change_ < last_attempt_) first_change_ = now;
  last_change_ = now;
  pending_ = current;
  ++pending_generation_;
  dirty_ = true;
  wake_.notify_one();
}

std::string StateStore::FlushNonRt() { return SavePending(); }

void StateStore::Run() {
  const Clock::duration debounce = Seconds(config_.debounce_s);
  const Clock::duration max_delay = Seconds(config_.max_delay_s);
  std::unique_lock lock(mutex_);
  while (!stop_) {
    if (!dirty_) {
      wake_.wait(lock);
      continue;
    }
    // A failed save is retried no sooner than 1 s later, even with a shorter debounce.
    const Clock::duration gap = last_failed_ ? std::max(debounce, Seconds(1.0)) : debounce;
    const Clock::time_point due =
        std::max(std::min(last_change_ + debounce, first_change_ + max_delay), last_attempt_ + gap);
    if (Clock::now() < due) {
      wake_.wait_until(lock, due);
      continue;
    }
    lock.unlock();
    const std::string error = SavePending();
    if (!error.empty() && config_.on_save_error) config_.on_save_error(error);
    lock.lock();
  }
}

std::string StateStore::SavePending() {
  std::lock_guard io(io_mutex_);
  Patch patch;
  uint64_t generation = 0;
  {
    std::lock_guard lock(mutex_);
    if (!dirty_) return {};
    patch = pending_;
    generation = pending_generation_;
    last_attempt_ = Clock::now();
  }
  const std::string error = WriteFileAtomically(patch_path_, PatchToToml(patch));
  {
    std::lock_guard lock(mutex_);
    last_failed_ = !error.empty();
    if (error.empty()) {
      saved_ = patch;
      saved_known_ = true;
      if (pending_generation_ == generation) dirty_ = false;
    }
  }
  CountResult(error);
  return error;
}

void StateStore::CountResult(const std::string& error) {
  if (error.empty()) {
    saves_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  save_errors_.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(mutex_);
  last_error_ = error;
}

std::string StateStore::CheckSlot(int slot) const {
  if (slot >= 0 && slot < config_.preset_slots) return {};
  return "preset slot " + std::to_string(slot) + " out of range 0.." +
         std::to_string(config_.preset_slots - 1);
}

std::string StateStore::SavePresetNonRt(int slot, const Patch& patch) {
  if (std::string error = CheckSlot(slot); !error.empty()) return error;
  std::lock_guard io(io_mutex_);
  std::error_code ec;
  fs::create_directories(presets_dir_, ec);
  std::string error = ec ? "cannot create " + presets_dir_.string() + ": " + ec.message()
                         : WriteFileAtomically(PresetPath(slot), PatchToToml(patch));
  CountResult(error);
  return error;
}

PatchLoadResult StateStore::LoadPresetNonRt(int slot) const {
  if (std::string error = CheckSlot(slot); !error.empty()) {
    PatchLoadResult result;
    result.patch = DefaultPatch();
    result.report = error;
    return result;
  }
  PatchLoadResult result = LoadPatch(PresetPath(slot));
  if (!result.ok())
    result.report = "preset " + std::to_string(slot) + " is empty (" + result.report + ")";
  return result;
}

std::vector<int> StateStore::ListPresetsNonRt() const {
  std::set<int> candidates;
  std::error_code ec;
  for (fs::directory_iterator it(presets_dir_, ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    const std::string rest = name.size() > 3 ? name.substr(3) : "";
    const bool digits = name.size() > 3 && std::all_of(name.begin(), name.begin() + 3,
                                                       [](char c) { return c >= '0' && c <= '9'; });
    if (digits && (rest == ".toml" || rest == ".toml.prev")) {
      const int slot = std::stoi(name.substr(0, 3));
      if (slot < config_.preset_slots) candidates.insert(slot);
    }
  }
  std::vector<int> slots;
  for (int slot : candidates) {
    if (LoadPatch(PresetPath(slot)).ok()) slots.push_back(slot);
  }
  return slots;
}

std::string StateStore::last_error() const {
  std::lock_guard lock(mutex_);
  return last_error_;
}

}  // namespace chronus::firmware
