// The engine core offline (no sound card): workers on real threads, the test thread in the role of
// the audio thread.
#include "firmware/engine/audio_engine.h"

#include <gtest/gtest.h>
#include <pthread.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <thread>
#include <vector>

#include "firmware/engine/fault.h"
#include "firmware/engine/worker_supervisor.h"
#include "hal/rt/clock.h"
#include "tests/support/alloc_counter.h"
#include "tests/support/audio_analysis.h"

namespace chronus::firmware {
namespace {

constexpr uint32_t kBlock = 128;
constexpr float kRate = 48000.0f;

// Drives an AudioEngine like the audio thread does, but waits for the workers instead of a clock,
// so that no block is ever late.
class OfflineDriver {
 public:
  // `tweak` may change the engine's configuration before the engine is made.
  explicit OfflineDriver(uint32_t workers, uint32_t voices = 16, bool audio_thread_renders = false,
                         const std::function<void(EngineConfig&)>& tweak = {}) {
    EngineConfig config;
    config.sample_rate = kRate;
    config.block_frames = kBlock;
    config.channels = 2;
    config.workers = workers;
    config.voices = voices;
    config.audio_thread_renders = audio_thread_renders;
    if (tweak) tweak(config);
    engine_ = std::make_unique<AudioEngine>(config, queue_);
    control_ = queue_.AddProducerNonRt();
    engine_->Start();
    workers_ = engine_->workers();  // not in Render: the test thread plays the RT audio thread
    buffer_.resize(kBlock * 2);
  }
  ~OfflineDriver() { engine_->Stop(); }

  // Renders `periods` periods and appends channel 0 (as float) to `out`.
  void Render(int periods, std::vector<float>* out = nullptr) {
    for (int p = 0; p < periods; ++p) {
      const uint64_t target = engine_->periods() + 1;  // block p is ready once p + 1 are
      for (DspWorker* worker : workers_) {
        while (worker->blocks_rendered() < target) std::this_thread::yield();
      }
      engine_->RenderPeriodRt(buffer_.data());
      if (out != nullptr) {
        for (uint32_t i = 0; i < kBlock; ++i) out->push_back(float(buffer_[i * 2]) / 2147483648.0f);
      }
    }
  }

  ControlQueue::Producer& control() { return *control_; }
  AudioEngine& engine() { return *engine_; }
  const std::vector<int32_t>& buffer() const { return buffer_; }

 private:
  ControlQueue queue_;
  ControlQueue::Producer* control_ = nullptr;
  std::unique_ptr<AudioEngine> engine_;
  std::vector<DspWorker*> workers_;
  std::vector<int32_t> buffer_;
};

Command NoteOn(int note, float velocity) {
  return Command{CommandType::kNoteOn, static_cast<uint8_t>(note), dsp::ParamId::kCutoffHz,
                 velocity};
}
Command NoteOff(int note) { return Command{CommandType::kNoteOff, static_cast<uint8_t>(note)}; }
Command Param(dsp::ParamId id, float value) {
  return Command{CommandType::kSetParam, 0, id, value};
}

TEST(AudioEngine, PlaysA440SineAcrossTwoWorkers) {
  OfflineDriver driver(2);
  driver.control().pushNonRt(Param(dsp::ParamId::kWaveform, 0.0f));
  driver.control().pushNonRt(NoteOn(69, 1.0f));
  std::vector<float> out;
  driver.Render(400, &out);  // 1.07 s
  const double hz = test::PeakFrequency(out, 4800, 48000, kRate, 435.0, 445.0);
  EXPECT_NEAR(hz, 440.0, 0.01);
  EXPECT_GT(test::Rms(out, 4800, 48000), 0.05);
  EXPECT_EQ(driver.engine().late_blocks(), 0u);
  EXPECT_EQ(driver.engine().active_voices(), 1u);
}

TEST(AudioEngine, StereoChannelsCarryTheMixAndLowByteIsZero) {
  OfflineDriver driver(2);
  driver.control().pushNonRt(NoteOn(60, 1.0f));
  driver.Render(20);
  bool nonzero = false;
  for (uint32_t i = 0; i < kBlock; ++i) {
    EXPECT_EQ(driver.buffer()[i * 2], driver.buffer()[i * 2 + 1]);
    EXPECT_EQ(driver.buffer()[i * 2] & 0xff, 0);
    nonzero |= driver.buffer()[i * 2] != 0;
  }
  EXPECT_TRUE(nonzero);
}

TEST(AudioEngine, VoicesSpreadOverWorkersStealOldestAndFreeAfterRelease) {
  OfflineDriver driver(2, 16);
  driver.control().pushNonRt(Param(dsp::ParamId::kReleaseS, 0.05f));
  for (int n = 0; n < 17; ++n) driver.control().pushNonRt(NoteOn(40 + n, 0.5f));
  driver.Render(4);
  EXPECT_EQ(driver.engine().active_voices(), 16u);
  EXPECT_EQ(driver.engine().voices_stolen(), 1u);
  // Both workers render voices: each worker's blocks are non-silent.
  for (int n = 0; n < 17; ++n) driver.control().pushNonRt(NoteOff(40 + n));
  driver.Render(60);  // 160 ms: release 50 ms is over
  EXPECT_EQ(driver.engine().active_voices(), 0u);
  EXPECT_EQ(driver.engine().late_blocks(), 0u);
  EXPECT_EQ(driver.engine().dropped_commands(), 0u);
}

TEST(AudioEngine, MasterGainInDecibels) {
  std::vector<float> loud, quiet;
  {
    OfflineDriver driver(1);
    driver.control().pushNonRt(Param(dsp::ParamId::kWaveform, 0.0f));
    driver.control().pushNonRt(Param(dsp::ParamId::kMasterGainDb, -20.0f));
    driver.control().pushNonRt(NoteOn(69, 1.0f));
    driver.Render(100, &loud);
  }
  {
    OfflineDriver driver(1);
    driver.control().pushNonRt(Param(dsp::ParamId::kWaveform, 0.0f));
    driver.control().pushNonRt(Param(dsp::ParamId::kMasterGainDb, -40.0f));
    driver.control().pushNonRt(NoteOn(69, 1.0f));
    driver.Render(100, &quiet);
  }
  const double ratio_db =
      20.0 * std::log10(test::Rms(loud, 6400, 6400) / test::Rms(quiet, 6400, 6400));
  EXPECT_NEAR(ratio_db, 20.0, 0.1);
}

TEST(AudioEngine, MissingWorkerBlockIsCountedLateNeverWaitedFor) {
  OfflineDriver driver(2);
  driver.Render(2);
  // Render without waiting for the workers, several times in a row: some blocks cannot be ready.
  const auto start = std::chrono::steady_clock::now();
  std::vector<int32_t> out(kBlock * 2);
  for (int i = 0; i < 50; ++i) driver.engine().RenderPeriodRt(out.data());
  const auto took = std::chrono::steady_clock::now() - start;
  EXPECT_GT(driver.engine().late_blocks(), 0u);
  EXPECT_LT(took, std::chrono::milliseconds(50));  // 50 periods, no waiting on workers
}

// Threads of this process named `name` (from /proc/self/task/*/comm).
int ThreadsNamed(const std::string& name) {
  int count = 0;
  for (const auto& task : std::filesystem::directory_iterator("/proc/self/task")) {
    std::ifstream comm(task.path() / "comm");
    std::string line;
    std::getline(comm, line);
    count += line == name;
  }
  return count;
}

TEST(AudioEngine, TheAudioThreadRenderingShareZeroSoundsExactlyLikeAWorkerThreadDoingIt) {
  std::vector<float> threaded_out, inline_out;
  for (const bool audio_thread_renders : {false, true}) {
    OfflineDriver driver(2, 16, audio_thread_renders);
    // Voices 0 and 2 are share 0's, 1 and 3 share 1's.
    driver.control().pushNonRt(Param(dsp::ParamId::kCutoffHz, 1200.0f));
    for (int note : {48, 55, 60, 64}) driver.control().pushNonRt(NoteOn(note, 0.6f));
    std::vector<float>& out = audio_thread_renders ? inline_out : threaded_out;
    driver.Render(100, &out);
    driver.control().pushNonRt(NoteOff(55));
    driver.control().pushNonRt(Param(dsp::ParamId::kCutoffHz, 400.0f));
    driver.Render(100, &out);
    EXPECT_EQ(driver.engine().late_blocks(), 0u);
    // Share 0 has a worker thread only when the audio thread does not render it.
    EXPECT_EQ(ThreadsNamed("chronus-dsp0"), audio_thread_renders ? 0 : 1);
    EXPECT_EQ(ThreadsNamed("chronus-dsp1"), 1);
    if (audio_thread_renders) {  // rendered on this thread: the one ahead is done already
      EXPECT_EQ(driver.engine().workers()[0]->blocks_rendered(), 201u);  // 1 ahead + 200
    }
  }
  ASSERT_EQ(threaded_out.size(), inline_out.size());
  EXPECT_GT(test::Rms(threaded_out, 0, int64_t(threaded_out.size())), 0.02);
  for (size_t i = 0; i < threaded_out.size(); ++i) {
    ASSERT_EQ(threaded_out[i], inline_out[i]) << "frame " << i;
  }
}

// Offline, the audio thread may keep its own share fewer blocks ahead than the worker threads
// (so that they can run ahead of it), and idle workers may spin before they sleep: neither may
// change a sample. Lookahead 4, share 0 kept 2 ahead, 50 us spins, against every share on a
// worker thread with lookahead 4.
TEST(AudioEngine, AnAudioThreadShareKeptFewerBlocksAheadSoundsExactlyTheSame) {
  std::vector<float> threaded_out, inline_out;
  for (const bool audio_thread_renders : {false, true}) {
    OfflineDriver driver(2, 16, audio_thread_renders, [&](EngineConfig& config) {
      config.lookahead_blocks = 4;
      if (audio_thread_renders) {
        config.audio_share_ahead_blocks = 2;
        config.worker_idle_spin_ns = 50'000;
      }
    });
    driver.control().pushNonRt(Param(dsp::ParamId::kCutoffHz, 1200.0f));
    for (int note : {48, 55, 60, 64}) driver.control().pushNonRt(NoteOn(note, 0.6f));
    std::vector<float>& out = audio_thread_renders ? inline_out : threaded_out;
    driver.Render(100, &out);
    driver.control().pushNonRt(NoteOff(55));
    driver.control().pushNonRt(NoteOff(60));
    driver.Render(100, &out);
    EXPECT_EQ(driver.engine().late_blocks(), 0u);
    if (audio_thread_renders) {  // share 0: 2 ahead, not 4; share 1 may be up to 4 ahead
      EXPECT_EQ(driver.engine().workers()[0]->blocks_rendered(), 202u);
      EXPECT_GE(driver.engine().workers()[1]->blocks_rendered(), 200u);
      EXPECT_LE(driver.engine().workers()[1]->blocks_rendered(), 204u);
    }
  }
  ASSERT_EQ(threaded_out.size(), inline_out.size());
  EXPECT_GT(test::Rms(threaded_out, 0, int64_t(threaded_out.size())), 0.02);
  for (size_t i = 0; i < threaded_out.size(); ++i) {
    ASSERT_EQ(threaded_out[i], inline_out[i]) << "frame " << i;
  }
}

// A worker replaced after missing a deadline is usually asleep between blocks when it is
// abandoned: it must be woken so that its thread ends (each thread's 8 MiB stack is locked by
// mlockall), and the engine frees it then. Seen in a 10-minute soak on this VM before the fix: one
// replacement left a second chronus-dsp0 thread asleep for good and RSS 8.3 MB higher.
TEST(WorkerSupervisorTest, AReplacedWorkerThreadEndsAndIsFreed) {
  OfflineDriver driver(2);
  driver.Render(4);
  AudioEngine& engine = driver.engine();
  DspWorker* first = engine.workers()[0];
  while (first->blocks_rendered() < engine.periods() + 1) std::this_thread::yield();  // idle
  FaultSpec stall;
  stall.type = FaultType::kStall;
  stall.stall_ms = 20;
  first->InjectFaultNonRt(stall);  // it stalls on the block handed back next
  std::vector<int32_t> out(kBlock * 2);
  for (int i = 0; i < 10; ++i) {  // 1 ms periods: its block is late, the share goes on standby
    engine.RenderPeriodRt(out.data());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_GT(engine.late_blocks(), 0u);
  // The stall is over: the worker has rendered the block it held and sleeps. Only now does the
  // supervisor look: it replaces the worker (one missed deadline suffices here), the audio
  // thread adopts the replacement, and the old worker is abandoned while asleep.
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  SupervisorConfig config;
  config.escalate_failovers = 1;
  WorkerSupervisor supervisor(engine, config, {}, hal::MonotonicNs());
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(3);
  while (supervisor.freed_workers() == 0 && std::chrono::steady_clock::now() < deadline) {
    engine.RenderPeriodRt(out.data());
    supervisor.Tick(hal::MonotonicNs());
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  EXPECT_GE(supervisor.freed_workers(), 1u);
  EXPECT_GE(supervisor.Health()[0].replacements, 1u);
  EXPECT_NE(engine.workers()[0], first);
  // Only the workers in use keep threads: every replaced one ended (and was freed).
  int threads = 0;
  for (int i = 0; i < 100; ++i) {
    supervisor.Tick(hal::MonotonicNs());
    threads = ThreadsNamed("chronus-dsp0") + ThreadsNamed("chronus-dsp1");
    if (threads == 2) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(threads, 2);
  EXPECT_EQ(supervisor.freed_workers(),
            supervisor.Health()[0].replacements + supervisor.Health()[1].replacements);
}

class AudioEngineAllocations : public ::testing::TestWithParam<bool> {};

TEST_P(AudioEngineAllocations, SteadyStateMakesNoHeapAllocationOnRtThreads) {
  OfflineDriver driver(2, 16, GetParam());  // GetParam(): the audio thread renders share 0
  pthread_setname_np(pthread_self(), "chronus-audio");
  driver.Render(10);
  test::StartCountingRtAllocations();
  for (int round = 0; round < 20; ++round) {
    driver.control().pushNonRt(NoteOn(48 + round, 0.7f));
    driver.control().pushNonRt(Param(dsp::ParamId::kCutoffHz, 300.0f + 100.0f * float(round)));
    driver.control().pushNonRt(Param(dsp::ParamId::kMasterGainDb, -6.0f - float(round % 3)));
    driver.Render(10);
    driver.control().pushNonRt(NoteOff(48 + round));
    driver.Render(10);
  }
  const uint64_t allocations = test::StopCountingRtAllocations();
  pthread_setname_np(pthread_self(), "audio_engine_te");
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(driver.engine().late_blocks(), 0u);
}

INSTANTIATE_TEST_SUITE_P(WorkerThreadsOrAudioThread, AudioEngineAllocations, ::testing::Bool());

TEST(AudioEngine, AllocationCounterSeesRtAllocations) {
  // The counter itself can fail: an allocation on a thread named like an RT thread is counted.
  std::thread t([] {
    pthread_setname_np(pthread_self(), "chronus-dsp9");
    test::StartCountingRtAllocations();
    auto* p = new std::vector<int>(100);
    delete p;
    EXPECT_GE(test::StopCountingRtAllocations(), 1u);
  });
  t.join();
}

}  // namespace
}  // namespace chronus::firmware
