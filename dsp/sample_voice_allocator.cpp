#include "dsp/sample_voice_allocator.h"

namespace chronus::dsp {

void SampleVoiceAllocator::Init(uint32_t workers, uint32_t voices_per_worker) {
  workers_ = workers;
  per_worker_ = voices_per_worker;
  voices_.assign(static_cast<size_t>(workers) * voices_per_worker, Voice{});
  busy_count_.assign(workers, 0);
  offset_.assign(workers, 0);
  next_age_ = 0;
}

SampleVoiceAllocator::Slot SampleVoiceAllocator::Allocate(uint32_t orbit, int32_t cut,
                                                          uint32_t sample_key,
                                                          uint32_t usable_workers) {
  Slot result;
  if (per_worker_ == 0) return result;
  // The least-loaded usable worker with a free slot (busy voices plus its offset).
  int best = -1;
  bool any_usable = false;
  for (uint32_t w = 0; w < workers_; ++w) {
    if (((usable_workers >> w) & 1u) == 0) continue;
    any_usable = true;
    if (busy_count_[w] >= per_worker_) continue;
    const auto b = static_cast<uint32_t>(best);
    if (best < 0 || busy_count_[w] + offset_[w] < busy_count_[b] + offset_[b]) {
      best = static_cast<int>(w);
    }
  }
  if (!any_usable) return result;
  if (best >= 0) {
    const auto bw = static_cast<uint32_t>(best);
    for (uint32_t s = 0; s < per_worker_; ++s) {
      if (!voice(bw, s).busy) {
        result = {best, static_cast<int>(s), false};
        break;
      }
    }
  } else {  // every usable pool is full: steal the oldest voice
    uint64_t oldest = ~uint64_t{0};
    for (uint32_t w = 0; w < workers_; ++w) {
      if (((usable_workers >> w) & 1u) == 0) continue;
      for (uint32_t s = 0; s < per_worker_; ++s) {
        if (voice(w, s).age < oldest) {
          oldest = voice(w, s).age;
          result = {static_cast<int>(w), static_cast<int>(s), true};
        }
      }
    }
  }
  Voice& v = voice(static_cast<uint32_t>(result.worker), static_cast<uint32_t>(result.slot));
  if (!v.busy) ++busy_count_[static_cast<uint32_t>(result.worker)];
  v = Voice{true, false, orbit, cut, sample_key, next_age_++};
  return result;
}

void SampleVoiceAllocator::MarkFree(uint32_t worker, uint32_t slot) {
  Voice& v = voice(worker, slot);
  if (!v.busy) return;
  v.busy = false;
  --busy_count_[worker];
}

}  // namespace chronus::dsp
