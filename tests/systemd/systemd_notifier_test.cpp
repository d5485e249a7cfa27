// SystemdNotifier (hal/watchdog) against a test notification socket: what systemd would receive.
#include "hal/watchdog/systemd_notifier.h"

#include <gtest/gtest.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <string>

#include "tests/systemd/notify_socket.h"

namespace chronus::hal::watchdog {
namespace {

using chronus::test::NotifySocket;
using chronus::test::ScopedEnvironment;
using std::chrono::microseconds;
using std::chrono::milliseconds;

constexpr milliseconds kTimeout{2000};

TEST(SystemdNotifierTest, WithoutNotifySocketEverythingIsANoOp) {
  ScopedEnvironment env;
  env.Unset("NOTIFY_SOCKET").Unset("WATCHDOG_USEC").Unset("WATCHDOG_PID");
  SystemdNotifier notifier;
  EXPECT_FALSE(notifier.enabled());
  EXPECT_FALSE(notifier.Ready("up"));
  EXPECT_FALSE(notifier.Watchdog());
  EXPECT_EQ(notifier.WatchdogInterval(), microseconds(0));
}

TEST(SystemdNotifierTest, ReadyAndStatusArriveInOneDatagramFromThisProcess) {
  NotifySocket socket;
  ASSERT_TRUE(socket.ok()) << socket.error();
  ScopedEnvironment env;
  env.ExportNotify(socket);
  SystemdNotifier notifier;
  EXPECT_TRUE(notifier.enabled());
  EXPECT_TRUE(notifier.Ready("playing on hw:0, 48000 Hz"));
  const auto message = socket.Receive(kTimeout);
  ASSERT_TRUE(message.has_value());
  EXPECT_TRUE(message->Has("READY", "1")) << message->raw;
  EXPECT_EQ(message->Get("STATUS"), "playing on hw:0, 48000 Hz");
  EXPECT_EQ(message->sender_pid, getpid());
}

TEST(SystemdNotifierTest, StatusWatchdogAndStoppingAreSeparateDatagrams) {
  NotifySocket socket;
  ASSERT_TRUE(socket.ok()) << socket.error();
  ScopedEnvironment env;
  env.ExportNotify(socket);
  SystemdNotifier notifier;
  EXPECT_TRUE(notifier.Status("standby: device gone\nretrying"));
  EXPECT_TRUE(notifier.Watchdog());
  EXPECT_TRUE(notifier.Stopping());
  const auto status = socket.Receive(kTimeout);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->raw, "STATUS=standby: device gone retrying") << "a newline would end STATUS";
  const auto watchdog = socket.Receive(kTimeout);
  ASSERT_TRUE(watchdog.has_value());
  EXPECT_EQ(watchdog->raw, "WATCHDOG=1");
  const auto stopping = socket.Receive(kTimeout);
  ASSERT_TRUE(stopping.has_value());
  EXPECT_EQ(stopping->raw, "STOPPING=1");
  EXPECT_FALSE(socket.Receive(milliseconds(50)).has_value());
  EXPECT_EQ(socket.history().size(), 3u);
}

TEST(SystemdNotifierTest, ReadyWithoutStatusSendsOnlyReady) {
  NotifySocket socket;
  ASSERT_TRUE(socket.ok()) << socket.error();
  ScopedEnvironment env;
  env.ExportNotify(socket);
  SystemdNotifier notifier;
  EXPECT_TRUE(notifier.Ready(""));
  const auto message = socket.Receive(kTimeout);
  ASSERT_TRUE(message.has_value());
  EXPECT_EQ(message->raw, "READY=1");
}

TEST(SystemdNotifierTest, WatchdogIntervalComesFromWatchdogUsecForThisPid) {
  NotifySocket socket;
  ASSERT_TRUE(socket.ok()) << socket.error();
  {
    ScopedEnvironment env;
    env.ExportNotify(socket, microseconds(2'500'000), getpid());
    EXPECT_EQ(SystemdNotifier().WatchdogInterval(), microseconds(2'500'000));
  }
  {
    ScopedEnvironment env;  // no WATCHDOG_PID: meant for whoever reads it (e.g. a child)
    env.ExportNotify(socket, microseconds(300'000));
    EXPECT_EQ(SystemdNotifier().WatchdogInterval(), microseconds(300'000));
  }
  {
    ScopedEnvironment env;  // another process's watchdog
    env.ExportNotify(socket, microseconds(300'000), getppid());
    EXPECT_EQ(SystemdNotifier().WatchdogInterval(), microseconds(0));
  }
  {
    ScopedEnvironment env;
    env.ExportNotify(socket).Set("WATCHDOG_USEC", "soon");
    EXPECT_EQ(SystemdNotifier().WatchdogInterval(), microseconds(0));
  }
  {
    ScopedEnvironment env;
    env.ExportNotify(socket);
    EXPECT_EQ(SystemdNotifier().WatchdogInterval(), microseconds(0));
  }
}

TEST(SystemdNotifierTest, AChildProcessReachesTheTestSocket) {
  NotifySocket socket;
  ASSERT_TRUE(socket.ok()) << socket.error();
  ScopedEnvironment env;
  env.ExportNotify(socket, microseconds(200'000));
  const pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    SystemdNotifier notifier;  // what the firmware does, in the child
    const bool ok = notifier.WatchdogInterval() == microseconds(200'000) &&
                    notifier.Ready("child up") && notifier.Watchdog() && notifier.Watchdog();
    _exit(ok ? 0 : 1);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  const auto ready = socket.WaitFor("READY", "1", kTimeout);
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->sender_pid, child);
  EXPECT_EQ(ready->Get("STATUS"), "child up");
  const auto rest = socket.Collect(milliseconds(100));
  ASSERT_EQ(rest.size(), 2u);
  for (const auto& message : rest) {
    EXPECT_TRUE(message.Has("WATCHDOG", "1"));
    EXPECT_EQ(message.sender_pid, child);
  }
}

}  // namespace
}  // namespace chronus::hal::watchdog
