// The generative mode: the composer (determinism, notes in the mode, density rising with
// intensity, polyphony, tempo at the next bar) and the player feeding the audio thread's timed
// queue for 8 hours of music offline (no late note, flat memory).
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <vector>

#include "firmware/generative/composer.h"
#include "firmware/generative/gen_player.h"
#include "firmware/sound/sound_layers.h"
#include "tests/support/alloc_counter.h"
#include "tests/support/sanitizer.h"

namespace chronus::firmware {
namespace {

using generative::Composer;
using generative::ComposerConfig;
using generative::GenNote;
using generative::GenParams;
using generative::Mode;

std::vector<GenNote> Compose(uint32_t seed, const GenParams& params, int bars,
                             const ComposerConfig& config = {}) {
  Composer composer;
  composer.Init(config, seed, 1000);
  std::vector<GenNote> all, bar;
  bar.reserve(Composer::kMaxNotesPerBar);
  for (int b = 0; b < bars; ++b) {
    composer.ComposeBar(params, &bar);
    all.insert(all.end(), bar.begin(), bar.end());
  }
  return all;
}

bool Same(const std::vector<GenNote>& a, const std::vector<GenNote>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i].frame != b[i].frame || a[i].part != b[i].part || a[i].note != b[i].note ||
        a[i].velocity != b[i].velocity) {
      return false;
    }
  }
  return true;
}

TEST(Composer, ModesAreTheRotationsOfTheMajorScale) {
  EXPECT_EQ(generative::ModeIntervals(Mode::kIonian), (std::array<int, 7>{0, 2, 4, 5, 7, 9, 11}));
  EXPECT_EQ(generative::ModeIntervals(Mode::kDorian), (std::array<int, 7>{0, 2, 3, 5, 7, 9, 10}));
  EXPECT_EQ(generative::ModeIntervals(Mode::kLocrian), (std::array<int, 7>{0, 1, 3, 5, 6, 8, 10}));
  EXPECT_EQ(generative::ParseMode("Mixolydian"), Mode::kMixolydian);
  EXPECT_FALSE(generative::ParseMode("blues").has_value());
}

TEST(Composer, FixedSeedGivesTheSameStream) {
  GenParams params;
  const auto a = Compose(42, params, 64);
  const auto b = Compose(42, params, 64);
  const auto c = Compose(43, params, 64);
  ASSERT_GT(a.size(), 200u);
  EXPECT_TRUE(Same(a, b));
  EXPECT_FALSE(Same(a, c));
}

TEST(Composer, EveryNoteBelongsToTheModeAndRoot) {
  for (int m = 0; m < 7; ++m) {
    for (const int root : {36, 50, 61, 72}) {
      GenParams params;
      params.mode = static_cast<Mode>(m);
      params.root = root;
      params.intensity = 0.9;
      const auto notes = Compose(7, params, 32);
      for (const GenNote& n : notes) {
        ASSERT_TRUE(generative::InMode(n.note, root, params.mode))
            << generative::ModeName(params.mode) << " on " << root << ": note " << int(n.note);
      }
    }
  }
}

int NoteOns(const std::vector<GenNote>& notes) {
  int n = 0;
  for (const GenNote& note : notes) n += note.velocity > 0.0f ? 1 : 0;
  return n;
}

TEST(Composer, DensityRisesWithIntensity) {
  std::vector<int> counts;
  for (const double intensity : {0.0, 0.3, 0.6, 1.0}) {
    GenParams params;
    params.intensity = intensity;
    counts.push_back(NoteOns(Compose(5, params, 64)));
  }
  for (size_t i = 1; i < counts.size(); ++i) EXPECT_GT(counts[i], counts[i - 1]) << i;
  EXPECT_GT(counts.back(), 2 * counts.front());
}

TEST(Composer, RespectsEachPartsPolyphonyAndClosesEveryNote) {
  ComposerConfig config;
  config.max_voices = {3, 1, 1};
  GenParams params;
  params.intensity = 1.0;
  const auto notes = Compose(9, params, 128, config);
  std::array<int, 3> sounding{}, most{};
  std::map<std::pair<int, int>, int> held;
  for (const GenNote& n : notes) {
    const int part = static_cast<int>(n.part);
    if (n.velocity > 0.0f) {
      ++held[std::make_pair(part, static_cast<int>(n.note))];
      ++sounding[static_cast<size_t>(part)];
      most[static_cast<size_t>(part)] =
          std::max(most[static_cast<size_t>(part)], sounding[static_cast<size_t>(part)]);
    } else {
      ASSERT_GT((held[std::make_pair(part, static_cast<int>(n.note))]), 0)
          << "note-off without note-on";
      --held[std::make_pair(part, static_cast<int>(n.note))];
      --sounding[static_cast<size_t>(part)];
    }
  }
  EXPECT_LE(most[0], 3);
  EXPECT_LE(most[1], 1);
  EXPECT_LE(most[2], 1);
  EXPECT_EQ(sounding, (std::array<int, 3>{0, 0, 0}));
}

TEST(Composer, TempoChangesTakeEffectAtTheNextBar) {
  Composer composer;
  composer.Init({}, 1, 0);
  std::vector<GenNote> bar;
  bar.reserve(Composer::kMaxNotesPerBar);
  GenParams params;
  params.bpm = 60.0;
  EXPECT_EQ(composer.ComposeBar(params, &bar), 0u);
  EXPECT_EQ(composer.next_bar_frame(), 4u * 48000u);  // 4 beats of 1 s
  params.bpm = 120.0;
  EXPECT_EQ(composer.ComposeBar(params, &bar), 4u * 48000u);
  EXPECT_EQ(composer.next_bar_frame(), 6u * 48000u);
  for (const GenNote& n : bar) {
    EXPECT_GE(n.frame, 4u * 48000u);
    EXPECT_LE(n.frame, 6u * 48000u);
  }
}

size_t RssBytes() {
  std::ifstream in("/proc/self/statm");
  size_t pages = 0, resident = 0;
  in >> pages >> resident;
  return resident * 4096;
}

// The player feeding the timed queue, and the audio thread's side of it, for 8 hours of music as
// fast as possible (no audio rendered: the notes' path and the composer's memory are under test).
TEST(GenPlayer, EightHoursOfflineWithoutLateNotesOrMemoryGrowth) {
  SoundPatch patch;
  LayerConfig all;
  all.channels = 0xffff;
  patch.layers = {all};
  SoundLayers layers(patch, nullptr, 48000.0f);
  GenerativeConfig defaults;
  defaults.intensity = 0.8;
  GenPlayerConfig config;
  GenPlayer player(layers, defaults, config);
  constexpr uint32_t kPeriod = 256;
  const uint64_t total = 8ull * 3600 * 48000 / kPeriod;
  const uint64_t warm_up = 10ull * 60 * 48000 / kPeriod;
  std::array<Command, 256> synth{};
  uint64_t synth_notes = 0;
  size_t rss_after_warm_up = 0, rss_max = 0;
  player.StartMusicNonRt();
  uint64_t allocations = 0;
  for (uint64_t p = 0; p < total; ++p) {
    const uint64_t frame = p * kPeriod;
    if (p % 4 == 0) {  // the player's thread wakes every ~20 ms
      test::AllocCountScope scope;
      player.StepNonRt(frame);
      allocations += scope.allocations();
    }
    if (p % 37500 == 0) {  // every 200 s of music: a new tempo and intensity from the next bar
      player.SetBpmNonRt(50.0 + static_cast<double>((p / 37500) % 7) * 10.0);
      player.SetIntensityNonRt(static_cast<double>((p / 37500) % 11) / 10.0);
    }
    synth_notes += layers.BeginPeriodRt(frame, kPeriod, synth.data(), synth.size());
    if (p == warm_up) rss_after_warm_up = RssBytes();
    if (p > warm_up && p % 100000 == 0) rss_max = std::max(rss_max, RssBytes());
  }
  EXPECT_GT(player.bars(), 7000u);
  EXPECT_EQ(allocations, 0u) << "the composer and the player allocate nothing while playing";
  EXPECT_EQ(layers.timed_late(), 0u);
  EXPECT_EQ(player.notes_dropped(), 0u);
  EXPECT_EQ(layers.timed_played(), synth_notes);
  EXPECT_GT(player.notes_queued(), 100000u);
  // Under a sanitizer RSS also holds its shadow memory and quarantine (the allocation count above
  // is the proof there).
  if (!test::kSanitized) {
    EXPECT_LE(rss_max, rss_after_warm_up + (1u << 20)) << "RSS drift after warm-up";
  }
  RecordProperty("rss_drift_bytes", std::to_string(rss_max - std::min(rss_max, rss_after_warm_up)));
}

TEST(GenPlayer, StopReleasesWhatSoundsAndDropsWhatIsQueued) {
  SoundPatch patch;
  LayerConfig all;
  all.channels = 0xffff;
  patch.layers = {all};
  SoundLayers layers(patch, nullptr, 48000.0f);
  GenPlayer player(layers, GenerativeConfig{}, GenPlayerConfig{});
  std::array<Command, 256> synth{};
  std::map<int, int> on;
  player.StartMusicNonRt();
  auto run = [&](uint64_t from, uint64_t periods) {
    for (uint64_t p = from; p < from + periods; ++p) {
      player.StepNonRt(p * 256);
      const uint32_t n = layers.BeginPeriodRt(p * 256, 256, synth.data(), synth.size());
      for (uint32_t i = 0; i < n; ++i)
        on[synth[i].note] += synth[i].type == CommandType::kNoteOn ? 1 : -1;
    }
  };
  run(0, 500);
  int sounding = 0;
  for (const auto& [note, count] : on) sounding += count;
  EXPECT_GT(sounding, 0);
  player.StopMusicNonRt();
  run(500, 2000);
  for (const auto& [note, count] : on) EXPECT_EQ(count, 0) << "note " << note << " left on";
  EXPECT_FALSE(player.playing());
}

}  // namespace
}  // namespace chronus::firmware
