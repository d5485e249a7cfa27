#include "firmware/recorder/recorder.h"

#include "firmware/recorder/block_ring.h"
#include "firmware/recorder/take_name.h"

#include <fcntl.h>
#include <pthread.h>
#include <sndfile.h>
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
// syscall), so this bounds the latency between PushRt and the write.
constexpr std::chrono::milliseconds kWriterPollInterval{5};
// How often the WAV header is rewritten during a take, so the file is valid if power is lost.
constexpr std::chrono::milliseconds kHeaderUpdateInterval{100};
// Bytes per sample in the file (PCM_24).
constexpr uint64_t kFileBytesPerSample = 3;
constexpr uint32_t kMaxChannels = 256;
constexpr uint32_t kMaxNameAttempts = 10000;

static_assert(std::atomic<uint32_t>::is_always_lock_free);
static_assert(std::atomic<uint64_t>::is_always_lock_free, "counters must be lock-free for PushRt");

std::string ErrnoText(int err) { return std::error_code(err, std::generic_category()).message(); }

const RecorderConfig& Validated(const RecorderConfig& config) {
  if (config.sample_rate == 0 || config.channels == 0 || config.max_block_frames == 0 ||
      config.ring_blocks == 0) {
    throw std::invalid_argument(
        "Recorder: sample_rate, channels, max_block_frames and ring_blocks must be > 0");
  }
  if (config.channels > kMaxChannels) {
    throw std::invalid_argument("Recorder: at most 256 channels");
  }
  return config;
}

}  // namespace

class Recorder::Impl {
 public:
  explicit Impl(const RecorderConfig& config)
      : config_(Validated(config)),
        ring_(config.ring_blocks, config.max_block_frames, config.channels),
        bytes_per_frame_(kFileBytesPerSample * config.channels) {
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

    std::string stem = SanitizeTakeStem(name);
    if (stem.empty()) stem = DefaultTakeStem(std::time(nullptr));

    std::filesystem::path path;
    int fd = -1;
    for (uint32_t attempt = 0; attempt < kMaxNameAttempts && fd < 0; ++attempt) {
      path = config_.directory / TakeFileName(stem, attempt);
      fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0644);
      if (fd < 0 && errno != EEXIST) {
        return Fail("cannot create " + path.string() + ": " + ErrnoText(errno));
      }
    }
    if (fd < 0) return Fail("no free file name for take \"" + stem + "\"");

    SF_INFO info{};
    info.samplerate = static_cast<int>(config_.sample_rate);
    info.channels = static_cast<int>(config_.channels);
    info.format = SF_FORMAT_WAV | SF_FORMAT_PCM_24;
    SNDFILE* sf = sf_open_fd(fd, SFM_WRITE, &info, SF_FALSE);
    if (sf == nullptr) {
      const std::string why = sf_strerror(nullptr);
      ::close(fd);
      ::unlink(path.c_str());
      return Fail("cannot open " + path.string() + " for writing: " + why);
    }
    // libsndfile writes the header on open; the audio data starts at the current end of file.
    const off_t data_offset = ::lseek(fd, 0, SEEK_END);
    if (data_offset < 0) {
      const std::string why = ErrnoText(errno);
      sf_close(sf);
      ::close(fd);
      ::unlink(path.c_str());
      return Fail("cannot seek in " + path.string() + ": " + why);
    }

    if (++next_gen_ == 0) next_gen_ = 1;
    Command cmd;
    cmd.kind = Command::Kind::kOpen;
    cmd.take.sf = sf;
    cmd.take.fd = fd;
    cmd.take.generation = next_gen_;
    cmd.take.path = path.string();
    cmd.take.data_offset = static_cast<uint64_t>(data_offset);
    Result result = SendCommand(std::move(cmd));
    // The writer owns the file now; blocks tagged with this generation go into it.
    if (result.ok) active_gen_.store(next_gen_, std::memory_order_seq_cst);
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
    uint32_t index = 0;
    if (frames > config_.max_block_frames || !ring_.AcquireFree(index)) {
      dropped_blocks_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    std::memcpy(ring_.samples(index), interleaved,
                static_cast<std::size_t>(frames) * config_.channels * sizeof(int32_t));
    ring_.info(index) = BlockRing::Info{frames, gen};
    if (!ring_.Submit(index)) {  // impossible: the filled queue holds every block
      dropped_blocks_.fetch_add(1, std::memory_order_relaxed);
    }
  }

  bool recording() const noexcept { return active_gen_.load(std::memory_order_acquire) != 0; }
  uint64_t recorded_frames() const noexcept {
    return recorded_frames_.load(std::memory_order_acquire);
  }
  uint64_t dropped_blocks() const noexcept {
    return dropped_blocks_.load(std::memory_order_relaxed);
  }
  uint64_t write_errors() const noexcept { return write_errors_.load(std::memory_order_relaxed); }
  std::string last_error() const {
    std::lock_guard lock(error_mu_);
    return last_error_;
  }
  void SetWriterPausedForTest(bool paused) noexcept {
    paused_.store(paused, std::memory_order_relaxed);
  }

 private:
  struct Take {
    SNDFILE* sf = nullptr;
    int fd = -1;
    uint32_t generation = 0;
    std::string path;
    uint64_t data_offset = 0;  // bytes before the first sample
    uint64_t frames = 0;       // frames written
    bool header_dirty = false;
    std::chrono::steady_clock::time_point last_header_update{};
  };

  struct Command {
    enum class Kind { kStop, kOpen };
    Kind kind = Kind::kStop;
    Take take;  // kOpen only
  };

  Result Fail(std::string message) {
    SetError(message);
    return Result{false, std::move(message)};
  }

  void SetError(const std::string& message) {
    std::lock_guard lock(error_mu_);
    last_error_ = message;
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
        if (take_.sf != nullptr) (void)Finalize();
        return;
      } else if (!paused_.load(std::memory_order_relaxed)) {
        Drain(ring_.blocks());
        MaybeUpdateHeader();
      }
    }
  }

  Result Execute(Command cmd) {
    // Whatever is queued belongs to the take being closed (or is stale): write it first.
    Drain(UINT32_MAX);
    Result result{true, ""};
    if (take_.sf != nullptr) {
      result = Finalize();
    } else if (error_pending_) {
      result = Result{false, std::move(pending_error_)};
    }
    error_pending_ = false;
    pending_error_.clear();
    if (cmd.kind == Command::Kind::kOpen) {
      take_ = std::move(cmd.take);
      take_.last_header_update = std::chrono::steady_clock::now();
      recorded_frames_.store(0, std::memory_order_release);
      return Result{true, take_.path};
    }
    return result;
  }

  // Writes up to `max_blocks` queued blocks (blocks of other generations are discarded).
  void Drain(uint32_t max_blocks) {
    uint32_t index = 0;
    for (uint32_t n = 0; n < max_blocks && ring_.PopFilled(index); ++n) {
      WriteBlock(index);
      ring_.Release(index);
    }
  }

  void WriteBlock(uint32_t index) {
    const BlockRing::Info info = ring_.info(index);
    // No file, or a block from a PushRt that overlapped a stop: it belongs to no open take.
    if (take_.sf == nullptr || info.generation != take_.generation) return;
    const sf_count_t written = sf_writef_int(take_.sf, ring_.samples(index), info.frames);
    if (written != static_cast<sf_count_t>(info.frames)) {
      FailTake("write to " + take_.path + " failed: " + sf_strerror(take_.sf));
      return;
    }
    take_.frames += info.frames;
    take_.header_dirty = true;
    recorded_frames_.store(take_.frames, std::memory_order_release);
  }

  void MaybeUpdateHeader() {
    if (take_.sf == nullptr || !take_.header_dirty) return;
    const auto now = std::chrono::steady_clock::now();
    if (now - take_.last_header_update < kHeaderUpdateInterval) return;
    take_.last_header_update = now;
    take_.header_dirty = false;
    sf_command(take_.sf, SFC_UPDATE_HEADER_NOW, nullptr, 0);
    if (sf_error(take_.sf) != SF_ERR_NO_ERROR) {
      FailTake("header update of " + take_.path + " failed: " + sf_strerror(take_.sf));
    }
  }

  // Write error (e.g. disk full): cut the file back to the last whole block, finalize it with
  // correct sizes and stop the take. The audio thread sees recording() == false and stops
  // pushing; last_error() and write_errors() are set before that becomes visible.
  void FailTake(const std::string& message) {
    std::string full = message;
    const uint64_t data_bytes = take_.frames * bytes_per_frame_;
    const uint64_t file_size = take_.data_offset + data_bytes + (data_bytes & 1U);  // RIFF pad
    if (::ftruncate(take_.fd, static_cast<off_t>(file_size)) != 0) {
      full += "; truncate failed: " + ErrnoText(errno);
    }
    // After an I/O error libsndfile's own header rewrite cannot be trusted (its idea of the
    // data length is stale), so close it and then patch the two size fields directly.
    sf_close(take_.sf);
    if (!PatchWavSizes(take_.fd, take_.data_offset, data_bytes)) {
      full += "; header repair failed: " + ErrnoText(errno);
    }
    ::fsync(take_.fd);
    ::close(take_.fd);
    const uint32_t generation = take_.generation;
    take_ = Take{};
    error_pending_ = true;
    pending_error_ = full;
    SetError(full);
    write_errors_.fetch_add(1, std::memory_order_seq_cst);
    uint32_t expected = generation;
    active_gen_.compare_exchange_strong(expected, 0, std::memory_order_seq_cst);
  }

  // Rewrites the RIFF and data chunk sizes of a WAV file whose data chunk (the last chunk)
  // starts at `data_offset` and holds `data_bytes` bytes. False (errno set) on failure.
  static bool PatchWavSizes(int fd, uint64_t data_offset, uint64_t data_bytes) {
    unsigned char riff[4] = {};
    unsigned char data[4] = {};
    if (data_offset < 20 || ::pread(fd, riff, 4, 0) != 4 ||
        ::pread(fd, data, 4, static_cast<off_t>(data_offset - 8)) != 4) {
      return false;
    }
    if (std::memcmp(riff, "RIFF", 4) != 0 || std::memcmp(data, "data", 4) != 0) {
      errno = EINVAL;
      return false;
    }
    const uint64_t riff_size = data_offset - 8 + data_bytes + (data_bytes & 1U);
    if (riff_size > UINT32_MAX) {
      errno = EFBIG;
      return false;
    }
    auto le32 = [](uint64_t v, unsigned char* out) {
      for (int i = 0; i < 4; ++i) out[i] = static_cast<unsigned char>((v >> (8 * i)) & 0xFFU);
    };
    unsigned char buf[4];
    le32(riff_size, buf);
    if (::pwrite(fd, buf, 4, 4) != 4) return false;
    le32(data_bytes, buf);
    return ::pwrite(fd, buf, 4, static_cast<off_t>(data_offset - 4)) == 4;
  }

  Result Finalize() {
    std::string error;
    const int close_err = sf_close(take_.sf);
    if (close_err != SF_ERR_NO_ERROR) {
      error = "finalize of " + take_.path + " failed: " + sf_error_number(close_err);
    } else if (::fsync(take_.fd) != 0) {
      error = "fsync of " + take_.path + " failed: " + ErrnoText(errno);
    }
    ::close(take_.fd);
    Result result{true, take_.path};
    take_ = Take{};
    if (!error.empty()) {
      write_errors_.fetch_add(1, std::memory_order_relaxed);
      SetError(error);
      result = Result{false, error};
    }
    return result;
  }

  const RecorderConfig config_;
  BlockRing ring_;
  const uint64_t bytes_per_frame_;

  // Shared with the audio thread.
  std::atomic<uint32_t> active_gen_{0};  // 0 = not recording, else generation of the take
  std::atomic<uint64_t> recorded_frames_{0};
  std::atomic<uint64_t> dropped_blocks_{0};
  std::atomic<uint64_t> write_errors_{0};
  std::atomic<bool> paused_{false};

  // Control side.
  std::mutex control_mu_;  // serialises StartNonRt / StopNonRt
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

  // Writer thread only.
  Take take_;
  bool error_pending_ = false;  // a write error stopped the take; StopNonRt reports it once
  std::string pending_error_;

  std::thread writer_;  // last: started after everything above is constructed
};

Recorder::Recorder(const RecorderConfig& config) : impl_(std::make_unique<Impl>(config)) {}
Recorder::~Recorder() = default;

Recorder::Result Recorder::StartNonRt(std::string_view name) { return impl_->StartNonRt(name); }
Recorder::Result Recorder::StopNonRt() { return impl_->StopNonRt(); }
void Recorder::PushRt(const int32_t* interleaved, uint32_t frames) noexcept {
  impl_->PushRt(interleaved, frames);
}
bool Recorder::recording() const noexcept { return impl_->recording(); }
uint64_t Recorder::recorded_frames() const noexcept { return impl_->recorded_frames(); }
uint64_t Recorder::dropped_blocks() const noexcept { return impl_->dropped_blocks(); }
uint64_t Recorder::write_errors() const noexcept { return impl_->write_errors(); }
std::string Recorder::last_error() const { return impl_->last_error(); }
void Recorder::SetWriterPausedForTest(bool paused) noexcept {
  impl_->SetWriterPausedForTest(paused);
}

}  // namespace chronus::firmware
