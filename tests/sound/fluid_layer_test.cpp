// The FluidSynth layer offline: our worker path against FluidSynth driven directly, the stall
// story, the SoundFont swap, refused loads, routing by channel and key range, gain and pan.
#include <fluidsynth.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "firmware/engine/audio_engine.h"
#include "firmware/sound/fluid_instance.h"
#include "firmware/sound/fluid_worker.h"
#include "firmware/sound/sound_layers.h"
#include "firmware/sound/soundfont_loader.h"
#include "tests/sound/fluid_test_util.h"
#include "tests/support/alloc_counter.h"

namespace chronus::firmware {
namespace {

namespace fs = std::filesystem;
constexpr uint32_t kBlock = 128;
constexpr double kRate = 48000.0;

SoundPatch OneFluidLayer(int program = 0) {
  SoundPatch patch;
  LayerConfig layer;
  layer.name = "piano";
  layer.target = LayerConfig::Target::kFluid;
  layer.channels = 1;  // channel 1
  layer.program = program;
  patch.layers.push_back(layer);
  patch.fluid.soundfont_dirs = {"/usr/share/sounds/sf2"};
  return patch;
}

std::unique_ptr<FluidInstance> MakeInstance(const SoundPatch& patch, const std::string& font) {
  std::string error;
  auto instance = FluidInstance::Create(patch.fluid, kRate, &error);
  EXPECT_NE(instance, nullptr) << error;
  if (instance == nullptr) return nullptr;
  EXPECT_EQ(instance->LoadFont(0, font), "");
  EXPECT_EQ(instance->ApplyLayers(patch.layers, AssignFluidChannels(patch.layers)), "");
  return instance;
}

// A note sequence: (frame, key, velocity 0..1; 0 = off) on MIDI channel 1.
struct Note {
  uint64_t frame;
  uint8_t key;
  float velocity;
};
std::vector<Note> Sequence() {
  std::vector<Note> notes;
  for (int i = 0; i < 12; ++i) {
    const uint64_t at = static_cast<uint64_t>(i) * 6000 + 37 * static_cast<uint64_t>(i);
    notes.push_back({at, static_cast<uint8_t>(48 + 3 * i), 0.5f + 0.04f * static_cast<float>(i)});
    notes.push_back({at + 20000, static_cast<uint8_t>(48 + 3 * i), 0.0f});
  }
  std::sort(notes.begin(), notes.end(),
            [](const Note& a, const Note& b) { return a.frame < b.frame; });
  return notes;
}

using test::LayerDriver;

TEST(FluidLayer, WorkerPathEqualsFluidSynthDrivenDirectly) {
  const std::string font = test::TestSoundFont();
  if (font.empty()) GTEST_SKIP() << "no General MIDI SoundFont installed";
  SoundPatch patch = OneFluidLayer();
  patch.fluid.reverb = true;
  patch.fluid.chorus = true;
  const std::vector<Note> notes = Sequence();
  const int periods = 1000;  // 2.7 s

  // FluidSynth on its own: each note applied at its frame within the block, same block size.
  std::vector<float> direct;
  {
    auto instance = MakeInstance(patch, font);
    ASSERT_NE(instance, nullptr);
    fluid_synth_t* synth = instance->synth();
    std::vector<float> left(kBlock), right(kBlock);
    // Our worker renders its first block before any event (the block the audio thread plays
    // while the first events travel): render it here too, so both synths have the same history.
    fluid_synth_write_float(synth, static_cast<int>(kBlock), left.data(), 0, 1, right.data(), 0, 1);
    for (uint32_t i = 0; i < kBlock; ++i) {
      direct.push_back(left[i]);
      direct.push_back(right[i]);
    }
    size_t next = 0;
    for (int p = 0; p < periods; ++p) {
      const uint64_t start = static_cast<uint64_t>(p) * kBlock;
      uint32_t pos = 0;
      while (next < notes.size() && notes[next].frame < start + kBlock) {
        const auto offset = static_cast<uint32_t>(notes[next].frame - start);
        if (offset > pos) {
          fluid_synth_write_float(synth, static_cast<int>(offset - pos), left.data() + pos, 0, 1,
                                  right.data() + pos, 0, 1);
          pos = offset;
        }
        if (notes[next].velocity > 0) {
          fluid_synth_noteon(synth, 0, notes[next].key,
                             static_cast<int>(std::lround(notes[next].velocity * 127.0f)));
        } else {
          fluid_synth_noteoff(synth, 0, notes[next].key);
        }
        ++next;
      }
      fluid_synth_write_float(synth, static_cast<int>(kBlock - pos), left.data() + pos, 0, 1,
                              right.data() + pos, 0, 1);
      for (uint32_t i = 0; i < kBlock; ++i) {
        direct.push_back(left[i]);
        direct.push_back(right[i]);
      }
    }
  }

  // Our path: timed notes through the layers, the worker thread, the block queues.
  std::vector<float> ours;
  {
    LayerDriver driver(patch, MakeInstance(patch, font));
    for (const Note& n : notes) {
      ASSERT_TRUE(driver.layers().pushTimedNonRt({n.frame, 0, 0, n.key, n.velocity}));
    }
    for (int p = 0; p < periods + 1; ++p) driver.Period(&ours);
    EXPECT_EQ(driver.layers().fluid_late_blocks(), 0u);
    EXPECT_EQ(driver.layers().timed_late(), 0u);
  }
  // Ours plays each period's events in the next block (one block of latency, like the synth
  // voices' workers): our block p + 1 is FluidSynth's block p + 1 after its leading block.
  ASSERT_EQ(ours.size(), direct.size());
  double max_diff = 0.0, energy = 0.0;
  for (size_t i = 0; i < direct.size(); ++i) {
    max_diff = std::max(max_diff, std::fabs(double(ours[i]) - direct[i]));
    energy += double(direct[i]) * direct[i];
  }
  EXPECT_GT(energy, 1.0) << "the sequence must be audible";
  EXPECT_LE(max_diff, 1e-6) << "equal within float rounding";
  std::printf("[ measure  ] max |ours - direct| = %g over %zu samples, rms %g\n", max_diff,
              direct.size(), std::sqrt(energy / static_cast<double>(direct.size())));
}

// A scheduled note (timetagged OSC, the generative mode) through the engine: its FluidSynth part
// is routed when its frame comes, at its offset into the block, so it sounds from its frame (to
// FluidSynth's own 64-frame granularity), not when the command was popped half a second earlier.
TEST(FluidLayer, ScheduledNoteThroughTheEngineSoundsAtItsFrame) {
  const std::string font = test::TestSoundFont();
  if (font.empty()) GTEST_SKIP() << "no General MIDI SoundFont installed";
  SoundPatch patch = OneFluidLayer(0);
  patch.fluid.reverb = false;
  patch.fluid.chorus = false;
  ControlQueue queue;
  EngineConfig config;
  config.sample_rate = static_cast<float>(kRate);
  config.block_frames = kBlock;
  config.channels = 2;
  config.workers = 1;
  config.voices = 4;
  AudioEngine engine(config, queue);
  FluidWorker worker(FluidWorkerConfig{-1, 0, kBlock, 1}, MakeInstance(patch, font));
  SoundLayers layers(patch, &worker, static_cast<float>(kRate));
  engine.SetLayerHostNonRt(&layers);
  ControlQueue::Producer* lane = queue.AddProducerNonRt();
  engine.Start();
  worker.Start();
  const uint64_t frame = 150 * kBlock + 77;  // 0.4 s ahead, 77 frames into its block
  Command on{CommandType::kNoteOn, 60, {}, 0.9f, 0};
  on.frame = frame;
  ASSERT_TRUE(lane->pushNonRt(on));
  std::vector<int32_t> buffer(2 * kBlock);
  std::vector<float> out;
  const std::vector<DspWorker*> workers = engine.workers();
  for (uint64_t p = 0; p < 200; ++p) {
    for (DspWorker* w : workers) {
      while (w->blocks_rendered() < p + 1) std::this_thread::yield();
    }
    while (worker.blocks_rendered() < p + 1) std::this_thread::yield();
    engine.RenderPeriodRt(buffer.data());
    for (uint32_t i = 0; i < kBlock; ++i) out.push_back(float(buffer[2 * i]) / 2147483648.0f);
  }
  worker.Stop();
  engine.Stop();
  long onset = -1;
  for (size_t i = 0; i < out.size() && onset < 0; ++i) {
    if (out[i] != 0.0f) onset = static_cast<long>(i);
  }
  std::printf("[ measure  ] FluidSynth note scheduled at frame %llu, onset %ld\n",
              static_cast<unsigned long long>(frame), onset);
  EXPECT_GE(onset, static_cast<long>(frame));
  EXPECT_LE(onset, static_cast<long>(frame) + 64);
  EXPECT_EQ(engine.scheduled_events(), 1u);
  EXPECT_EQ(engine.late_events(), 0u);
  EXPECT_EQ(layers.fluid_late_blocks(), 0u);
  EXPECT_EQ(layers.fluid_events(), 1u);
}

TEST(FluidLayer, StalledWorkerFadesOutIsCountedAndComesBack) {
  const std::string font = test::TestSoundFont();
  if (font.empty()) GTEST_SKIP() << "no General MIDI SoundFont installed";
  SoundPatch patch = OneFluidLayer(89);  // a pad: sustained
  patch.fluid.reverb = false;
  patch.fluid.chorus = false;
  LayerDriver driver(patch, MakeInstance(patch, font));
  std::vector<float> out;
  driver.layers().pushTimedNonRt({0, 0, 0, 60, 0.9f});
  for (int p = 0; p < 200; ++p) driver.Period(&out);
  const size_t before = out.size();
  const float last_left = out[before - 2];
  ASSERT_GT(std::fabs(out[before - 2000]), 0.0f);
  // 2 s: far longer than the 10 periods below take, even when the host deschedules this thread
  // for a few hundred ms (the worker must not come back in the middle of them). The worker takes
  // the stall at its next block: if it is idle (its blocks ready), one period hands it one.
  driver.worker().InjectStallNonRt(2000.0);
  const auto injected = std::chrono::steady_clock::now();
  bool handed = false;
  while (driver.worker().stall_pending()) {
    if (!handed && std::chrono::steady_clock::now() - injected > std::chrono::milliseconds(20)) {
      driver.Period(&out);
      handed = true;
    }
    std::this_thread::yield();
  }
  // The stall: 10 periods (27 ms of audio) played at once, without waiting for the worker. The
  // blocks it rendered before the stall (at most its lookahead, 1) play first, then every period
  // is late.
  const uint64_t late_before = driver.layers().fluid_late_blocks();
  const uint64_t stalls_before = driver.layers().fluid_stalls();
  for (int p = 0; p < 10; ++p) driver.Period(&out, /*wait=*/false);
  const uint64_t late = driver.layers().fluid_late_blocks() - late_before;
  EXPECT_GE(late, 9u);
  EXPECT_LE(late, 10u);
  EXPECT_EQ(driver.layers().fluid_stalls() - stalls_before, 1u);
  // No click into the stall: consecutive samples stay close; silence by the end of it.
  float max_step = 0.0f;
  for (size_t i = before; i + 2 < out.size(); i += 2) {
    max_step = std::max(max_step, std::fabs(out[i + 2] - out[i]));
  }
  EXPECT_LT(max_step, 0.05f) << "last sample before the stall " << last_left;
  EXPECT_LT(std::fabs(out[out.size() - 2]), 1e-4f);
  // Back: the layer sounds again, and no event was lost.
  for (int p = 0; p < 100; ++p) driver.Period(&out);
  float peak = 0.0f;
  for (size_t i = out.size() - 2000; i < out.size(); ++i) peak = std::max(peak, std::fabs(out[i]));
  EXPECT_GT(peak, 0.001f);
  EXPECT_EQ(driver.layers().fluid_dropped_events(), 0u);
}

TEST(FluidLayer, SwapAtABlockBoundaryCrossfadesAndRetiresTheOldInstance) {
  const std::string font = test::TestSoundFont();
  if (font.empty()) GTEST_SKIP() << "no General MIDI SoundFont installed";
  SoundPatch patch = OneFluidLayer(89);
  LayerDriver driver(patch, MakeInstance(patch, font));
  std::vector<float> out;
  driver.layers().pushTimedNonRt({0, 0, 0, 60, 0.9f});
  for (int p = 0; p < 100; ++p) driver.Period(&out);
  auto next = MakeInstance(patch, font);
  ASSERT_TRUE(driver.worker().OfferInstanceNonRt(next));
  EXPECT_EQ(next, nullptr);
  for (int p = 0; p < 10; ++p) driver.Period(&out);
  EXPECT_EQ(driver.worker().swaps(), 1u);
  EXPECT_FALSE(driver.worker().instance_pending());
  EXPECT_NE(driver.worker().TakeRetiredNonRt(), nullptr);  // freed here, off the RT path
  float max_step = 0.0f;
  for (size_t i = 0; i + 2 < out.size(); i += 2) {
    max_step = std::max(max_step, std::fabs(out[i + 2] - out[i]));
  }
  EXPECT_LT(max_step, 0.05f);
}

TEST(FluidLayer, MissingAndCorruptSoundFontsAreRefusedAndTheSoundKeepsPlaying) {
  const std::string font = test::TestSoundFont();
  if (font.empty()) GTEST_SKIP() << "no General MIDI SoundFont installed";
  const fs::path dir = fs::temp_directory_path() / ("chronus-sf-" + std::to_string(getpid()));
  fs::create_directories(dir);
  {
    std::ofstream(dir / "garbage.sf2") << "this is not a SoundFont at all, just text";
    // A real header and the first bytes of a real font, then nothing: truncated.
    std::ifstream in(font, std::ios::binary);
    std::vector<char> head(4096);
    in.read(head.data(), static_cast<std::streamsize>(head.size()));
    std::ofstream(dir / "truncated.sf2", std::ios::binary).write(head.data(), 4096);
  }
  SoundPatch patch = OneFluidLayer(89);
  patch.fluid.soundfont_dirs = {dir.string(), "/usr/share/sounds/sf2"};
  LayerDriver driver(patch, MakeInstance(patch, font));
  SoundFontLoader loader(driver.worker(), patch, kRate);
  loader.Start();
  std::vector<std::pair<bool, std::string>> results;
  std::mutex mutex;
  auto request = [&](const std::string& name) {
    SoundFontRequest r;
    r.name = name;
    r.done = [&](bool ok, const std::string& text) {
      std::lock_guard lock(mutex);
      results.emplace_back(ok, text);
    };
    EXPECT_EQ(loader.RequestNonRt(r), "");
  };
  std::vector<float> out;
  driver.layers().pushTimedNonRt({0, 0, 0, 60, 0.9f});
  request("missing.sf2");
  request("garbage.sf2");
  request("truncated.sf2");
  request((dir / ".." / "etc.sf2").string());
  request("/etc/passwd");
  for (int p = 0; p < 400 && loader.busy(); ++p) driver.Period(&out);
  loader.WaitIdleNonRt();
  for (int p = 0; p < 50; ++p) driver.Period(&out);
  ASSERT_EQ(results.size(), 5u);
  for (const auto& [ok, text] : results) EXPECT_FALSE(ok) << text;
  EXPECT_NE(results[0].second.find("no such"), std::string::npos) << results[0].second;
  EXPECT_NE(results[1].second.find("not a SoundFont"), std::string::npos) << results[1].second;
  EXPECT_NE(results[2].second.find("corrupt"), std::string::npos) << results[2].second;
  EXPECT_NE(results[4].second.find("not inside a SoundFont directory"), std::string::npos);
  EXPECT_EQ(loader.failures(), 5u);
  EXPECT_EQ(loader.loads(), 0u);
  EXPECT_EQ(driver.worker().swaps(), 0u);
  float peak = 0.0f;
  for (size_t i = out.size() - 2000; i < out.size(); ++i) peak = std::max(peak, std::fabs(out[i]));
  EXPECT_GT(peak, 0.001f) << "the current sound keeps playing";
  loader.Stop();
  fs::remove_all(dir);
}

TEST(FluidLayer, LoaderSwapsInANewFontWithProgress) {
  const std::string font = test::TestSoundFont();
  if (font.empty()) GTEST_SKIP() << "no General MIDI SoundFont installed";
  SoundPatch patch = OneFluidLayer(0);
  LayerDriver driver(patch, nullptr);  // no instance yet: silence
  SoundFontLoader loader(driver.worker(), patch, kRate);
  loader.Start();
  std::vector<double> progress;
  bool ok = false;
  SoundFontRequest r;
  r.name = fs::path(font).filename().string();
  r.progress = [&](const std::string&, double f) { progress.push_back(f); };
  r.done = [&](bool good, const std::string&) { ok = good; };
  ASSERT_EQ(loader.RequestNonRt(r), "");
  std::vector<float> out;
  for (int p = 0; p < 100000 && loader.busy(); ++p) {
    driver.Period(&out);
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  loader.WaitIdleNonRt();
  EXPECT_TRUE(ok);
  EXPECT_EQ(driver.worker().swaps(), 1u);
  ASSERT_GE(progress.size(), 2u);
  EXPECT_DOUBLE_EQ(progress.back(), 1.0);
  EXPECT_TRUE(std::is_sorted(progress.begin(), progress.end()));
  driver.layers().pushTimedNonRt({(out.size() / 2) + 10 * kBlock, 0, 0, 60, 0.9f});
  out.clear();
  for (int p = 0; p < 100; ++p) driver.Period(&out);
  float peak = 0.0f;
  for (const float v : out) peak = std::max(peak, std::fabs(v));
  EXPECT_GT(peak, 0.001f);
  EXPECT_EQ(driver.layers().timed_late(), 0u);
  loader.Stop();
}

TEST(FluidLayer, StopDuringALoadDoesNotWaitForTheSwap) {
  // A shutdown (systemd stop, SIGTERM) while a font loads: the engine is stopped first, so the
  // worker never takes the new instance; Stop must not wait for that hand-over (it used to wait
  // 5 s, and the loader at SCHED_IDLE could be starved for longer). The load is slowed (the
  // progress callback, on the loader thread between two reads, holds it for 300 ms) so that the
  // stop lands inside it; nobody renders periods, as after engine.Stop().
  const std::string font = test::TestSoundFont();
  if (font.empty()) GTEST_SKIP() << "no General MIDI SoundFont installed";
  SoundPatch patch = OneFluidLayer(0);
  LayerDriver driver(patch, nullptr);
  SoundFontLoader loader(driver.worker(), patch, kRate);
  loader.Start();
  std::atomic<bool> reading{false};
  std::atomic<int> done{0};
  std::string reason;
  SoundFontRequest r;
  r.name = fs::path(font).filename().string();
  r.progress = [&](const std::string&, double) {
    if (!reading.exchange(true)) std::this_thread::sleep_for(std::chrono::milliseconds(300));
  };
  r.done = [&](bool ok, const std::string& text) {
    reason = text;
    done.store(ok ? 1 : -1);
  };
  ASSERT_EQ(loader.RequestNonRt(r), "");
  for (int i = 0; i < 10000 && !reading.load(); ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  ASSERT_TRUE(reading.load());
  const auto start = std::chrono::steady_clock::now();
  loader.Stop();
  const double stop_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("[ measure  ] Stop during a load returned in %.3f s (%s)\n", stop_s, reason.c_str());
  EXPECT_LT(stop_s, 3.0);  // 0.3 s held + the load; the swap wait alone was 5 s
  EXPECT_EQ(done.load(), -1);
  EXPECT_NE(reason.find("shutting down"), std::string::npos) << reason;
  EXPECT_EQ(driver.worker().swaps(), 0u);
}

TEST(FluidLayer, TheAudioThreadsSideAllocatesNothing) {
  const std::string font = test::TestSoundFont();
  if (font.empty()) GTEST_SKIP() << "no General MIDI SoundFont installed";
  SoundPatch patch = OneFluidLayer();
  LayerDriver driver(patch, MakeInstance(patch, font));
  std::vector<float> out;
  out.reserve(2 * kBlock * 500);
  for (uint64_t i = 0; i < 50; ++i) {
    driver.layers().pushTimedNonRt({i * 1000, 0, 0, static_cast<uint8_t>(40 + i), 0.8f});
    driver.layers().pushTimedNonRt({i * 1000 + 3000, 0, 0, static_cast<uint8_t>(40 + i), 0.0f});
  }
  test::AllocCountScope scope;  // this thread in the role of the audio thread
  Command synth{CommandType::kAllNotesOff};
  for (int p = 0; p < 450; ++p) {  // 57600 frames: past the last timed note (52000)
    driver.layers().RouteRt(Command{CommandType::kNoteOn, 60, {}, 0.5f, 0}, 0, &synth);
    driver.layers().RouteRt(Command{CommandType::kNoteOff, 60, {}, 0.0f, 0}, 0, &synth);
    driver.Period(&out);
  }
  EXPECT_EQ(scope.allocations(), 0u);
  EXPECT_EQ(scope.deallocations(), 0u);
  EXPECT_EQ(driver.layers().timed_played(), 100u);
}

TEST(SoundLayers, RoutesByChannelAndKeyRangeWithTransposeGainAndPan) {
  SoundPatch patch;
  LayerConfig pad;  // channel 1, below middle C, one octave up, hard left, -6 dB
  pad.channels = 1;
  pad.key_high = 59;
  pad.transpose = 12;
  pad.gain_db = -6.0;
  pad.pan = -1.0;
  LayerConfig piano;  // channel 1 from middle C, and all of channel 2
  piano.target = LayerConfig::Target::kFluid;
  piano.channels = 1 | 2;
  piano.key_low = 60;
  LayerConfig drums;
  drums.target = LayerConfig::Target::kFluid;
  drums.channels = 1 << 9;
  drums.bank = 128;
  patch.layers = {pad, piano, drums};
  EXPECT_EQ(AssignFluidChannels(patch.layers), (std::vector<int>{-1, 0, 9}));
  FluidWorker worker(FluidWorkerConfig{}, nullptr);  // not started: the test takes its events
  SoundLayers layers(patch, &worker, 48000.0f);
  FluidEvent event;

  Command synth{CommandType::kAllNotesOff};
  EXPECT_TRUE(layers.RouteRt(Command{CommandType::kNoteOn, 50, {}, 0.7f, 0}, 0, &synth));
  EXPECT_EQ(synth.type, CommandType::kNoteOn);
  EXPECT_EQ(synth.note, 62);
  EXPECT_FLOAT_EQ(synth.value, 0.7f);
  EXPECT_FALSE(worker.popEventForTest(&event));

  EXPECT_FALSE(layers.RouteRt(Command{CommandType::kNoteOn, 72, {}, 1.0f, 0}, 0, &synth));
  ASSERT_TRUE(worker.popEventForTest(&event));
  EXPECT_EQ(event.type, FluidEvent::Type::kNoteOn);
  EXPECT_EQ(event.channel, 0);
  EXPECT_EQ(event.key, 72);
  EXPECT_EQ(event.velocity, 127);

  EXPECT_FALSE(layers.RouteRt(Command{CommandType::kNoteOn, 40, {}, 0.5f, 1}, 0, &synth));
  EXPECT_FALSE(worker.popEventForTest(&event)) << "below the piano's key range on channel 2";
  EXPECT_FALSE(layers.RouteRt(Command{CommandType::kNoteOn, 64, {}, 0.5f, 1}, 0, &synth));
  ASSERT_TRUE(worker.popEventForTest(&event));
  EXPECT_EQ(event.channel, 0);
  EXPECT_EQ(event.key, 64);
  EXPECT_EQ(event.velocity, 64);

  EXPECT_FALSE(layers.RouteRt(Command{CommandType::kNoteOff, 36, {}, 0.0f, 9}, 0, &synth));
  ASSERT_TRUE(worker.popEventForTest(&event));
  EXPECT_EQ(event.type, FluidEvent::Type::kNoteOff);
  EXPECT_EQ(event.channel, 9);

  EXPECT_FALSE(layers.RouteRt(Command{CommandType::kNoteOn, 60, {}, 0.5f, 5}, 0, &synth));
  EXPECT_FALSE(worker.popEventForTest(&event)) << "channel 6 has no layer";

  // Synth layer gain and pan on the mono synth mix: hard left at -6 dB.
  std::vector<float> mono(64, 1.0f), left(64), right(64);
  layers.MixRt(mono.data(), left.data(), right.data(), 64);
  EXPECT_NEAR(left[0], std::pow(10.0f, -6.0f / 20.0f), 1e-6f);
  EXPECT_FLOAT_EQ(right[0], 0.0f);
  EXPECT_EQ(layers.fluid_late_blocks(), 1u) << "the worker is not running: its block is late";
}

}  // namespace
}  // namespace chronus::firmware
