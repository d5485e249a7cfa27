// StateStore: load at start, debounced saves, flush, presets, errors.
#include "firmware/state/state_store.h"

#include <gtest/gtest.h>

#include <chrono>
#include <climits>
#include <fstream>
#include <thread>

#include "tests/state/state_test_util.h"

namespace chronus::firmware {
namespace {

namespace fs = std::filesystem;
using test::TorturePatch;
using Clock = std::chrono::steady_clock;

class StateStoreTest : public test::StateTempDir {
 protected:
  StateStore::Config Config(double debounce_s = 1.0, double max_delay_s = 5.0) {
    StateStore::Config config;
    config.directory = dir_ / "state";
    config.debounce_s = debounce_s;
    config.max_delay_s = max_delay_s;
    return config;
  }
  // Waits until `store.saves()` reaches `count`; returns the time it took, or nullopt after 5 s.
  static std::optional<double> WaitSaves(const StateStore& store, uint64_t count,
                                         Clock::time_point since) {
    while (store.saves() < count) {
      if (Clock::now() - since > std::chrono::seconds(5)) return std::nullopt;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    return std::chrono::duration<double>(Clock::now() - since).count();
  }
};

TEST_F(StateStoreTest, FirstStartUsesDefaultsThenFlushedPatchIsLoadedNextTime) {
  {
    StateStore store(Config());
    EXPECT_EQ(store.init_error(), "");
    EXPECT_TRUE(fs::is_directory(dir_ / "state"));
    std::string report;
    bool degraded = true;
    EXPECT_EQ(store.LoadAtStart(&report, &degraded), DefaultPatch());
    EXPECT_FALSE(degraded);
    EXPECT_TRUE(report.ends_with("using the default patch")) << report;
    EXPECT_EQ(store.FlushNonRt(), "");  // nothing pending
    EXPECT_EQ(store.saves(), 0u);
    store.NoteChangedNonRt(TorturePatch(42));
    EXPECT_EQ(store.FlushNonRt(), "");
    EXPECT_EQ(store.saves(), 1u);
  }
  StateStore store(Config());
  std::string report;
  EXPECT_EQ(store.LoadAtStart(&report), TorturePatch(42));
  EXPECT_EQ(report, "loaded " + (dir_ / "state" / "patch.toml").string());
}

TEST_F(StateStoreTest, ChangesAreDebouncedLastValueWinsNeverOnTheCallersThread) {
  constexpr double kDebounce = 0.2;
  StateStore store(Config(kDebounce));
  store.LoadAtStart(nullptr);
  Clock::time_point last_change;
  for (uint32_t i = 1; i <= 50; ++i) {  // 50 changes in ~0.2 s, each closer than the debounce
    store.NoteChangedNonRt(TorturePatch(i));
    last_change = Clock::now();
    EXPECT_EQ(store.saves(), 0u);  // nothing written on this thread, nor before the debounce
    std::this_thread::sleep_for(std::chrono::milliseconds(4));
  }
  const std::optional<double> took = WaitSaves(store, 1, last_change);
  ASSERT_TRUE(took.has_value());
  EXPECT_GE(*took, kDebounce - 0.01);
  // Saved within the debounce plus a margin for the write itself (fdatasync of the file and the
  // directory, which a busy disk can stretch to a second).
  EXPECT_LE(*took, kDebounce + 1.0);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_EQ(store.saves(), 1u);  // 50 changes, one save
  EXPECT_EQ(LoadPatch(store.patch_path()).patch, TorturePatch(50));
  std::printf("[ figures  ] 50 changes -> %llu save(s), %.0f ms after the last change\n",
              static_cast<unsigned long long>(store.saves()), *took * 1000.0);
}

TEST_F(StateStoreTest, ContinuousChangesAreStillSavedAfterMaxDelay) {
  StateStore store(Config(0.2, 0.5));
  store.LoadAtStart(nullptr);
  const Clock::time_point start = Clock::now();
  uint32_t i = 0;
  int rests = 0;  // gaps longer than the debounce: this thread was descheduled (a loaded host)
  Clock::time_point last = start;
  while (Clock::now() - start < std::chrono::milliseconds(1300)) {
    store.NoteChangedNonRt(TorturePatch(++i));
    const Clock::time_point now = Clock::now();
    rests += now - last > std::chrono::milliseconds(200) ? 1 : 0;
    last = now;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  EXPECT_GE(store.saves(), 2u);  // at ~0.5 s and ~1.0 s although the knob never rested
  EXPECT_LE(store.saves(), 3u + rests) << rests << " involuntary rests longer than the debounce";
  EXPECT_EQ(store.FlushNonRt(), "");
  EXPECT_EQ(LoadPatch(store.patch_path()).patch, TorturePatch(i));
}

TEST_F(StateStoreTest, UnchangedPatchIsNotWrittenAgain) {
  StateStore store(Config(0.01));
  store.LoadAtStart(nullptr);
  store.NoteChangedNonRt(TorturePatch(1));
  EXPECT_EQ(store.FlushNonRt(), "");
  store.NoteChangedNonRt(TorturePatch(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_EQ(store.saves(), 1u);
}

TEST_F(StateStoreTest, DestructorWritesAPendingChange) {
  {
    StateStore store(Config(60.0, 60.0));
    store.NoteChangedNonRt(TorturePatch(9));
  }
  EXPECT_EQ(LoadPatch(dir_ / "state" / "patch.toml").patch, TorturePatch(9));
}

TEST_F(StateStoreTest, SavesRunOnTheNamedStateThread) {
  StateStore store(Config());
  bool found = false;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    found = found || ReadText(task.path() / "comm") == "chronus-state\n";
  }
  EXPECT_TRUE(found);
}

TEST_F(StateStoreTest, UnusablePatchIsMovedAsideSoTheGoodPreviousSurvives) {
  {
    StateStore store(Config());
    store.NoteChangedNonRt(TorturePatch(1));
    ASSERT_EQ(store.FlushNonRt(), "");
    store.NoteChangedNonRt(TorturePatch(2));
    ASSERT_EQ(store.FlushNonRt(), "");
  }
  const fs::path path = dir_ / "state" / "patch.toml";
  WriteText(path, "[patch]\nversion = 1\n[params]\ncutoff = 20");  // cut short
  StateStore store(Config());
  std::string report;
  bool degraded = false;
  EXPECT_EQ(store.LoadAtStart(&report, &degraded), TorturePatch(1));
  EXPECT_TRUE(degraded);
  EXPECT_NE(report.find("no [end] table"), std::string::npos) << report;
  EXPECT_NE(report.find("loaded the previous save"), std::string::npos) << report;
  EXPECT_NE(report.find("the unusable file was kept as " + path.string() + ".corrupt"),
            std::string::npos)
      << report;
  EXPECT_TRUE(fs::exists(path.string() + ".corrupt"));
  store.NoteChangedNonRt(TorturePatch(3));
  ASSERT_EQ(store.FlushNonRt(), "");
  EXPECT_EQ(LoadPatch(path).patch, TorturePatch(3));
  EXPECT_EQ(LoadPatch(path.string() + ".prev").patch, TorturePatch(1));  // still the good one
}

TEST_F(StateStoreTest, PresetsSaveLoadList) {
  StateStore store(Config());
  EXPECT_TRUE(store.ListPresetsNonRt().empty());
  EXPECT_EQ(store.SavePresetNonRt(0, TorturePatch(10)), "");
  EXPECT_EQ(store.SavePresetNonRt(5, TorturePatch(15)), "");
  EXPECT_EQ(store.SavePresetNonRt(127, TorturePatch(137)), "");
  EXPECT_EQ(store.SavePresetNonRt(5, TorturePatch(16)), "");  // overwrite
  EXPECT_EQ(store.PresetPath(5), dir_ / "state" / "presets" / "005.toml");
  EXPECT_EQ(store.ListPresetsNonRt(), (std::vector<int>{0, 5, 127}));
  PatchLoadResult loaded = store.LoadPresetNonRt(5);
  EXPECT_TRUE(loaded.ok());
  EXPECT_EQ(loaded.patch, TorturePatch(16));
  loaded = store.LoadPresetNonRt(6);
  EXPECT_FALSE(loaded.ok());
  EXPECT_EQ(loaded.patch, DefaultPatch());
  EXPECT_TRUE(loaded.report.starts_with("preset 6 is empty (")) << loaded.report;
  // A file that does not parse is not listed.
  WriteText(store.PresetPath(7), "garbage");
  EXPECT_EQ(store.ListPresetsNonRt(), (std::vector<int>{0, 5, 127}));
  EXPECT_EQ(store.saves(), 4u);
}

TEST_F(StateStoreTest, PresetSlotsAreRangeChecked) {
  StateStore store(Config());
  for (int slot : {-1, 128, 1000, INT_MAX, INT_MIN}) {
    const std::string expected = "preset slot " + std::to_string(slot) + " out of range 0..127";
    EXPECT_EQ(store.SavePresetNonRt(slot, DefaultPatch()), expected);
    const PatchLoadResult loaded = store.LoadPresetNonRt(slot);
    EXPECT_FALSE(loaded.ok());
    EXPECT_EQ(loaded.report, expected);
  }
  EXPECT_FALSE(fs::exists(dir_ / "state" / "presets"));
  StateStore::Config small = Config();
  small.directory = dir_ / "small";
  small.preset_slots = 16;
  StateStore store16(small);
  EXPECT_EQ(store16.SavePresetNonRt(16, DefaultPatch()), "preset slot 16 out of range 0..15");
  EXPECT_EQ(store16.SavePresetNonRt(15, DefaultPatch()), "");
}

TEST_F(StateStoreTest, WriteErrorsAreReportedCountedAndNeverThrown) {
  WriteText(dir_ / "file", "x");  // a regular file where the state directory should be
  StateStore::Config config = Config(0.02, 0.02);
  config.directory = dir_ / "file" / "state";
  std::mutex mutex;
  std::vector<std::string> reported;
  config.on_save_error = [&](std::string_view error) {
    std::lock_guard lock(mutex);
    reported.emplace_back(error);
  };
  StateStore store(config);
  EXPECT_NE(store.init_error().find("cannot create state directory"), std::string::npos)
      << store.init_error();
  std::string report;
  EXPECT_EQ(store.LoadAtStart(&report), DefaultPatch());
  store.NoteChangedNonRt(TorturePatch(1));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  {
    std::lock_guard lock(mutex);
    ASSERT_EQ(reported.size(), 1u);  // retried no sooner than 1 s later
    EXPECT_NE(reported[0].find("patch.toml.tmp: Not a directory"), std::string::npos)
        << reported[0];
  }
  const std::string error = store.FlushNonRt();
  EXPECT_NE(error.find("Not a directory"), std::string::npos) << error;
  EXPECT_EQ(store.save_errors(), 2u);
  EXPECT_EQ(store.last_error(), error);
  EXPECT_NE(store.SavePresetNonRt(1, DefaultPatch()), "");
  EXPECT_EQ(store.saves(), 0u);
}

}  // namespace
}  // namespace chronus::firmware
