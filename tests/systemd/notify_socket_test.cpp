// The notification-socket test helper: parsing, waiting, collecting, environment export.
#include "tests/systemd/notify_socket.h"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <string>

namespace chronus::test {
namespace {

using std::chrono::milliseconds;

// Sends one datagram to `path`, as sd_notify would.
bool SendTo(const std::string& path, const std::string& text) {
  const int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  const ssize_t sent = sendto(fd, text.data(), text.size(), 0,
                              reinterpret_cast<const sockaddr*>(&address), sizeof(address));
  close(fd);
  return sent == static_cast<ssize_t>(text.size());
}

TEST(SystemdNotifySocketTest, ParsesKeyValueLines) {
  const auto fields = ParseNotifyFields("READY=1\nSTATUS=a=b c\nnonsense\n=x\nSTATUS=last");
  EXPECT_EQ(fields.size(), 2u);
  EXPECT_EQ(fields.at("READY"), "1");
  EXPECT_EQ(fields.at("STATUS"), "last");
  EXPECT_TRUE(ParseNotifyFields("").empty());
}

TEST(SystemdNotifySocketTest, ReceivesWaitsForAndCollects) {
  NotifySocket socket;
  ASSERT_TRUE(socket.ok()) << socket.error();
  EXPECT_EQ(socket.path()[0], '/');
  EXPECT_FALSE(socket.Receive(milliseconds(20)).has_value());

  ASSERT_TRUE(SendTo(socket.path(), "STATUS=starting"));
  ASSERT_TRUE(SendTo(socket.path(), "READY=1\nSTATUS=up"));
  ASSERT_TRUE(SendTo(socket.path(), "WATCHDOG=1"));
  const auto ready = socket.WaitFor("READY", "1", milliseconds(1000));
  ASSERT_TRUE(ready.has_value());
  EXPECT_EQ(ready->Get("STATUS"), "up");
  EXPECT_EQ(ready->sender_pid, getpid());
  const auto rest = socket.Collect(milliseconds(50));
  ASSERT_EQ(rest.size(), 1u);
  EXPECT_TRUE(rest[0].Has("WATCHDOG", "1"));
  EXPECT_EQ(socket.history().size(), 3u);
  EXPECT_FALSE(socket.WaitFor("STOPPING", "1", milliseconds(30)).has_value());
}

TEST(SystemdNotifySocketTest, ScopedEnvironmentRestoresVariables) {
  setenv("CHRONUS_TEST_A", "old", 1);
  unsetenv("CHRONUS_TEST_B");
  {
    ScopedEnvironment env;
    env.Set("CHRONUS_TEST_A", "new").Set("CHRONUS_TEST_B", "b").Unset("CHRONUS_TEST_A");
    EXPECT_EQ(std::getenv("CHRONUS_TEST_A"), nullptr);
    EXPECT_STREQ(std::getenv("CHRONUS_TEST_B"), "b");
  }
  EXPECT_STREQ(std::getenv("CHRONUS_TEST_A"), "old");
  EXPECT_EQ(std::getenv("CHRONUS_TEST_B"), nullptr);
  unsetenv("CHRONUS_TEST_A");
}

TEST(SystemdNotifySocketTest, TheSocketAndItsDirectoryAreRemoved) {
  std::string path;
  {
    NotifySocket socket;
    ASSERT_TRUE(socket.ok()) << socket.error();
    path = socket.path();
    EXPECT_EQ(access(path.c_str(), F_OK), 0);
  }
  EXPECT_NE(access(path.c_str(), F_OK), 0);
  EXPECT_NE(access(path.substr(0, path.rfind('/')).c_str(), F_OK), 0);
}

}  // namespace
}  // namespace chronus::test
