// Sample voices, their pool and allocator, and the per-orbit effects.
#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <vector>

#include "dsp/orbit_effects.h"
#include "dsp/sample_voice.h"
#include "dsp/sample_voice_allocator.h"
#include "dsp/sample_voice_bank.h"
#include "tests/dsp/signal_analysis.h"

namespace chronus::dsp {
namespace {

constexpr float kRate = 48000.0f;
constexpr uint32_t kBlock = 128;

// A sample with the zero padding SampleView promises.
struct TestSample {
  std::vector<float> storage;
  SampleView view;
  TestSample(std::vector<float> frames, uint32_t channels) {
    const size_t pad = kSamplePadFrames * channels;
    storage.assign(pad, 0.0f);
    storage.insert(storage.end(), frames.begin(), frames.end());
    storage.insert(storage.end(), pad, 0.0f);
    view = {storage.data() + pad, static_cast<uint32_t>(frames.size() / channels), channels};
  }
};

TestSample Sine(double hz, double seconds, float amplitude = 0.5f) {
  std::vector<float> x(static_cast<size_t>(seconds * kRate));
  for (size_t i = 0; i < x.size(); ++i) {
    x[i] =
        amplitude * static_cast<float>(std::sin(2.0 * std::numbers::pi * hz * double(i) / kRate));
  }
  return TestSample(x, 1);
}

// Renders a voice until it ends (at most `max_frames`): left and right dry, and the sends.
struct Rendered {
  std::vector<float> left, right, reverb_left, delay_left;
};

Rendered RenderVoice(const SamplePlay& play, uint32_t offset = 0, size_t max_frames = 200000,
                     long cut_at = -1) {
  SampleVoice voice;
  voice.Init(kRate);
  voice.Start(play, offset);
  std::vector<float> buses(kMaxOrbits * kOrbitChannels * kBlock);
  std::vector<float> scratch(2 * SampleVoice::kMaxBlockFrames);
  OrbitBuses out{buses.data(), kBlock, kMaxOrbits};
  Rendered r;
  for (size_t done = 0; done < max_frames && (voice.active() || done == 0); done += kBlock) {
    std::fill(buses.begin(), buses.end(), 0.0f);
    if (cut_at >= 0 && static_cast<size_t>(cut_at) >= done &&
        static_cast<size_t>(cut_at) < done + kBlock) {
      voice.Cut(static_cast<uint32_t>(static_cast<size_t>(cut_at) - done));
    }
    voice.Render(out, kBlock, scratch.data());
    const uint32_t o = play.orbit;
    auto append = [&](std::vector<float>& v, uint32_t c) {
      v.insert(v.end(), out.channel(o, c), out.channel(o, c) + kBlock);
    };
    append(r.left, kDryLeft);
    append(r.right, kDryRight);
    append(r.reverb_left, kReverbLeft);
    append(r.delay_left, kDelayLeft);
  }
  return r;
}

double Rms(const std::vector<float>& x) {
  double sum = 0.0;
  for (float v : x) sum += double(v) * double(v);
  return x.empty() ? 0.0 : std::sqrt(sum / double(x.size()));
}

int64_t LastNonZero(const std::vector<float>& x) {
  for (int64_t i = static_cast<int64_t>(x.size()) - 1; i >= 0; --i) {
    if (x[static_cast<size_t>(i)] != 0.0f) return i;
  }
  return -1;
}

int64_t FirstNonZero(const std::vector<float>& x) {
  for (size_t i = 0; i < x.size(); ++i) {
    if (x[i] != 0.0f) return static_cast<int64_t>(i);
  }
  return -1;
}

TEST(SampleVoice, Speed2HalvesTheDurationAndDoublesThePitch) {
  const TestSample s = Sine(440.0, 0.5);
  SamplePlay play;
  play.sample = s.view;
  const Rendered normal = RenderVoice(play);
  play.rate = 2.0f;
  const Rendered fast = RenderVoice(play);
  EXPECT_NEAR(double(LastNonZero(normal.left) + 1), 24000, 1);
  EXPECT_NEAR(double(LastNonZero(fast.left) + 1), 12000, 1);
  const std::span<const float> a(normal.left.data() + 1000, 20000);
  const std::span<const float> b(fast.left.data() + 1000, 10000);
  EXPECT_NEAR(testing::ZeroCrossingFrequency(a, kRate), 440.0, 0.05);
  EXPECT_NEAR(testing::ZeroCrossingFrequency(b, kRate), 880.0, 0.1);
  // Half speed: cubic interpolation, twice as long, an octave down.
  play.rate = 0.5f;
  const Rendered slow = RenderVoice(play);
  EXPECT_NEAR(double(LastNonZero(slow.left) + 1), 48000, 2);
  EXPECT_NEAR(
      testing::ZeroCrossingFrequency(std::span<const float>(slow.left.data() + 1000, 40000), kRate),
      220.0, 0.05);
}

TEST(SampleVoice, NegativeSpeedPlaysBackwards) {
  std::vector<float> ramp(4800);
  for (size_t i = 0; i < ramp.size(); ++i) ramp[i] = static_cast<float>(i + 1) / 4800.0f;
  const TestSample s(ramp, 1);
  SamplePlay play;
  play.sample = s.view;
  play.rate = -1.0f;
  play.pan = 0.0f;  // all in the left channel, gain = amp
  play.release_s = 0.0f;
  const Rendered r = RenderVoice(play);
  ASSERT_EQ(LastNonZero(r.left) + 1, 4800);
  EXPECT_FLOAT_EQ(r.left[0], 0.4f * 1.0f);  // the last frame first
  EXPECT_FLOAT_EQ(r.left[4799], 0.4f * (1.0f / 4800.0f));
  for (size_t i = 1; i < 4800; ++i) ASSERT_LT(r.left[i], r.left[i - 1]) << i;
  // begin/end select a part: reverse from 3/4 down to 1/4.
  play.begin = 0.25f;
  play.end = 0.75f;
  const Rendered part = RenderVoice(play);
  EXPECT_EQ(LastNonZero(part.left) + 1, 2400);
  EXPECT_LT(part.left[1], 0.4f * 0.1f);  // a 1 ms fade-in, as begin > 0
  EXPECT_FLOAT_EQ(part.left[100], 0.4f * 3500.0f / 4800.0f);
}

TEST(SampleVoice, PanZeroAndOneAreHardLeftAndRight) {
  const TestSample s = Sine(1000.0, 0.05);
  SamplePlay play;
  play.sample = s.view;
  play.pan = 0.0f;
  const Rendered left = RenderVoice(play);
  EXPECT_GT(Rms(left.left), 0.1);
  EXPECT_EQ(LastNonZero(left.right), -1);
  play.pan = 1.0f;
  const Rendered right = RenderVoice(play);
  EXPECT_EQ(LastNonZero(right.left), -1);
  EXPECT_GT(Rms(right.right), 0.1);
  play.pan = 0.5f;  // equal power: each side -3 dB
  const Rendered centre = RenderVoice(play);
  EXPECT_NEAR(Rms(centre.left) / Rms(left.left), std::sqrt(0.5), 1e-3);
  EXPECT_NEAR(Rms(centre.right) / Rms(left.left), std::sqrt(0.5), 1e-3);
}

TEST(SampleVoice, GainFollowsSuperDirtsFourthPowerCurve) {
  EXPECT_FLOAT_EQ(DirtAmp(1.0f), 0.4f);
  EXPECT_FLOAT_EQ(DirtAmp(0.5f), 0.4f / 16.0f);
  EXPECT_FLOAT_EQ(DirtAmp(2.0f), 0.4f * 16.0f);
  EXPECT_FLOAT_EQ(DirtAmp(5.0f), DirtAmp(2.0f));  // capped at 2 (overgain goes beyond)
  const TestSample s = Sine(1000.0, 0.05);
  SamplePlay play;
  play.sample = s.view;
  play.amp = DirtAmp(1.0f);
  const double unity = Rms(RenderVoice(play).left);
  play.amp = DirtAmp(0.5f);
  EXPECT_NEAR(Rms(RenderVoice(play).left) / unity, 1.0 / 16.0, 1e-4);
  play.amp = DirtAmp(1.2f);
  EXPECT_NEAR(Rms(RenderVoice(play).left) / unity, std::pow(1.2, 4), 1e-3);
}

TEST(SampleVoice, StartsAtItsOffsetAndEnvelopeShapesIt) {
  const TestSample s(std::vector<float>(4800, 1.0f), 1);  // DC
  SamplePlay play;
  play.sample = s.view;
  play.pan = 0.0f;
  play.attack_s = 0.001f;   // 48 frames
  play.release_s = 0.005f;  // 240 frames
  play.sustain_s = 0.05f;   // 2400 frames in all
  const Rendered r = RenderVoice(play, 37);
  EXPECT_EQ(FirstNonZero(r.left), 38);  // frame 37 is the attack's 0
  EXPECT_EQ(r.left[36], 0.0f);
  EXPECT_NEAR(r.left[37 + 48], 0.4f, 1e-6);           // attack done
  EXPECT_NEAR(r.left[37 + 2400 - 240], 0.4f, 1e-6);   // release starts
  EXPECT_NEAR(r.left[37 + 2400 - 120], 0.2f, 0.01f);  // half way down
  EXPECT_EQ(LastNonZero(r.left), 37 + 2400 - 1);      // last frame of the release: 1/240
}

TEST(SampleVoice, CutFadesOutFromItsFrame) {
  const TestSample s(std::vector<float>(48000, 1.0f), 1);
  SamplePlay play;
  play.sample = s.view;
  play.pan = 0.0f;
  const Rendered r = RenderVoice(play, 0, 200000, 1000);
  EXPECT_NEAR(r.left[999], 0.4f, 1e-6);
  const auto fade = static_cast<int64_t>(kCutFadeTime * kRate);
  EXPECT_EQ(LastNonZero(r.left), 1000 + fade - 1);
  EXPECT_LT(testing::MaxStep(r.left), 0.4f / float(fade) * 1.01f);  // no click
}

TEST(SampleVoice, FiltersAndShape) {
  const TestSample hi = Sine(8000.0, 0.1);
  const TestSample lo = Sine(100.0, 0.1);
  SamplePlay play;
  play.pan = 0.0f;
  play.sample = hi.view;
  const double hi_dry = Rms(RenderVoice(play).left);
  play.lpf_hz = 500.0f;
  EXPECT_LT(Rms(RenderVoice(play).left) / hi_dry, 0.01);  // 2 poles, 4 octaves: -48 dB
  play.lpf_hz = 0.0f;
  play.sample = lo.view;
  const double lo_dry = Rms(RenderVoice(play).left);
  play.hpf_hz = 2000.0f;
  EXPECT_LT(Rms(RenderVoice(play).left) / lo_dry, 0.01);
  play.hpf_hz = 0.0f;
  // shape: louder at small amplitude, never above 1 for |x| <= 1.
  for (float shape : {0.3f, 0.9f}) {
    const float k = 2.0f * shape / (1.0f - shape);
    const float gain = 1.0f - 0.15f * shape / (shape + 2.0f);
    EXPECT_GT(DirtShape(0.1f, k, gain), 0.1f);
    EXPECT_LE(DirtShape(1.0f, k, gain), 1.0f);
    EXPECT_FLOAT_EQ(DirtShape(-0.5f, k, gain), -DirtShape(0.5f, k, gain));
  }
}

// The block loop applying `shape` (vectorised on aarch64 and x86-64) gives bit for bit what
// DirtShape gives sample by sample on the unshaped output (hard left: gain exactly 1).
TEST(SampleVoice, ShapeOverTheBlockEqualsDirtShapePerSample) {
  const TestSample s = Sine(440.0, 0.05);
  SamplePlay play;
  play.sample = s.view;
  play.pan = 0.0f;
  play.amp = 1.0f;
  const Rendered plain = RenderVoice(play);
  play.shape = 0.6f;
  const Rendered shaped = RenderVoice(play);
  const float k = 2.0f * 0.6f / (1.0f - 0.6f);
  const float gain = 1.0f - 0.15f * 0.6f / (0.6f + 2.0f);
  ASSERT_EQ(shaped.left.size(), plain.left.size());
  size_t differing = 0, nonzero = 0;
  for (size_t i = 0; i < plain.left.size(); ++i) {
    differing += shaped.left[i] != DirtShape(plain.left[i], k, gain);
    nonzero += plain.left[i] != 0.0f;
  }
  EXPECT_EQ(differing, 0u);
  EXPECT_GT(nonzero, 2000u);
}

TEST(SampleVoice, SendsGoToTheOrbitsEffectChannels) {
  const TestSample s = Sine(1000.0, 0.05);
  SamplePlay play;
  play.sample = s.view;
  play.pan = 0.0f;
  play.orbit = 3;
  play.room = 0.5f;
  const Rendered r = RenderVoice(play);
  EXPECT_NEAR(Rms(r.reverb_left) / Rms(r.left), 0.5, 1e-4);
  EXPECT_EQ(LastNonZero(r.delay_left), -1);
}

TEST(SampleVoiceBank, RendersOnlyTheOrbitsItUses) {
  const TestSample s = Sine(1000.0, 0.05);
  SampleVoiceBank bank;
  bank.Init(kRate, 4);
  std::vector<float> buses(kMaxOrbits * kOrbitChannels * kBlock, 7.0f);  // stale data
  OrbitBuses out{buses.data(), kBlock, kMaxOrbits};
  SamplePlay play;
  play.sample = s.view;
  play.orbit = 2;
  play.delay = 0.3f;
  bank.Start(1, play, 0);
  const OrbitMasks masks = bank.Render(out, kBlock);
  EXPECT_EQ(masks.dry, 1u << 2);
  EXPECT_EQ(masks.reverb, 0u);
  EXPECT_EQ(masks.delay, 1u << 2);
  EXPECT_EQ(out.channel(2, kReverbLeft)[5], 0.0f);  // cleared
  EXPECT_NE(out.channel(2, kDryLeft)[5], 7.0f);
  EXPECT_EQ(out.channel(1, kDryLeft)[5], 7.0f);  // not touched
  EXPECT_EQ(bank.active_count(), 1u);
}

TEST(SampleVoiceAllocator, SpreadsOverWorkersAndStealsTheOldest) {
  SampleVoiceAllocator alloc;
  alloc.Init(2, 2);
  const auto a = alloc.Allocate(0, 0, 1, 0b11);
  const auto b = alloc.Allocate(0, 0, 1, 0b11);
  EXPECT_NE(a.worker, b.worker);  // least loaded
  const auto c = alloc.Allocate(0, 0, 1, 0b11);
  const auto d = alloc.Allocate(0, 0, 1, 0b11);
  EXPECT_FALSE(c.stole || d.stole);
  const auto e = alloc.Allocate(0, 0, 1, 0b11);
  EXPECT_TRUE(e.stole);
  EXPECT_EQ(e.worker, a.worker);  // the oldest
  EXPECT_EQ(e.slot, a.slot);
  alloc.MarkFree(static_cast<uint32_t>(b.worker), static_cast<uint32_t>(b.slot));
  const auto f = alloc.Allocate(0, 0, 1, 0b11);
  EXPECT_FALSE(f.stole);
  EXPECT_EQ(f.worker, b.worker);
  // Only usable workers are given out.
  alloc.Init(2, 4);
  EXPECT_EQ(alloc.Allocate(0, 0, 1, 0b10).worker, 1);
  EXPECT_EQ(alloc.Allocate(0, 0, 1, 0b00).worker, -1);
}

TEST(SampleVoiceAllocator, ALoadOffsetLeansNewVoicesAwayButNeverCausesASteal) {
  SampleVoiceAllocator alloc;
  alloc.Init(2, 4);
  alloc.SetLoadOffset(0, 2);  // worker 0 also does other work worth two voices
  int on_worker0 = 0;
  for (int i = 0; i < 6; ++i) on_worker0 += alloc.Allocate(0, 0, 1, 0b11).worker == 0 ? 1 : 0;
  EXPECT_EQ(on_worker0, 2);  // 2 + 2 == 4: balanced with worker 1's four
  EXPECT_EQ(alloc.busy_count(1), 4u);
  // Worker 1's pool is full: the next two go to worker 0 despite its offset, without stealing.
  for (int i = 0; i < 2; ++i) {
    const auto slot = alloc.Allocate(0, 0, 1, 0b11);
    EXPECT_EQ(slot.worker, 0);
    EXPECT_FALSE(slot.stole);
  }
  EXPECT_TRUE(alloc.Allocate(0, 0, 1, 0b11).stole);  // every pool full
}

TEST(SampleVoiceAllocator, CutGroupsFollowSuperDirt) {
  SampleVoiceAllocator alloc;
  alloc.Init(2, 8);
  const auto a = alloc.Allocate(0, 1, 10, 0b11);  // orbit 0, cut 1, sample 10
  alloc.Allocate(1, 1, 10, 0b11);                 // other orbit
  alloc.Allocate(0, 2, 10, 0b11);                 // other group
  const auto d = alloc.Allocate(0, -3, 20, 0b11);
  alloc.Allocate(0, -3, 21, 0b11);
  std::vector<std::pair<int, int>> cut;
  auto collect = [&](int w, int s) { cut.emplace_back(w, s); };
  alloc.ForEachCut(0, 1, 99, collect);
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0], std::make_pair(a.worker, a.slot));
  cut.clear();
  alloc.ForEachCut(0, 1, 99, collect);  // each voice is cut once
  EXPECT_TRUE(cut.empty());
  alloc.ForEachCut(0, -3, 20, collect);  // negative: same sample only
  ASSERT_EQ(cut.size(), 1u);
  EXPECT_EQ(cut[0], std::make_pair(d.worker, d.slot));
  cut.clear();
  alloc.ForEachCut(0, 0, 10, collect);
  EXPECT_TRUE(cut.empty());
}

TEST(OrbitEffects, DelayRepeatsAtItsTimeAndReverbDecays) {
  OrbitEffects fx;
  fx.Init(kRate, 1.0f);
  fx.Set({0.5f, 0.1f, 0.5f});
  std::vector<float> buses(kMaxOrbits * kOrbitChannels * kBlock, 0.0f);
  OrbitBuses in{buses.data(), kBlock, kMaxOrbits};
  std::vector<float> left, right;
  for (int block = 0; block < 200; ++block) {
    std::fill(buses.begin(), buses.end(), 0.0f);
    const bool first = block == 0;
    if (first) in.channel(0, kDelayLeft)[0] = 1.0f;  // impulse into the delay
    std::vector<float> l(kBlock, 0.0f), r(kBlock, 0.0f);
    fx.Process(in, 0, false, false, first, l.data(), r.data());
    left.insert(left.end(), l.begin(), l.end());
    right.insert(right.end(), r.begin(), r.end());
  }
  EXPECT_NEAR(left[4800], 1.0f, 1e-5);  // 0.1 s
  EXPECT_NEAR(left[9600], 0.5f, 1e-5);  // fed back once
  EXPECT_EQ(left[4799], 0.0f);
  EXPECT_EQ(right[4800], 0.0f);  // the left send stays left

  OrbitEffects verb;
  verb.Init(kRate, 1.0f);
  verb.Set({0.8f, 0.25f, 0.5f});
  std::vector<float> out;
  for (int block = 0; block < 2000; ++block) {
    std::fill(buses.begin(), buses.end(), 0.0f);
    const bool first = block == 0;
    if (first) in.channel(0, kReverbLeft)[0] = 1.0f;
    std::vector<float> l(kBlock, 0.0f), r(kBlock, 0.0f);
    verb.Process(in, 0, false, first, false, l.data(), r.data());
    out.insert(out.end(), l.begin(), l.end());
  }
  const double early = Rms(std::vector<float>(out.begin() + 2000, out.begin() + 12000));
  const double late = Rms(std::vector<float>(out.begin() + 60000, out.begin() + 70000));
  EXPECT_GT(early, 1e-4);
  EXPECT_LT(late, early * 0.1);
  EXPECT_FALSE(verb.reverb_awake());  // asleep after its tail (5.3 s)
}

}  // namespace
}  // namespace chronus::dsp
