// Concurrency of the control queue: several producers, one consumer; run under TSan too.
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
      for (int i = 0; i < kPerProducer; ++i) {
        Command c{CommandType::kSetParam, static_cast<uint8_t>(p), dsp::ParamId::kCutoffHz,
                  static_cast<float>(i)};
        while (!queue.pushNonRt(c)) std::this_thread::yield();
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
}

TEST(ControlQueue, FullQueueRefusesAndCounts) {
  ControlQueue queue;
  size_t pushed = 0;
  while (queue.pushNonRt(Command{CommandType::kNoteOff}) && pushed < 100000) ++pushed;
  EXPECT_EQ(pushed, ControlQueue::kCapacity);
  EXPECT_EQ(queue.dropped(), 1u);
}

}  // namespace
}  // namespace chronus::firmware
