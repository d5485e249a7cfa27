// CrashGuard: clean and unclean start sequences, the crash-loop window, the known-good patch.
#include "firmware/state/crash_guard.h"

#include <gtest/gtest.h>

#include "tests/state/state_test_util.h"

namespace chronus::firmware {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;
using test::TorturePatch;

class StateCrashGuard : public test::StateTempDir {
 protected:
  // One firmware run starting at t0 + `at_s`: a fresh guard, as in a new process.
  CrashGuard::Result Start(int at_s, CrashGuard* guard_out = nullptr) {
    CrashGuard guard;
    CrashGuard::Result result = guard.Enter(dir_ / "state", t0_ + seconds(at_s));
    EXPECT_EQ(result.error, "");
    if (guard_out != nullptr) *guard_out = guard;
    return result;
  }
  void CleanRun(int at_s) {
    CrashGuard guard;
    Start(at_s, &guard);
    EXPECT_EQ(guard.LeaveCleanly(), "");
  }
  const std::chrono::system_clock::time_point t0_ =
      std::chrono::system_clock::time_point(seconds(1'700'000'000));
};

TEST_F(StateCrashGuard, CleanRunsAreNeverSafeMode) {
  for (int i = 0; i < 5; ++i) {
    CrashGuard guard;
    const CrashGuard::Result r = Start(i, &guard);
    EXPECT_FALSE(r.unclean_previous);
    EXPECT_EQ(r.recent_unclean, 0);
    EXPECT_FALSE(r.safe_mode);
    EXPECT_EQ(r.report, "the previous run shut down cleanly");
    EXPECT_TRUE(fs::exists(dir_ / "state" / "running"));
    EXPECT_EQ(guard.LeaveCleanly(), "");
    EXPECT_FALSE(fs::exists(dir_ / "state" / "running"));
  }
}

TEST_F(StateCrashGuard, ThreeUncleanStartsWithinAMinuteEnterSafeMode) {
  CleanRun(0);
  EXPECT_FALSE(Start(10).unclean_previous);  // this run will crash (no LeaveCleanly)
  CrashGuard::Result r = Start(20);
  EXPECT_TRUE(r.unclean_previous);
  EXPECT_EQ(r.recent_unclean, 1);
  EXPECT_FALSE(r.safe_mode);
  EXPECT_NE(r.report.find("did not shut down cleanly; 1 unclean start(s) within 60 s"),
            std::string::npos)
      << r.report;
  EXPECT_NE(r.report.find("started 2023-11-14T22:13:30Z"), std::string::npos) << r.report;
  r = Start(30);
  EXPECT_EQ(r.recent_unclean, 2);
  EXPECT_FALSE(r.safe_mode);
  r = Start(40);
  EXPECT_EQ(r.recent_unclean, 3);
  EXPECT_TRUE(r.safe_mode);
  EXPECT_NE(r.report.find("SAFE MODE"), std::string::npos) << r.report;
  r = Start(50);  // the safe-mode run crashed too: still safe mode
  EXPECT_EQ(r.recent_unclean, 4);
  EXPECT_TRUE(r.safe_mode);
}

TEST_F(StateCrashGuard, UncleanStartsOutsideTheWindowDoNotCount) {
  Start(0);
  Start(1);                           // unclean #1 at t0+1
  Start(2);                           // unclean #2 at t0+2
  CrashGuard::Result r = Start(100);  // unclean #3, but #1 and #2 are 98 s old
  EXPECT_TRUE(r.unclean_previous);
  EXPECT_EQ(r.recent_unclean, 1);
  EXPECT_FALSE(r.safe_mode);
  r = Start(150);  // unclean #4; #2 (t0+2) is outside, #3 (t0+100) inside
  EXPECT_EQ(r.recent_unclean, 2);
  EXPECT_FALSE(r.safe_mode);
}

TEST_F(StateCrashGuard, ACleanShutdownEndsTheLoop) {
  Start(0);
  Start(1);
  Start(2);
  CrashGuard guard;
  Start(3, &guard);                     // unclean #3: safe mode...
  EXPECT_EQ(guard.LeaveCleanly(), "");  // ...and that run shut down cleanly
  const CrashGuard::Result r = Start(4);
  EXPECT_FALSE(r.unclean_previous);
  EXPECT_FALSE(r.safe_mode);
}

TEST_F(StateCrashGuard, HistoryKeepsTheLastTen) {
  for (int i = 0; i < 16; ++i) Start(i);
  const std::string text = ReadText(dir_ / "state" / "unclean_starts");
  size_t entries = 0;
  for (size_t at = text.find(".0,"); at != std::string::npos; at = text.find(".0,", at + 1)) {
    ++entries;
  }
  EXPECT_EQ(entries, static_cast<size_t>(CrashGuard::kHistoryLength)) << text;
  EXPECT_NE(text.find("1700000015.0,"), std::string::npos) << text;
  EXPECT_EQ(text.find("1700000005.0,"), std::string::npos) << text;
  EXPECT_EQ(Start(16).recent_unclean, CrashGuard::kHistoryLength);
}

TEST_F(StateCrashGuard, CorruptHistoryOrMarkerStillDetectsTheUncleanRun) {
  Start(0);
  WriteText(dir_ / "state" / "running", "\x01garbage");
  WriteText(dir_ / "state" / "unclean_starts", "times = [1, 2");
  const CrashGuard::Result r = Start(1);
  EXPECT_TRUE(r.unclean_previous);
  EXPECT_EQ(r.recent_unclean, 1);
  EXPECT_NE(r.report.find("marker unreadable"), std::string::npos) << r.report;
  EXPECT_NE(r.report.find("history restarted"), std::string::npos) << r.report;
  EXPECT_EQ(Start(2).recent_unclean, 2);  // the history was rewritten cleanly
}

TEST_F(StateCrashGuard, KnownGoodPatch) {
  CrashGuard guard;
  Start(0, &guard);
  PatchLoadResult known = guard.LoadKnownGood();
  EXPECT_FALSE(known.ok());  // none yet: defaults
  EXPECT_EQ(known.patch, DefaultPatch());
  EXPECT_EQ(guard.SaveKnownGood(TorturePatch(5)), "");
  EXPECT_EQ(guard.LeaveCleanly(), "");
  CrashGuard next;
  Start(1, &next);
  known = next.LoadKnownGood();
  EXPECT_TRUE(known.ok());
  EXPECT_EQ(known.patch, TorturePatch(5));
  EXPECT_EQ(known.path, dir_ / "state" / "known_good.toml");
}

TEST_F(StateCrashGuard, UnwritableDirectoryDisablesTheGuardWithAnError) {
  WriteText(dir_ / "file", "x");
  CrashGuard guard;
  const CrashGuard::Result r = guard.Enter(dir_ / "file" / "state", t0_);
  EXPECT_FALSE(r.safe_mode);
  EXPECT_NE(r.error.find("cannot create state directory"), std::string::npos) << r.error;
  EXPECT_TRUE(r.report.starts_with("crash guard off: ")) << r.report;
  EXPECT_NE(guard.LeaveCleanly(), "");
}

}  // namespace
}  // namespace chronus::firmware
