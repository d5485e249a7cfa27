// The virtual card's fault injection: a control file that says "unplugged" pulls the card out
// like a USB card (-ENODEV, POLLERR, DISCONNECTED); a new open after it no longer says so plays
// again, and the capture stays one timeline across the outage.
#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "hal/vcard/capture_ring.h"
#include "hal/vcard/capture_writer.h"
#include "hal/vcard/control_file.h"
#include "hal/vcard/frame_clock.h"
#include "vcard_client.h"

namespace chronus::hal::vcard::testing {
namespace {

constexpr int64_t kMs = 1'000'000;

void WriteControl(const std::string& path, const std::string& text) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
}

ClientConfig UnplugConfig(const TempDir& dir) {
  ClientConfig config;
  config.capture_path = dir.path("capture.wav");
  config.control_path = dir.path("control");
  config.period = 256;
  config.periods = 4;
  return config;
}

// Plays until the card fails; returns the error and the time it was seen. Counts xruns in
// `stats`.
int PlayUntilError(Client* client, int64_t* failed_at_ns, LoopStats* stats) {
  for (int i = 0; i < 100; ++i) {  // at most 10 s
    const int err = client->Loop(100 * kMs, stats);
    if (err < 0) {
      *failed_at_ns = MonotonicNowNs();
      return err;
    }
  }
  return 0;
}

TEST(VcardControlFileTest, TheWordUnpluggedInAnyCaseMeansUnplugged) {
  EXPECT_TRUE(SaysUnplugged("unplugged"));
  EXPECT_TRUE(SaysUnplugged("  UNPLUGGED\n"));
  EXPECT_TRUE(SaysUnplugged("state=unplugged # for the standby test"));
  EXPECT_FALSE(SaysUnplugged(""));
  EXPECT_FALSE(SaysUnplugged("plugged\n"));
  EXPECT_FALSE(SaysUnplugged("unplugged_not"));
  EXPECT_FALSE(SaysUnplugged("re-unplugged"));
}

TEST(VcardControlFileTest, AMissingFileIsPluggedIn) {
  TempDir dir;
  EXPECT_FALSE(ReadUnplugged(dir.path("none")));
  WriteControl(dir.path("control"), "unplugged\n");
  EXPECT_TRUE(ReadUnplugged(dir.path("control")));
}

TEST(VcardControlFileTest, TheWatcherSeesAnUnplugWithinMillisecondsAndLatches) {
  TempDir dir;
  const std::string path = dir.path("control");
  WriteControl(path, "plugged\n");
  std::atomic<int> calls{0};
  ControlWatcher watcher(path, [&] { ++calls; });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_FALSE(watcher.unplugged());
  EXPECT_EQ(watcher.unplugged_at_ns(), -1);

  const int64_t written = MonotonicNowNs();
  WriteControl(path, "unplugged\n");
  // unplugged() turns true first, then on_unplug runs (so whatever it wakes sees the flag): wait
  // for both.
  while ((!watcher.unplugged() || calls.load() == 0) && MonotonicNowNs() - written < 1000 * kMs) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ASSERT_TRUE(watcher.unplugged());
  EXPECT_GE(watcher.unplugged_at_ns(), written);
  EXPECT_LT(watcher.unplugged_at_ns() - written, 500 * kMs) << "polled every ~10 ms";
  EXPECT_EQ(calls.load(), 1);

  WriteControl(path, "plugged\n");  // a removed card stays removed for its open handles
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(watcher.unplugged());
  EXPECT_EQ(calls.load(), 1);
  watcher.Stop();
}

TEST(VcardUnplugTest, OpenFailsWithEnodevWhileUnpluggedAndLeavesTheCaptureAlone) {
  TempDir dir;
  const ClientConfig config = UnplugConfig(dir);
  WriteControl(config.control_path, "unplugged\n");
  Client client;
  EXPECT_EQ(client.Open(config), -ENODEV);
  EXPECT_NE(access(config.capture_path.c_str(), F_OK), 0) << "capture created by a failed open";

  WriteControl(config.control_path, "plugged\n");
  EXPECT_EQ(client.Open(config), 0);
  client.Close();
  unlink(config.control_path.c_str());  // no file: plugged in
  EXPECT_EQ(client.Open(config), 0);
}

TEST(VcardUnplugTest, UnplugDuringPlaybackDisconnectsThePcm) {
  TempDir dir;
  const ClientConfig config = UnplugConfig(dir);
  WriteControl(config.control_path, "plugged\n");
  Client client;
  ASSERT_EQ(client.Open(config), 0);
  ASSERT_EQ(client.PrefillAndStart(), 0);
  LoopStats stats;
  ASSERT_EQ(client.Loop(200 * kMs, &stats), 0);

  const int64_t unplugged = MonotonicNowNs();
  WriteControl(config.control_path, "unplugged\n");
  int64_t failed = 0;
  const int err = PlayUntilError(&client, &failed, &stats);
  EXPECT_EQ(err, -ENODEV) << snd_strerror(err);
  EXPECT_LT(failed - unplugged, 500 * kMs) << "the watcher polls every ~10 ms";

  snd_pcm_t* pcm = client.pcm();
  EXPECT_EQ(snd_pcm_state(pcm), SND_PCM_STATE_DISCONNECTED);
  EXPECT_EQ(snd_pcm_wait(pcm, 1000), -ENODEV);
  // As for a real card, the position freezes: avail_update does not fail, it stops moving.
  const snd_pcm_sframes_t avail = snd_pcm_avail_update(pcm);
  EXPECT_GE(avail, 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(snd_pcm_avail_update(pcm), avail);
  const snd_pcm_channel_area_t* areas = nullptr;
  snd_pcm_uframes_t offset = 0;
  snd_pcm_uframes_t frames = client.period();
  EXPECT_EQ(snd_pcm_mmap_begin(pcm, &areas, &offset, &frames), -ENODEV);
  EXPECT_EQ(snd_pcm_recover(pcm, -ENODEV, 1), -ENODEV);
  EXPECT_EQ(snd_pcm_recover(pcm, -EPIPE, 1), -ENODEV);  // an xrun-style recovery fails too
  EXPECT_EQ(snd_pcm_prepare(pcm), -ENODEV);
  EXPECT_EQ(snd_pcm_start(pcm), -ENODEV);

  // Plugged in again: the dead handle stays dead, a new open plays.
  WriteControl(config.control_path, "plugged\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_EQ(snd_pcm_wait(pcm, 1000), -ENODEV);
  client.Close();
  Client again;
  ASSERT_EQ(again.Open(config), 0);
  ASSERT_EQ(again.PrefillAndStart(), 0);
  EXPECT_EQ(again.Loop(300 * kMs, &stats), 0);
  EXPECT_EQ(snd_pcm_state(again.pcm()), SND_PCM_STATE_RUNNING);
}

TEST(VcardUnplugTest, UnplugWakesAClientBlockedInWait) {
  TempDir dir;
  const ClientConfig config = UnplugConfig(dir);
  Client client;
  ASSERT_EQ(client.Open(config), 0);
  // Prepared with a full buffer and never started: nothing would ever wake the waiter.
  ASSERT_EQ(client.Write(client.buffer()), 0);
  std::thread unplug([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    WriteControl(config.control_path, "unplugged\n");
  });
  const int64_t begin = MonotonicNowNs();
  const int err = snd_pcm_wait(client.pcm(), 5000);
  const int64_t elapsed = MonotonicNowNs() - begin;
  unplug.join();
  EXPECT_EQ(err, -ENODEV);
  EXPECT_LT(elapsed, 1000 * kMs);
}

TEST(VcardUnplugTest, TheCaptureIsOneTimelineAcrossTheOutage) {
  TempDir dir;
  const ClientConfig config = UnplugConfig(dir);
  constexpr int64_t kSecond = 100000;  // the second open plays ramp frames from here
  int64_t unplugged = 0;
  int64_t failed = 0;
  LoopStats first_stats;
  {
    Client first;
    ASSERT_EQ(first.Open(config), 0);
    ASSERT_EQ(first.PrefillAndStart(), 0);
    ASSERT_EQ(first.Loop(300 * kMs, &first_stats), 0);
    unplugged = MonotonicNowNs();
    WriteControl(config.control_path, "unplugged\n");
    ASSERT_EQ(PlayUntilError(&first, &failed, &first_stats), -ENODEV);
  }  // closed while unplugged: the capture's timeline is remembered
  const Capture before = ReadCapture(config.capture_path);
  ASSERT_TRUE(before.ok);
  ASSERT_GT(before.t0_ns, 0);

  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  Client refused;
  EXPECT_EQ(refused.Open(config), -ENODEV);  // still unplugged: the timeline is kept
  WriteControl(config.control_path, "plugged\n");
  Client second([](uint64_t k, uint8_t* out) { RampFrame(k + kSecond, out); });
  ASSERT_EQ(second.Open(config), 0);
  ASSERT_EQ(second.PrefillAndStart(), 0);
  const int64_t start_before = second.start_before_ns();  // an xrun recovery restarts later
  const int64_t start_after = second.start_after_ns();
  LoopStats stats;
  ASSERT_EQ(second.Loop(300 * kMs, &stats), 0);
  ASSERT_EQ(snd_pcm_drain(second.pcm()), 0);
  const uint64_t written = second.written();
  second.Close();

  const Capture capture = ReadCapture(config.capture_path);
  ASSERT_TRUE(capture.ok);
  EXPECT_EQ(capture.t0_ns, before.t0_ns) << "t0 of the first open";
  const FrameClock clock{capture.t0_ns, static_cast<uint32_t>(capture.rate)};
  // The first open: what it played until the unplug was seen, then nothing.
  EXPECT_EQ(RampFrameIndex(capture.frame(0)), 0);
  int64_t last_first = -1;
  int64_t first_second = -1;
  for (int64_t f = 0; f < capture.frames; ++f) {
    const int64_t k = RampFrameIndex(capture.frame(f));
    if (k >= 0 && k < kSecond) last_first = f;
    if (k >= kSecond && first_second < 0) first_second = f;
  }
  ASSERT_GE(last_first, 0);
  if (first_stats.xruns == 0) {  // else the "DMA" may have stopped at an xrun before the unplug
    EXPECT_GE(last_first, clock.FramesAt(unplugged) - static_cast<int64_t>(config.period));
  }
  EXPECT_LE(last_first, clock.FramesAt(failed));
  EXPECT_EQ(before.frames, last_first + 1);
  // Silence for the outage, then the second open at its start time on the same frame grid.
  ASSERT_GT(first_second, last_first);
  for (int64_t f = last_first + 1; f < first_second; ++f) ASSERT_TRUE(capture.silent(f)) << f;
  EXPECT_EQ(RampFrameIndex(capture.frame(first_second)), kSecond);
  EXPECT_GE(first_second, clock.FramesAtCeil(start_before));
  EXPECT_LE(first_second, clock.FramesAtCeil(start_after));
  if (stats.xruns == 0) {
    EXPECT_EQ(capture.frames, first_second + static_cast<int64_t>(written));
    for (int64_t i = 0; i < static_cast<int64_t>(written) && first_second + i < capture.frames;
         ++i) {
      ASSERT_EQ(RampFrameIndex(capture.frame(first_second + i)), kSecond + i) << i;
    }
  }
}

TEST(VcardUnplugTest, WithoutAnUnplugAReopenStartsAFreshCapture) {
  TempDir dir;
  const ClientConfig config = UnplugConfig(dir);
  int64_t first_t0 = 0;
  {
    Client first;
    ASSERT_EQ(first.Open(config), 0);
    ASSERT_EQ(first.PrefillAndStart(), 0);
    LoopStats stats;
    ASSERT_EQ(first.Loop(100 * kMs, &stats), 0);
  }
  first_t0 = ReadCapture(config.capture_path).t0_ns;
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  Client second;
  ASSERT_EQ(second.Open(config), 0);
  ASSERT_EQ(second.PrefillAndStart(), 0);
  LoopStats stats;
  ASSERT_EQ(second.Loop(100 * kMs, &stats), 0);
  second.Close();
  const Capture capture = ReadCapture(config.capture_path);
  ASSERT_TRUE(capture.ok);
  EXPECT_GT(capture.t0_ns, first_t0);
  EXPECT_LT(capture.frames, 48000 * 3 / 10) << "the first run was not kept";
}

// Writes a capture through a CaptureWriter: `continue_frames` < 0 starts a new file (kFormat),
// else continues one that held that many frames (kContinue); then `data` frames of value 7.
void WriteCapture(const std::string& path, int64_t continue_frames, uint64_t data) {
  CaptureRing ring(1 << 16);
  const CaptureFormat format{48000, 1, PcmFormat::kS16, 0};
  if (continue_frames < 0) {
    ring.PushControl(RecordType::kFormat, &format, sizeof(format));
  } else {
    const Continuation continuation{format, continue_frames};
    ring.PushControl(RecordType::kContinue, &continuation, sizeof(continuation));
  }
  const std::vector<int16_t> samples(data, 7);
  ring.PushData(data, samples.data(), data * 2, nullptr, 0);
  CaptureWriter writer(path, &ring);
  writer.Stop();
}

// The capture's samples (mono S16).
std::vector<int16_t> ReadSamples(const std::string& path) {
  const Capture capture = ReadCapture(path);
  std::vector<int16_t> samples(static_cast<size_t>(capture.frames));
  if (!samples.empty()) std::memcpy(samples.data(), capture.bytes.data(), samples.size() * 2);
  return samples;
}

TEST(VcardCaptureWriterTest, AContinuationAppendsAndPadsToTheTimeline) {
  TempDir dir;
  const std::string path = dir.path("c.wav");
  WriteCapture(path, -1, 100);
  WriteCapture(path, 150, 10);  // 50 frames of the timeline were never written: silence
  const std::vector<int16_t> samples = ReadSamples(path);
  ASSERT_EQ(samples.size(), 160u);
  for (size_t i = 0; i < 100; ++i) ASSERT_EQ(samples[i], 7) << i;
  for (size_t i = 100; i < 150; ++i) ASSERT_EQ(samples[i], 0) << i;
  for (size_t i = 150; i < 160; ++i) ASSERT_EQ(samples[i], 7) << i;
}

TEST(VcardCaptureWriterTest, AContinuationCutsWhatTheTimelineDidNotAccount) {
  TempDir dir;
  const std::string path = dir.path("c.wav");
  WriteCapture(path, -1, 100);
  WriteCapture(path, 80, 10);
  EXPECT_EQ(ReadSamples(path).size(), 90u);
}

TEST(VcardCaptureWriterTest, AContinuationOfAMissingFileKeepsTheTimelineWithSilence) {
  TempDir dir;
  const std::string path = dir.path("c.wav");
  WriteCapture(path, 40, 10);
  const std::vector<int16_t> samples = ReadSamples(path);
  ASSERT_EQ(samples.size(), 50u);
  for (size_t i = 0; i < 40; ++i) ASSERT_EQ(samples[i], 0) << i;
  for (size_t i = 40; i < 50; ++i) ASSERT_EQ(samples[i], 7) << i;
}

}  // namespace
}  // namespace chronus::hal::vcard::testing
