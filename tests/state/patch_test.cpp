// The patch file format (ParsePatchToml, PatchToToml), WriteFileAtomically and LoadPatch.
#include "firmware/state/patch.h"

#include <gtest/gtest.h>

#include <random>

#include "firmware/state/atomic_file.h"
#include "tests/state/state_test_util.h"

namespace chronus::firmware {
namespace {

namespace fs = std::filesystem;
using dsp::ParamId;
using test::StateTempDir;
using test::TorturePatch;

// A valid file around `params` (the [params] table's body).
std::string FileWith(const std::string& params) {
  return "[patch]\nversion = 1\n[params]\n" + params + "\n[end]\n";
}

TEST(StatePatch, DefaultsComeFromTheSpecs) {
  const Patch p = DefaultPatch();
  for (const auto& spec : dsp::kParamSpecs) EXPECT_EQ(p[spec.id], spec.default_value) << spec.name;
}

TEST(StatePatch, TextIsHumanReadable) {
  const std::string text = PatchToToml(DefaultPatch());
  EXPECT_NE(text.find("[patch]\nversion = 1\n"), std::string::npos) << text;
  EXPECT_NE(text.find("cutoff    = 2000.0"), std::string::npos) << text;
  EXPECT_NE(text.find("# Hz, 20 .. 20000, default 2000"), std::string::npos) << text;
  EXPECT_NE(text.find("waveform  = 1"), std::string::npos) << text;
  EXPECT_NE(text.find("# 0 sine, 1 saw, 2 square, default 1"), std::string::npos) << text;
  EXPECT_NE(text.find("gain      = -6.0"), std::string::npos) << text;
  EXPECT_TRUE(text.ends_with("[end]\n")) << text;
}

TEST(StatePatch, RoundTripIsExact) {
  std::mt19937 rng(12345);
  std::vector<Patch> patches = {DefaultPatch()};
  for (int i = 0; i < 2000; ++i) {
    Patch p;
    for (const auto& spec : dsp::kParamSpecs) {
      std::uniform_real_distribution<float> value(spec.min, spec.max);
      p[spec.id] = spec.unit == "enum" ? static_cast<float>(rng() % 3) : value(rng);
    }
    patches.push_back(p);
  }
  for (const auto& spec : dsp::kParamSpecs) {  // the range ends
    Patch low = DefaultPatch(), high = DefaultPatch();
    low[spec.id] = spec.min;
    high[spec.id] = spec.max;
    patches.push_back(low);
    patches.push_back(high);
  }
  for (const Patch& p : patches) {
    const PatchParseResult parsed = ParsePatchToml(PatchToToml(p), "p.toml");
    ASSERT_TRUE(parsed.usable()) << parsed.error;
    EXPECT_TRUE(parsed.key_errors.empty());
    EXPECT_TRUE(parsed.warnings.empty());
    ASSERT_EQ(parsed.patch, p) << PatchToToml(p);
  }
}

TEST(StatePatch, HandWrittenFileIsAccepted) {
  const PatchParseResult parsed = ParsePatchToml(
      FileWith("cutoff = 800\nwaveform = 2\nwobble = 3\n") + "[extra]\nx = 1\n", "hand.toml");
  ASSERT_TRUE(parsed.usable()) << parsed.error;
  EXPECT_TRUE(parsed.key_errors.empty());
  EXPECT_EQ(parsed.patch[ParamId::kCutoffHz], 800.0f);  // an integer is a number too
  EXPECT_EQ(parsed.patch[ParamId::kWaveform], 2.0f);
  EXPECT_EQ(parsed.patch[ParamId::kSustain], 0.7f);  // missing: default
  const std::vector<std::string>& w = parsed.warnings;
  EXPECT_NE(std::find(w.begin(), w.end(), "hand.toml: params.wobble: unknown parameter, ignored"),
            w.end());
  EXPECT_NE(std::find(w.begin(), w.end(), "hand.toml: extra: unknown, ignored"), w.end());
  EXPECT_NE(
      std::find(w.begin(), w.end(), "hand.toml: params.sustain: missing, using the default 0.7"),
      w.end());
}

TEST(StatePatch, WrongTypesAndOutOfRangeValuesAreRefusedByName) {
  const PatchParseResult parsed =
      ParsePatchToml(FileWith("cutoff = \"loud\"\nresonance = 1.5\nwaveform = 1.5\ngain = nan\n"
                              "attack = true\nrelease = 25\ndecay = 0.5\nsustain = 0.25\n"),
                     "/s/patch.toml");
  ASSERT_TRUE(parsed.usable()) << parsed.error;
  const std::vector<std::string> expected = {
      "/s/patch.toml: params.cutoff: expected a number from 20 to 20000 Hz (got a string); "
      "using the default 2000",
      "/s/patch.toml: params.resonance: expected a number from 0 to 1 (got 1.5); using the "
      "default 0.2",
      "/s/patch.toml: params.attack: expected a number from 0.0005 to 10 s (got a boolean); "
      "using the default 0.005",
      "/s/patch.toml: params.release: expected a number from 0.001 to 20 s (got 25); using the "
      "default 0.2",
      "/s/patch.toml: params.waveform: expected a whole number from 0 to 2 (got 1.5); using the "
      "default 1",
      "/s/patch.toml: params.gain: expected a number from -60 to 12 dB (got nan); using the "
      "default -6",
  };
  EXPECT_EQ(parsed.key_errors, expected);
  Patch want = DefaultPatch();  // refused keys took their default, the rest of the file is used
  want[ParamId::kDecayS] = 0.5f;
  want[ParamId::kSustain] = 0.25f;
  EXPECT_EQ(parsed.patch, want);
}

TEST(StatePatch, UnusableFilesAreRefusedWhole) {
  const struct {
    std::string text;
    std::string error;
  } cases[] = {
      {"", "f.toml: not a Chronus patch (no [patch] version = 1)"},
      {"\x7f\x45LF\x02\x01\x01\0\0\0garbage", "f.toml:1:1:"},
      {std::string(300, '\0'), "f.toml:1:1:"},
      {"cutoff = 800\n", "f.toml: not a Chronus patch (no [patch] version = 1)"},
      {"[patch]\nversion = 2\n[end]\n", "f.toml: patch.version: expected 1 (got 2)"},
      {"[patch]\nversion = 1\n[params]\ncutoff = 800\n",
       "f.toml: no [end] table: the file was cut short (half-written) or edited"},
      {"params = 3\n[patch]\nversion = 1\n[end]\n", "f.toml: params: expected a [params] table"},
      {"[patch]\nversion = 1\n[params]\ncutoff = \n[end]\n", "f.toml:4:10:"},
  };
  for (const auto& c : cases) {
    const PatchParseResult parsed = ParsePatchToml(c.text, "f.toml");
    EXPECT_TRUE(parsed.error.starts_with(c.error)) << parsed.error << " / expected " << c.error;
    EXPECT_EQ(parsed.patch, DefaultPatch());
  }
}

// A file cut at any byte is refused as a whole; it never reads as a patch with missing keys.
TEST(StatePatch, EveryTruncationIsDetected) {
  const Patch p = TorturePatch(12345);
  const std::string text = PatchToToml(p);
  const size_t complete = text.rfind("[end]") + 5;
  for (size_t n = 0; n < text.size(); ++n) {
    const PatchParseResult parsed = ParsePatchToml(std::string_view(text).substr(0, n), "f.toml");
    if (n < complete) {
      EXPECT_FALSE(parsed.usable()) << "cut at " << n << ": " << text.substr(0, n);
    } else {
      EXPECT_EQ(parsed.patch, p) << "cut at " << n;
    }
  }
}

class StateFiles : public StateTempDir {};

TEST_F(StateFiles, WriteFileAtomicallyReplacesAndKeepsThePreviousGeneration) {
  const fs::path path = dir_ / "a.toml";
  EXPECT_EQ(WriteFileAtomically(path, "one"), "");
  EXPECT_EQ(ReadText(path), "one");
  EXPECT_FALSE(fs::exists(dir_ / "a.toml.prev"));
  EXPECT_EQ(WriteFileAtomically(path, "two"), "");
  EXPECT_EQ(ReadText(path), "two");
  EXPECT_EQ(ReadText(dir_ / "a.toml.prev"), "one");
  EXPECT_FALSE(fs::exists(dir_ / "a.toml.tmp"));
  EXPECT_EQ(WriteFileAtomically(dir_ / "b", "x", false), "");
  EXPECT_EQ(WriteFileAtomically(dir_ / "b", "y", false), "");
  EXPECT_EQ(ReadText(dir_ / "b"), "y");
  EXPECT_FALSE(fs::exists(dir_ / "b.prev"));
}

TEST_F(StateFiles, WriteFileAtomicallyReportsErrors) {
  const std::string error = WriteFileAtomically(dir_ / "no-such-dir" / "a.toml", "x");
  EXPECT_EQ(error, "cannot create " + (dir_ / "no-such-dir" / "a.toml.tmp").string() +
                       ": No such file or directory");
  fs::create_directories(dir_ / "c.toml");  // a directory in the way of the final rename
  EXPECT_NE(WriteFileAtomically(dir_ / "c.toml", "x", false), "");
  EXPECT_FALSE(fs::exists(dir_ / "c.toml.tmp"));
}

TEST_F(StateFiles, LoadPatchWithoutFilesUsesDefaultsQuietly) {
  const PatchLoadResult r = LoadPatch(dir_ / "patch.toml");
  EXPECT_EQ(r.source, PatchSource::kDefaults);
  EXPECT_FALSE(r.ok());
  EXPECT_FALSE(r.degraded);  // a first start is not a problem
  EXPECT_EQ(r.patch, DefaultPatch());
  EXPECT_EQ(r.report, (dir_ / "patch.toml").string() + " missing; " +
                          (dir_ / "patch.toml.prev").string() +
                          " missing; using the default patch");
}

TEST_F(StateFiles, LoadPatchCleanLoad) {
  WriteText(dir_ / "patch.toml", PatchToToml(TorturePatch(7)));
  const PatchLoadResult r = LoadPatch(dir_ / "patch.toml");
  EXPECT_EQ(r.source, PatchSource::kFile);
  EXPECT_EQ(r.path, dir_ / "patch.toml");
  EXPECT_FALSE(r.degraded);
  EXPECT_EQ(r.patch, TorturePatch(7));
  EXPECT_EQ(r.report, "loaded " + (dir_ / "patch.toml").string());
}

TEST_F(StateFiles, CorruptHalfWrittenGarbageOrEmptyFilesFallBackToPreviousThenDefaults) {
  const std::string full = PatchToToml(TorturePatch(1));
  const std::string bad[] = {"", full.substr(0, full.size() / 2), "\x01\x02\xff\xfe garbage",
                             std::string(4096, '\0')};
  const fs::path path = dir_ / "patch.toml";
  const fs::path prev = dir_ / "patch.toml.prev";
  for (const std::string& text : bad) {
    WriteText(path, text);
    WriteText(prev, PatchToToml(TorturePatch(2)));
    PatchLoadResult r = LoadPatch(path);
    EXPECT_EQ(r.source, PatchSource::kPrevious);
    EXPECT_EQ(r.path, prev);
    EXPECT_TRUE(r.degraded);
    EXPECT_EQ(r.patch, TorturePatch(2));
    EXPECT_TRUE(r.report.starts_with(path.string() + " unusable (" + path.string())) << r.report;
    EXPECT_NE(r.report.find("; loaded the previous save " + prev.string()), std::string::npos)
        << r.report;

    WriteText(prev, text);
    r = LoadPatch(path);
    EXPECT_EQ(r.source, PatchSource::kDefaults);
    EXPECT_TRUE(r.degraded);
    EXPECT_EQ(r.patch, DefaultPatch());
    EXPECT_NE(r.report.find(prev.string() + " unusable ("), std::string::npos) << r.report;
    EXPECT_TRUE(r.report.ends_with("; using the default patch")) << r.report;
  }
}

TEST_F(StateFiles, MissingCurrentFileFallsBackToPrevious) {
  // What a crash between the two renames of WriteFileAtomically leaves.
  WriteText(dir_ / "patch.toml.prev", PatchToToml(TorturePatch(3)));
  const PatchLoadResult r = LoadPatch(dir_ / "patch.toml");
  EXPECT_EQ(r.source, PatchSource::kPrevious);
  EXPECT_TRUE(r.degraded);
  EXPECT_EQ(r.patch, TorturePatch(3));
}

TEST_F(StateFiles, RefusedKeysAreReportedButTheFileIsUsed) {
  WriteText(dir_ / "patch.toml", FileWith("cutoff = 30000\nsustain = 0.5\n"));
  const PatchLoadResult r = LoadPatch(dir_ / "patch.toml");
  EXPECT_EQ(r.source, PatchSource::kFile);
  EXPECT_TRUE(r.degraded);
  EXPECT_EQ(r.patch[ParamId::kCutoffHz], 2000.0f);
  EXPECT_EQ(r.patch[ParamId::kSustain], 0.5f);
  EXPECT_NE(r.report.find("params.cutoff: expected a number from 20 to 20000 Hz (got 30000)"),
            std::string::npos)
      << r.report;
}

}  // namespace
}  // namespace chronus::firmware
