#include "firmware/config/board_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <random>

namespace chronus::firmware {
namespace {

namespace fs = std::filesystem;

class BoardFile : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("chronus-board-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }
  fs::path dir_;
};

TEST_F(BoardFile, ShippedBoardsLoad) {
  for (const char* name : {"dev-virtual", "rpi4-hifiberry-dacplus", "rpi-headphones"}) {
    const std::string path = FindBoardFile(name, {CHRONUS_SOURCE_BOARD_DIR});
    ASSERT_FALSE(path.empty()) << name;
    BoardLoadResult result = LoadBoardFile(path);
    EXPECT_EQ(result.error, "") << name;
    EXPECT_EQ(result.board.name, name);
  }
  BoardLoadResult dev = LoadBoardFile(FindBoardFile("dev-virtual", {CHRONUS_SOURCE_BOARD_DIR}));
  EXPECT_TRUE(dev.board.audio.virtual_card);
  EXPECT_EQ(dev.board.audio.period_frames, 128u);
  EXPECT_EQ(dev.board.audio.periods, 3u);
  EXPECT_EQ(dev.board.workers, 2u);
  BoardLoadResult pi =
      LoadBoardFile(FindBoardFile("rpi4-hifiberry-dacplus", {CHRONUS_SOURCE_BOARD_DIR}));
  EXPECT_FALSE(pi.board.audio.virtual_card);
  EXPECT_EQ(pi.board.audio.period_frames, 64u);
  EXPECT_EQ(pi.board.audio.periods, 2u);
  EXPECT_EQ(pi.board.worker_cpus, (std::vector<int>{2, 3}));
  EXPECT_EQ(pi.board.audio_cpu, 1);
}

TEST_F(BoardFile, WrongTypeNamesFileKeyAndExpectation) {
  const std::string path = Write("bad.toml", "[audio]\nperiod = \"big\"\n");
  BoardLoadResult result = LoadBoardFile(path);
  EXPECT_EQ(result.error,
            path + ": audio.period: expected an integer from 16 to 4096 (got \"big\")");
  ASSERT_EQ(result.errors.size(), 1u);
  EXPECT_EQ(result.errors[0].key, "audio.period");
  EXPECT_EQ(result.errors[0].fallback, "128");
  EXPECT_TRUE(result.defaults_usable);
  EXPECT_EQ(result.board.audio.period_frames, 128u);
}

TEST_F(BoardFile, OutOfRangeAndUnknownKeysAreErrors) {
  EXPECT_NE(LoadBoardFile(Write("a.toml", "[audio]\nperiods = 1\n"))
                .error.find("audio.periods: expected an integer from 2 to 16 (got 1)"),
            std::string::npos);
  EXPECT_NE(LoadBoardFile(Write("b.toml", "[audio]\nperod = 64\n"))
                .error.find("audio.perod: unknown key"),
            std::string::npos);
  EXPECT_NE(LoadBoardFile(Write("c.toml", "[audio]\nformat = \"S8\"\n"))
                .error.find("audio.format: expected one of"),
            std::string::npos);
  EXPECT_NE(LoadBoardFile(Write("d.toml", "[engine]\nworker_priority = 90\n"))
                .error.find("engine.worker_priority: expected a priority below audio.priority"),
            std::string::npos);
  EXPECT_NE(
      LoadBoardFile(Write("e.toml", "[audio\n")).error.find((dir_ / "e.toml").string() + ":1:"),
      std::string::npos);
  BoardLoadResult renders =
      LoadBoardFile(Write("f.toml", "[engine]\naudio_thread_renders = \"yes\"\n"));
  EXPECT_NE(renders.error.find("engine.audio_thread_renders: expected true or false (got"),
            std::string::npos)
      << renders.error;
  EXPECT_FALSE(renders.board.audio_thread_renders);
  EXPECT_TRUE(LoadBoardFile(Write("g.toml", "[engine]\naudio_thread_renders = true\n"))
                  .board.audio_thread_renders);
}

TEST_F(BoardFile, MissingKeysKeepSafeDefaults) {
  for (const char* text : {"", "[board]\nname = \"tiny\"\n", "[audio]\n[engine]\n[osc]\n"}) {
    BoardLoadResult result = LoadBoardFile(Write("partial.toml", text));
    EXPECT_EQ(result.error, "") << text;
    EXPECT_TRUE(result.errors.empty()) << text;
    const BoardConfig defaults;
    EXPECT_TRUE(result.board.audio.virtual_card);
    EXPECT_EQ(result.board.audio.period_frames, defaults.audio.period_frames);
    EXPECT_EQ(result.board.audio.periods, defaults.audio.periods);
    EXPECT_EQ(result.board.workers, defaults.workers);
    EXPECT_EQ(result.board.voices, defaults.voices);
    EXPECT_EQ(result.board.osc_port, defaults.osc_port);
    EXPECT_EQ(result.board.recordings_dir, defaults.recordings_dir);
    EXPECT_LT(result.board.worker_priority, result.board.audio_priority);
  }
}

TEST_F(BoardFile, EveryErrorIsListedWithTheDefaultUsedInstead) {
  const std::string path = Write("several.toml",
                                 "[audio]\n"
                                 "period = 5\n"           // out of range
                                 "periods = 2\n"          // valid: kept
                                 "sample_rate = 4.8e4\n"  // a float
                                 "channels = true\n"      // a boolean
                                 "[engine]\n"
                                 "voices = 100000\n"
                                 "workers = 3\n"  // valid: kept
                                 "wrokers = 2\n"  // typo
                                 "[osc]\n"
                                 "port = -1\n");
  BoardLoadResult result = LoadBoardFile(path);
  ASSERT_EQ(result.errors.size(), 6u) << result.error;
  EXPECT_EQ(result.error, result.errors[0].message);
  EXPECT_TRUE(result.defaults_usable);
  std::map<std::string, std::pair<std::string, std::string>> by_key;
  for (const auto& e : result.errors) by_key[e.key] = {e.message, e.fallback};
  EXPECT_EQ(by_key["audio.period"].first,
            path + ": audio.period: expected an integer from 16 to 4096 (got 5)");
  EXPECT_EQ(by_key["audio.period"].second, "128");
  EXPECT_NE(by_key["audio.sample_rate"].first.find("(got 48000 (a float))"), std::string::npos);
  EXPECT_NE(by_key["audio.channels"].first.find("(got true)"), std::string::npos);
  EXPECT_NE(by_key["engine.voices"].first.find("from 1 to 256 (got 100000)"), std::string::npos);
  EXPECT_EQ(by_key["engine.wrokers"].first, path + ": engine.wrokers: unknown key");
  EXPECT_EQ(by_key["engine.wrokers"].second, "ignored");
  EXPECT_EQ(by_key["osc.port"].second, "9000");
  // Valid keys applied, invalid ones at their defaults.
  EXPECT_EQ(result.board.audio.periods, 2u);
  EXPECT_EQ(result.board.workers, 3u);
  EXPECT_EQ(result.board.audio.period_frames, 128u);
  EXPECT_EQ(result.board.audio.sample_rate, 48000u);
  EXPECT_EQ(result.board.voices, 16u);
  EXPECT_EQ(result.board.osc_port, 9000);
}

TEST_F(BoardFile, AbsurdValuesAreRefused) {
  auto error = [&](const std::string& text) { return LoadBoardFile(Write("x.toml", text)).error; };
  EXPECT_NE(error("[audio]\nperiod = 9223372036854775807\n").find("audio.period: expected"),
            std::string::npos);
  EXPECT_NE(error("[audio]\ncpu = -2\n").find("audio.cpu: expected an integer from -1"),
            std::string::npos);
  EXPECT_NE(
      error("[board]\nname = \"a\\u0000b\"\n").find("board.name: expected a non-empty string"),
      std::string::npos);
  EXPECT_NE(error("[board]\nname = \"a\\u0000b\"\n").find("(got \"a\\x00b\")"), std::string::npos);
  EXPECT_NE(error("[board]\ndescription = \"" + std::string(300, 'd') + "\"\n")
                .find("board.description: expected a string of at most 256 bytes"),
            std::string::npos);
  EXPECT_NE(error("[engine]\nworkers = 2\nworker_cpus = [1, 2, 3]\n")
                .find("engine.worker_cpus: expected an array of at most 2 integers"),
            std::string::npos);
  EXPECT_NE(error("[engine]\nworker_cpus = [1, \"2\"]\n").find("(got \"2\" in it)"),
            std::string::npos);
  EXPECT_NE(error("[[audio]]\nperiod = 64\n").find("audio: expected a [table] (got an array)"),
            std::string::npos);
  EXPECT_NE(error("[audio.extra]\nperiod = 64\n").find("audio.extra: unknown key"),
            std::string::npos);
  EXPECT_NE(error("[lights]\n").find("lights: unknown table or key"), std::string::npos);
  EXPECT_NE(error("period = 64\n").find("period: unknown table or key"), std::string::npos);
  EXPECT_NE(error("[audio]\nperiod = 64\nperiod = 128\n").find("x.toml:3:"), std::string::npos);
}

TEST_F(BoardFile, KeysWithoutASafeDefaultAndUnreadableFilesCannotFallBack) {
  for (const char* text :
       {"[audio]\ndevice = 3\n", "[audio]\ndevice = \"\"\n", "[recorder]\ndirectory = \"\"\n",
        "[recorder]\ndirectory = [\"a\"]\n", "[audio\n"}) {
    BoardLoadResult result = LoadBoardFile(Write("e.toml", text));
    EXPECT_NE(result.error, "") << text;
    EXPECT_FALSE(result.defaults_usable) << text;
  }
  BoardLoadResult missing = LoadBoardFile((dir_ / "missing.toml").string());
  EXPECT_NE(missing.error.find("missing.toml: cannot read the board file"), std::string::npos);
  EXPECT_FALSE(missing.defaults_usable);
  BoardLoadResult big =
      LoadBoardFile(Write("big.toml", "# " + std::string(kMaxBoardFileBytes, 'x') + "\n"));
  EXPECT_NE(big.error.find("expected a board file of at most 65536 bytes"), std::string::npos);
  EXPECT_FALSE(big.defaults_usable);
  BoardLoadResult dir = LoadBoardFile(dir_.string());
  EXPECT_NE(dir.error, "");
  EXPECT_FALSE(dir.defaults_usable);
  // The priority cross-check falls back to a priority below the audio thread's.
  BoardLoadResult prio = LoadBoardFile(Write("p.toml", "[audio]\npriority = 50\n"));
  EXPECT_TRUE(prio.defaults_usable);
  EXPECT_EQ(prio.board.worker_priority, 40);
  EXPECT_EQ(prio.errors.at(0).fallback, "40");
}

TEST_F(BoardFile, MangledBoardFilesNeverCrashAndAlwaysNameTheFile) {
  // Random byte edits of a shipped board: each load either succeeds or names the file.
  std::ifstream in(FindBoardFile("rpi4-hifiberry-dacplus", {CHRONUS_SOURCE_BOARD_DIR}));
  const std::string original((std::istreambuf_iterator<char>(in)), {});
  ASSERT_FALSE(original.empty());
  std::mt19937 rng(42);
  int failed = 0;
  for (int i = 0; i < 600; ++i) {
    std::string text = original;
    const int edits = 1 + static_cast<int>(rng() % 4);
    for (int e = 0; e < edits; ++e) {
      const size_t at = rng() % text.size();
      switch (rng() % 3) {
        case 0:
          text[at] = static_cast<char>(rng());
          break;
        case 1:
          text.erase(at, 1 + rng() % 8);
          break;
        default:
          text.insert(at, std::string(1 + rng() % 3, "=[]\"0-9x\n#."[rng() % 12]));
      }
      if (text.empty()) text = "x";
    }
    const std::string path = Write("m.toml", text);
    BoardLoadResult result = LoadBoardFile(path);
    if (!result.error.empty()) {
      ++failed;
      ASSERT_EQ(result.error.rfind(path, 0), 0u) << result.error;
      ASSERT_FALSE(result.errors.empty());
    }
  }
  std::printf("[ measure  ] %d of 600 mangled board files refused\n", failed);
  EXPECT_GT(failed, 200);
}

TEST_F(BoardFile, FindsByNameOrPath) {
  const std::string path = Write("mine.toml", "[board]\nname = \"mine\"\n");
  EXPECT_EQ(FindBoardFile("mine", {"/nonexistent", dir_.string()}), path);
  EXPECT_EQ(FindBoardFile(path, {}), path);
  EXPECT_EQ(FindBoardFile("nope", {dir_.string()}), "");
}

TEST_F(BoardFile, DetectsPiModelsAndCards) {
  const std::string pi4 = Write("model-pi4", std::string("Raspberry Pi 4 Model B Rev 1.4") + '\0');
  const std::string pi5 = Write("model-pi5", std::string("Raspberry Pi 5 Model B Rev 1.0") + '\0');
  const std::string pc = Write("model-pc", "");
  const std::string hifiberry =
      Write("cards-hb", " 0 [sndrpihifiberry]: RPi-simple - snd_rpi_hifiberry_dacplus\n");
  const std::string headphones =
      Write("cards-hp", " 0 [Headphones     ]: bcm2835_headphonbcm2835 Headphones\n");
  EXPECT_EQ(DetectBoardName(pi4, hifiberry), "rpi4-hifiberry-dacplus");
  EXPECT_EQ(DetectBoardName(pi5, hifiberry), "rpi4-hifiberry-dacplus");
  EXPECT_EQ(DetectBoardName(pi4, headphones), "rpi-headphones");
  EXPECT_EQ(DetectBoardName(pc, headphones), "dev-virtual");
  EXPECT_EQ(DetectBoardName((dir_ / "missing").string(), hifiberry), "dev-virtual");
}

}  // namespace
}  // namespace chronus::firmware
