#include "dsp/sample_voice.h"

#include <algorithm>
#include <cmath>

namespace chronus::dsp {

namespace {

constexpr float kHalfPi = 1.57079632679f;

// 4-point, 3rd-order Hermite interpolation (x-form), as SuperCollider's cubicinterp (BufRd
// interpolation 4): y(-1), y(0), y(1), y(2) at fraction f of the way from y(0) to y(1).
inline float Hermite(float ym1, float y0, float y1, float y2, float f) {
  const float c1 = 0.5f * (y1 - ym1);
  const float c2 = ym1 - 2.5f * y0 + 2.0f * y1 - 0.5f * y2;
  const float c3 = 0.5f * (y2 - ym1) + 1.5f * (y0 - y1);
  return ((c3 * f + c2) * f + c1) * f + y0;
}

}  // namespace

void SampleVoice::Init(float sample_rate) {
  sample_rate_ = sample_rate;
  for (int c = 0; c < 2; ++c) {
    lpf_[c].Init(sample_rate);
    hpf_[c].Init(sample_rate);
  }
  active_ = false;
}

void SampleVoice::Start(const SamplePlay& play, uint32_t offset) {
  play_ = play;
  start_offset_ = offset;
  active_ = false;
  const SampleView& s = play.sample;
  if (s.data == nullptr || s.frames == 0 || (s.channels != 1 && s.channels != 2)) return;
  const double frames = static_cast<double>(s.frames);
  const double b = std::floor(std::clamp(static_cast<double>(play.begin), 0.0, 1.0) * frames);
  const double e = std::floor(std::clamp(static_cast<double>(play.end), 0.0, 1.0) * frames);
  const double speed = std::fabs(static_cast<double>(play.rate));
  if (!(e > b) || !(speed > 1e-6)) return;
  rate_ = static_cast<double>(play.rate);
  pos_ = rate_ > 0.0 ? b : e - 1.0;
  const auto natural = static_cast<uint64_t>(std::floor((e - b) / speed));
  uint64_t total = natural;
  if (play.sustain_s > 0.0f) {
    total = std::min<uint64_t>(
        total, static_cast<uint64_t>(static_cast<double>(play.sustain_s) * sample_rate_));
  }
  if (total == 0) return;
  // SuperDirt (DirtEvent.calcTimeSpan): fadeTime = min(fadeTime, sustain * 0.19098); a fade-in
  // only when the sample does not start at its beginning.
  const double total_s = static_cast<double>(total) / sample_rate_;
  const double fade = std::min(static_cast<double>(kDirtFadeTime), total_s * 0.19098);
  double attack = play.attack_s >= 0.0f ? play.attack_s : (b > 0.0 ? fade : 0.0);
  double release = play.release_s >= 0.0f ? play.release_s : fade;
  if (attack + release > total_s) {  // shrink both in proportion so the envelope fits
    const double scale = total_s / (attack + release);
    attack *= scale;
    release *= scale;
  }
  attack_frames_ = static_cast<uint64_t>(attack * sample_rate_);
  release_frames_ = std::min<uint64_t>(static_cast<uint64_t>(release * sample_rate_), total);
  attack_frames_ = std::min<uint64_t>(attack_frames_, total - release_frames_);
  hold_frames_ = total - attack_frames_ - release_frames_;
  frames_left_ = total;
  stage_ = -1;
  stage_left_ = 0;
  cut_countdown_ = kNoCut;
  env_ = 0.0f;
  env_step_ = 0.0f;

  lpf_on_ = play.lpf_hz > 0.0f;
  hpf_on_ = play.hpf_hz > 0.0f;
  for (int c = 0; c < 2; ++c) {
    if (lpf_on_) {
      lpf_[c].SetFreq(play.lpf_hz);
      lpf_[c].SetResonance(play.lpf_resonance);
      lpf_[c].Reset();
    }
    if (hpf_on_) {
      hpf_[c].SetFreq(play.hpf_hz);
      hpf_[c].SetResonance(play.hpf_resonance);
      hpf_[c].Reset();
    }
  }
  const float shape = std::clamp(play.shape, 0.0f, 0.99f);
  shape_k_ = 2.0f * shape / (1.0f - shape);
  shape_gain_ = 1.0f - 0.15f * shape / (shape + 2.0f);
  const float pan = std::clamp(play.pan, 0.0f, 1.0f);
  if (s.channels == 1) {  // equal-power pan (SuperCollider Pan2)
    gain_left_ = play.amp * std::sin((1.0f - pan) * kHalfPi);  // = cos(pan pi/2), exact 0 at 1
    gain_right_ = play.amp * std::sin(pan * kHalfPi);
  } else {  // stereo sample: balance, unity for both channels at the centre
    gain_left_ = play.amp * std::min(1.0f, 2.0f * (1.0f - pan));
    gain_right_ = play.amp * std::min(1.0f, 2.0f * pan);
  }
  active_ = true;
}

void SampleVoice::StepStage() {
  ++stage_;
  switch (stage_) {
    case 0:
      stage_left_ = attack_frames_;
      env_ = 0.0f;
      env_step_ = attack_frames_ > 0 ? 1.0f / static_cast<float>(attack_frames_) : 0.0f;
      break;
    case 1:
      stage_left_ = hold_frames_;
      env_ = 1.0f;
      env_step_ = 0.0f;
      break;
    case 2:
      stage_left_ = release_frames_;
      env_step_ = release_frames_ > 0 ? -env_ / static_cast<float>(release_frames_) : 0.0f;
      break;
    default:
      stage_left_ = frames_left_;  // nothing left to play (frames_left_ is 0 here)
      env_ = 0.0f;
      env_step_ = 0.0f;
      break;
  }
}

void SampleVoice::Cut(uint32_t offset) {
  if (!active_) return;
  if (stage_ < 0 && offset <= start_offset_) {  // its onset is not before the cut: never heard
    active_ = false;
    return;
  }
  const uint64_t countdown = stage_ < 0 ? offset - start_offset_ : offset;
  cut_countdown_ = std::min(cut_countdown_, countdown);
}

void SampleVoice::ApplyCut() {
  cut_countdown_ = kNoCut;
  const auto fade = std::max<uint64_t>(1, static_cast<uint64_t>(kCutFadeTime * sample_rate_));
  if (stage_ == 2 && stage_left_ <= fade) return;  // already ending at least as fast
  const uint64_t len = std::min<uint64_t>(fade, frames_left_);
  if (len == 0) return;
  stage_ = 2;
  stage_left_ = len;
  release_frames_ = len;
  env_step_ = -env_ / static_cast<float>(len);
  frames_left_ = len;
}

void SampleVoice::Render(const OrbitBuses& out, uint32_t frames, float* scratch) {
  if (!active_) return;
  const uint32_t offset = start_offset_ < frames ? start_offset_ : frames;
  start_offset_ = 0;
  const auto n = static_cast<uint32_t>(std::min<uint64_t>(frames - offset, frames_left_));
  float* left = scratch;
  float* right = scratch + kMaxBlockFrames;
  const SampleView& s = play_.sample;
  const bool stereo = s.channels == 2;

  uint32_t done = 0;
  uint32_t n_left = n;
  while (done < n_left) {
    if (cut_countdown_ == 0) {
      ApplyCut();
      n_left = static_cast<uint32_t>(std::min<uint64_t>(n_left, done + frames_left_));
      if (done >= n_left) break;
    }
    while (stage_left_ == 0 && stage_ < 3) StepStage();
    auto chunk = static_cast<uint32_t>(std::min<uint64_t>(n_left - done, stage_left_));
    if (cut_countdown_ != kNoCut)
      chunk = static_cast<uint32_t>(std::min<uint64_t>(chunk, cut_countdown_));
    if (chunk == 0) break;
    float env = env_;
    const float step = env_step_;
    float* l = left + done;
    float* r = right + done;
    if (rate_ == 1.0) {  // integral positions (begin is floored): a copy, as cubic would give
      const auto i0 = static_cast<int64_t>(pos_);
      if (!stereo) {
        const float* d = s.data + i0;
        for (uint32_t k = 0; k < chunk; ++k) {
          l[k] = d[k] * env;
          env += step;
        }
      } else {
        const float* d = s.data + 2 * i0;
        for (uint32_t k = 0; k < chunk; ++k) {
          l[k] = d[2 * k] * env;
          r[k] = d[2 * k + 1] * env;
          env += step;
        }
      }
      pos_ += chunk;
    } else {
      double pos = pos_;
      const double rate = rate_;
      for (uint32_t k = 0; k < chunk; ++k) {
        const double fl = std::floor(pos);
        const auto i = static_cast<int64_t>(fl);
        const auto f = static_cast<float>(pos - fl);
        if (!stereo) {
          const float* d = s.data + i;
          l[k] = Hermite(d[-1], d[0], d[1], d[2], f) * env;
        } else {
          const float* d = s.data + 2 * i;
          l[k] = Hermite(d[-2], d[0], d[2], d[4], f) * env;
          r[k] = Hermite(d[-1], d[1], d[3], d[5], f) * env;
        }
        env += step;
        pos += rate;
      }
      pos_ = pos;
    }
    stage_left_ -= chunk;
    frames_left_ -= chunk;
    if (cut_countdown_ != kNoCut) cut_countdown_ -= chunk;
    // End each segment exactly on its target level.
    env_ = stage_left_ > 0 ? env : (stage_ == 0 ? 1.0f : (stage_ == 2 ? 0.0f : env));
    done += chunk;
  }

  const int channels = stereo ? 2 : 1;
  float* bufs[2] = {left, right};
  for (int c = 0; c < channels; ++c) {
    float* x = bufs[c];
    if (hpf_on_) {
      for (uint32_t k = 0; k < done; ++k) x[k] = hpf_[c].ProcessHighPass(x[k]);
    }
    if (lpf_on_) lpf_[c].Process(x, x, done);
    if (shape_k_ > 0.0f) {
      // The parameters in locals: read through `this` inside the loop (x might alias them), they
      // kept GCC from vectorising it (aarch64: "control flow in loop"; toolchains/README.md).
      const float shape_k = shape_k_;
      const float shape_gain = shape_gain_;
      for (uint32_t k = 0; k < done; ++k) x[k] = DirtShape(x[k], shape_k, shape_gain);
    }
  }

  const float* src_l = left;
  const float* src_r = stereo ? right : left;
  const uint32_t o = play_.orbit < out.orbits ? play_.orbit : 0;
  auto add = [&](uint32_t channel_left, float send) {
    float* dl = out.channel(o, channel_left) + offset;
    float* dr = out.channel(o, channel_left + 1) + offset;
    const float gl = gain_left_ * send;
    const float gr = gain_right_ * send;
    for (uint32_t k = 0; k < done; ++k) {
      dl[k] += gl * src_l[k];
      dr[k] += gr * src_r[k];
    }
  };
  add(kDryLeft, 1.0f);
  if (play_.room > 0.0f) add(kReverbLeft, play_.room);
  if (play_.delay > 0.0f) add(kDelayLeft, play_.delay);

  if (frames_left_ == 0) active_ = false;
}

}  // namespace chronus::dsp
