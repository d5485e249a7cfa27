// Who plays the next sample event: picks a DSP worker and a voice slot from preallocated pools
// (the least-loaded worker; the oldest voice is stolen when every pool is full) and finds the
// voices a cut group silences. Bookkeeping only (no audio); runs on the thread that dispatches
// events (the audio thread).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace chronus::dsp {

/// Init allocates (non-RT); the rest is RT-safe (no allocation, bounded loops).
class SampleVoiceAllocator {
 public:
  struct Slot {
    int worker = -1;  ///< -1: no voice (no usable worker).
    int slot = -1;
    bool stole = false;  ///< The slot held a sounding voice, now replaced.
  };

  void Init(uint32_t workers, uint32_t voices_per_worker);

  /// Takes a voice for an event on `orbit` with cut group `cut` (0 = none) playing the sample
  /// identified by `sample_key`, on a worker whose bit is set in `usable_workers`: a free slot of
  /// the least-loaded usable worker (busy voices plus its load offset), else the oldest voice of
  /// the usable workers (stolen).
  Slot Allocate(uint32_t orbit, int32_t cut, uint32_t sample_key, uint32_t usable_workers);

  /// Calls `fn(worker, slot)` for every busy voice that an event (orbit, cut, sample_key) cuts,
  /// as SuperDirt's cut groups: cut > 0 cuts every voice of the same orbit and cut group; cut < 0
  /// only those also playing the same sample. cut == 0 cuts nothing. Each voice is cut once.
  template <typename Fn>
  void ForEachCut(uint32_t orbit, int32_t cut, uint32_t sample_key, Fn&& fn) {
    if (cut == 0) return;
    for (uint32_t w = 0; w < workers_; ++w) {
      for (uint32_t s = 0; s < per_worker_; ++s) {
        Voice& v = voice(w, s);
        if (!v.busy || v.cut_done || v.orbit != orbit || v.cut != cut) continue;
        if (cut < 0 && v.sample_key != sample_key) continue;
        v.cut_done = true;
        fn(static_cast<int>(w), static_cast<int>(s));
      }
    }
  }

  /// Counts `voices` more busy voices on `worker` when choosing the least-loaded one: work of
  /// another kind that thread does (the audio thread's own, when it renders a share). 0 at Init.
  void SetLoadOffset(uint32_t worker, uint32_t voices) { offset_[worker] = voices; }
  uint32_t load_offset(uint32_t worker) const { return offset_[worker]; }
  /// The voice has ended (its worker reported it silent).
  void MarkFree(uint32_t worker, uint32_t slot);
  bool busy(uint32_t worker, uint32_t slot) const { return voice(worker, slot).busy; }
  uint32_t busy_count(uint32_t worker) const { return busy_count_[worker]; }
  uint32_t workers() const { return workers_; }
  uint32_t voices_per_worker() const { return per_worker_; }

 private:
  struct Voice {
    bool busy = false;
    bool cut_done = false;
    uint32_t orbit = 0;
    int32_t cut = 0;
    uint32_t sample_key = 0;
    uint64_t age = 0;  // allocation order
  };
  Voice& voice(uint32_t w, uint32_t s) { return voices_[w * per_worker_ + s]; }
  const Voice& voice(uint32_t w, uint32_t s) const { return voices_[w * per_worker_ + s]; }

  uint32_t workers_ = 0;
  uint32_t per_worker_ = 0;
  std::vector<Voice> voices_;
  std::vector<uint32_t> busy_count_;
  std::vector<uint32_t> offset_;
  uint64_t next_age_ = 0;
};

}  // namespace chronus::dsp
