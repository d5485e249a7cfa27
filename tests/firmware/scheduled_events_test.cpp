// Sample-accurate scheduled commands (Command::frame): the engine offline, workers on real threads,
// the test thread in the role of the audio thread. Onsets are read from the rendered samples.
#include <gtest/gtest.h>
#include <pthread.h>

#include <algorithm>
#include <memory>
#include <random>
#include <thread>
#include <vector>

#include "firmware/engine/audio_engine.h"
#include "firmware/engine/event_scheduler.h"
#include "tests/support/alloc_counter.h"

namespace chronus::firmware {
namespace {

constexpr float kRate = 48000.0f;

Command NoteOnAt(int note, uint64_t frame) {
  Command c{CommandType::kNoteOn, static_cast<uint8_t>(note), dsp::ParamId::kCutoffHz, 0.8f};
  c.frame = frame;
  return c;
}

Command NoteOffAt(int note, uint64_t frame) {
  Command c{CommandType::kNoteOff, static_cast<uint8_t>(note)};
  c.frame = frame;
  return c;
}

// Drives an AudioEngine like the audio thread does. wait_for_workers = true: waits until each
// worker has rendered the block of the period (no late blocks). false: never waits, so workers are
// often late and the standby path renders their share.
class Driver {
 public:
  Driver(uint32_t block, uint32_t lookahead, bool wait_for_workers, uint32_t workers = 2)
      : block_(block), lookahead_(lookahead), wait_(wait_for_workers) {
    EngineConfig config;
    config.sample_rate = kRate;
    config.block_frames = block;
    config.channels = 1;
    config.workers = workers;
    config.voices = 8;
    config.lookahead_blocks = lookahead;
    engine_ = std::make_unique<AudioEngine>(config, queue_);
    lane_ = queue_.AddProducerNonRt();
    engine_->Start();
    workers_ = engine_->workers();
    buffer_.resize(block);
  }
  ~Driver() { engine_->Stop(); }

  // Renders until `frames` frames have been appended (as float) to `out`.
  void Render(size_t frames, std::vector<float>* out) {
    while (out->size() < frames) {
      if (wait_) {
        const uint64_t target = engine_->periods() + lookahead_;
        for (DspWorker* worker : workers_) {
          while (worker->blocks_rendered() < target) std::this_thread::yield();
        }
      }
      engine_->RenderPeriodRt(buffer_.data());
      for (uint32_t i = 0; i < block_; ++i) out->push_back(float(buffer_[i]) / 2147483648.0f);
    }
  }

  ControlQueue::Producer& lane() { return *lane_; }
  AudioEngine& engine() { return *engine_; }

 private:
  uint32_t block_;
  uint32_t lookahead_;
  bool wait_;
  ControlQueue queue_;
  ControlQueue::Producer* lane_ = nullptr;
  std::unique_ptr<AudioEngine> engine_;
  std::vector<DspWorker*> workers_;
  std::vector<int32_t> buffer_;
};

// Index of the first sample of a - b (b may be shorter: zeros) whose magnitude exceeds 0, or -1.
long FirstNonZero(const std::vector<float>& a, const std::vector<float>* b = nullptr) {
  for (size_t i = 0; i < a.size(); ++i) {
    const float other = b != nullptr && i < b->size() ? (*b)[i] : 0.0f;
    if (a[i] - other != 0.0f) return static_cast<long>(i);
  }
  return -1;
}

// Frame delay between a NoteOn's frame and its first non-zero output sample (the same for every
// voice: a silent voice starts from phase 0 and envelope 0), measured with an immediate NoteOn,
// which lands exactly at the start of the block the workers render next.
long VoiceOnsetDelay(uint32_t block, uint32_t lookahead) {
  Driver driver(block, lookahead, true);
  driver.lane().pushNonRt(NoteOnAt(60, 0));
  std::vector<float> out;
  driver.Render(block * (lookahead + 4), &out);
  return FirstNonZero(out) - static_cast<long>(block * lookahead);
}

class ScheduledEvents : public ::testing::TestWithParam<uint32_t> {};

TEST_P(ScheduledEvents, TwoNoteOns480FramesApartStart480FramesApartOnTheirFrames) {
  const uint32_t block = GetParam();
  const long delay = VoiceOnsetDelay(block, 1);
  ASSERT_GE(delay, 0);
  ASSERT_LE(delay, 1);                     // the first or second sample of a note is non-zero
  const uint64_t first = 20 * block + 37;  // not block-aligned
  const uint64_t second = first + 480;
  std::vector<float> only_first, both;
  {
    Driver driver(block, 1, true);
    driver.lane().pushNonRt(NoteOnAt(60, first));
    driver.Render(second + 4 * block, &only_first);
    EXPECT_EQ(driver.engine().scheduled_events(), 1u);
    EXPECT_EQ(driver.engine().late_events(), 0u);
  }
  {
    Driver driver(block, 1, true);
    driver.lane().pushNonRt(NoteOnAt(60, first));
    driver.lane().pushNonRt(NoteOnAt(67, second));
    driver.Render(second + 4 * block, &both);
    EXPECT_EQ(driver.engine().scheduled_events(), 2u);
    EXPECT_EQ(driver.engine().late_blocks(), 0u);
  }
  const long onset_first = FirstNonZero(only_first);
  const long onset_second = FirstNonZero(both, &only_first);  // the second note's own samples
  EXPECT_EQ(onset_first, static_cast<long>(first) + delay);
  EXPECT_EQ(onset_second, static_cast<long>(second) + delay);
  EXPECT_EQ(onset_second - onset_first, 480);
}

INSTANTIATE_TEST_SUITE_P(BlockSizes, ScheduledEvents, ::testing::Values(64u, 128u, 256u));

TEST(ScheduledEventsEngine, LookaheadTwoLandsOnTheSameFrame) {
  const uint32_t block = 128;
  const long delay = VoiceOnsetDelay(block, 2);
  const uint64_t frame = 31 * block + 101;
  Driver driver(block, 2, true);
  driver.lane().pushNonRt(NoteOnAt(64, frame));
  std::vector<float> out;
  driver.Render(frame + 4 * block, &out);
  EXPECT_EQ(FirstNonZero(out), static_cast<long>(frame) + delay);
}

TEST(ScheduledEventsEngine, StandbyPathRendersTheSameSamplesAsTheWorkers) {
  // Workers that are never waited for are late in many periods: their share is rendered by the
  // audio thread's standby path, which must split its blocks at the same frames.
  const uint32_t block = 64;
  std::vector<Command> script = {NoteOnAt(60, 5 * block + 3),   NoteOnAt(64, 9 * block + 50),
                                 NoteOffAt(60, 30 * block + 1), NoteOnAt(67, 31 * block + 63),
                                 NoteOffAt(64, 40 * block + 9), NoteOnAt(72, 41 * block + 17)};
  std::vector<float> reference, standby;
  {
    Driver driver(block, 1, true);
    for (const Command& c : script) driver.lane().pushNonRt(c);
    driver.Render(60 * block, &reference);
    EXPECT_EQ(driver.engine().late_blocks(), 0u);
  }
  {
    Driver driver(block, 1, false);
    for (const Command& c : script) driver.lane().pushNonRt(c);
    driver.Render(60 * block, &standby);
    EXPECT_GT(driver.engine().late_blocks(), 0u);  // the standby path did render
    EXPECT_EQ(driver.engine().late_events(), 0u);
  }
  ASSERT_EQ(reference.size(), standby.size());
  size_t mismatches = 0;
  for (size_t i = 0; i < reference.size(); ++i) mismatches += reference[i] != standby[i];
  EXPECT_EQ(mismatches, 0u);
}

TEST(ScheduledEventsEngine, PastFrameAppliesAtOnceAndIsCountedLate) {
  const uint32_t block = 128;
  Driver driver(block, 1, true);
  std::vector<float> out;
  driver.Render(50 * block, &out);
  driver.lane().pushNonRt(NoteOnAt(60, 10 * block));  // long past
  const size_t before = out.size();
  driver.Render(before + 4 * block, &out);
  EXPECT_EQ(driver.engine().late_events(), 1u);
  EXPECT_EQ(driver.engine().scheduled_events(), 0u);
  // It starts at the start of the next block the workers render, as an immediate command does.
  std::vector<float> tail(out.begin() + static_cast<long>(before), out.end());
  const long delay = VoiceOnsetDelay(block, 1);
  EXPECT_EQ(FirstNonZero(tail), static_cast<long>(block) + delay);
}

TEST(ScheduledEventsEngine, FarFutureWaitsWithoutAllocatingOnTheAudioThread) {
  const uint32_t block = 128;
  Driver driver(block, 1, true);
  std::vector<float> out;
  out.reserve(64 * block);  // the test's own buffer must not grow on the "audio thread"
  driver.Render(4 * block, &out);
  pthread_setname_np(pthread_self(), "chronus-audio");
  test::StartCountingRtAllocations();
  for (int i = 0; i < 500; ++i) {
    driver.lane().pushNonRt(NoteOnAt(40 + i % 40, 1000 * block + static_cast<uint64_t>(i) * 7));
  }
  driver.Render(out.size() + 20 * block, &out);
  const uint64_t allocations = test::StopCountingRtAllocations();
  pthread_setname_np(pthread_self(), "scheduled_test");
  EXPECT_EQ(allocations, 0u);
  EXPECT_EQ(driver.engine().pending_events(), 500u);
  EXPECT_EQ(FirstNonZero(out), -1);  // nothing sounds before its frame
}

TEST(EventScheduler, PopsInFrameOrderThenArrivalOrderAndRefusesWhenFull) {
  EventScheduler scheduler(64);
  std::mt19937 rng(7);
  std::vector<uint64_t> frames;
  for (int i = 0; i < 64; ++i) {
    const uint64_t frame = 1 + rng() % 20;
    Command c = NoteOnAt(i, frame);  // note = arrival order
    ASSERT_TRUE(scheduler.PushRt(c));
    frames.push_back(frame);
  }
  EXPECT_FALSE(scheduler.PushRt(NoteOnAt(0, 1)));
  EXPECT_FALSE(scheduler.HasDueRt(1));
  uint64_t last_frame = 0;
  int last_note = -1;
  size_t popped = 0;
  while (scheduler.HasDueRt(~uint64_t{0})) {
    const Command c = scheduler.PopRt();
    ASSERT_GE(c.frame, last_frame);
    if (c.frame == last_frame) {
      ASSERT_GT(int{c.note}, last_note);
    }
    last_frame = c.frame;
    last_note = c.note;
    ++popped;
  }
  EXPECT_EQ(popped, 64u);
  EXPECT_EQ(scheduler.size(), 0u);
}

}  // namespace
}  // namespace chronus::firmware
