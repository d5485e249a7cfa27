// End-to-end: the chronus executable on the paced virtual card with a sound patch that layers the
// synth voices (channel 1) and a FluidSynth piano (channel 2); SoundFonts are loaded over OSC while
// it plays. Generous settings (256-frame periods) because this VM has scheduling gaps.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <thread>

#include "tests/support/audio_analysis.h"
#include "tests/support/firmware_process.h"
#include "tests/support/sanitizer.h"

namespace chronus::test {
namespace {

namespace fs = std::filesystem;

bool Installed(const char* font) { return fs::exists(fs::path("/usr/share/sounds/sf2") / font); }

class SoundE2E : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!Installed("TimGM6mb.sf2") || !Installed("FluidR3_GM.sf2")) {
      GTEST_SKIP() << "fluid-soundfont-gm and timgm6mb-soundfont are needed";
    }
    dir_ = fs::temp_directory_path() /
           ("chronus-sound-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_ / "fonts");
    const char garbage[] = "RIFF\x10\x00\x00\x00sfbkLIST nonsense";
    std::ofstream(dir_ / "fonts" / "garbage.sf2", std::ios::binary)
        .write(garbage, sizeof(garbage) - 1);
    std::ofstream(dir_ / "sound.toml")
        << "name = \"e2e\"\n[fluidsynth]\nsoundfont = \"TimGM6mb.sf2\"\n"
        << "soundfont_dirs = [\"/usr/share/sounds/sf2\", \"" << (dir_ / "fonts").string()
        << "\"]\npolyphony = 64\nreverb = true\nchorus = false\n"
        << "[[layer]]\nname = \"synth\"\ntarget = \"synth\"\nchannels = [1, 14]\n"
        << "[[layer]]\nname = \"piano\"\ntarget = \"fluidsynth\"\nchannels = [2, 15, 16]\n"
        << "program = 0\n";
    std::ifstream board_in(fs::path(CHRONUS_SOURCE_DIR) / "board" / "dev-virtual.toml");
    std::ofstream board_out(dir_ / "board.toml");
    board_out << board_in.rdbuf() << "\n[sound]\npatch = \"" << (dir_ / "sound.toml").string()
              << "\"\n";
    board_out.close();
    port_ = FreeUdpPort();
    capture_ = (dir_ / "capture.wav").string();
    ASSERT_TRUE(
        process_.Start(CHRONUS_BIN,
                       {"--board", (dir_ / "board.toml").string(), "--period", "256", "--periods",
                        "3", "--capture", capture_, "--recordings", (dir_ / "rec").string(),
                        "--state", (dir_ / "state").string(), "--osc-port", std::to_string(port_)},
                       (dir_ / "firmware.log").string()));
    client_ = std::make_unique<OscClient>(port_);
    bool ready = false;
    for (int i = 0; i < 100 && !ready; ++i) ready = client_->Status(100).has_value();
    ASSERT_TRUE(ready) << Log();
    // The patch's SoundFont loads in the background at start.
    for (int i = 0; i < 200 && Status("sf_loads") < 1; ++i) Sleep(0.05);
    ASSERT_EQ(Status("sf_loads"), 1) << Log();
  }

  void TearDown() override {
    if (process_.pid() > 0) process_.Stop(SIGKILL, 5.0);
    if (!HasFailure() && !dir_.empty()) fs::remove_all(dir_);
  }

  static void Sleep(double s) { std::this_thread::sleep_for(std::chrono::duration<double>(s)); }
  std::string Log() {
    std::ifstream in(dir_ / "firmware.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  double Status(const std::string& key) {
    auto status = client_->Status(500);
    if (!status) return -1;
    auto it = status->find(key);
    return it == status->end() ? -2 : it->second;
  }
  void Note(int channel, int note, float velocity) {
    lo_message m = lo_message_new();
    lo_message_add_int32(m, channel);
    lo_message_add_int32(m, note);
    lo_message_add_float(m, velocity);
    client_->Send("/midi/note/on", m);
    lo_message_free(m);
  }
  void Load(const std::string& name) {
    lo_message m = lo_message_new();
    lo_message_add_string(m, name.c_str());
    client_->Send("/sf/load", m);
    lo_message_free(m);
  }
  // Plays a chord on both layers every 0.5 s until `until` returns true or `timeout_s` passed.
  template <typename F>
  void PlayUntil(F until, double timeout_s) {
    const double start = MonotonicSeconds();
    int step = 0;
    while (!until() && MonotonicSeconds() - start < timeout_s) {
      const int root = 48 + (step % 5) * 2;
      for (const int ch : {1, 2}) {
        for (const int k : {0, 4, 7}) Note(ch, root + k, 0.7f);
      }
      Sleep(0.4);
      for (const int ch : {1, 2}) {
        for (const int k : {0, 4, 7}) Note(ch, root + k, 0.0f);
      }
      Sleep(0.1);
      ++step;
    }
  }

  fs::path dir_;
  int port_ = 0;
  std::string capture_;
  FirmwareProcess process_;
  std::unique_ptr<OscClient> client_;
};

TEST_F(SoundE2E, SoundFontLoadWhilePlayingHasNoLateBlockAndNoXrun) {
  if (test::kSanitized) {
    // Zero late blocks while 148 MB are read and parsed: a real-time claim that a sanitizer's
    // several-fold slowdown of every thread voids. The dev build runs it.
    GTEST_SKIP() << "real-time claim (no late block during the load); not under a sanitizer";
  }
  PlayUntil([] { return false; }, 2.0);
  // This VM has scheduling gaps of several ms without any load (an idle firmware at 256 x 3 here:
  // 4 xruns and 4 missed deadlines in 30 s), and one missed deadline counts about a dozen late
  // blocks (the share stays on standby for the 50 ms quarantine). So the window judged is the
  // load itself, the swap and 1 s after it (the old font is freed then), not more; the load is
  // repeated (up to 5 times in all): one clean load passes, a load that always causes late blocks
  // fails.
  std::optional<std::map<std::string, double>> status;
  bool clean = false;
  int loads = 0;
  for (int attempt = 0; attempt < 5 && !clean; ++attempt) {
    const double late_before = Status("late_blocks");
    const double fluid_late_before = Status("fluid_late_blocks");
    const double xruns_before = Status("xruns");
    std::printf(
        "[ measure  ] before load %d: xruns %.0f, late blocks %.0f, FluidSynth late blocks "
        "%.0f\n",
        attempt + 1, xruns_before, late_before, fluid_late_before);
    Load("FluidR3_GM.sf2");  // 148 MB
    ++loads;
    std::optional<std::pair<bool, std::string>> result;
    PlayUntil(
        [&] {
          result = client_->WaitResult("/sf/load", 10);
          return result.has_value();
        },
        60.0);
    ASSERT_TRUE(result.has_value()) << "no /done or /fail for /sf/load; log: " << Log();
    EXPECT_TRUE(result->first) << result->second;
    EXPECT_NE(result->second.find("FluidR3_GM.sf2"), std::string::npos);
    PlayUntil([] { return false; }, 1.0);
    status = client_->Status(1000);
    ASSERT_TRUE(status.has_value());
    std::printf(
        "[ measure  ] load %d: xruns %.0f, late blocks %.0f, FluidSynth late blocks %.0f, swaps "
        "%.0f, worst FluidSynth block %.0f us\n",
        attempt + 1, (*status)["xruns"], (*status)["late_blocks"], (*status)["fluid_late_blocks"],
        (*status)["fluid_swaps"], (*status)["fluid_worst_render_us"]);
    // During the load and swap (and the 1 s after it): no xrun, no late block of either kind.
    clean = (*status)["xruns"] == xruns_before && (*status)["late_blocks"] == late_before &&
            (*status)["fluid_late_blocks"] == fluid_late_before;
  }
  EXPECT_TRUE(clean) << "every load had an xrun or a late block";
  EXPECT_EQ((*status)["sf_loads"], 1 + loads);
  EXPECT_EQ((*status)["fluid_swaps"], 1 + loads);
  EXPECT_EQ((*status)["fluid_dropped_events"], 0);

  ASSERT_EQ(process_.Stop(SIGTERM, 20.0), 0);
  const WavData wav = ReadWav(capture_);
  ASSERT_TRUE(wav.ok) << wav.error;
  // Both layers sounded through the load: every 0.5 s window after the first chord has sound.
  const int64_t first = FindOnset(wav.mono, 0, 0.01f);
  ASSERT_GE(first, 0);
  const int64_t window = wav.sample_rate / 2;
  int silent = 0, windows = 0;
  for (int64_t at = first; at + window < wav.frames - wav.sample_rate; at += window) {
    ++windows;
    silent += Rms(wav.mono, at, window) < 1e-3 ? 1 : 0;
  }
  EXPECT_GE(windows, 4);  // 2 s before the first load, then ~1.5 s per load, less the last 1 s
  EXPECT_EQ(silent, 0);
}

TEST_F(SoundE2E, MissingAndCorruptSoundFontsAreRefusedAndTheSoundKeepsPlaying) {
  PlayUntil([] { return false; }, 0.5);
  Load("no-such-font.sf2");
  auto missing = client_->WaitResult("/sf/load", 5000);
  ASSERT_TRUE(missing.has_value());
  EXPECT_FALSE(missing->first);
  EXPECT_NE(missing->second.find("no such SoundFont"), std::string::npos) << missing->second;
  Load("garbage.sf2");
  auto corrupt = client_->WaitResult("/sf/load", 5000);
  ASSERT_TRUE(corrupt.has_value());
  EXPECT_FALSE(corrupt->first);
  EXPECT_NE(corrupt->second.find("corrupt"), std::string::npos) << corrupt->second;
  Load("../../etc/passwd");
  auto outside = client_->WaitResult("/sf/load", 5000);
  ASSERT_TRUE(outside.has_value());
  EXPECT_FALSE(outside->first);
  PlayUntil([] { return false; }, 1.0);
  EXPECT_EQ(Status("sf_load_failures"), 3);
  EXPECT_EQ(Status("sf_loads"), 1);
  EXPECT_EQ(Status("fluid_swaps"), 1);
  // The chords above end with note-offs; their voices release. After 3 s of quiet nothing of
  // them should sound (a decaying voice ending while a new note starts could hide the new one).
  Sleep(3.0);
  const double piano_voices = Status("fluid_voices");
  Note(2, 60, 0.8f);
  Sleep(0.3);
  EXPECT_GT(Status("fluid_voices"), piano_voices) << "the FluidSynth layer still plays";
  ASSERT_EQ(process_.Stop(SIGTERM, 20.0), 0);
}

TEST_F(SoundE2E, GenerativeModePlaysAndStops) {
  for (const char* address : {"/gen/start"}) {
    lo_message m = lo_message_new();
    client_->Send(address, m);
    lo_message_free(m);
  }
  Sleep(6.0);
  EXPECT_GE(Status("gen_bars"), 1);
  EXPECT_GT(Status("gen_notes"), 10);
  EXPECT_EQ(Status("gen_late_notes"), 0);
  EXPECT_EQ(Status("gen_playing"), 1);
  lo_message m = lo_message_new();
  client_->Send("/gen/stop", m);
  lo_message_free(m);
  Sleep(0.3);
  EXPECT_EQ(Status("gen_playing"), 0);
  ASSERT_EQ(process_.Stop(SIGTERM, 20.0), 0);
  const WavData wav = ReadWav(capture_);
  ASSERT_TRUE(wav.ok);
  EXPECT_GT(Rms(wav.mono, wav.sample_rate * 2, wav.sample_rate * 3), 1e-3) << "music";
}

}  // namespace
}  // namespace chronus::test
