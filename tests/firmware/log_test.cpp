#include "firmware/log/log.h"

#include <gtest/gtest.h>

namespace chronus::firmware {
namespace {

TEST(Log, RtRecordsFormatPlaceholders) {
  RtLogRecord record{LogLevel::kWarning, 2, "xrun #{} at {} s", {3, 1.5, 0, 0}, 0};
  EXPECT_EQ(Log::FormatRecord(record), "xrun #3 at 1.5 s");
  RtLogRecord missing{LogLevel::kInfo, 1, "a {} b {}", {7, 0, 0, 0}, 0};
  EXPECT_EQ(Log::FormatRecord(missing), "a 7 b {}");
}

TEST(Log, RtLaneDropsWhenFullInsteadOfBlocking) {
  // Without the logging thread nothing drains: pushes beyond the lane's capacity are dropped.
  ASSERT_TRUE(Log::RegisterRtThread());
  const uint64_t before = Log::dropped();
  for (int i = 0; i < 5000; ++i) Log::PushRt(LogLevel::kDebug, "flood {}", i, 0, 0, 0, 1);
  const uint64_t dropped = Log::dropped() - before;
  Log::UnregisterRtThread();
  EXPECT_GE(dropped, 5000u - 256u);
  EXPECT_LT(dropped, 5000u);
}

TEST(Log, UnregisteredThreadRecordsAreDroppedAndCounted) {
  const uint64_t before = Log::dropped();
  Log::PushRt(LogLevel::kInfo, "no lane");
  EXPECT_EQ(Log::dropped() - before, 1u);
}

}  // namespace
}  // namespace chronus::firmware
