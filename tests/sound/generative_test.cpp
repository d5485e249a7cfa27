// The generative mode: the composer (determinism, notes in the mode, density rising with
// intensity, polyphony, tempo at the next bar) and the player sending its notes through its
// control lane and the engine's event scheduler: on their frames, deterministic, 8 hours of music
// offline without a late note or memory growth, stop cancels what is scheduled.
#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <map>
#include <memory>
#include <thread>
#include <vector>

#include "firmware/engine/audio_engine.h"
#include "firmware/generative/composer.h"
#include "firmware/generative/gen_player.h"
#include "firmware/sound/sound_layers.h"
#include "tests/support/alloc_counter.h"
#include "tests/support/emulation.h"
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

// The engine offline with the sound layers and the generative player, the test thread in the
// role of the audio thread (and of the player's thread: StepNonRt before each period, from the
// period's first frame, as the thread does). The parts' channels whose bit is set in
// `synth_channels` play on the synth voices; the others go to a FluidSynth layer without a worker
// (routed, counted, silent).
class GenEngine {
 public:
  static constexpr double kRate = 44100.0;  // eighth notes fall off block boundaries

  GenEngine(uint16_t synth_channels, uint32_t block, uint32_t workers, uint32_t voices,
            const GenerativeConfig& defaults, double start_s = 0.1)
      : block_(block) {
    EngineConfig config;
    config.sample_rate = static_cast<float>(kRate);
    config.block_frames = block;
    config.channels = 1;
    config.workers = workers;
    config.voices = voices;
    engine_ = std::make_unique<AudioEngine>(config, queue_);
    SoundPatch patch;
    LayerConfig synth;
    synth.channels = synth_channels;
    LayerConfig fluid;
    fluid.target = LayerConfig::Target::kFluid;
    fluid.channels = static_cast<uint16_t>(~synth_channels);
    patch.layers = {synth, fluid};
    layers_ = std::make_unique<SoundLayers>(patch, nullptr, static_cast<float>(kRate));
    engine_->SetLayerHostNonRt(layers_.get());
    GenPlayerConfig gc;
    gc.sample_rate = kRate;
    gc.start_s = start_s;
    player_ = std::make_unique<GenPlayer>(*layers_, defaults, gc);
    player_->SetLaneNonRt(engine_->control_queue().AddProducerNonRt());
    engine_->Start();
    workers_ = engine_->workers();
    buffer_.resize(block);
  }
  ~GenEngine() { engine_->Stop(); }

  // Renders `periods` periods, appending the output to `out` (may be null). Allocations made by
  // RenderPeriodRt (this thread as the audio thread) and by StepNonRt are added up.
  void Render(uint64_t periods, std::vector<float>* out) {
    for (uint64_t p = 0; p < periods; ++p) {
      {
        test::AllocCountScope scope;
        player_->StepNonRt(engine_->next_period_frame());
        player_allocations_ += scope.allocations();
      }
      const uint64_t target = engine_->periods() + 1;  // lookahead 1
      for (DspWorker* worker : workers_) {
        while (worker->blocks_rendered() < target) std::this_thread::yield();
      }
      {
        test::AllocCountScope scope;
        engine_->RenderPeriodRt(buffer_.data());
        audio_allocations_ += scope.allocations() + scope.deallocations();
      }
      max_pending_ = std::max<uint64_t>(max_pending_, engine_->pending_events());
      if (out == nullptr) continue;
      for (uint32_t i = 0; i < block_; ++i) out->push_back(float(buffer_[i]) / 2147483648.0f);
    }
  }
  uint64_t PeriodsFor(double seconds) const {
    return static_cast<uint64_t>(seconds * kRate / block_) + 1;
  }

  AudioEngine& engine() { return *engine_; }
  SoundLayers& layers() { return *layers_; }
  GenPlayer& player() { return *player_; }
  uint64_t audio_allocations() const { return audio_allocations_; }
  uint64_t player_allocations() const { return player_allocations_; }
  uint64_t max_pending() const { return max_pending_; }

 private:
  uint32_t block_;
  ControlQueue queue_;
  std::unique_ptr<AudioEngine> engine_;
  std::unique_ptr<SoundLayers> layers_;
  std::unique_ptr<GenPlayer> player_;
  std::vector<DspWorker*> workers_;
  std::vector<int32_t> buffer_;
  uint64_t audio_allocations_ = 0;
  uint64_t player_allocations_ = 0;
  uint64_t max_pending_ = 0;
};

long FirstNonZero(const std::vector<float>& a) {
  for (size_t i = 0; i < a.size(); ++i) {
    if (a[i] != 0.0f) return static_cast<long>(i);
  }
  return -1;
}

constexpr uint16_t kPadBit = 1u << 13;  // default channels 14, 15, 16
constexpr uint16_t kMelodyBit = 1u << 14;

// The first bar the player composes when started at frame 0 (it starts 0.1 s later).
std::vector<GenNote> FirstBar(const GenerativeConfig& defaults) {
  Composer composer;
  ComposerConfig cc;
  cc.sample_rate = GenEngine::kRate;
  composer.Init(cc, defaults.seed, static_cast<uint64_t>(GenEngine::kRate * 0.1));
  GenParams params;
  params.intensity = defaults.intensity;
  std::vector<GenNote> bar;
  bar.reserve(Composer::kMaxNotesPerBar);
  composer.ComposeBar(params, &bar);
  return bar;
}

// A generated note through the control lane, the event scheduler and the layers sounds from its
// frame (the synth voice's first sample is non-zero on its first or second frame: ±1).
TEST(GenPlayer, NotesLandOnTheirFramesThroughTheEventScheduler) {
  GenerativeConfig defaults;
  defaults.seed = 3;
  const std::vector<GenNote> bar = FirstBar(defaults);
  uint64_t pad_frame = 0, melody_frame = 0;
  for (const GenNote& n : bar) {
    if (n.velocity <= 0.0f) continue;
    if (n.part == generative::Part::kPad && pad_frame == 0) pad_frame = n.frame;
    if (n.part == generative::Part::kMelody && melody_frame == 0) melody_frame = n.frame;
  }
  ASSERT_NE(pad_frame, 0u);
  ASSERT_NE(melody_frame, 0u);
  for (const auto& [bit, frame] :
       {std::make_pair(kPadBit, pad_frame), std::make_pair(kMelodyBit, melody_frame)}) {
    GenEngine rig(bit, 128, 2, 8, defaults);
    rig.player().StartMusicNonRt();
    std::vector<float> out;
    rig.Render(rig.PeriodsFor(static_cast<double>(frame) / GenEngine::kRate + 0.1), &out);
    const long onset = FirstNonZero(out);
    std::printf(
        "[ measure  ] channel bit %u: note at frame %llu (%llu into its block), onset %ld\n",
        static_cast<unsigned>(bit), static_cast<unsigned long long>(frame),
        static_cast<unsigned long long>(frame % 128), onset);
    EXPECT_GE(onset, static_cast<long>(frame));
    EXPECT_LE(onset, static_cast<long>(frame) + 1);
    EXPECT_GT(rig.engine().scheduled_events(), 0u);
    EXPECT_EQ(rig.engine().late_events(), 0u);
    EXPECT_EQ(rig.layers().gen_late(), 0u);
  }
  EXPECT_NE(melody_frame % 128, 0u) << "pick a seed whose melody note is off the block grid";
}

TEST(GenPlayer, FixedSeedRendersTheSameSamplesThroughTheEngine) {
  auto render = [](uint32_t seed) {
    GenerativeConfig defaults;
    defaults.seed = seed;
    defaults.intensity = 0.9;
    GenEngine rig(0xffff, 128, 2, 8, defaults);
    rig.player().StartMusicNonRt();
    std::vector<float> out;
    rig.Render(rig.PeriodsFor(9.0), &out);  // two bars and a bit at 60 bpm
    EXPECT_EQ(rig.engine().late_blocks(), 0u);
    EXPECT_EQ(rig.engine().late_events(), 0u);
    EXPECT_EQ(rig.player().notes_dropped(), 0u);
    EXPECT_GE(rig.player().bars(), 3u);
    // Every note went through the scheduler; those not yet due are still pending.
    EXPECT_EQ(rig.engine().scheduled_events(), rig.player().notes_queued());
    EXPECT_EQ(rig.layers().gen_played() + rig.engine().pending_events(),
              rig.player().notes_queued());
    return out;
  };
  const std::vector<float> a = render(11);
  const std::vector<float> b = render(11);
  const std::vector<float> c = render(12);
  ASSERT_EQ(a.size(), b.size());
  float peak = 0.0f;
  for (const float v : a) peak = std::max(peak, std::fabs(v));
  EXPECT_GT(peak, 0.01f);
  EXPECT_TRUE(a == b) << "same seed, different samples";
  EXPECT_FALSE(a == c);
}

// The player's commands straight from its lane (no engine): tempo and intensity set between two
// bars change the bars composed after the change, the ones already composed stay as they were.
TEST(GenPlayer, TempoAndIntensityChangesTakeEffectAtTheNextBar) {
  SoundPatch patch;
  patch.layers = {LayerConfig{}};
  SoundLayers layers(patch, nullptr, 48000.0f);
  GenerativeConfig defaults;
  defaults.intensity = 0.1;
  GenPlayer player(layers, defaults, GenPlayerConfig{});
  ControlQueue queue;
  player.SetLaneNonRt(queue.AddProducerNonRt());
  player.StartMusicNonRt();
  const uint64_t change = 20 * 48000;  // 20 s in: bar 5 (0.1 s + 4 s per bar) is under way
  std::vector<uint64_t> bar_starts;
  std::map<uint64_t, int> melody_per_bar;
  Command command;
  for (uint64_t now = 0; now < 60 * 48000; now += 960) {  // the thread's 20 ms steps
    if (now == change) {
      player.SetBpmNonRt(120.0);
      player.SetIntensityNonRt(1.0);
    }
    player.StepNonRt(now);
    while (queue.popRt(&command)) {
      ASSERT_NE(command.generation, 0);
      if (command.type != CommandType::kNoteOn) continue;
      if (command.channel == 13 && (bar_starts.empty() || bar_starts.back() != command.frame)) {
        bar_starts.push_back(command.frame);
      }
      if (command.channel == 14) ++melody_per_bar[bar_starts.back()];
    }
  }
  ASSERT_GT(bar_starts.size(), 12u);
  size_t first_fast = 0;
  for (size_t i = 1; i < bar_starts.size(); ++i) {
    const uint64_t length = bar_starts[i] - bar_starts[i - 1];
    if (length == 4 * 48000 / 2 && first_fast == 0) first_fast = i - 1;
    if (first_fast == 0) {
      EXPECT_EQ(length, 4u * 48000u) << "bar " << i - 1;
    } else {
      EXPECT_EQ(length, 4u * 48000u / 2) << "bar " << i - 1;
    }
  }
  ASSERT_NE(first_fast, 0u);
  const uint64_t start = bar_starts[first_fast];
  std::printf("[ measure  ] change at frame %llu, first 120 bpm bar starts at %llu\n",
              static_cast<unsigned long long>(change), static_cast<unsigned long long>(start));
  // The next bar not yet composed when the change came: at most one bar and the lead later.
  EXPECT_GE(start, change);
  EXPECT_LE(start, change + 4 * 48000 + 24000);
  int before = 0, after = 0;
  for (size_t i = 0; i < first_fast; ++i) before += melody_per_bar[bar_starts[i]];
  for (size_t i = first_fast; i < std::min(bar_starts.size() - 1, 2 * first_fast); ++i) {
    after += melody_per_bar[bar_starts[i]];
  }
  EXPECT_GT(after, 2 * before) << "intensity 1.0 plays more melody notes than 0.1";
}

// 8 hours of music through the engine offline as fast as possible (8192-frame periods; the notes
// go to a FluidSynth layer without a worker: routed at their frames and counted, not rendered, so
// the composer's, the lane's and the scheduler's memory and timing are under test).
TEST(GenPlayer, EightHoursThroughTheEngineOfflineWithoutLateNotesOrMemoryGrowth) {
  GenerativeConfig defaults;
  defaults.intensity = 0.8;
  constexpr uint32_t kPeriod = 8192;  // two periods < the player's 0.5 s lead: no late note
  GenEngine rig(0, kPeriod, 1, 4, defaults, /*start_s=*/0.5);  // > one period and its lookahead
  // Under an emulator (the arm64 build under qemu, ~12 times slower) 1 hour of music: 8 would
  // take longer than its 300 s test timeout (2 hours took 189 s on an idle machine, too close to
  // it on a loaded one); the native builds play all 8.
  const bool emulated = !test::Emulator().empty();
  const double hours = emulated ? 1.0 : 8.0;
  if (emulated) std::printf("[ measure  ] under %s: 1 hour, not 8\n", test::Emulator().c_str());
  const uint64_t total = static_cast<uint64_t>(hours * 3600 * GenEngine::kRate / kPeriod);
  const uint64_t warm_up = static_cast<uint64_t>(600 * GenEngine::kRate / kPeriod);
  const uint64_t every = static_cast<uint64_t>(200 * GenEngine::kRate / kPeriod);
  size_t rss_after_warm_up = 0, rss_max = 0;
  rig.player().StartMusicNonRt();
  test::StartCountingRtAllocations();
  for (uint64_t p = 0; p < total; p += every) {
    // Every 200 s of music: a new tempo and intensity from the next bar.
    rig.player().SetBpmNonRt(50.0 + static_cast<double>((p / every) % 7) * 10.0);
    rig.player().SetIntensityNonRt(static_cast<double>((p / every) % 11) / 10.0);
    rig.Render(std::min(every, total - p), nullptr);
    if (p <= warm_up && p + every > warm_up) rss_after_warm_up = RssBytes();
    if (p > warm_up) rss_max = std::max(rss_max, RssBytes());
  }
  const uint64_t worker_allocations = test::StopCountingRtAllocations();
  EXPECT_GT(rig.player().bars(), static_cast<uint64_t>(7000 * hours / 8));
  EXPECT_EQ(rig.player_allocations(), 0u) << "the composer and the player allocate nothing";
  EXPECT_EQ(rig.audio_allocations(), 0u) << "the audio thread's side allocates nothing";
  EXPECT_EQ(worker_allocations, 0u);
  EXPECT_EQ(rig.layers().gen_late(), 0u);
  EXPECT_EQ(rig.engine().late_events(), 0u);
  EXPECT_EQ(rig.engine().scheduler_overflows(), 0u);
  EXPECT_EQ(rig.player().notes_dropped(), 0u);
  EXPECT_EQ(rig.engine().control_queue().dropped(), 0u);
  EXPECT_GT(rig.player().notes_queued(), static_cast<uint64_t>(100000 * hours / 8));
  EXPECT_EQ(rig.layers().gen_played() + rig.engine().pending_events(), rig.player().notes_queued());
  EXPECT_LE(rig.max_pending(), 2 * Composer::kMaxNotesPerBar);
  std::printf("[ measure  ] %llu bars, %llu notes, at most %llu waiting in the scheduler\n",
              static_cast<unsigned long long>(rig.player().bars()),
              static_cast<unsigned long long>(rig.player().notes_queued()),
              static_cast<unsigned long long>(rig.max_pending()));
  // Under a sanitizer RSS also holds its shadow memory and quarantine (the allocation counts above
  // are the proof there).
  if (!test::kSanitized) {
    EXPECT_LE(rss_max, rss_after_warm_up + (1u << 20)) << "RSS drift after warm-up";
  }
  RecordProperty("rss_drift_bytes", std::to_string(rss_max - std::min(rss_max, rss_after_warm_up)));
}

TEST(GenPlayer, StopReleasesWhatSoundsAndCancelsWhatIsScheduled) {
  GenerativeConfig defaults;
  defaults.intensity = 0.5;
  GenEngine rig(0xffff, 256, 2, 8, defaults);
  rig.player().StartMusicNonRt();
  rig.Render(rig.PeriodsFor(3.9), nullptr);  // bar 1 (from 4.1 s) is composed and scheduled
  EXPECT_GT(rig.engine().active_voices(), 0u);
  EXPECT_GT(rig.engine().pending_events(), 0u);
  rig.player().StopMusicNonRt();
  std::vector<float> out;
  rig.Render(rig.PeriodsFor(6.0), &out);  // past bar 1's end (8.1 s)
  EXPECT_FALSE(rig.player().playing());
  EXPECT_GT(rig.layers().gen_cancelled(), 0u);
  EXPECT_EQ(rig.engine().pending_events(), 0u);
  EXPECT_EQ(rig.engine().active_voices(), 0u);
  float tail = 0.0f;
  for (size_t i = out.size() - 44100; i < out.size(); ++i) tail = std::max(tail, std::fabs(out[i]));
  EXPECT_EQ(tail, 0.0f) << "silent after the stop";
}

}  // namespace
}  // namespace chronus::firmware
