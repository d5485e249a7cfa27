// Preallocated block pool for the recorder, connected by two lock-free SPSC queues.
//
// All memory is allocated (and touched) by the constructor. Afterwards blocks only move as
// indices: the audio thread takes a free index, fills the block and submits it; the writer
// thread pops it, writes it and releases it back to the free list. Every index is always in
// exactly one place (free list, filled queue, or held by one thread), and both queues can hold
// all `blocks` indices, so Submit and Release can never fail.
#pragma once

#include <boost/lockfree/spsc_queue.hpp>

#include <cstddef>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <vector>

namespace chronus::firmware {

class BlockRing {
 public:
  // Per-block metadata, written by the producer before Submit and read by the consumer after
  // PopFilled (ordered by the queue's release/acquire).
  struct Info {
    uint32_t frames = 0;      // valid frames in the block
    uint32_t generation = 0;  // recorder take generation the block belongs to
    uint32_t gap_blocks = 0;  // blocks of this generation dropped right before this one
    uint64_t gap_frames = 0;  // frames those dropped blocks held
  };

  // Non-RT, any thread. Allocates blocks * max_block_frames * channels int32 samples.
  // Throws std::invalid_argument if a parameter is 0 or the pool size overflows,
  // std::bad_alloc if memory is short.
  BlockRing(uint32_t blocks, uint32_t max_block_frames, uint32_t channels)
      : blocks_(blocks),
        block_samples_(CheckedBlockSamples(blocks, max_block_frames, channels)),
        samples_(static_cast<std::size_t>(blocks) * block_samples_, 0),
        info_(blocks),
        free_(blocks),
        filled_(blocks) {
    // Runs before any other thread can use the ring (publication of the owning object gives
    // the happens-before edge), so pushing from here does not break the single-producer rule.
    for (uint32_t i = 0; i < blocks; ++i) free_.push(i);
  }

  BlockRing(const BlockRing&) = delete;
  BlockRing& operator=(const BlockRing&) = delete;

  uint32_t blocks() const { return blocks_; }
  std::size_t block_samples() const { return block_samples_; }

  // --- Producer side (exactly one thread, the audio thread). RT-safe, wait-free. ---

  // Takes a free block; false if none is free.
  bool AcquireFree(uint32_t& index) { return free_.pop(index); }
  // Hands a filled block to the consumer. Cannot fail by construction (returns false only if
  // the ownership invariant was broken).
  bool Submit(uint32_t index) { return filled_.push(index); }

  // --- Consumer side (exactly one thread, the writer thread). Wait-free. ---

  // Takes the oldest submitted block; false if none is pending.
  bool PopFilled(uint32_t& index) { return filled_.pop(index); }
  // Returns a block to the free list. Cannot fail by construction.
  bool Release(uint32_t index) { return free_.push(index); }

  // --- Block access for whichever thread currently owns `index`. ---
  int32_t* samples(uint32_t index) { return samples_.data() + index * block_samples_; }
  const int32_t* samples(uint32_t index) const { return samples_.data() + index * block_samples_; }
  Info& info(uint32_t index) { return info_[index]; }

 private:
  static std::size_t CheckedBlockSamples(uint32_t blocks, uint32_t max_block_frames,
                                         uint32_t channels) {
    if (blocks == 0 || max_block_frames == 0 || channels == 0) {
      throw std::invalid_argument("BlockRing: blocks, max_block_frames and channels must be > 0");
    }
    const std::size_t per_block = static_cast<std::size_t>(max_block_frames) * channels;
    constexpr std::size_t kMaxSamples = std::numeric_limits<std::size_t>::max() / sizeof(int32_t);
    if (per_block > kMaxSamples / blocks) {
      throw std::invalid_argument("BlockRing: pool size overflows");
    }
    return per_block;
  }

  uint32_t blocks_;
  std::size_t block_samples_;
  std::vector<int32_t> samples_;  // value-initialised: every page is touched up front
  std::vector<Info> info_;
  boost::lockfree::spsc_queue<uint32_t> free_;    // writer -> audio thread
  boost::lockfree::spsc_queue<uint32_t> filled_;  // audio thread -> writer
};

}  // namespace chronus::firmware
