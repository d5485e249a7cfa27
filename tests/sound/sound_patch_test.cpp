// The sound patch loader and the SoundFont fallback: FindSoundPatch, LoadSoundPatch (bad values
// refused with file, key and what was expected; the shipped board/sounds/*.toml load cleanly) and
// ResolveSoundFont + SoundFontLoader (FluidR3_GM.sf2, else TimGM6mb.sf2, else no font: the
// FluidSynth layers stay silent and the synth layers play: synth only), with temporary SoundFont
// directories holding symlinks to the fonts of /usr/share/sounds/sf2.
#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "firmware/sound/fluid_worker.h"
#include "firmware/sound/sound_layers.h"
#include "firmware/sound/sound_patch.h"
#include "firmware/sound/soundfont_loader.h"
#include "tests/sound/fluid_test_util.h"

namespace chronus::firmware {
namespace {

namespace fs = std::filesystem;

constexpr const char* kSystemFonts = "/usr/share/sounds/sf2";
constexpr uint32_t kBlock = 128;
constexpr double kRate = 48000.0;

bool HasSystemFont(const char* name) { return fs::is_regular_file(fs::path(kSystemFonts) / name); }

// A fresh temporary directory, removed at the end of the test.
class TempDir {
 public:
  explicit TempDir(const std::string& name)
      : path_(fs::temp_directory_path() /
              ("chronus-patch-" + std::to_string(getpid()) + "-" + name)) {
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  std::string str() const { return path_.string(); }
  // A symlink to the system's `font` in this directory.
  void LinkFont(const char* font) const {
    fs::create_symlink(fs::path(kSystemFonts) / font, path_ / font);
  }
  std::string Write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
    return (path_ / name).string();
  }

 private:
  fs::path path_;
};

bool Contains(const std::vector<std::string>& errors, const std::string& text) {
  for (const std::string& e : errors) {
    if (e.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string Joined(const std::vector<std::string>& errors) {
  std::string out;
  for (const std::string& e : errors) out += e + "\n";
  return out;
}

// ---------------------------------------------------------------------------------------------
// ResolveSoundFont: the default chain and what a name may be

TEST(SoundFontFallback, FluidR3ThenTimGm6mbThenNone) {
  if (!HasSystemFont("FluidR3_GM.sf2") || !HasSystemFont("TimGM6mb.sf2")) {
    GTEST_SKIP() << "fluid-soundfont-gm and timgm6mb-soundfont are not installed";
  }
  const TempDir first("first");
  const TempDir second("second");
  first.LinkFont("TimGM6mb.sf2");
  second.LinkFont("FluidR3_GM.sf2");
  const std::vector<std::string> dirs = {first.str(), second.str()};
  std::string error;
  // FluidR3_GM.sf2 wins wherever it is (the better font), even in a later directory.
  EXPECT_EQ(ResolveSoundFont("", dirs, &error), (second.path() / "FluidR3_GM.sf2").string());
  // Without it: TimGM6mb.sf2.
  fs::remove(second.path() / "FluidR3_GM.sf2");
  EXPECT_EQ(ResolveSoundFont("", dirs, &error), (first.path() / "TimGM6mb.sf2").string());
  // Neither (other fonts do not count as defaults): no font, with the reason.
  fs::remove(first.path() / "TimGM6mb.sf2");
  if (HasSystemFont("sf_GMbank.sf2")) first.LinkFont("sf_GMbank.sf2");
  error.clear();
  EXPECT_EQ(ResolveSoundFont("", dirs, &error), "");
  EXPECT_EQ(error,
            "no default SoundFont (FluidR3_GM.sf2, TimGM6mb.sf2) in the SoundFont directories");
  // Directories that do not exist are no error of their own.
  error.clear();
  EXPECT_EQ(ResolveSoundFont("", {"/nonexistent/chronus"}, &error), "");
  EXPECT_NE(error, "");
}

TEST(SoundFontFallback, NamesAreLookedUpInTheDirectoriesOnly) {
  const TempDir dir("names");
  const TempDir other("other");
  dir.Write("mine.sf2", "x");
  other.Write("secret.sf2", "x");
  fs::create_symlink(other.path() / "secret.sf2", dir.path() / "escape.sf2");
  const std::vector<std::string> dirs = {dir.str()};
  std::string error;
  EXPECT_EQ(ResolveSoundFont("mine.sf2", dirs, &error), (dir.path() / "mine.sf2").string());
  EXPECT_EQ(ResolveSoundFont((dir.path() / "mine.sf2").string(), dirs, &error),
            (dir.path() / "mine.sf2").string());

  auto refused = [&](const std::string& name, const std::string& reason) {
    std::string why;
    EXPECT_EQ(ResolveSoundFont(name, dirs, &why), "") << name;
    EXPECT_NE(why.find(reason), std::string::npos) << name << ": " << why;
  };
  refused("missing.sf2", "no such SoundFont in the SoundFont directories: missing.sf2");
  refused((other.path() / "secret.sf2").string(), "not inside a SoundFont directory");
  refused((dir.path() / ".." / other.path().filename() / "secret.sf2").string(),
          "not inside a SoundFont directory");
  // A symlink inside a directory that points outside it: refused by its real path.
  refused((dir.path() / "escape.sf2").string(), "not inside a SoundFont directory");
  refused((dir.path() / "gone.sf2").string(), "no such file");
  refused("..", "not a SoundFont file name");
  refused("bad\nname.sf2", "control characters");
  refused(std::string(1025, 'a'), "longer than 1024 bytes");
}

// ---------------------------------------------------------------------------------------------
// The fallback through the loader: a font, or synth only

// Synth voices on channel 1, a FluidSynth piano on channel 2.
SoundPatch SynthAndPiano(const std::vector<std::string>& dirs) {
  SoundPatch patch;
  LayerConfig synth;
  synth.name = "synth";
  synth.channels = 1;
  LayerConfig piano;
  piano.name = "piano";
  piano.target = LayerConfig::Target::kFluid;
  piano.channels = 2;
  patch.layers = {synth, piano};
  patch.fluid.soundfont = "";  // the default chain
  patch.fluid.soundfont_dirs = dirs;
  return patch;
}

struct LoadOutcome {
  bool done = false;
  bool ok = false;
  std::string text;
  float fluid_peak = 0.0f;  // after a note on the FluidSynth layer
  size_t synth_notes = 0;   // synth note-ons emitted for a note on the synth layer
};

// Loads the patch's default SoundFont the way SoundSystem does at start, then plays a note on
// each layer.
LoadOutcome LoadDefaultAndPlay(const SoundPatch& patch) {
  test::LayerDriver driver(patch, nullptr);
  SoundFontLoader loader(driver.worker(), patch, kRate);
  loader.Start();
  LoadOutcome outcome;
  std::mutex mutex;
  SoundFontRequest request;
  request.name = patch.fluid.soundfont;
  request.done = [&](bool ok, const std::string& text) {
    std::lock_guard lock(mutex);
    outcome.done = true;
    outcome.ok = ok;
    outcome.text = text;
  };
  EXPECT_EQ(loader.RequestNonRt(request), "");
  std::vector<Command> synth;
  for (int p = 0; p < 100000 && loader.busy(); ++p) {
    driver.Period(nullptr, true, &synth);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  loader.WaitIdleNonRt();
  synth.clear();
  const uint64_t at = driver.frame() + 4 * kBlock;
  driver.layers().pushTimedNonRt({at, 0, 0, 60, 0.9f});  // channel 1: synth
  driver.layers().pushTimedNonRt({at, 0, 1, 60, 0.9f});  // channel 2: piano
  for (int p = 0; p < 100; ++p)
    outcome.fluid_peak = std::max(outcome.fluid_peak, driver.Period(nullptr, true, &synth));
  for (const Command& c : synth) outcome.synth_notes += c.type == CommandType::kNoteOn ? 1 : 0;
  loader.Stop();
  std::lock_guard lock(mutex);
  return outcome;
}

TEST(SoundFontFallback, TheLoaderPlaysTimGm6mbWhenFluidR3IsAbsent) {
  if (!HasSystemFont("TimGM6mb.sf2")) GTEST_SKIP() << "timgm6mb-soundfont is not installed";
  const TempDir dir("timgm");
  dir.LinkFont("TimGM6mb.sf2");
  const LoadOutcome outcome = LoadDefaultAndPlay(SynthAndPiano({dir.str()}));
  ASSERT_TRUE(outcome.done);
  EXPECT_TRUE(outcome.ok) << outcome.text;
  EXPECT_EQ(outcome.text, (dir.path() / "TimGM6mb.sf2").string());
  EXPECT_GT(outcome.fluid_peak, 0.001f) << "the piano layer sounds";
  EXPECT_EQ(outcome.synth_notes, 1u);
}

TEST(SoundFontFallback, WithoutAnyDefaultFontTheBoxPlaysSynthOnly) {
  const TempDir empty("empty");
  const LoadOutcome outcome = LoadDefaultAndPlay(SynthAndPiano({empty.str()}));
  ASSERT_TRUE(outcome.done);
  EXPECT_FALSE(outcome.ok);
  EXPECT_NE(outcome.text.find("no default SoundFont"), std::string::npos) << outcome.text;
  EXPECT_EQ(outcome.fluid_peak, 0.0f) << "no font: the FluidSynth layer is silent";
  EXPECT_EQ(outcome.synth_notes, 1u) << "the synth layer still plays";
}

// ---------------------------------------------------------------------------------------------
// LoadSoundPatch / FindSoundPatch

TEST(SoundPatchFile, BadValuesAreRefusedWithFileKeyAndExpected) {
  const TempDir dir("bad");
  const std::string path = dir.Write("bad.toml", R"(
name = "bad"
volume = 3

[fluidsynth]
polyphony = 0
gain = "loud"
reverb = 1
chorus_speed_hz = 9.5
soundfont_dirs = "/usr/share/sounds/sf2"
bogus = true

[[layer]]
name = "ok"
target = "synth"
channels = [1]

[[layer]]
name = "bad channel"
target = "synth"
channels = [0, 17]

[[layer]]
name = "bad target"
target = "sampler"

[[layer]]
name = "loud fluid"
target = "fluidsynth"
gain_db = 6.0
keys = [80, 20]

[generative]
bpm = 500
seed = -1
)");
  const SoundPatchLoadResult r = LoadSoundPatch(path);
  const std::string all = Joined(r.errors);
  EXPECT_EQ(r.error, r.errors.empty() ? "" : r.errors.front());
  EXPECT_TRUE(Contains(r.errors, path + ": volume: expected name = \"...\", [fluidsynth], "
                                        "[[layer]] or [generative] (unknown key)"))
      << all;
  EXPECT_TRUE(Contains(r.errors,
                       path + ": fluidsynth.polyphony: expected an integer from 1 to 4096 (got 0)"))
      << all;
  EXPECT_TRUE(Contains(r.errors, path + ": fluidsynth.gain: expected a number from 0 to 10 (got "
                                        "\"loud\")"))
      << all;
  EXPECT_TRUE(Contains(r.errors, path + ": fluidsynth.reverb: expected true or false (got 1)"))
      << all;
  EXPECT_TRUE(Contains(r.errors, path + ": fluidsynth.chorus_speed_hz: expected a number from "
                                        "0.1 to 5 (got 9.5)"))
      << all;
  EXPECT_TRUE(Contains(r.errors, path + ": fluidsynth.soundfont_dirs: expected an array of at most "
                                        "8 directory names"))
      << all;
  EXPECT_TRUE(Contains(r.errors, path + ": fluidsynth.bogus: expected a known key")) << all;
  EXPECT_TRUE(Contains(r.errors, path + ": layer[1].channels: expected a non-empty array of MIDI "
                                        "channels 1..16 (got an array)"))
      << all;
  EXPECT_TRUE(Contains(r.errors, path + ": layer[2].target: expected \"synth\" or \"fluidsynth\" "
                                        "(got \"sampler\")"))
      << all;
  EXPECT_TRUE(Contains(r.errors, path + ": layer[3].keys: expected [low, high] MIDI notes")) << all;
  EXPECT_TRUE(Contains(r.errors, path + ": layer[3].gain_db: expected a number from -96 to 0 (got "
                                        "6)"))
      << all;
  EXPECT_TRUE(Contains(r.errors, path + ": generative.bpm: expected a number from 20 to 300 (got "
                                        "500)"))
      << all;
  EXPECT_TRUE(Contains(r.errors, path + ": generative.seed: expected an integer from 0 to "
                                        "2147483647 (got -1)"))
      << all;
  // Invalid values keep their defaults; invalid layers are dropped, valid ones kept.
  const SoundPatch defaults;
  EXPECT_EQ(r.patch.name, "bad");
  EXPECT_EQ(r.patch.fluid.polyphony, defaults.fluid.polyphony);
  EXPECT_DOUBLE_EQ(r.patch.fluid.gain, defaults.fluid.gain);
  EXPECT_EQ(r.patch.fluid.soundfont_dirs, defaults.fluid.soundfont_dirs);
  EXPECT_DOUBLE_EQ(r.patch.generative.bpm, defaults.generative.bpm);
  ASSERT_EQ(r.patch.layers.size(), 1u);
  EXPECT_EQ(r.patch.layers[0].name, "ok");
}

TEST(SoundPatchFile, SyntaxErrorsGiveFileLineAndColumn) {
  const TempDir dir("syntax");
  const std::string path = dir.Write("broken.toml", "name = \"x\"\n[fluidsynth\npolyphony = 3\n");
  const SoundPatchLoadResult r = LoadSoundPatch(path);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_EQ(r.error.rfind(path + ":2:", 0), 0u) << r.error;
  EXPECT_TRUE(r.patch.layers.empty());
  const SoundPatchLoadResult missing = LoadSoundPatch((dir.path() / "nope.toml").string());
  EXPECT_NE(missing.error, "");
}

TEST(SoundPatchFile, FindsPatchesByNameOrPath) {
  const TempDir a("find-a");
  const TempDir b("find-b");
  fs::create_directories(b.path() / "sounds");
  b.Write("sounds/pads.toml", "name = \"pads\"\n");
  EXPECT_EQ(FindSoundPatch("pads", {a.str(), b.str()}),
            (b.path() / "sounds" / "pads.toml").string());
  EXPECT_EQ(FindSoundPatch("nothing", {a.str(), b.str()}), "");
  const std::string direct = (b.path() / "sounds" / "pads.toml").string();
  EXPECT_EQ(FindSoundPatch(direct, {}), direct);
  EXPECT_EQ(FindSoundPatch((b.path() / "gone.toml").string(), {}), "");
}

TEST(SoundPatchFile, ShippedPatchesLoadWithoutErrors) {
  const fs::path sounds = fs::path(CHRONUS_SOURCE_BOARD_DIR) / "sounds";
  size_t count = 0;
  for (const auto& entry : fs::directory_iterator(sounds)) {
    if (entry.path().extension() != ".toml") continue;
    ++count;
    const SoundPatchLoadResult r = LoadSoundPatch(entry.path().string());
    EXPECT_TRUE(r.errors.empty()) << Joined(r.errors);
    EXPECT_FALSE(r.patch.layers.empty()) << entry.path();
    EXPECT_EQ(r.patch.name, entry.path().stem().string()) << "name matches the file";
    EXPECT_EQ(FindSoundPatch(entry.path().stem().string(), {CHRONUS_SOURCE_BOARD_DIR}),
              entry.path().string());
  }
  EXPECT_GE(count, 2u) << "default.toml and pad-piano.toml at least";
}

}  // namespace
}  // namespace chronus::firmware
