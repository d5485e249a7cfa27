// Kill -9 torture: a child saves self-checking patches in a tight loop and is killed with SIGKILL
// at random moments; after every kill the state must load as a valid patch from the current or the
// previous file, and be the last acknowledged save or the one after it (never older, never mixed,
// never the defaults once something was saved).
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <chrono>
#include <cstring>
#include <random>

#include "firmware/state/patch.h"
#include "tests/state/state_test_util.h"

extern char** environ;

namespace chronus::firmware {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The child process with its acknowledgement pipe.
class Child {
 public:
  bool Start(const fs::path& dir) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) return false;
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[1], STDOUT_FILENO);
    const std::string dir_text = dir.string();
    char* argv[] = {const_cast<char*>(STATE_TORTURE_CHILD), const_cast<char*>(dir_text.c_str()),
                    nullptr};
    const int error = posix_spawn(&pid_, STATE_TORTURE_CHILD, &actions, nullptr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[1]);
    read_fd_ = fds[0];
    return error == 0;
  }
  ~Child() {
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (read_fd_ >= 0) ::close(read_fd_);
  }
  // Reads acknowledgements for up to `timeout_ms` (0: what is there; -1: until EOF). Returns false
  // at EOF.
  bool Drain(int timeout_ms) {
    const Clock::time_point end = Clock::now() + std::chrono::milliseconds(timeout_ms);
    for (;;) {
      int left = -1;
      if (timeout_ms >= 0) {
        const auto ms =
            std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
        left = static_cast<int>(std::max<int64_t>(0, ms));
      }
      pollfd p{read_fd_, POLLIN, 0};
      if (::poll(&p, 1, left) <= 0) return true;
      uint8_t buffer[4096];
      const ssize_t n = ::read(read_fd_, buffer, sizeof buffer);
      if (n <= 0) return false;
      pending_.append(reinterpret_cast<char*>(buffer), static_cast<size_t>(n));
      while (pending_.size() >= 4) {
        std::memcpy(&last_ack_, pending_.data(), 4);
        pending_.erase(0, 4);
        ++acks_;
      }
      if (timeout_ms >= 0 && Clock::now() >= end) return true;
    }
  }
  // Kills with SIGKILL, reaps, reads the remaining acknowledgements. Returns the wait status.
  int Kill() {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
    Drain(-1);
    return status;
  }
  uint64_t acks() const { return acks_; }
  uint32_t last_ack() const { return last_ack_; }

 private:
  pid_t pid_ = -1;
  int read_fd_ = -1;
  std::string pending_;
  uint64_t acks_ = 0;
  uint32_t last_ack_ = 0;
};

class StateTorture : public test::StateTempDir {};

TEST_F(StateTorture, KillNineDuringSavesAlwaysLeavesAValidState) {
  constexpr int kKills = 60;
  const unsigned seed = static_cast<unsigned>(Clock::now().time_since_epoch().count());
  std::mt19937 rng(seed);
  SCOPED_TRACE("seed " + std::to_string(seed));
  const fs::path path = dir_ / "patch.toml";
  const Clock::time_point start = Clock::now();

  uint32_t loaded_counter = 0;  // what the previous child started from / we loaded last
  bool saved_once = false;
  int kills = 0, valid = 0, from_prev = 0, with_tmp = 0, newer_than_ack = 0;
  uint64_t total_acks = 0;
  // Bounded in time too (a sanitizer build or a loaded host is several times slower).
  for (int k = 0; k < kKills && Clock::now() - start < std::chrono::seconds(90); ++k) {
    Child child;
    ASSERT_TRUE(child.Start(dir_));
    // Mostly kill once this child is saving; sometimes during its start-up.
    if (!saved_once || rng() % 5 != 0) {
      while (child.acks() == 0) {
        ASSERT_TRUE(child.Drain(100)) << "the child exited";
        ASSERT_LT(Clock::now() - start, std::chrono::seconds(100));
      }
    }
    child.Drain(static_cast<int>(rng() % 16));  // a random moment, 0..15 ms later
    const int status = child.Kill();
    ASSERT_TRUE(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL) << "status " << status;
    ++kills;
    total_acks += child.acks();
    with_tmp += fs::exists(dir_ / "patch.toml.tmp") ? 1 : 0;

    const PatchLoadResult r = LoadPatch(path);
    ASSERT_TRUE(r.ok()) << "kill " << kills << ": " << r.report;
    ASSERT_NE(r.source, PatchSource::kDefaults);
    const std::optional<uint32_t> counter = test::TortureCounter(r.patch);
    ASSERT_TRUE(counter.has_value()) << "kill " << kills << ": inconsistent patch\n"
                                     << PatchToToml(r.patch);
    const uint32_t acked = child.acks() > 0 ? child.last_ack() : loaded_counter;
    ASSERT_TRUE(*counter == acked || *counter == acked + 1)
        << "kill " << kills << ": loaded save " << *counter << ", last acknowledged " << acked;
    ++valid;
    from_prev += r.source == PatchSource::kPrevious ? 1 : 0;
    newer_than_ack += *counter == acked + 1 ? 1 : 0;
    loaded_counter = *counter;
    saved_once = true;
  }
  const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  EXPECT_GE(kills, 50);
  EXPECT_EQ(valid, kills);
  std::printf(
      "[ figures  ] %d kills in %.1f s, %d valid loads (%d from .prev, %d the unacknowledged "
      "save in flight), %d kills left a .tmp, %llu saves acknowledged\n",
      kills, elapsed, valid, from_prev, newer_than_ack, with_tmp,
      static_cast<unsigned long long>(total_acks));
}

}  // namespace
}  // namespace chronus::firmware
