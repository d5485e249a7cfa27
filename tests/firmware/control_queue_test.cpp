// Concurrency of the control queue: one lane per producer thread, one consumer; also run under
// TSan by tools/test.
#include "firmware/engine/control_queue.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

namespace chronus::firmware {
namespace {

TEST(ControlQueue, ManyProducersOneConsumerLoseNothingInOrderPerProducer) {
  ControlQueue queue;
  constexpr int kProducers = 3;
  constexpr int kPerProducer = 20000;
  std::vector<std::thread> producers;
  for (int p = 0; p < kProducers; ++p) {
    producers.emplace_back([&queue, p] {
      ControlQueue::Producer* lane = queue.AddProducerNonRt();
      ASSERT_NE(lane, nullptr);
      for (int i = 0; i < kPerProducer; ++i) {
        Command c{CommandType::kSetParam, static_cast<uint8_t>(p), dsp::ParamId::kCutoffHz,
                  static_cast<float>(i)};
        while (!lane->pushNonRt(c)) std::this_thread::yield();
      }
    });
  }
  std::vector<int> next(kProducers, 0);
  int received = 0;
  while (received < kProducers * kPerProducer) {
    Command c;
    if (!queue.popRt(&c)) continue;
    ASSERT_EQ(static_cast<int>(c.value), next[c.note]) << "producer " << int(c.note);
    ++next[c.note];
    ++received;
  }
  for (auto& t : producers) t.join();
  for (int p = 0; p < kProducers; ++p) EXPECT_EQ(next[p], kPerProducer);
  Command extra;
  EXPECT_FALSE(queue.popRt(&extra));
}

TEST(ControlQueue, FullLaneRefusesAndCounts) {
  ControlQueue queue;
  ControlQueue::Producer* lane = queue.AddProducerNonRt();
  size_t pushed = 0;
  while (lane->pushNonRt(Command{CommandType::kNoteOff}) && pushed < 100000) ++pushed;
  EXPECT_EQ(pushed, ControlQueue::kLaneCapacity);
  EXPECT_EQ(queue.dropped(), 1u);
}

TEST(ControlQueue, LanesAreServedInTurn) {
  ControlQueue queue;
  ControlQueue::Producer* a = queue.AddProducerNonRt();
  ControlQueue::Producer* b = queue.AddProducerNonRt();
  for (int i = 0; i < 100; ++i) a->pushNonRt(Command{CommandType::kNoteOn, 1});
  b->pushNonRt(Command{CommandType::kNoteOn, 2});
  // However full lane a is, lane b's command comes within the first two pops.
  Command first, second;
  ASSERT_TRUE(queue.popRt(&first));
  ASSERT_TRUE(queue.popRt(&second));
  EXPECT_TRUE(first.note == 2 || second.note == 2);
}

// The firmware waits for this before it takes control input, so that the start patch is not
// applied after (and over) a parameter change sent right after READY=1.
TEST(ControlQueue, ALaneIsDrainedOnceEveryCommandPushedIsTaken) {
  ControlQueue queue;
  ControlQueue::Producer* lane = queue.AddProducerNonRt();
  EXPECT_TRUE(lane->drainedNonRt());
  lane->pushNonRt(Command{CommandType::kSetParam});
  lane->pushNonRt(Command{CommandType::kSetParam});
  EXPECT_FALSE(lane->drainedNonRt());
  Command command;
  ASSERT_TRUE(queue.popRt(&command));
  EXPECT_FALSE(lane->drainedNonRt());
  ASSERT_TRUE(queue.popRt(&command));
  EXPECT_TRUE(lane->drainedNonRt());
}

TEST(ControlQueue, ProducerLanesAreLimited) {
  ControlQueue queue;
  for (size_t i = 0; i < ControlQueue::kMaxProducers; ++i)
    EXPECT_NE(queue.AddProducerNonRt(), nullptr);
  EXPECT_EQ(queue.AddProducerNonRt(), nullptr);
}

}  // namespace
}  // namespace chronus::firmware
