// Measurements on captured or recorded audio for tests: reading WAV files, RMS levels, onsets and
// pitch.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
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

/// A span of frames [begin, end).
using FrameSpan = std::pair<int64_t, int64_t>;

/// Runs of exact digital silence (every sample 0) at least `min_frames` long in x[from, to), in
/// order. The virtual card writes such a run into its capture for the time an xrun lasts (its
/// "DMA" stops), so a VM scheduling gap longer than the buffer shows up as one; a tone never
/// holds exactly 0 for 32 frames.
std::vector<FrameSpan> SilentRuns(const std::vector<float>& x, int64_t from, int64_t to,
                                  int64_t min_frames = 32);

/// The parts of x[from, to) between those silent runs, in order (empty parts left out).
std::vector<FrameSpan> SoundingSpans(const std::vector<float>& x, int64_t from, int64_t to,
                                     int64_t min_frames = 32);

/// Frequency (Hz) of the strongest component between `low_hz` and `high_hz` in
/// `x[begin, begin + length)`, found by a Hann-windowed DFT scan with a 0.01 Hz step.
double PeakFrequency(const std::vector<float>& x, int64_t begin, int64_t length, double sample_rate,
                     double low_hz, double high_hz);

}  // namespace chronus::test
