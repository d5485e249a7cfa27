// Board selection from sample /proc/device-tree/model and /proc/asound/cards contents (as read on
// the boards), and the /etc/chronus/chronus.toml override.
#include "firmware/config/board_detect.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "firmware/config/board_config.h"

namespace chronus::firmware {
namespace {

namespace fs = std::filesystem;

// /proc/device-tree/model is NUL-terminated.
const std::string kPi4Model = std::string("Raspberry Pi 4 Model B Rev 1.4") + '\0';
const std::string kPi5Model = std::string("Raspberry Pi 5 Model B Rev 1.0") + '\0';

// /proc/asound/cards of Raspberry Pi OS bookworm (KMS: the HDMI outputs are vc4hdmi0/1).
const char* kPi4HiFiBerryCards =
    " 0 [sndrpihifiberry]: RPi-simple - snd_rpi_hifiberry_dacplus\n"
    "                      snd_rpi_hifiberry_dacplus\n"
    " 1 [vc4hdmi0       ]: vc4-hdmi - vc4-hdmi-0\n"
    "                      vc4-hdmi-0\n"
    " 2 [vc4hdmi1       ]: vc4-hdmi - vc4-hdmi-1\n"
    "                      vc4-hdmi-1\n";
const char* kPi4Cards =
    " 0 [Headphones     ]: bcm2835_headphonbcm2835 Headphones - bcm2835 Headphones\n"
    "                      bcm2835 Headphones\n"
    " 1 [vc4hdmi0       ]: vc4-hdmi - vc4-hdmi-0\n"
    "                      vc4-hdmi-0\n"
    " 2 [vc4hdmi1       ]: vc4-hdmi - vc4-hdmi-1\n"
    "                      vc4-hdmi-1\n";
const char* kPi5HiFiBerryCards =
    " 0 [vc4hdmi0       ]: vc4-hdmi - vc4-hdmi-0\n"
    "                      vc4-hdmi-0\n"
    " 1 [vc4hdmi1       ]: vc4-hdmi - vc4-hdmi-1\n"
    "                      vc4-hdmi-1\n"
    " 2 [sndrpihifiberry]: HifiberryDacp - snd_rpi_hifiberry_dacplus\n"
    "                      snd_rpi_hifiberry_dacplus\n";
const char* kPi5Cards =
    " 0 [vc4hdmi0       ]: vc4-hdmi - vc4-hdmi-0\n"
    "                      vc4-hdmi-0\n"
    " 1 [vc4hdmi1       ]: vc4-hdmi - vc4-hdmi-1\n"
    "                      vc4-hdmi-1\n";
const char* kPcCards =
    " 0 [PCH            ]: HDA-Intel - HDA Intel PCH\n"
    "                      HDA Intel PCH at 0xf7f10000 irq 32\n"
    " 1 [HiFiBerry      ]: USB-Audio - not a HAT on a PC\n";

TEST(BoardDetect, ParsesCardIdsInOrderAndSkipsContinuationLines) {
  EXPECT_EQ(ParseCardIds(kPi5HiFiBerryCards),
            (std::vector<std::string>{"vc4hdmi0", "vc4hdmi1", "sndrpihifiberry"}));
  EXPECT_EQ(ParseCardIds("--- no soundcards ---\n"), std::vector<std::string>{});
  EXPECT_EQ(ParseCardIds(""), std::vector<std::string>{});
  EXPECT_EQ(ParseCardIds(" 7 [x]: no newline at the end"), std::vector<std::string>{"x"});
  EXPECT_EQ(ParseCardIds(" [broken]: no number\n 1 [  ]: empty id\n"), std::vector<std::string>{});
}

TEST(BoardDetect, Pi4WithAndWithoutHiFiBerry) {
  EXPECT_EQ(DetectBoard(kPi4Model, kPi4HiFiBerryCards).board, "rpi4-hifiberry-dacplus");
  EXPECT_EQ(DetectBoard(kPi4Model, kPi4Cards).board, "rpi-headphones");
  const BoardChoice choice = DetectBoard(kPi4Model, kPi4HiFiBerryCards);
  EXPECT_NE(choice.reason.find("Raspberry Pi 4 Model B Rev 1.4 with sound cards [sndrpihifiberry, "
                               "vc4hdmi0, vc4hdmi1]: HiFiBerry DAC"),
            std::string::npos)
      << choice.reason;
}

TEST(BoardDetect, Pi5WithAndWithoutHiFiBerry) {
  EXPECT_EQ(DetectBoard(kPi5Model, kPi5HiFiBerryCards).board, "rpi4-hifiberry-dacplus");
  EXPECT_EQ(DetectBoard(kPi5Model, kPi5Cards).board, "rpi-hdmi");  // no analogue output
}

TEST(BoardDetect, PiWithoutCardsYetFallsBackToTheModelsOutput) {
  EXPECT_EQ(DetectBoard(kPi5Model, "--- no soundcards ---\n").board, "rpi-hdmi");
  EXPECT_EQ(DetectBoard(kPi4Model, "").board, "rpi-headphones");
  EXPECT_NE(DetectBoard(kPi4Model, "").reason.find("no sound card listed yet"), std::string::npos);
}

TEST(BoardDetect, PcAndOtherBoardsGetTheVirtualCard) {
  EXPECT_EQ(DetectBoard("", kPcCards).board, "dev-virtual");  // no /proc/device-tree
  EXPECT_EQ(DetectBoard(std::string("Pine64 RockPro64 v2.1") + '\0', kPi4HiFiBerryCards).board,
            "dev-virtual");
  EXPECT_NE(DetectBoard("", kPcCards).reason.find("not a Raspberry Pi"), std::string::npos);
}

TEST(BoardDetect, EveryDetectedBoardIsShippedAndLoads) {
  for (const char* name : {"dev-virtual", "rpi4-hifiberry-dacplus", "rpi-headphones", "rpi-hdmi"}) {
    const std::string path = FindBoardFile(name, {CHRONUS_SOURCE_BOARD_DIR});
    ASSERT_FALSE(path.empty()) << name;
    const BoardLoadResult loaded = LoadBoardFile(path);
    EXPECT_EQ(loaded.error, "") << name;
    EXPECT_EQ(loaded.board.name, name);
  }
}

class BoardSelect : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("chronus-select-" + std::to_string(getpid()));
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  std::string Write(const std::string& name, const std::string& text) {
    const fs::path path = dir_ / name;
    std::ofstream(path, std::ios::binary) << text;
    return path.string();
  }
  fs::path dir_;
};

TEST_F(BoardSelect, DetectsFromTheFilesWhenNothingIsSet) {
  const BoardChoice pi5 =
      SelectBoard((dir_ / "no-settings.toml").string(), Write("model", kPi5Model),
                  Write("cards", kPi5HiFiBerryCards));
  EXPECT_EQ(pi5.board, "rpi4-hifiberry-dacplus");
  EXPECT_EQ(pi5.warning, "");
  const BoardChoice pc = SelectBoard((dir_ / "no-settings.toml").string(),
                                     (dir_ / "no-model").string(), (dir_ / "no-cards").string());
  EXPECT_EQ(pc.board, "dev-virtual");
}

TEST_F(BoardSelect, TheSettingsFileOverridesDetection) {
  const std::string settings = Write("chronus.toml", "# mine\nboard = \"rpi-headphones\"\n");
  const BoardChoice choice =
      SelectBoard(settings, Write("model", kPi4Model), Write("cards", kPi4HiFiBerryCards));
  EXPECT_EQ(choice.board, "rpi-headphones");
  EXPECT_EQ(choice.reason, "set in " + settings);
  EXPECT_EQ(choice.warning, "");
  // A commented-out line (the shipped file) means: detect.
  const std::string shipped = Write("shipped.toml", "#board = \"rpi4-hifiberry-dacplus\"\n");
  EXPECT_EQ(SelectBoard(shipped, Write("model", kPi4Model), Write("cards", kPi4Cards)).board,
            "rpi-headphones");
  EXPECT_EQ(SelectBoard(shipped, Write("model", kPi4Model), Write("cards", kPi4Cards)).warning, "");
}

TEST_F(BoardSelect, BrokenSettingsAreReportedAndDetectionUsed) {
  const std::string model = Write("model", kPi4Model);
  const std::string cards = Write("cards", kPi4HiFiBerryCards);
  const BoardChoice syntax = SelectBoard(Write("a.toml", "board = \n"), model, cards);
  EXPECT_EQ(syntax.board, "rpi4-hifiberry-dacplus");
  EXPECT_NE(syntax.warning.find("a.toml"), std::string::npos) << syntax.warning;
  EXPECT_NE(syntax.warning.find("ignored"), std::string::npos) << syntax.warning;

  const BoardChoice type = SelectBoard(Write("b.toml", "board = 4\n"), model, cards);
  EXPECT_EQ(type.board, "rpi4-hifiberry-dacplus");
  EXPECT_NE(type.warning.find("board: expected a board name"), std::string::npos) << type.warning;

  const BoardChoice typo =
      SelectBoard(Write("c.toml", "bord = \"x\"\nboard = \"dev-virtual\"\n"), model, cards);
  EXPECT_EQ(typo.board, "dev-virtual");  // the valid key is still used
  EXPECT_NE(typo.warning.find("unknown key 'bord'"), std::string::npos) << typo.warning;
}

}  // namespace
}  // namespace chronus::firmware
