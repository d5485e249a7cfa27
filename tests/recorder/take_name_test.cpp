#include "firmware/recorder/take_name.h"

#include "firmware/recorder/recorder.h"

#include "recorder_test_util.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <set>
#include <string>
#include <vector>

namespace chronus::firmware {
namespace {

using chronus::test::TempDir;

RecorderConfig SmallConfig(const std::filesystem::path& dir) {
  RecorderConfig c;
  c.directory = dir;
  c.max_block_frames = 64;
  c.ring_blocks = 8;
  return c;
}

bool IsSafeStem(const std::string& s) {
  if (s.size() > kMaxTakeStemLength) return false;
  if (!s.empty() && (s.front() == '.' || s.front() == '-')) return false;
  for (const char c : s) {
    const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

std::string ReadAll(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(RecorderTakeNameTest, SanitizesKnownInputs) {
  EXPECT_EQ(SanitizeTakeStem("song"), "song");
  EXPECT_EQ(SanitizeTakeStem("My Song 2"), "My_Song_2");
  EXPECT_EQ(SanitizeTakeStem("../../etc/passwd"), "etc_passwd");
  EXPECT_EQ(SanitizeTakeStem("/abs"), "abs");
  EXPECT_EQ(SanitizeTakeStem("a/b"), "a_b");
  EXPECT_EQ(SanitizeTakeStem("a\\b"), "a_b");
  EXPECT_EQ(SanitizeTakeStem(".."), "");
  EXPECT_EQ(SanitizeTakeStem("."), "");
  EXPECT_EQ(SanitizeTakeStem(""), "");
  EXPECT_EQ(SanitizeTakeStem("///"), "");
  EXPECT_EQ(SanitizeTakeStem(".hidden"), "hidden");
  EXPECT_EQ(SanitizeTakeStem("-rf"), "rf");
  EXPECT_EQ(SanitizeTakeStem("take.wav"), "take");
  EXPECT_EQ(SanitizeTakeStem("take.WAV"), "take");
  EXPECT_EQ(SanitizeTakeStem("x.wav.wav"), "x");
  EXPECT_EQ(SanitizeTakeStem("end."), "end");
  EXPECT_EQ(SanitizeTakeStem(std::string_view("a\0b", 3)), "a_b");
  EXPECT_EQ(SanitizeTakeStem("Gr\xC3\xBC\xC3\x9F"
                             "e \xF0\x9F\x8E\xB9"),
            "Gr_e_");
  EXPECT_EQ(SanitizeTakeStem(std::string(300, 'x')), std::string(kMaxTakeStemLength, 'x'));
  EXPECT_EQ(TakeFileName("a", 0), "a.wav");
  EXPECT_EQ(TakeFileName("a", 12), "a-12.wav");
}

TEST(RecorderTakeNameTest, SanitizedStemsAreAlwaysSafe) {
  std::vector<std::string> inputs = {"..",
                                     "../..",
                                     "../x",
                                     "x/../../y",
                                     "/",
                                     "/etc/passwd",
                                     "....",
                                     ". .",
                                     "\n",
                                     "a\tb",
                                     "%2e%2e%2f",
                                     "C:\\Windows",
                                     "con",
                                     "\xFF\xFE",
                                     std::string(1000, '.'),
                                     std::string(100, '/') + "x"};
  for (int c = 0; c < 256; ++c) inputs.emplace_back(3, static_cast<char>(c));
  for (const auto& in : inputs) {
    const std::string stem = SanitizeTakeStem(in);
    EXPECT_TRUE(IsSafeStem(stem)) << "input '" << in << "' -> '" << stem << "'";
    EXPECT_NE(stem, ".");
    EXPECT_NE(stem, "..");
    EXPECT_EQ(stem.find('/'), std::string::npos);
  }
}

TEST(RecorderTakeNameTest, DefaultStemHasTimestamp) {
  const std::string stem = DefaultTakeStem(1700000000);
  EXPECT_TRUE(std::regex_match(stem, std::regex("take-20231[01][0-9]{2}-[0-9]{6}"))) << stem;
}

TEST(RecorderTakeNameTest, SequenceFollowsTheLargestNumberInTheDirectory) {
  TempDir dir;
  EXPECT_EQ(NextTakeSequence(dir.path()), 1U);
  EXPECT_EQ(NextTakeSequence(dir.path() / "missing"), 1U);
  for (const char* name :
       {"take-0007-20240917-153000.wav", "take-20991231-235959.wav", "take-12.wav",
        "take-0003-20240101-000000-1.wav", "song.wav", "take-x.wav", "take-.wav", "take-0020"}) {
    std::ofstream(dir.path() / name) << "x";
  }
  EXPECT_EQ(NextTakeSequence(dir.path()), 13U);  // not the date-only name, not "take-0020"
  EXPECT_EQ(DefaultTakeStem(13, 1700000000).substr(0, 10), "take-0013-");
  EXPECT_TRUE(std::regex_match(DefaultTakeStem(123456, 1700000000),
                               std::regex("take-123456-20231[01][0-9]{2}-[0-9]{6}")));
}

TEST(RecorderTakeNameTest, HostileNamesStayInsideDirectory) {
  TempDir base;
  const auto dir = base.path() / "recs";
  Recorder rec(SmallConfig(dir));
  const std::vector<std::string> names = {"../../etc/passwd",
                                          "/abs",
                                          "a/b",
                                          "..",
                                          "",
                                          ".",
                                          std::string(500, 'n'),
                                          "\xE2\x99\xAA song \xE2\x99\xAA",
                                          "../escape.wav",
                                          "sub/dir/",
                                          "..\\..\\win"};
  std::set<std::string> paths;
  for (const auto& name : names) {
    const auto r = rec.StartNonRt(name);
    ASSERT_TRUE(r.ok) << name << ": " << r.path_or_error;
    const std::filesystem::path p(r.path_or_error);
    EXPECT_EQ(std::filesystem::canonical(p.parent_path()), std::filesystem::canonical(dir)) << name;
    const std::string file = p.filename().string();
    EXPECT_TRUE(std::regex_match(file, std::regex("[A-Za-z0-9_][A-Za-z0-9._-]*\\.wav"))) << file;
    EXPECT_LE(file.size(), kMaxTakeStemLength + 10);
    EXPECT_TRUE(paths.insert(r.path_or_error).second) << "path reused: " << r.path_or_error;
    ASSERT_TRUE(rec.StopNonRt().ok);
    EXPECT_TRUE(std::filesystem::is_regular_file(p));
  }
  // Nothing appeared next to the recordings directory.
  std::vector<std::filesystem::path> siblings;
  for (const auto& e : std::filesystem::directory_iterator(base.path())) siblings.push_back(e);
  ASSERT_EQ(siblings.size(), 1U);
  EXPECT_EQ(siblings[0], dir);
  EXPECT_EQ(std::distance(std::filesystem::directory_iterator(dir),
                          std::filesystem::directory_iterator()),
            static_cast<std::ptrdiff_t>(names.size()));
}

TEST(RecorderTakeNameTest, NeverOverwritesExistingFiles) {
  TempDir base;
  const auto dir = base.path() / "recs";
  std::filesystem::create_directories(dir);
  { std::ofstream(dir / "song.wav") << "precious"; }
  { std::ofstream(base.path() / "outside.wav") << "outside"; }
  std::filesystem::create_symlink(base.path() / "outside.wav", dir / "link.wav");
  Recorder rec(SmallConfig(dir));

  auto r = rec.StartNonRt("song");
  ASSERT_TRUE(r.ok) << r.path_or_error;
  EXPECT_EQ(std::filesystem::path(r.path_or_error), dir / "song-1.wav");
  ASSERT_TRUE(rec.StopNonRt().ok);
  r = rec.StartNonRt("song.wav");
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(std::filesystem::path(r.path_or_error), dir / "song-2.wav");
  r = rec.StartNonRt("link");  // restart while recording: finalizes song-2.wav first
  ASSERT_TRUE(r.ok);
  EXPECT_EQ(std::filesystem::path(r.path_or_error), dir / "link-1.wav");
  ASSERT_TRUE(rec.StopNonRt().ok);
  EXPECT_EQ(ReadAll(dir / "song.wav"), "precious");
  EXPECT_EQ(ReadAll(base.path() / "outside.wav"), "outside");
  EXPECT_TRUE(std::filesystem::is_symlink(dir / "link.wav"));
  EXPECT_TRUE(chronus::test::ReadWav(dir / "song-2.wav").ok);

  // Empty names get a timestamp; two in the same second get distinct files.
  const auto a = rec.StartNonRt("");
  ASSERT_TRUE(rec.StopNonRt().ok);
  const auto b = rec.StartNonRt("");
  ASSERT_TRUE(rec.StopNonRt().ok);
  ASSERT_TRUE(a.ok && b.ok);
  EXPECT_NE(a.path_or_error, b.path_or_error);
  EXPECT_TRUE(std::regex_match(std::filesystem::path(a.path_or_error).filename().string(),
                               std::regex("take-[0-9]{4,}-[0-9]{8}-[0-9]{6}(-[0-9]+)?\\.wav")))
      << a.path_or_error;
}

TEST(RecorderTakeNameTest, UncreatableDirectoryIsReported) {
  TempDir base;
  { std::ofstream(base.path() / "file") << "x"; }
  Recorder rec(SmallConfig(base.path() / "file" / "recs"));
  const auto r = rec.StartNonRt("x");
  EXPECT_FALSE(r.ok);
  EXPECT_FALSE(r.path_or_error.empty());
  EXPECT_EQ(rec.last_error(), r.path_or_error);
  EXPECT_FALSE(rec.recording());
  const int32_t samples[4] = {1, 2, 3, 4};
  rec.PushRt(samples, 2);
  EXPECT_EQ(rec.dropped_blocks(), 0U);
  EXPECT_TRUE(rec.StopNonRt().ok);
}

}  // namespace
}  // namespace chronus::firmware
