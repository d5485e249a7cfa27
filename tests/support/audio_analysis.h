// Measurements on captured or recorded audio for tests: reading WAV files, RMS levels, onsets and
// pitch.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace chronus::test {

/// A WAV file read with libsndfile.
struct WavData {
  bool ok = false;
  std::string error;
  int sample_rate = 0;
  int channels = 0;
  int64_t frames = 0;
  std::vector<float> mono;           ///< Channel 0 as float, -1..1.
  std::vector<int32_t> interleaved;  ///< All channels, full-scale int32 (libsndfile sf_readf_int).
};

WavData ReadWav(const std::string& path);

/// RMS of `x[begin, begin + length)` (clipped to the signal).
double Rms(const std::vector<float>& x, int64_t begin, int64_t length);

/// First frame at or after `from` where |x| exceeds `threshold`, or -1.
int64_t FindOnset(const std::vector<float>& x, int64_t from, float threshold);

/// Frequency (Hz) of the strongest component between `low_hz` and `high_hz` in
/// `x[begin, begin + length)`, found by a Hann-windowed DFT scan with a 0.01 Hz step.
double PeakFrequency(const std::vector<float>& x, int64_t begin, int64_t length, double sample_rate,
                     double low_hz, double high_hz);

}  // namespace chronus::test
