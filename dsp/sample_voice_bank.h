// A fixed pool of sample voices (one DSP worker's share), rendered block by block into per-orbit
// buses.
#pragma once

#include <cstdint>
#include <vector>

#include "dsp/orbit_bus.h"
#include "dsp/sample_voice.h"

namespace chronus::dsp {

/// Which orbits a rendered block wrote (bit o = orbit o): its dry pair, its reverb send, its
/// delay send. Channels of orbits whose bit is clear were not written (they may hold old data).
struct OrbitMasks {
  uint32_t dry = 0;
  uint32_t reverb = 0;
  uint32_t delay = 0;
};

/// Init allocates (non-RT); everything else is RT-safe. One thread at a time.
class SampleVoiceBank {
 public:
  void Init(float sample_rate, uint32_t voices);
  uint32_t num_voices() const { return static_cast<uint32_t>(voices_.size()); }

  /// Starts `play` in `slot` at frame `offset` of the next Render (replacing what it played).
  void Start(uint32_t slot, const SamplePlay& play, uint32_t offset);
  /// Cuts `slot` from frame `offset` of the next Render (SampleVoice::Cut).
  void Cut(uint32_t slot, uint32_t offset);
  /// Cuts every voice at the start of the next Render (e.g. before its samples are freed).
  void CutAll();
  /// Renders `frames` (<= SampleVoice::kMaxBlockFrames) of every active voice into `out`: the
  /// orbits written are cleared first; returns which were written.
  OrbitMasks Render(const OrbitBuses& out, uint32_t frames);

  bool IsActive(uint32_t slot) const { return voices_[slot].active(); }
  uint32_t active_count() const;

 private:
  std::vector<SampleVoice> voices_;
  std::vector<float> scratch_;
};

}  // namespace chronus::dsp
