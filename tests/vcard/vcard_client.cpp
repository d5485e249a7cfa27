#include "vcard_client.h"

#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <sndfile.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "hal/vcard/vcard_config.h"

namespace chronus::hal::vcard::testing {

namespace {

uint32_t Hash(uint64_t k, unsigned channel) {
  uint64_t x = k * 0x9E3779B97F4A7C15ull + (channel + 1) * 0xC2B2AE3D27D4EB4Full;
  x ^= x >> 29;
  x *= 0xBF58476D1CE4E5B9ull;
  x ^= x >> 32;
  return static_cast<uint32_t>(x);
}

}  // namespace

void RampFrame(uint64_t k, uint8_t* out) {
  const int16_t samples[2] = {static_cast<int16_t>((k & 0x3fff) + 1),
                              static_cast<int16_t>((k >> 14) + 1)};
  std::memcpy(out, samples, sizeof(samples));
}

int64_t RampFrameIndex(const uint8_t* frame) {
  int16_t samples[2];
  std::memcpy(samples, frame, sizeof(samples));
  if (samples[0] == 0 && samples[1] == 0) return -1;
  return (int64_t{samples[0]} - 1) | ((int64_t{samples[1]} - 1) << 14);
}

SignalFn NoiseSignal(snd_pcm_format_t format, unsigned channels) {
  return [format, channels](uint64_t k, uint8_t* out) {
    for (unsigned c = 0; c < channels; ++c) {
      const uint32_t h = Hash(k, c);
      if (format == SND_PCM_FORMAT_S16_LE) {
        const auto v = static_cast<int16_t>(h | 1);
        std::memcpy(out + 2 * c, &v, 2);
      } else if (format == SND_PCM_FORMAT_S32_LE) {
        const auto v = static_cast<int32_t>(h | 1);
        std::memcpy(out + 4 * c, &v, 4);
      } else {
        const float v = static_cast<float>((static_cast<int32_t>(h) >> 8) | 1) / 8388608.0f;
        std::memcpy(out + 4 * c, &v, 4);
      }
    }
  };
}

Client::~Client() { Close(); }

void Client::Close() {
  if (pcm_ != nullptr) {
    snd_pcm_close(pcm_);
    pcm_ = nullptr;
  }
}

int Client::Open(const ClientConfig& config) {
  config_ = config;
  Options options;
  options.capture_path = config.capture_path;
  options.control_path = config.control_path;
  int err = OpenPcm(&pcm_, options);
  if (err < 0) {
    pcm_ = nullptr;
    return err;
  }
  snd_pcm_hw_params_t* hw;
  snd_pcm_hw_params_alloca(&hw);
  snd_pcm_hw_params_any(pcm_, hw);
  snd_pcm_uframes_t period = config.period;
  unsigned periods = config.periods;
  if ((err = snd_pcm_hw_params_set_access(pcm_, hw, config.access)) < 0 ||
      (err = snd_pcm_hw_params_set_format(pcm_, hw, config.format)) < 0 ||
      (err = snd_pcm_hw_params_set_channels(pcm_, hw, config.channels)) < 0 ||
      (err = snd_pcm_hw_params_set_rate(pcm_, hw, config.rate, 0)) < 0 ||
      (err = snd_pcm_hw_params_set_period_size_near(pcm_, hw, &period, nullptr)) < 0 ||
      (err = snd_pcm_hw_params_set_periods_near(pcm_, hw, &periods, nullptr)) < 0 ||
      (err = snd_pcm_hw_params(pcm_, hw)) < 0) {
    return err;
  }
  snd_pcm_hw_params_get_period_size(hw, &period_, nullptr);
  snd_pcm_hw_params_get_buffer_size(hw, &buffer_);

  snd_pcm_sw_params_t* sw;
  snd_pcm_sw_params_alloca(&sw);
  snd_pcm_sw_params_current(pcm_, sw);
  snd_pcm_uframes_t boundary = 0;
  snd_pcm_sw_params_get_boundary(sw, &boundary);
  snd_pcm_sw_params_set_start_threshold(pcm_, sw, config.explicit_start ? boundary : buffer_);
  snd_pcm_sw_params_set_stop_threshold(pcm_, sw, buffer_);
  snd_pcm_sw_params_set_avail_min(pcm_, sw, period_);
  if ((err = snd_pcm_sw_params(pcm_, sw)) < 0) return err;
  frame_bytes_ = static_cast<unsigned>(snd_pcm_frames_to_bytes(pcm_, 1));
  return 0;
}

int Client::Write(snd_pcm_uframes_t frames) {
  if (config_.access == SND_PCM_ACCESS_RW_INTERLEAVED) {
    scratch_.resize(frames * frame_bytes_);
    for (snd_pcm_uframes_t i = 0; i < frames; ++i) {
      signal_(written_ + i, scratch_.data() + i * frame_bytes_);
    }
    snd_pcm_uframes_t done = 0;
    while (done < frames) {
      const snd_pcm_sframes_t n =
          snd_pcm_writei(pcm_, scratch_.data() + done * frame_bytes_, frames - done);
      if (n < 0) return static_cast<int>(n);
      done += static_cast<snd_pcm_uframes_t>(n);
      written_ += static_cast<snd_pcm_uframes_t>(n);
    }
    return 0;
  }
  while (frames > 0) {
    const snd_pcm_channel_area_t* areas;
    snd_pcm_uframes_t offset;
    snd_pcm_uframes_t n = frames;
    int err = snd_pcm_mmap_begin(pcm_, &areas, &offset, &n);
    if (err < 0) return err;
    if (n == 0) return -EAGAIN;
    auto* base =
        static_cast<uint8_t*>(areas[0].addr) + areas[0].first / 8 + offset * (areas[0].step / 8);
    for (snd_pcm_uframes_t i = 0; i < n; ++i) signal_(written_ + i, base + i * frame_bytes_);
    const snd_pcm_sframes_t committed = snd_pcm_mmap_commit(pcm_, offset, n);
    if (committed < 0) return static_cast<int>(committed);
    if (static_cast<snd_pcm_uframes_t>(committed) != n) return -EIO;
    written_ += n;
    frames -= n;
  }
  return 0;
}

int Client::PrefillAndStart() {
  const snd_pcm_sframes_t avail = snd_pcm_avail_update(pcm_);
  if (avail < 0) return static_cast<int>(avail);
  run_base_ = written_;
  const int err = Write(static_cast<snd_pcm_uframes_t>(avail));
  if (err < 0) return err;
  start_before_ns_ = MonotonicNowNs();
  const int started = snd_pcm_start(pcm_);
  start_after_ns_ = MonotonicNowNs();
  return started;
}

int Client::Loop(int64_t duration_ns, LoopStats* stats, uint64_t max_frames) {
  const int64_t end_ns = MonotonicNowNs() + duration_ns;
  const auto period = static_cast<snd_pcm_sframes_t>(period_);
  while (MonotonicNowNs() < end_ns && written_ < max_frames) {
    snd_pcm_sframes_t avail = snd_pcm_avail_update(pcm_);
    if (avail >= 0 && avail < period) {
      const int ready = snd_pcm_wait(pcm_, 1000);
      if (ready == 0) {
        ++stats->timeouts;
        continue;
      }
      avail = ready < 0 ? ready : snd_pcm_avail_update(pcm_);
    }
    if (avail == -EPIPE) {
      ++stats->xruns;
      int err = snd_pcm_recover(pcm_, -EPIPE, 1);
      if (err < 0) return err;
      if ((err = PrefillAndStart()) < 0) return err;
      continue;
    }
    if (avail < 0) return static_cast<int>(avail);
    while (avail >= period && written_ < max_frames) {
      const auto n = static_cast<snd_pcm_uframes_t>(
          std::min<uint64_t>(static_cast<uint64_t>(period), max_frames - written_));
      const int err = Write(n);
      if (err < 0) return err;
      avail -= static_cast<snd_pcm_sframes_t>(n);
    }
  }
  return 0;
}

bool Capture::silent(int64_t f) const {
  const uint8_t* p = frame(f);
  return std::all_of(p, p + frame_bytes, [](uint8_t b) { return b == 0; });
}

Capture ReadCapture(const std::string& path) {
  Capture capture;
  SF_INFO info{};
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
  if (file == nullptr) return capture;
  capture.format = info.format;
  capture.channels = info.channels;
  capture.rate = info.samplerate;
  capture.frames = info.frames;
  const unsigned sample_bytes = (info.format & SF_FORMAT_SUBMASK) == SF_FORMAT_PCM_16 ? 2 : 4;
  capture.frame_bytes = sample_bytes * static_cast<unsigned>(info.channels);
  capture.bytes.resize(static_cast<size_t>(info.frames) * capture.frame_bytes);
  const auto want = static_cast<sf_count_t>(capture.bytes.size());
  capture.ok = sf_read_raw(file, capture.bytes.data(), want) == want;
  sf_close(file);
  std::ifstream t0(path + ".t0");
  if (!(t0 >> capture.t0_ns)) capture.t0_ns = -1;
  return capture;
}

TempDir::TempDir() {
  const char* base = std::getenv("TMPDIR");
  std::string pattern = std::string(base != nullptr && base[0] != '\0' ? base : "/tmp") +
                        "/chronus_vcard_test.XXXXXX";
  if (mkdtemp(pattern.data()) != nullptr) dir_ = pattern;
}

TempDir::~TempDir() {
  if (dir_.empty()) return;
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

RealtimeScope::RealtimeScope(int priority) {
  sched_param param{};
  param.sched_priority = priority;
  fifo_ = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param) == 0;
  latency_fd_ = open("/dev/cpu_dma_latency", O_WRONLY | O_CLOEXEC);
  if (latency_fd_ >= 0) {
    const int32_t zero = 0;
    if (write(latency_fd_, &zero, sizeof(zero)) != sizeof(zero)) {
      close(latency_fd_);
      latency_fd_ = -1;
    }
  }
}

RealtimeScope::~RealtimeScope() {
  if (fifo_) {
    sched_param param{};
    pthread_setschedparam(pthread_self(), SCHED_OTHER, &param);
  }
  if (latency_fd_ >= 0) close(latency_fd_);
}

}  // namespace chronus::hal::vcard::testing
