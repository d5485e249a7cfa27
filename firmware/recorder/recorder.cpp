#include "firmware/recorder/recorder.h"

#include "firmware/recorder/block_ring.h"
#include "firmware/recorder/take_files.h"
#include "firmware/recorder/take_name.h"
#include "firmware/recorder/take_writer.h"

#include <pthread.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <thread>
#include <utility>

namespace chronus::firmware {
namespace {

// How long the writer sleeps when idle. The audio thread never wakes it (that could be a
// syscall), so this bounds the latency between PushRt and the staging of the block.
constexpr std::chrono::milliseconds kWriterPollInterval{5};
constexpr uint32_t kMaxChannels = 256;

static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::atomic<uint64_t>::is_always_lock_free, "counters must be lock-free for PushRt");

const RecorderConfig& Validated(const RecorderConfig& config) {
  if (config.sample_rate == 0 || config.channels == 0 || config.max_block_frames == 0 ||
      config.ring_blocks == 0 || config.flush_interval <= std::chrono::nanoseconds::zero()) {
    throw std::invalid_argument(
        "Recorder: sample_rate, channels, max_block_frames, ring_blocks and flush_interval must "
        "be > 0");
  }
  if (config.channels > kMaxChannels) {
    throw std::invalid_argument("Recorder: at most 256 channels");
  }
  return config;
}

TakeWriterConfig WriterConfig(const RecorderConfig& c) {
  TakeWriterConfig w;
  w.sample_rate = c.sample_rate;
  w.channels = c.channels;
  w.max_block_frames = c.max_block_frames;
  w.flush_interval = c.flush_interval;
  w.preallocate_bytes = c.preallocate_bytes;
  w.riff_limit = c.rf64_threshold_bytes;
  w.log = c.log;
  return w;
}

}  // namespace

class Recorder::Impl {
 public:
  explicit Impl(const RecorderConfig& config)
      : config_(Validated(config)),
        ring_(config.ring_blocks, config.max_block_frames, config.channels),
        take_(WriterConfig(config), config.io != nullptr ? *config.io : PosixTakeIo()),
        boot_id_(ReadBootId()) {
    writer_ = std::thread([this] { WriterMain(); });
  }

  ~Impl() {
    StopNonRt();
    {
      std::lock_guard lock(mu_);
      quit_ = true;
    }
    cmd_cv_.notify_all();
    writer_.join();
  }

  std::vector<RecoveredTake> RecoverNonRt() {
    std::lock_guard control(control_mu_);
    std::vector<RecoveredTake> found =
        RecoverTakes(config_.directory, boot_id_, config_.rf64_threshold_bytes);
    for (const auto& r : found) {
      Log(r.ok ? RecorderLogLevel::kWarning : RecorderLogLevel::kError, "recovery: " + r.message);
    }
    Log(RecorderLogLevel::kInfo, "recovery check of " + config_.directory.string() + ": " +
                                     std::to_string(found.size()) + " unfinished take(s)");
    recovered_.fetch_add(found.size(), std::memory_order_relaxed);
    return found;
  }

  Result StartNonRt(std::string_view name) {
    std::lock_guard control(control_mu_);
    // A running take is finalized first; its outcome (if bad) stays in last_error().
    active_gen_.store(0, std::memory_order_seq_cst);
    (void)SendCommand(Command{});

    std::error_code ec;
    std::filesystem::create_directories(config_.directory, ec);
    if (ec) {
      return Fail("cannot create recordings directory " + config_.directory.string() + ": " +
                  ec.message());
    }

    const std::time_t now = std::time(nullptr);
    std::string stem = SanitizeTakeStem(name);
    if (stem.empty()) stem = DefaultTakeStem(NextTakeSequence(config_.directory), now);

    wav::TakeHeader header;
    header.sample_rate = config_.sample_rate;
    header.channels = config_.channels;
    header.state = wav::TakeState::kOpen;
    header.boot_id = boot_id_;
    header.created_unix_s = static_cast<int64_t>(now);
    CreatedTakeFile file = CreateTakeFile(config_.directory, stem, header);
    if (file.fd < 0) {
      if (file.err == ENOSPC || file.err == EDQUOT) file.error += " (disk full)";
      return Fail(file.error);
    }

    if (++next_gen_ == 0) next_gen_ = 1;
    Command cmd;
    cmd.kind = Command::Kind::kOpen;
    cmd.fd = file.fd;
    cmd.path = file.path;
    cmd.header = header;
    cmd.generation = next_gen_;
    Result result = SendCommand(std::move(cmd));
    // The writer owns the file now; blocks tagged with this generation go into it.
    if (result.ok) {
      stop_reason_.store(RecorderStopReason::kNone, std::memory_order_relaxed);
      active_gen_.store(next_gen_, std::memory_order_seq_cst);
    }
    return result;
  }

  Result StopNonRt() {
    std::lock_guard control(control_mu_);
    active_gen_.store(0, std::memory_order_seq_cst);
    return SendCommand(Command{});
  }

  void PushRt(const int32_t* interleaved, uint32_t frames) noexcept {
    // seq_cst (same instruction as acquire on ARMv8/x86): totally ordered with the control
    // thread's stores, so a PushRt that begins after StartNonRt returns sees the new take.
    const uint32_t gen = active_gen_.load(std::memory_order_seq_cst);
    if (gen == 0 || frames == 0 || interleaved == nullptr) return;
    if (gap_gen_ != gen) {  // drops of an earlier take are no gap in this one
      gap_gen_ = gen;
      gap_blocks_ = 0;
      gap_frames_ = 0;
    }
    uint32_t index = 0;
    if (frames > config_.max_block_frames || !ring_.AcquireFree(index)) {
      dropped_blocks_.fetch_add(1, std::memory_order_relaxed);
      ++gap_blocks_;
      gap_frames_ += frames;
      return;
    }
    std::memcpy(ring_.samples(index), interleaved,
                static_cast<std::size_t>(frames) * config_.channels * sizeof(int32_t));
    ring_.info(index) = BlockRing::Info{frames, gen, gap_blocks_, gap_frames_};
    gap_blocks_ = 0;
    gap_frames_ = 0;
    if (!ring_.Submit(index)) {  // impossible: the filled queue holds every block
      dropped_blocks_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  bool recording() const noexcept { return active_gen_.load(std::memory_order_acquire) != 0; }
  uint64_t recorded_frames() const noexcept {
    return take_.counters().frames.load(std::memory_order_relaxed);
  }
  uint64_t flushed_frames() const noexcept {
    return take_.counters().flushed_frames.load(std::memory_order_relaxed);
  }
  uint64_t dropped_blocks() const noexcept {
    return dropped_blocks_.load(std::memory_order_relaxed);
  }
  uint64_t gaps() const noexcept { return take_.counters().gaps.load(std::memory_order_relaxed); }
  uint64_t write_errors() const noexcept { return write_errors_.load(std::memory_order_relaxed); }
  RecorderStopReason stop_reason() const noexcept {
    return stop_reason_.load(std::memory_order_relaxed);
  }
  uint64_t recovered_takes() const noexcept { return recovered_.load(std::memory_order_relaxed); }
  RecorderStats stats() const noexcept {
    const TakeWriterCounters& c = take_.counters();
    RecorderStats s;
    s.bytes_written = c.bytes_written.load(std::memory_order_relaxed);
    s.audio_bytes_written = c.audio_bytes_written.load(std::memory_order_relaxed);
    s.header_bytes_written = c.header_bytes_written.load(std::memory_order_relaxed);
    s.write_calls = c.write_calls.load(std::memory_order_relaxed);
    s.largest_write = c.largest_write.load(std::memory_order_relaxed);
    s.syncs = c.syncs.load(std::memory_order_relaxed);
    s.flushes = c.flushes.load(std::memory_order_relaxed);
    s.slowest_flush_us = c.slowest_flush_us.load(std::memory_order_relaxed);
    return s;
  }
  std::string last_error() const {
    std::lock_guard lock(error_mu_);
    return last_error_;
  }
  void SetWriterPausedForTest(bool paused) noexcept {
    paused_.store(paused, std::memory_order_relaxed);
  }

 private:
  struct Command {
    enum class Kind { kStop, kOpen };
    Kind kind = Kind::kStop;
    // kOpen only:
    int fd = -1;
    std::string path;
    wav::TakeHeader header;
    uint32_t generation = 0;
  };

  Result Fail(std::string message) {
    SetError(message);
    return Result{false, std::move(message)};
  }

  void SetError(const std::string& message) {
    std::lock_guard lock(error_mu_);
    last_error_ = message;
  }

  void Log(RecorderLogLevel level, const std::string& text) const {
    if (config_.log) config_.log(level, text);
  }

  // Control thread (holding control_mu_): runs `cmd` on the writer and waits for the result.
  Result SendCommand(Command cmd) {
    std::unique_lock lock(mu_);
    cmd_ = std::move(cmd);
    cmd_pending_ = true;
    cmd_done_ = false;
    cmd_cv_.notify_all();
    done_cv_.wait(lock, [this] { return cmd_done_; });
    return std::move(cmd_result_);
  }

  // ---------------- writer thread ----------------

  void WriterMain() {
    pthread_setname_np(pthread_self(), "chronus-rec");
    for (;;) {
      bool have_cmd = false;
      bool quit = false;
      Command cmd;
      {
        std::unique_lock lock(mu_);
        cmd_cv_.wait_for(lock, kWriterPollInterval, [this] { return cmd_pending_ || quit_; });
        if (cmd_pending_) {
          cmd = std::move(cmd_);
          cmd_pending_ = false;
          have_cmd = true;
        }
        quit = quit_;
      }
      if (have_cmd) {
        Result result = Execute(std::move(cmd));
        {
          std::lock_guard lock(mu_);
          cmd_result_ = std::move(result);
          cmd_done_ = true;
        }
        done_cv_.notify_all();
      } else if (quit) {
        Drain(UINT32_MAX);
        if (take_.active()) (void)FinishTake();
        return;
      } else if (!paused_.load(std::memory_order_relaxed)) {
        Drain(ring_.blocks());
        const auto now = TakeWriter::Clock::now();
        if (take_.FlushDue(now) && !take_.Flush()) OnTakeFailed();
      }
    }
  }

  Result Execute(Command cmd) {
    // Whatever is queued belongs to the take being closed (or is stale): write it first.
    Drain(UINT32_MAX);
    Result result{true, ""};
    if (take_.active()) {
      result = FinishTake();
    } else if (error_pending_) {
      result = Result{false, std::move(pending_error_)};
    }
    error_pending_ = false;
    pending_error_.clear();
    if (cmd.kind == Command::Kind::kOpen) {
      take_.Begin(cmd.fd, cmd.path, cmd.header, TakeWriter::Clock::now());
      take_gen_ = cmd.generation;
      return Result{true, cmd.path};
    }
    return result;
  }

  Result FinishTake() {
    std::string path = take_.path();
    if (take_.Finish()) return Result{true, std::move(path)};
    RecordFailure();
    return Result{false, take_.error()};
  }

  // Writes up to `max_blocks` queued blocks (blocks of other generations are discarded).
  void Drain(uint32_t max_blocks) {
    uint32_t index = 0;
    const auto now = TakeWriter::Clock::now();
    for (uint32_t n = 0; n < max_blocks && ring_.PopFilled(index); ++n) {
      const BlockRing::Info info = ring_.info(index);
      // No file, or a block from a PushRt that overlapped a stop: it belongs to no open take.
      if (take_.active() && info.generation == take_gen_ &&
          !take_.Append(ring_.samples(index), info.frames, info.gap_blocks, info.gap_frames, now)) {
        OnTakeFailed();
      }
      ring_.Release(index);
    }
  }

  void RecordFailure() {
    SetError(take_.error());
    stop_reason_.store(take_.failure(), std::memory_order_relaxed);
    write_errors_.fetch_add(1, std::memory_order_seq_cst);
  }

  // A flush failed (card full, removed, ...): the take writer already left the file valid and
  // closed it. The audio thread sees recording() == false and stops pushing; last_error(),
  // stop_reason() and write_errors() are set before that becomes visible. StopNonRt reports the
  // error once.
  void OnTakeFailed() {
    RecordFailure();
    error_pending_ = true;
    pending_error_ = take_.error();
    uint32_t expected = take_gen_;
    active_gen_.compare_exchange_strong(expected, 0, std::memory_order_seq_cst);
  }

  const RecorderConfig config_;
  BlockRing ring_;

  // Shared with the audio thread.
  std::atomic<uint32_t> active_gen_{0};  // 0 = not recording, else generation of the take
  std::atomic<uint64_t> dropped_blocks_{0};
  std::atomic<uint64_t> write_errors_{0};
  std::atomic<RecorderStopReason> stop_reason_{RecorderStopReason::kNone};
  std::atomic<uint64_t> recovered_{0};
  std::atomic<bool> paused_{false};

  // Audio thread only: blocks dropped since the last submitted block of take gap_gen_.
  uint32_t gap_gen_ = 0;
  uint32_t gap_blocks_ = 0;
  uint64_t gap_frames_ = 0;

  // Control side.
  std::mutex control_mu_;  // serialises StartNonRt / StopNonRt / RecoverNonRt
  uint32_t next_gen_ = 0;  // guarded by control_mu_
  mutable std::mutex error_mu_;
  std::string last_error_;  // guarded by error_mu_

  // Control <-> writer command channel, guarded by mu_.
  std::mutex mu_;
  std::condition_variable cmd_cv_;
  std::condition_variable done_cv_;
  bool cmd_pending_ = false;
  bool cmd_done_ = false;
  bool quit_ = false;
  Command cmd_;
  Result cmd_result_;

  // Writer thread only (counters readable anywhere).
  TakeWriter take_;
  uint32_t take_gen_ = 0;
  bool error_pending_ = false;  // a write error stopped the take; StopNonRt reports it once
  std::string pending_error_;

  const std::string boot_id_;
  std::thread writer_;  // last: started after everything above is constructed
};

Recorder::Recorder(const RecorderConfig& config) : impl_(std::make_unique<Impl>(config)) {}
Recorder::~Recorder() = default;

std::vector<RecoveredTake> Recorder::RecoverNonRt() { return impl_->RecoverNonRt(); }
Recorder::Result Recorder::StartNonRt(std::string_view name) { return impl_->StartNonRt(name); }
Recorder::Result Recorder::StopNonRt() { return impl_->StopNonRt(); }
void Recorder::PushRt(const int32_t* interleaved, uint32_t frames) noexcept {
  impl_->PushRt(interleaved, frames);
}
bool Recorder::recording() const noexcept { return impl_->recording(); }
uint64_t Recorder::recorded_frames() const noexcept { return impl_->recorded_frames(); }
uint64_t Recorder::flushed_frames() const noexcept { return impl_->flushed_frames(); }
uint64_t Recorder::dropped_blocks() const noexcept { return impl_->dropped_blocks(); }
uint64_t Recorder::gaps() const noexcept { return impl_->gaps(); }
uint64_t Recorder::write_errors() const noexcept { return impl_->write_errors(); }
RecorderStopReason Recorder::stop_reason() const noexcept { return impl_->stop_reason(); }
uint64_t Recorder::recovered_takes() const noexcept { return impl_->recovered_takes(); }
RecorderStats Recorder::stats() const noexcept { return impl_->stats(); }
std::string Recorder::last_error() const { return impl_->last_error(); }
void Recorder::SetWriterPausedForTest(bool paused) noexcept {
  impl_->SetWriterPausedForTest(paused);
}

}  // namespace chronus::firmware
