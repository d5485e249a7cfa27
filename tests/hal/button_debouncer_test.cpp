// Buttons: bounce filtered, short and long presses from scripted edge times.
#include <gtest/gtest.h>

#include <vector>

#include "hal/gpio/button_debouncer.h"

namespace chronus::hal::gpio {
namespace {

constexpr int64_t kMs = 1'000'000;

// Feeds (pressed, time) edges and polls every millisecond up to `until`; returns the events.
std::vector<ButtonEvent> Script(ButtonDebouncer& b,
                                const std::vector<std::pair<bool, int64_t>>& edges, int64_t until) {
  std::vector<ButtonEvent> out;
  size_t next = 0;
  for (int64_t t = 0; t <= until; t += kMs) {
    while (next < edges.size() && edges[next].second <= t) {
      b.Edge(edges[next].first, edges[next].second);
      ++next;
    }
    while (auto e = b.Poll(t)) out.push_back(*e);
  }
  return out;
}

TEST(HalButton, BouncyShortPressIsOnePress) {
  ButtonDebouncer b;  // 10 ms debounce, 600 ms long press
  b.Reset(false);
  // Press at 100 ms bouncing for 3 ms, release at 250 ms bouncing for 4 ms.
  const auto events = Script(b,
                             {{true, 100 * kMs},
                              {false, 101 * kMs},
                              {true, 102 * kMs},
                              {false, 102 * kMs + 500'000},
                              {true, 103 * kMs},
                              {false, 250 * kMs},
                              {true, 251 * kMs},
                              {false, 254 * kMs}},
                             1000 * kMs);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0], ButtonEvent::kShortPress);
}

TEST(HalButton, SpikeShorterThanTheDebounceTimeIsIgnored) {
  ButtonDebouncer b;
  b.Reset(false);
  const auto events = Script(b, {{true, 100 * kMs}, {false, 105 * kMs}}, 1000 * kMs);
  EXPECT_TRUE(events.empty());
  EXPECT_FALSE(b.pressed());
}

TEST(HalButton, LongPressIsReportedWhileHeldAndTheReleaseSaysNothing) {
  ButtonDebouncer b;
  b.Reset(false);
  std::vector<ButtonEvent> events;
  b.Edge(true, 100 * kMs);
  for (int64_t t = 100 * kMs; t < 699 * kMs; t += kMs) {
    if (auto e = b.Poll(t)) events.push_back(*e);
  }
  EXPECT_TRUE(events.empty());  // not yet long (pressed at 100 ms, long at 700 ms)
  EXPECT_EQ(b.NextDeadline(), 700 * kMs);
  auto e = b.Poll(700 * kMs);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(*e, ButtonEvent::kLongPress);
  b.Edge(false, 900 * kMs);
  EXPECT_FALSE(b.Poll(950 * kMs).has_value());
  EXPECT_EQ(b.NextDeadline(), ButtonDebouncer::kNoDeadline);
}

TEST(HalButton, DeadlineIsTheEndOfTheDebounceWait) {
  ButtonDebouncer b;
  b.Reset(false);
  b.Edge(true, 50 * kMs);
  EXPECT_EQ(b.NextDeadline(), 60 * kMs);
  EXPECT_FALSE(b.Poll(59 * kMs).has_value());
  EXPECT_FALSE(b.Poll(60 * kMs).has_value());  // pressed now; no event until release or long
  EXPECT_TRUE(b.pressed());
}

TEST(HalButton, HeldAtStartReportsNothing) {
  ButtonDebouncer b;
  b.Reset(true);
  EXPECT_FALSE(b.Poll(10'000 * kMs).has_value());
  b.Edge(false, 10'000 * kMs);
  EXPECT_FALSE(b.Poll(10'100 * kMs).has_value());
}

}  // namespace
}  // namespace chronus::hal::gpio
