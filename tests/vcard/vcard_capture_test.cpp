// What is played is what is captured: sample-exact captures in every format, RW access, the
// WAV header while running, and aplay through WriteAlsaConfigFile.
#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <string>
#include <tuple>
#include <vector>

#include "hal/vcard/frame_clock.h"
#include "hal/vcard/vcard_config.h"
#include "vcard_client.h"

namespace chronus::hal::vcard::testing {
namespace {

int SfSubtype(snd_pcm_format_t format) {
  switch (format) {
    case SND_PCM_FORMAT_S16_LE:
      return SF_FORMAT_PCM_16;
    case SND_PCM_FORMAT_S32_LE:
      return SF_FORMAT_PCM_32;
    default:
      return SF_FORMAT_FLOAT;
  }
}

// The first `frames` frames of `signal`, as bytes.
std::vector<uint8_t> Expected(const SignalFn& signal, unsigned frame_bytes, int64_t frames) {
  std::vector<uint8_t> bytes(static_cast<size_t>(frames) * frame_bytes);
  for (int64_t k = 0; k < frames; ++k) signal(static_cast<uint64_t>(k), &bytes[k * frame_bytes]);
  return bytes;
}

// Index of the first frame where the capture differs from `expected`, or -1.
int64_t FirstMismatch(const Capture& capture, const std::vector<uint8_t>& expected) {
  const int64_t frames = static_cast<int64_t>(expected.size() / capture.frame_bytes);
  for (int64_t f = 0; f < frames && f < capture.frames; ++f) {
    if (std::memcmp(capture.frame(f), &expected[f * capture.frame_bytes], capture.frame_bytes)) {
      return f;
    }
  }
  return -1;
}

using FormatParam = std::tuple<snd_pcm_format_t, unsigned, unsigned>;  // format, channels, rate

class VcardCaptureTest : public ::testing::TestWithParam<FormatParam> {};

// Plays `frames` frames of `signal` and drains. Returns the xruns (host gaps longer than the
// buffer), which make the capture differ from the signal.
int PlayAndDrain(Client* client, const ClientConfig& config, uint64_t frames) {
  EXPECT_EQ(client->Open(config), 0);
  LoopStats stats;
  EXPECT_EQ(client->PrefillAndStart(), 0);
  EXPECT_EQ(client->Loop(5 * kNsPerSecond, &stats, frames), 0);
  EXPECT_EQ(client->written(), frames);
  EXPECT_EQ(snd_pcm_drain(client->pcm()), 0);  // plays everything, then stops
  client->Close();
  return stats.xruns;
}

TEST_P(VcardCaptureTest, CaptureIsSampleExact) {
  const auto [format, channels, rate] = GetParam();
  TempDir dir;
  ClientConfig config;
  config.capture_path = dir.path("exact.wav");
  config.format = format;
  config.channels = channels;
  config.rate = rate;
  config.period = 1024;
  config.periods = 8;  // 170 ms of margin against host scheduling gaps
  const SignalFn signal = NoiseSignal(format, channels);
  const uint64_t frames = rate / 5;  // 200 ms: wraps the buffer
  int xruns = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {  // a host gap > 170 ms: try again
    Client client(signal);
    xruns = PlayAndDrain(&client, config, frames);
    if (xruns == 0 || HasFailure()) break;
  }
  ASSERT_EQ(xruns, 0) << "host scheduling gaps longer than the buffer in 3 attempts";

  const Capture capture = ReadCapture(config.capture_path);
  ASSERT_TRUE(capture.ok);
  EXPECT_EQ(capture.format, SF_FORMAT_WAV | SfSubtype(format));
  EXPECT_EQ(capture.channels, static_cast<int>(channels));
  EXPECT_EQ(capture.rate, static_cast<int>(rate));
  EXPECT_GT(capture.t0_ns, 0);
  ASSERT_EQ(capture.frames, static_cast<int64_t>(frames));
  EXPECT_EQ(FirstMismatch(capture, Expected(signal, capture.frame_bytes, capture.frames)), -1);
}

std::string ParamName(const ::testing::TestParamInfo<FormatParam>& info) {
  const auto [format, channels, rate] = info.param;
  std::ostringstream name;
  name << snd_pcm_format_name(format) << "_" << channels << "ch_" << rate;
  return name.str();
}

INSTANTIATE_TEST_SUITE_P(AllFormats, VcardCaptureTest,
                         ::testing::Combine(::testing::Values(SND_PCM_FORMAT_S16_LE,
                                                              SND_PCM_FORMAT_S32_LE,
                                                              SND_PCM_FORMAT_FLOAT_LE),
                                            ::testing::Values(1u, 2u),
                                            ::testing::Values(44100u, 48000u)),
                         ParamName);

TEST(VcardRwTest, WriteiIsPacedAndCaptured) {
  TempDir dir;
  ClientConfig config;
  config.capture_path = dir.path("rw.wav");
  config.access = SND_PCM_ACCESS_RW_INTERLEAVED;
  config.explicit_start = false;  // starts by itself when the buffer is full
  config.period = 1024;
  config.periods = 8;
  const SignalFn signal = NoiseSignal(config.format, config.channels);
  const uint64_t frames = 14400;  // 300 ms
  int64_t elapsed = 0;
  int err = 0;
  for (int attempt = 0; attempt < 3; ++attempt) {  // -EPIPE: a host gap > 170 ms, try again
    Client client(signal);
    ASSERT_EQ(client.Open(config), 0);
    const int64_t begin = MonotonicNowNs();
    err = client.Write(frames);  // blocks in snd_pcm_wait on the plugin's timer
    if (err == 0) err = snd_pcm_drain(client.pcm());
    elapsed = MonotonicNowNs() - begin;
    if (err != -EPIPE) break;
  }
  ASSERT_EQ(err, 0);
  EXPECT_GE(elapsed, 299'000'000) << "not paced";
  EXPECT_LT(elapsed, 1'000'000'000);

  const Capture capture = ReadCapture(config.capture_path);
  ASSERT_TRUE(capture.ok);
  ASSERT_EQ(capture.frames, static_cast<int64_t>(frames));
  EXPECT_EQ(FirstMismatch(capture, Expected(signal, capture.frame_bytes, capture.frames)), -1);
}

TEST(VcardRwTest, WavIsValidWhileTheClientIsRunning) {
  TempDir dir;
  ClientConfig config;
  config.capture_path = dir.path("live.wav");
  config.period = 1024;
  config.periods = 8;
  Client client;
  ASSERT_EQ(client.Open(config), 0);
  LoopStats stats;
  ASSERT_EQ(client.PrefillAndStart(), 0);
  ASSERT_EQ(client.Loop(500'000'000, &stats), 0);
  const Capture live = ReadCapture(config.capture_path);
  ASSERT_EQ(client.Loop(100'000'000, &stats), 0);
  snd_pcm_drop(client.pcm());
  client.Close();
  ASSERT_TRUE(live.ok);
  EXPECT_GT(live.t0_ns, 0);
  // The header lags the audio by at most ~100 ms plus the writer's 10 ms poll.
  EXPECT_GE(live.frames, 48000 * 3 / 10) << "header not updated while running";
  ASSERT_GT(live.frames, 0);
  EXPECT_EQ(RampFrameIndex(live.frame(0)), 0);
}

std::string FindInPath(const std::string& program) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path != nullptr ? path : "/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    const std::string candidate = dir + "/" + program;
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return {};
}

TEST(VcardAplayTest, AplayPlaysAWavThroughTheConfigFile) {
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer-built plugin cannot be loaded into an uninstrumented aplay";
#endif
  const std::string aplay = FindInPath("aplay");
  if (aplay.empty()) GTEST_SKIP() << "aplay not installed (alsa-utils)";
  TempDir dir;
  constexpr int64_t kFrames = 24000;  // 500 ms
  const SignalFn signal = NoiseSignal(SND_PCM_FORMAT_S16_LE, 2);
  const std::vector<uint8_t> input = Expected(signal, 4, kFrames);
  SF_INFO info{};
  info.samplerate = 48000;
  info.channels = 2;
  info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_16;
  SNDFILE* file = sf_open(dir.path("in.wav").c_str(), SFM_WRITE, &info);
  ASSERT_NE(file, nullptr);
  ASSERT_EQ(sf_write_raw(file, input.data(), static_cast<sf_count_t>(input.size())),
            static_cast<sf_count_t>(input.size()));
  sf_close(file);

  Options options;
  options.capture_path = dir.path("aplay.wav");
  const std::string conf = WriteAlsaConfigFile(options, dir.path("vcard.conf"));
  ASSERT_EQ(conf, dir.path("vcard.conf"));
  const std::string command = "ALSA_CONFIG_PATH='/usr/share/alsa/alsa.conf:" + conf + "' '" +
                              aplay + "' -q -D chronus_vcard '" + dir.path("in.wav") + "'";
  const int64_t begin = MonotonicNowNs();
  ASSERT_EQ(std::system(command.c_str()), 0) << command;
  const int64_t elapsed = MonotonicNowNs() - begin;
  EXPECT_GE(elapsed, 450'000'000) << "aplay was not paced";

  const Capture capture = ReadCapture(options.capture_path);
  ASSERT_TRUE(capture.ok);
  ASSERT_GE(capture.frames, kFrames);
  EXPECT_EQ(FirstMismatch(capture, input), -1);
  for (int64_t f = kFrames; f < capture.frames; ++f) {
    ASSERT_TRUE(capture.silent(f)) << "aplay pads its last chunk with silence; frame " << f;
  }
}

}  // namespace
}  // namespace chronus::hal::vcard::testing
