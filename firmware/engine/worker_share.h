// The audio thread's side of one DSP worker: the share of voices that worker renders, and the
// standby path that renders it in the audio thread itself when the worker is late.
//
// Standby design: after every block the worker publishes a checkpoint (a copy of its voice bank)
// and the count of commands it had applied. The audio thread keeps a log of the commands it sent.
// When a block is missing at the audio thread's deadline, the audio thread copies the last
// checkpoint into its own standby bank, replays the commands sent since, and renders the share
// itself in the same period: the output has no gap and no discontinuity (the standby bank
// continues the exact voice state). It keeps rendering the share until the supervisor asks for a
// hand-back; the hand-back happens at a block boundary when the worker is idle: the audio thread
// copies its standby bank into the worker's bank and returns the worker's blocks, so the worker
// continues the exact state in turn. A replacement worker (after a crash or a spin) is adopted the
// same way. Cost on the audio thread while on standby: that share's render (bounded by its voice
// count) plus, once per takeover, a copy of the share's voice state.
#pragma once

#include <atomic>
#include <cstdint>
#include <vector>

#include "dsp/voice_bank.h"
#include "firmware/engine/dsp_worker.h"

namespace chronus::firmware {

/// Audio-thread methods end in Rt; the supervisor (non-RT) uses the NonRt ones and the atomics.
class WorkerShare {
 public:
  enum class Mode : uint8_t { kWorker, kStandby };
  static constexpr size_t kLogCapacity = 2048;

  /// `worker` renders the share; `config` is its configuration (voices, block size, lookahead).
  WorkerShare(DspWorker* worker, const DspWorkerConfig& config);

  /// Tells the share the engine frame at which the period being rendered starts (before
  /// BeginPeriodRt): blocks handed to the worker are stamped with the frame they will play at.
  void SetPeriodFrameRt(uint64_t frame) { period_frame_ = frame; }
  /// Start of a period: takes the worker's block, or engages the standby path when it is late.
  /// Returns true when the worker's block was there.
  bool BeginPeriodRt();
  /// Sends a command for this share's next block (to the worker, or kept for the standby bank's
  /// next period; logged either way for replay).
  /// Returns false when the worker's queue was full (the command is lost, counted by the caller).
  bool SendRt(const WorkerCommand& command);
  /// Adds this period's audio of the share to `mix` (`frames` samples), hands the worker's block
  /// back (or renders the standby bank), and performs a requested hand-back.
  void MixAndReleaseRt(float* mix, uint32_t frames);
  /// Whether worker-local `slot` is known to be silent after everything up to command `seq` of this
  /// share: from the worker's block in normal mode, from the standby bank on standby.
  bool ReportsSilentRt(uint32_t slot, uint64_t seq) const;
  /// The worker's block taken for this period (nullptr when late or on standby), until
  /// MixAndReleaseRt hands it back. Audio thread.
  const WorkerBlock* block_rt() const { return block_; }
  /// Commands sent to this share so far (sequence number of the last one). Audio thread.
  uint64_t commands_sent_rt() const { return commands_sent_; }

  // Supervisor interface (non-RT).
  Mode mode() const { return mode_.load(std::memory_order_acquire); }
  DspWorker* worker() const { return worker_.load(std::memory_order_acquire); }
  /// CLOCK_MONOTONIC ns when the current standby began (0 when not on standby).
  int64_t standby_since_ns() const { return standby_since_ns_.load(std::memory_order_acquire); }
  /// Asks the audio thread to hand the share back to the worker at the next block boundary at
  /// which the worker is idle.
  void RequestHandBackNonRt() { handback_requested_.store(true, std::memory_order_release); }
  /// Offers a started replacement worker (created with prefill = false). Returns false if one is
  /// already pending. The audio thread adopts it at a block boundary; the old worker then shows
  /// up in TakeRetiredNonRt().
  bool OfferReplacementNonRt(DspWorker* replacement);
  /// The worker the audio thread stopped using, or nullptr.
  DspWorker* TakeRetiredNonRt() { return retired_.exchange(nullptr, std::memory_order_acq_rel); }
  const DspWorkerConfig& config() const { return config_; }

  uint64_t failovers() const { return failovers_.load(std::memory_order_relaxed); }
  uint64_t handbacks() const { return handbacks_.load(std::memory_order_relaxed); }
  uint64_t standby_periods() const { return standby_periods_.load(std::memory_order_relaxed); }
  uint64_t adoptions() const { return adoptions_.load(std::memory_order_relaxed); }
  /// Takeovers that could not replay every command since the checkpoint (should stay 0).
  uint64_t replay_gaps() const { return replay_gaps_.load(std::memory_order_relaxed); }

 private:
  struct LoggedCommand {
    uint64_t seq;
    WorkerCommand command;
  };

  void TakeOverRt();
  void RenderStandbyRt(uint32_t frames);
  void AdoptReplacementRt(DspWorker* replacement);
  void HandBackRt();
  void ParkReadyBlocksRt();

  DspWorkerConfig config_;
  std::atomic<DspWorker*> worker_;
  std::atomic<Mode> mode_{Mode::kWorker};
  dsp::VoiceBank standby_;
  std::vector<float> standby_out_;
  // Last known worker state: the checkpoint of the last block taken, or the standby bank itself
  // after a hand-back, with the number of commands it includes.
  const dsp::VoiceBank* checkpoint_;
  uint64_t checkpoint_seq_ = 0;
  uint64_t commands_sent_ = 0;
  uint64_t period_frame_ = 0;         // engine frame of the period being rendered
  uint64_t standby_applied_seq_ = 0;  // commands included in the standby bank
  uint64_t seq_base_ = 0;  // commands_sent_ when the current worker started counting from 0
  std::vector<LoggedCommand> log_;
  uint64_t log_next_ = 0;         // commands ever logged
  WorkerBlock* block_ = nullptr;  // the worker's block for this period
  std::vector<WorkerBlock*> parked_;
  size_t parked_count_ = 0;
  std::atomic<bool> handback_requested_{false};
  std::atomic<DspWorker*> replacement_{nullptr};
  std::atomic<DspWorker*> retired_{nullptr};
  std::atomic<int64_t> standby_since_ns_{0};
  std::atomic<uint64_t> failovers_{0};
  std::atomic<uint64_t> handbacks_{0};
  std::atomic<uint64_t> standby_periods_{0};
  std::atomic<uint64_t> adoptions_{0};
  std::atomic<uint64_t> replay_gaps_{0};
};

}  // namespace chronus::firmware
