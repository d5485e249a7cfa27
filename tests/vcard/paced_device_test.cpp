// Deterministic tests of the virtual card's model (time is injected): pacing arithmetic, xrun
// rules, wake-up times and the captured timeline. No ALSA, no sleeping.
#include "hal/vcard/paced_device.h"

#include <gtest/gtest.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "hal/vcard/capture_ring.h"
#include "hal/vcard/frame_clock.h"

namespace chronus::hal::vcard {
namespace {

constexpr int64_t kT0 = 1'000'000'000;
constexpr uint32_t kRate = 48000;
constexpr uint64_t kPeriod = 256;
constexpr uint64_t kBuffer = 768;
constexpr uint64_t kBoundary = kBuffer << 20;

// Time at which global frame `f` starts, on the timeline that starts at kT0.
int64_t At(int64_t f) { return FrameClock{kT0, kRate}.TimeOf(f); }

// A device in S16 mono, 256x3, avail_min = period, stop_threshold = buffer.
class VcardDeviceTest : public ::testing::Test {
 protected:
  VcardDeviceTest() : ring_(1 << 20), device_(&ring_) {
    device_.SetHwParams({{kRate, 1, PcmFormat::kS16, 0}, kPeriod, kBuffer}, 0);
    device_.SetSwParams({kPeriod, kBuffer, kBoundary});
    device_.Prepare(0);
  }

  // Writes `count` frames whose samples are next_value_, next_value_ + 1, ...
  void Write(int64_t now, uint64_t count) {
    std::vector<int16_t> samples(count);
    for (auto& s : samples) s = static_cast<int16_t>(next_value_++);
    device_.Write(now, appl_ % kBoundary, reinterpret_cast<const uint8_t*>(samples.data()), count);
    appl_ += count;
  }

  // Drains the capture ring into one sample per frame (0 = silence).
  std::vector<int16_t> Timeline() {
    RecordHeader header;
    while (ring_.Peek(&header)) {
      const uint8_t* a;
      const uint8_t* b;
      size_t a_bytes;
      size_t b_bytes;
      ring_.Payload(header, &a, &a_bytes, &b, &b_bytes);
      std::vector<uint8_t> payload(a, a + a_bytes);
      payload.insert(payload.end(), b, b + b_bytes);
      if (header.type == RecordType::kStart) std::memcpy(&t0_, payload.data(), sizeof(t0_));
      if (header.type == RecordType::kFormat) ++formats_;
      if (header.type == RecordType::kSilence) timeline_.resize(timeline_.size() + header.frames);
      if (header.type == RecordType::kData) {
        EXPECT_EQ(payload.size(), header.frames * 2);
        for (uint64_t i = 0; i < header.frames; ++i) {
          int16_t s;
          std::memcpy(&s, payload.data() + 2 * i, 2);
          timeline_.push_back(s);
        }
      }
      ring_.Pop(header);
    }
    return timeline_;
  }

  CaptureRing ring_;
  PacedDevice device_;
  uint64_t appl_ = 0;
  int next_value_ = 1;
  std::vector<int16_t> timeline_;
  int64_t t0_ = -1;
  int formats_ = 0;
};

TEST(VcardFrameClockTest, TimeOfAndFramesAtAreInverse) {
  for (uint32_t rate : {44100u, 48000u}) {
    const FrameClock clock{123'456'789, rate};
    for (int64_t f : {int64_t{1}, int64_t{63}, int64_t{64}, int64_t{44099}, int64_t{44100},
                      int64_t{48000} * 3600 * 24 + 17}) {
      EXPECT_EQ(clock.FramesAt(clock.TimeOf(f)), f) << rate << " " << f;
      EXPECT_EQ(clock.FramesAt(clock.TimeOf(f) - 1), f - 1) << rate << " " << f;
      EXPECT_EQ(clock.FramesAtCeil(clock.TimeOf(f) - 1), f) << rate << " " << f;
    }
  }
  // 64 frames at 48 kHz are 1,333,333.33 ns: no drift after a day of periods.
  const FrameClock clock{0, 48000};
  EXPECT_EQ(clock.TimeOf(int64_t{64} * 3 * 48000 * 3600 * 24 / 64),
            int64_t{3} * 86400 * kNsPerSecond);
}

TEST_F(VcardDeviceTest, PositionFollowsTheClock) {
  Write(0, kBuffer);
  device_.Start(kT0, appl_);
  EXPECT_EQ(device_.Pointer(kT0, appl_, false), 0);
  EXPECT_EQ(device_.Pointer(At(100) - 1, appl_, false), 99);
  EXPECT_EQ(device_.Pointer(At(100), appl_, false), 100);
  EXPECT_EQ(device_.Pointer(kT0 + 10'000'000, appl_, false), 480);  // 10 ms
}

TEST_F(VcardDeviceTest, XrunExactlyWhenTheCommittedFramesRunOut) {
  Write(0, kBuffer);
  device_.Start(kT0, appl_);
  EXPECT_EQ(device_.Pointer(At(767), appl_, false), 767);
  EXPECT_EQ(device_.Poll(At(767), appl_, false), Readiness::kReady);
  EXPECT_EQ(device_.Pointer(At(768), appl_, false), -EPIPE);
  EXPECT_EQ(device_.Poll(At(768), appl_, false), Readiness::kXrun);
  EXPECT_LE(device_.WakeTimeNs(false), At(768));  // the fd stays readable during the xrun
  EXPECT_EQ(device_.xruns(), 1u);
  Write(At(770), kPeriod);  // a late commit does not undo the xrun (and is not played)
  EXPECT_EQ(device_.Pointer(At(900), appl_, false), -EPIPE);

  device_.Prepare(At(1000));
  appl_ = 0;
  EXPECT_EQ(device_.Pointer(At(1000), appl_, false), 0);
  EXPECT_EQ(device_.Poll(At(1000), appl_, false), Readiness::kReady);
}

TEST_F(VcardDeviceTest, LateCommitAfterTheClockPassedIsStillAnXrun) {
  Write(0, kBuffer);
  device_.Start(kT0, appl_);
  EXPECT_EQ(device_.Pointer(At(700), appl_, false), 700);
  Write(At(800), kPeriod);  // nobody looked between 768 and 800: hardware would have stopped
  EXPECT_EQ(device_.Pointer(At(801), appl_, false), -EPIPE);
  EXPECT_EQ(device_.captured_frames(), 768);
}

TEST_F(VcardDeviceTest, WakeTimeIsThePeriodBoundaryWhereAvailReachesAvailMin) {
  Write(0, kBuffer);
  device_.Start(kT0, appl_);
  EXPECT_EQ(device_.WakeTimeNs(false), At(256));
  EXPECT_EQ(device_.Poll(At(256) - 1, appl_, false), Readiness::kNotReady);
  EXPECT_EQ(device_.Poll(At(256), appl_, false), Readiness::kReady);
  Write(At(256), kPeriod);
  EXPECT_EQ(device_.WakeTimeNs(false), At(512));
  EXPECT_EQ(device_.Poll(At(300), appl_, false), Readiness::kNotReady);

  device_.SetSwParams({300, kBuffer, kBoundary});  // not a period multiple: next boundary
  EXPECT_EQ(device_.WakeTimeNs(false), At(768));
}

TEST_F(VcardDeviceTest, WakeTimeIsNeverLaterThanTheXrun) {
  device_.SetSwParams({kBuffer, 512, kBoundary});  // avail_min = buffer, stop earlier
  Write(0, kBuffer);
  device_.Start(kT0, appl_);
  EXPECT_EQ(device_.WakeTimeNs(false), At(512));
  EXPECT_EQ(device_.Poll(At(512), appl_, false), Readiness::kXrun);
  EXPECT_EQ(device_.captured_frames(), 512);  // the rest of the buffer was never played
}

TEST_F(VcardDeviceTest, DrainEndsAtTheCommittedFramesWithoutXrun) {
  Write(0, 500);
  device_.Start(kT0, appl_);
  EXPECT_EQ(device_.Poll(At(300), appl_, true), Readiness::kNotReady);
  EXPECT_EQ(device_.WakeTimeNs(true), At(500));
  EXPECT_EQ(device_.Pointer(At(2000), appl_, true), 500);
  EXPECT_EQ(device_.Poll(At(2000), appl_, true), Readiness::kReady);
  device_.Stop(At(2000), appl_, true);
  EXPECT_EQ(device_.xruns(), 0u);
  EXPECT_EQ(device_.captured_frames(), 500);
}

TEST_F(VcardDeviceTest, StopThresholdAtBoundaryPlaysSilenceInsteadOfXrun) {
  device_.SetSwParams({kPeriod, kBoundary, kBoundary});
  Write(0, kBuffer);
  device_.Start(kT0, appl_);
  EXPECT_EQ(device_.Pointer(At(1000), appl_, false), 1000);
  device_.Stop(At(1000), appl_, false);
  const std::vector<int16_t> timeline = Timeline();
  ASSERT_EQ(timeline.size(), 1000u);
  EXPECT_EQ(timeline[767], 768);
  EXPECT_EQ(timeline[768], 0);
  EXPECT_EQ(timeline[999], 0);
}

TEST_F(VcardDeviceTest, PositionWrapsAtBoundaryAndApplIsFollowedAcrossTheWrap) {
  constexpr uint64_t kSmallBoundary = kBuffer * 4;
  device_.SetSwParams({kPeriod, kBuffer, kSmallBoundary});
  std::vector<int16_t> zeros(kPeriod);
  auto write = [&](int64_t now) {
    device_.Write(now, appl_ % kSmallBoundary, reinterpret_cast<const uint8_t*>(zeros.data()),
                  kPeriod);
    appl_ += kPeriod;
  };
  for (int i = 0; i < 3; ++i) write(0);
  device_.Start(kT0, appl_ % kSmallBoundary);
  for (int64_t f = 256; f <= 4096; f += 256) {
    ASSERT_EQ(device_.Pointer(At(f), appl_ % kSmallBoundary, false),
              static_cast<int64_t>(f % kSmallBoundary));
    write(At(f));
  }
}

TEST_F(VcardDeviceTest, CaptureIsOneTimelineWithSilenceForXrunsAndStops) {
  Write(0, kBuffer);  // samples 1..768
  device_.Start(kT0, appl_);
  EXPECT_EQ(device_.Pointer(At(800), appl_, false), -EPIPE);  // data ran out at 768

  // Recover 100 ms later, off the frame grid.
  const int64_t restart = kT0 + 100'000'000 + 123;
  device_.Prepare(restart);
  appl_ = 0;
  Write(restart, kBuffer);  // samples 769..1536
  device_.Start(restart, appl_);
  const int64_t s1 = FrameClock{kT0, kRate}.FramesAtCeil(restart);  // 4801
  EXPECT_EQ(s1, 4801);
  device_.Stop(At(s1 + 100), appl_, false);  // drop after 100 frames
  EXPECT_EQ(device_.captured_frames(), s1 + 100);

  // Stopped for a while, then a new run.
  device_.Prepare(At(9000));
  appl_ = 0;
  Write(At(9000), kBuffer);             // samples 1537..
  device_.Start(At(10000) - 1, appl_);  // the grid point at or after the call
  device_.Stop(At(10010), appl_, false);

  const std::vector<int16_t> timeline = Timeline();
  EXPECT_EQ(formats_, 1);
  EXPECT_EQ(t0_, kT0);
  ASSERT_EQ(timeline.size(), 10010u);
  for (int f = 0; f < 768; ++f) ASSERT_EQ(timeline[f], f + 1) << f;
  for (int64_t f = 768; f < s1; ++f) ASSERT_EQ(timeline[f], 0) << f;
  for (int64_t f = s1; f < s1 + 100; ++f) ASSERT_EQ(timeline[f], 769 + f - s1) << f;
  for (int64_t f = s1 + 100; f < 10000; ++f) ASSERT_EQ(timeline[f], 0) << f;
  for (int64_t f = 10000; f < 10010; ++f) ASSERT_EQ(timeline[f], 1537 + f - 10000) << f;
}

TEST_F(VcardDeviceTest, SameFormatKeepsTheTimelineNewFormatStartsANewCapture) {
  Write(0, kBuffer);
  device_.Start(kT0, appl_);
  device_.Stop(At(100), appl_, false);
  device_.SetHwParams({{kRate, 1, PcmFormat::kS16, 0}, kPeriod, kBuffer}, At(200));
  Timeline();
  EXPECT_EQ(formats_, 1);
  device_.SetHwParams({{44100, 1, PcmFormat::kS16, 0}, kPeriod, kBuffer}, At(300));
  device_.SetSwParams({kPeriod, kBuffer, kBoundary});
  device_.Prepare(At(300));
  appl_ = 0;
  Write(At(300), kBuffer);
  device_.Start(kT0 + 5'000'000'000, appl_);
  Timeline();
  EXPECT_EQ(formats_, 2);
  EXPECT_EQ(t0_, kT0 + 5'000'000'000);
  EXPECT_EQ(device_.captured_frames(), 0);
}

TEST(VcardDeviceContinueTest, AContinuedTimelineKeepsT0AndFillsTheOutageWithSilence) {
  CaptureRing ring(1 << 20);
  PacedDevice device(&ring);
  const CaptureFormat format{kRate, 1, PcmFormat::kS16, 0};
  device.ContinueTimeline({format, kT0, 1000});
  EXPECT_TRUE(device.continuation_pending());
  ASSERT_TRUE(device.timeline().has_value());  // the pending one
  EXPECT_EQ(device.timeline()->frames, 1000);
  device.SetHwParams({format, kPeriod, kBuffer}, At(2000));
  EXPECT_FALSE(device.continuation_pending());
  device.SetSwParams({kPeriod, kBuffer, kBoundary});
  device.Prepare(At(2000));
  const std::vector<int16_t> samples(kBuffer, 5);
  device.Write(At(2000), 0, reinterpret_cast<const uint8_t*>(samples.data()), kBuffer);
  device.Start(At(5000) - 1, kBuffer);  // the grid point at or after the call: frame 5000
  device.Stop(At(5100), kBuffer, false);

  RecordHeader header;
  std::vector<RecordType> types;
  Continuation continuation;
  uint64_t silence = 0;
  uint64_t data = 0;
  while (ring.Peek(&header)) {
    types.push_back(header.type);
    if (header.type == RecordType::kContinue) {
      const uint8_t* a;
      const uint8_t* b;
      size_t a_bytes;
      size_t b_bytes;
      ring.Payload(header, &a, &a_bytes, &b, &b_bytes);
      ASSERT_EQ(a_bytes + b_bytes, sizeof(continuation));
      std::memcpy(&continuation, a, a_bytes);
    }
    if (header.type == RecordType::kSilence) silence += header.frames;
    if (header.type == RecordType::kData) data += header.frames;
    ring.Pop(header);
  }
  ASSERT_FALSE(types.empty());
  EXPECT_EQ(types.front(), RecordType::kContinue);  // no kFormat, no kStart: same file, same t0
  for (RecordType type : types) {
    EXPECT_NE(type, RecordType::kFormat);
    EXPECT_NE(type, RecordType::kStart);
  }
  EXPECT_EQ(continuation.format, format);
  EXPECT_EQ(continuation.frames, 1000);
  EXPECT_EQ(silence, 4000u);  // frames 1000..4999: the outage
  EXPECT_EQ(data, 100u);
  ASSERT_TRUE(device.timeline().has_value());
  EXPECT_EQ(device.timeline()->t0_ns, kT0);
  EXPECT_EQ(device.timeline()->frames, 5100);
}

TEST(VcardDeviceContinueTest, AnotherFormatStartsANewCapture) {
  CaptureRing ring(1 << 20);
  PacedDevice device(&ring);
  device.ContinueTimeline({{kRate, 1, PcmFormat::kS16, 0}, kT0, 1000});
  device.SetHwParams({{kRate, 2, PcmFormat::kS16, 0}, kPeriod, kBuffer}, At(2000));
  EXPECT_FALSE(device.continuation_pending());
  EXPECT_FALSE(device.timeline().has_value());
  RecordHeader header;
  ASSERT_TRUE(ring.Peek(&header));
  EXPECT_EQ(header.type, RecordType::kFormat);
}

TEST(VcardCaptureRingTest, OverflowBecomesSilenceAndIsCounted) {
  CaptureRing ring(256);  // room for a few small records
  const std::vector<int16_t> samples(100, 7);
  for (int i = 0; i < 5; ++i) ring.PushData(100, samples.data(), 200, nullptr, 0);
  EXPECT_GT(ring.lost_frames(), 0u);
  uint64_t frames = 0;
  RecordHeader header;
  while (ring.Peek(&header)) {
    frames += header.frames;
    ring.Pop(header);
  }
  ring.PushData(10, samples.data(), 20, nullptr, 0);  // first re-sends the lost frames
  while (ring.Peek(&header)) {
    frames += header.frames;
    ring.Pop(header);
  }
  EXPECT_EQ(frames, 510u);  // the timeline keeps its length
}

}  // namespace
}  // namespace chronus::hal::vcard
