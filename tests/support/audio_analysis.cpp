#include "tests/support/audio_analysis.h"

#include <sndfile.h>

#include <algorithm>
#include <cmath>
#include <numbers>

namespace chronus::test {

WavData ReadWav(const std::string& path) {
  WavData wav;
  SF_INFO info{};
  SNDFILE* file = sf_open(path.c_str(), SFM_READ, &info);
  if (file == nullptr) {
    wav.error = sf_strerror(nullptr);
    return wav;
  }
  wav.sample_rate = info.samplerate;
  wav.channels = info.channels;
  wav.frames = info.frames;
  wav.interleaved.resize(static_cast<size_t>(info.frames * info.channels));
  const sf_count_t got = sf_readf_int(file, wav.interleaved.data(), info.frames);
  sf_close(file);
  if (got != info.frames) {
    wav.error = "short read";
    return wav;
  }
  wav.mono.resize(static_cast<size_t>(info.frames));
  for (int64_t i = 0; i < info.frames; ++i) {
    wav.mono[static_cast<size_t>(i)] =
        static_cast<float>(wav.interleaved[static_cast<size_t>(i * info.channels)] / 2147483648.0);
  }
  wav.ok = true;
  return wav;
}

double Rms(const std::vector<float>& x, int64_t begin, int64_t length) {
  const int64_t size = static_cast<int64_t>(x.size());
  begin = std::clamp<int64_t>(begin, 0, size);
  const int64_t end = std::clamp<int64_t>(begin + length, 0, size);
  if (end <= begin) return 0.0;
  double sum = 0.0;
  for (int64_t i = begin; i < end; ++i) sum += double(x[size_t(i)]) * x[size_t(i)];
  return std::sqrt(sum / static_cast<double>(end - begin));
}

int64_t FindOnset(const std::vector<float>& x, int64_t from, float threshold) {
  for (int64_t i = std::max<int64_t>(from, 0); i < static_cast<int64_t>(x.size()); ++i) {
    if (std::fabs(x[size_t(i)]) > threshold) return i;
  }
  return -1;
}

std::vector<FrameSpan> SilentRuns(const std::vector<float>& x, int64_t from, int64_t to,
                                  int64_t min_frames) {
  std::vector<FrameSpan> runs;
  to = std::min<int64_t>(to, static_cast<int64_t>(x.size()));
  for (int64_t n = std::max<int64_t>(from, 0); n < to;) {
    if (x[size_t(n)] != 0.0f) {
      ++n;
      continue;
    }
    int64_t end = n;
    while (end < to && x[size_t(end)] == 0.0f) ++end;
    if (end - n >= min_frames) runs.emplace_back(n, end);
    n = end;
  }
  return runs;
}

std::vector<FrameSpan> SoundingSpans(const std::vector<float>& x, int64_t from, int64_t to,
                                     int64_t min_frames) {
  std::vector<FrameSpan> spans;
  int64_t start = from;
  for (const auto& [begin, end] : SilentRuns(x, from, to, min_frames)) {
    if (begin > start) spans.emplace_back(start, begin);
    start = end;
  }
  if (to > start) spans.emplace_back(start, to);
  return spans;
}

double PeakFrequency(const std::vector<float>& x, int64_t begin, int64_t length, double sample_rate,
                     double low_hz, double high_hz) {
  std::vector<double> windowed(static_cast<size_t>(length));
  for (int64_t i = 0; i < length; ++i) {
    const double w = 0.5 - 0.5 * std::cos(2.0 * std::numbers::pi * double(i) / double(length - 1));
    windowed[size_t(i)] = w * x[size_t(begin + i)];
  }
  double best_hz = low_hz;
  double best = -1.0;
  for (double hz = low_hz; hz <= high_hz; hz += 0.01) {
    // Goertzel-free direct DFT bin with a recursive phasor.
    const double step = 2.0 * std::numbers::pi * hz / sample_rate;
    const double c = std::cos(step), s = std::sin(step);
    double re = 0.0, im = 0.0, pr = 1.0, pi = 0.0;
    for (int64_t i = 0; i < length; ++i) {
      re += windowed[size_t(i)] * pr;
      im -= windowed[size_t(i)] * pi;
      const double nr = pr * c - pi * s;
      pi = pr * s + pi * c;
      pr = nr;
    }
    const double magnitude = re * re + im * im;
    if (magnitude > best) {
      best = magnitude;
      best_hz = hz;
    }
  }
  return best_hz;
}

}  // namespace chronus::test
