// The whole audio thread on the virtual card: ALSA mmap writes, the engine, the recorder copy.
#include "firmware/engine/audio_thread.h"

#include <gtest/gtest.h>
#include <pthread.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

#include "hal/rt/thread_setup.h"
#include "tests/support/alloc_counter.h"
#include "tests/support/audio_analysis.h"
#include "tests/support/emulation.h"

namespace chronus::firmware {
namespace {

namespace fs = std::filesystem;

// Stack size (bytes) of a thread started now.
size_t StackOfANewThread() {
  size_t size = 0;
  std::thread([&size] {
    pthread_attr_t attr;
    pthread_getattr_np(pthread_self(), &attr);
    pthread_attr_getstacksize(&attr, &size);
    pthread_attr_destroy(&attr);
  }).join();
  return size;
}

// The firmware sets its threads' stack size first thing (mlockall locks each stack whole): threads
// started afterwards, std::thread included, get it; 8 MiB each before.
TEST(ThreadSetup, DefaultThreadStackAppliesToThreadsStartedAfter) {
  const size_t before = StackOfANewThread();
  ASSERT_EQ(hal::SetDefaultThreadStack(hal::kThreadStackBytes), "");
  const size_t after = StackOfANewThread();
  ASSERT_EQ(hal::SetDefaultThreadStack(before), "");  // as it was, for the other tests
  std::printf("[ measure  ] thread stack: %zu KiB by default here, %zu KiB set\n", before / 1024,
              after / 1024);
  EXPECT_GE(after, hal::kThreadStackBytes);
  EXPECT_LT(after, hal::kThreadStackBytes + 64 * 1024);
  EXPECT_EQ(StackOfANewThread(), before);
}

TEST(AudioThread, SteadyStateOnTheVirtualCardAllocatesNothingWhileRecording) {
  CHRONUS_SKIP_IF_EMULATED(
      "plays in real time on the paced virtual card; the emulator cannot keep its pace");
  const fs::path dir = fs::temp_directory_path() / ("chronus-at-" + std::to_string(getpid()));
  fs::create_directories(dir);
  hal::AlsaOutputConfig device;
  device.virtual_card = true;
  device.capture_path = (dir / "capture.wav").string();
  device.period_frames = 256;
  device.periods = 3;
  hal::AlsaOutput output;
  ASSERT_EQ(output.Open(device), "");
  EXPECT_EQ(output.format(), hal::SampleFormat::kS32);
  EXPECT_EQ(output.period_frames(), 256u);

  RecorderConfig recorder_config;
  recorder_config.directory = dir / "rec";
  recorder_config.max_block_frames = output.period_frames();
  recorder_config.ring_blocks = 400;
  Recorder recorder(recorder_config);
  ControlQueue queue;
  ControlQueue::Producer& control = *queue.AddProducerNonRt();
  EngineConfig engine_config;
  engine_config.block_frames = output.period_frames();
  engine_config.workers = 2;
  AudioEngine engine(engine_config, queue);
  engine.Start();
  AudioThread audio({0, -1}, output, device, engine, &recorder);
  ASSERT_EQ(audio.Start(), "");

  control.pushNonRt(Command{CommandType::kNoteOn, 60, dsp::ParamId::kCutoffHz, 0.8f});
  ASSERT_TRUE(recorder.StartNonRt("steady").ok);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // warm-up

  test::StartCountingRtAllocations();
  for (int i = 0; i < 10; ++i) {
    control.pushNonRt(
        Command{CommandType::kNoteOn, static_cast<uint8_t>(64 + i), dsp::ParamId::kCutoffHz, 0.5f});
    control.pushNonRt(
        Command{CommandType::kSetParam, 0, dsp::ParamId::kCutoffHz, 500.0f + 100.0f * float(i)});
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    control.pushNonRt(Command{CommandType::kNoteOff, static_cast<uint8_t>(64 + i)});
  }
  const uint64_t allocations = test::StopCountingRtAllocations();
  const uint64_t periods = engine.periods();

  auto stopped = recorder.StopNonRt();
  audio.Stop();
  engine.Stop();
  output.Close();
  EXPECT_EQ(allocations, 0u);
  EXPECT_GT(periods, 90u);  // 0.8 s of 256-frame periods at 48 kHz = 150
  ASSERT_TRUE(stopped.ok) << stopped.path_or_error;
  test::WavData take = test::ReadWav(stopped.path_or_error);
  ASSERT_TRUE(take.ok);
  EXPECT_GT(test::Rms(take.mono, 0, take.frames), 0.01);
  test::WavData capture = test::ReadWav(device.capture_path);
  ASSERT_TRUE(capture.ok);
  EXPECT_GT(capture.frames, take.frames);
  fs::remove_all(dir);
}

}  // namespace
}  // namespace chronus::firmware
