#include "firmware/config/board_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace chronus::firmware {
namespace {

namespace fs = std::filesystem;

class BoardConfig : public ::testing::Test {
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

TEST_F(BoardConfig, ShippedBoardsLoad) {
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

TEST_F(BoardConfig, WrongTypeNamesFileKeyAndExpectation) {
  const std::string path = Write("bad.toml", "[audio]\nperiod = \"big\"\n");
  BoardLoadResult result = LoadBoardFile(path);
  EXPECT_EQ(result.error, path + ": audio.period: expected an integer");
}

TEST_F(BoardConfig, OutOfRangeAndUnknownKeysAreErrors) {
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
}

TEST_F(BoardConfig, FindsByNameOrPath) {
  const std::string path = Write("mine.toml", "[board]\nname = \"mine\"\n");
  EXPECT_EQ(FindBoardFile("mine", {"/nonexistent", dir_.string()}), path);
  EXPECT_EQ(FindBoardFile(path, {}), path);
  EXPECT_EQ(FindBoardFile("nope", {dir_.string()}), "");
}

TEST_F(BoardConfig, DetectsPiModelsAndCards) {
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
