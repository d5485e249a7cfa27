#include "dsp/svf.h"

#include <gtest/gtest.h>

#include <cmath>
#include <complex>
#include <numbers>
#include <vector>

#include "tests/dsp/signal_analysis.h"

namespace chronus::dsp {
namespace {

using testing::ToDb;
using testing::ToneAmplitude;

constexpr float kFs = 48000.0f;

// Steady-state amplitude of the filter's response to a unit sine at `freq`: 1 s settling
// (>= 15 time constants at Q 20, 100 Hz), then 0.5 s measured (a whole number of periods).
double MeasureGain(float cutoff, float q, double freq) {
  Svf f;
  f.Init(kFs);
  f.SetFreq(cutoff);
  f.SetQ(q);
  const size_t settle = 48000;
  const size_t measure = 24000;
  std::vector<float> x(settle + measure);
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] =
        static_cast<float>(std::sin(2.0 * std::numbers::pi * freq * static_cast<double>(i) / kFs));
  }
  // Blocks of 100 samples: the state must carry across Process calls.
  for (size_t i = 0; i < x.size(); i += 100) f.Process(x.data() + i, x.data() + i, 100);
  return ToneAmplitude(std::span<const float>(x).subspan(settle), freq, kFs);
}

// |H| of the bilinear-transformed 1 / (s^2 + s/Q + 1) prewarped at `cutoff`.
double TheoryGain(double cutoff, double q, double freq) {
  const double w =
      std::tan(std::numbers::pi * freq / kFs) / std::tan(std::numbers::pi * cutoff / kFs);
  const std::complex<double> s(0.0, w);
  return std::abs(1.0 / (s * s + s / q + 1.0));
}

TEST(DspSvf, MagnitudeAtCutoffEqualsQWithin0p5Db) {
  double worst = 0.0;
  for (float cutoff : {100.0f, 1000.0f, 5000.0f, 12000.0f}) {
    for (float q : {kMinQ, 5.0f, kMaxQ}) {
      const double measured = ToDb(MeasureGain(cutoff, q, cutoff));
      const double expected = ToDb(q);
      worst = std::max(worst, std::fabs(measured - expected));
      EXPECT_NEAR(measured, expected, 0.5) << "cutoff " << cutoff << " Q " << q;
    }
  }
  RecordProperty("worst_error_db", std::to_string(worst));
  std::printf("SVF |H(fc)| vs Q: worst error %.4f dB\n", worst);
}

TEST(DspSvf, MagnitudeAwayFromCutoffMatchesBilinearTheory) {
  for (float cutoff : {200.0f, 2000.0f, 10000.0f}) {
    for (float q : {kMinQ, 5.0f}) {
      for (double ratio : {0.25, 0.5, 2.0}) {
        const double f = cutoff * ratio;
        EXPECT_NEAR(ToDb(MeasureGain(cutoff, q, f)), ToDb(TheoryGain(cutoff, q, f)), 0.1)
            << "cutoff " << cutoff << " Q " << q << " f " << f;
      }
    }
  }
}

TEST(DspSvf, ResonanceMapping) {
  EXPECT_NEAR(ResonanceToQ(0.0f), 0.7071f, 1e-4f);
  EXPECT_NEAR(ResonanceToQ(1.0f), 20.0f, 1e-3f);
  EXPECT_NEAR(ResonanceToQ(0.585f), 5.0f, 0.01f);
  EXPECT_NEAR(ResonanceToQ(-1.0f), 0.7071f, 1e-4f);
  EXPECT_NEAR(ResonanceToQ(2.0f), 20.0f, 1e-3f);
  for (float r = 0.0f; r < 1.0f; r += 0.05f) EXPECT_LT(ResonanceToQ(r), ResonanceToQ(r + 0.05f));
}

TEST(DspSvf, TanApproxAccurate) {
  for (double x = 1e-4; x < 0.45 * std::numbers::pi; x += 1e-3) {
    ASSERT_NEAR(TanApprox(static_cast<float>(x)) / std::tan(x), 1.0, 1e-6) << x;
  }
}

TEST(DspSvf, CutoffClampedBelowNyquist) {
  Svf f;
  f.Init(kFs);
  f.SetFreq(30000.0f);
  EXPECT_NEAR(f.g(), std::tan(std::numbers::pi * 0.45), 1e-4);
  f.SetFreq(-5.0f);
  EXPECT_GT(f.g(), 0.0f);
}

TEST(DspSvf, StableUnderPerSampleModulationAtMaxQ) {
  Svf f;
  f.Init(kFs);
  float peak = 0.0f;
  float phase = 0.0f;
  for (int i = 0; i < 480000; ++i) {
    // Cutoff sweeps 20 Hz..21.6 kHz at 3 Hz, saw input, Q 20.
    const double fc = 20.0 * std::pow(1080.0, 0.5 + 0.5 * std::sin(i * 2.0 * 3.14159 * 3.0 / kFs));
    f.SetCoefficients(TanApprox(static_cast<float>(std::numbers::pi * fc / kFs)), 1.0f / kMaxQ);
    const float y = f.Process(2.0f * phase - 1.0f);
    phase += 110.0f / kFs;
    if (phase >= 1.0f) phase -= 1.0f;
    ASSERT_TRUE(std::isfinite(y));
    peak = std::max(peak, std::fabs(y));
  }
  EXPECT_LT(peak, 40.0f);
}

TEST(DspSvf, SilentInputDecaysToExactZero) {
  Svf f;
  f.Init(kFs);
  f.SetFreq(20.0f);
  f.SetQ(kMaxQ);
  std::vector<float> in(4800, 0.0f);
  std::vector<float> out(in.size());
  in[0] = 1.0f;
  f.Process(in.data(), out.data(), in.size());
  in[0] = 0.0f;
  // 40 s of silence: ~125 time constants, far below the float normal range without the flush.
  for (int block = 0; block < 400; ++block) f.Process(in.data(), out.data(), in.size());
  for (float s : out) ASSERT_EQ(s, 0.0f);
}

}  // namespace
}  // namespace chronus::dsp
