#include "firmware/control/osc_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <thread>

#include "tests/support/firmware_process.h"

namespace chronus::firmware {
namespace {

class OscServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    port_ = test::FreeUdpPort();
    server_ = std::make_unique<OscServer>(OscServerConfig{port_}, control_, nullptr, [] {
      return std::vector<StatusEntry>{{"sample_rate", 48000}, {"worst_block_us", 12.5, true}};
    });
    ASSERT_EQ(server_->Start(), "");
    client_ = std::make_unique<test::OscClient>(port_);
  }

  // Collects the commands that arrive within `timeout_ms`.
  std::vector<Command> Drain(size_t expected, int timeout_ms = 1000) {
    std::vector<Command> out;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
    while (out.size() < expected && std::chrono::steady_clock::now() < deadline) {
      Command c;
      if (control_.popRt(&c)) {
        out.push_back(c);
      } else {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    }
    return out;
  }

  void WaitBad(uint64_t expected) {
    for (int i = 0; i < 200 && server_->bad_messages() < expected; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
  }

  int port_ = 0;
  ControlQueue control_;
  std::unique_ptr<OscServer> server_;
  std::unique_ptr<test::OscClient> client_;
};

TEST_F(OscServerTest, NotesAndParametersBecomeTypedCommands) {
  lo_send(client_->address(), "/note/on", "if", 60, 0.5f);
  lo_send(client_->address(), "/note/on", "ff", 61.0f, 1.0f);  // floats accepted when integral
  lo_send(client_->address(), "/note/off", "i", 60);
  lo_send(client_->address(), "/param/cutoff", "f", 1200.0f);
  lo_send(client_->address(), "/param/release", "i", 2);
  lo_send(client_->address(), "/param/gain", "f", -12.0f);
  auto commands = Drain(6);
  ASSERT_EQ(commands.size(), 6u);
  EXPECT_EQ(commands[0].type, CommandType::kNoteOn);
  EXPECT_EQ(commands[0].note, 60);
  EXPECT_FLOAT_EQ(commands[0].value, 0.5f);
  EXPECT_EQ(commands[1].note, 61);
  EXPECT_EQ(commands[2].type, CommandType::kNoteOff);
  EXPECT_EQ(commands[3].type, CommandType::kSetParam);
  EXPECT_EQ(commands[3].param, dsp::ParamId::kCutoffHz);
  EXPECT_FLOAT_EQ(commands[3].value, 1200.0f);
  EXPECT_EQ(commands[4].param, dsp::ParamId::kReleaseS);
  EXPECT_FLOAT_EQ(commands[4].value, 2.0f);
  EXPECT_EQ(commands[5].param, dsp::ParamId::kMasterGainDb);
  EXPECT_EQ(server_->bad_messages(), 0u);
}

TEST_F(OscServerTest, EveryParameterOfTheTableIsAddressable) {
  for (const auto& spec : dsp::kParamSpecs) {
    lo_send(client_->address(), ("/param/" + std::string(spec.name)).c_str(), "f",
            spec.default_value);
  }
  auto commands = Drain(dsp::kParamCount);
  ASSERT_EQ(commands.size(), dsp::kParamCount);
  for (size_t i = 0; i < dsp::kParamCount; ++i)
    EXPECT_EQ(commands[i].param, dsp::kParamSpecs[i].id);
}

TEST_F(OscServerTest, WrongTypesAddressesAndRangesAreRefusedAndCounted) {
  lo_send(client_->address(), "/note/on", "s", "sixty");
  lo_send(client_->address(), "/note/on", "i", 60);            // missing velocity
  lo_send(client_->address(), "/note/on", "if", 128, 0.5f);    // note out of range
  lo_send(client_->address(), "/note/on", "ff", 60.5f, 0.5f);  // not an integer note
  lo_send(client_->address(), "/note/on", "if", 60, 1.5f);     // velocity out of range
  lo_send(client_->address(), "/param/cutoff", "f", 5.0f);     // below 20 Hz
  lo_send(client_->address(), "/param/cutoff", "f", NAN);
  lo_send(client_->address(), "/param/nonsense", "f", 1.0f);
  lo_send(client_->address(), "/nowhere", "");
  lo_send(client_->address(), "/record/start", "");  // no recorder in this test
  WaitBad(10);
  EXPECT_EQ(server_->bad_messages(), 10u);
  EXPECT_TRUE(Drain(1, 100).empty());
}

TEST_F(OscServerTest, GarbageBytesAreCounted) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port_));
  const char* packets[] = {"/note/on\0\0\0\0,if\0\x01", "\xff\xfe\xfd", "#bundle\0garbage",
                           "/x\0\0,s\0\0abc"};  // last: string without its terminator
  const size_t sizes[] = {17, 3, 15, 11};
  for (int i = 0; i < 4; ++i) {
    sendto(fd, packets[i], sizes[i], 0, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  }
  close(fd);
  WaitBad(4);
  EXPECT_EQ(server_->bad_messages(), 4u);
  EXPECT_TRUE(Drain(1, 100).empty());
}

TEST_F(OscServerTest, StatusRepliesWithAlternatingKeysAndValues) {
  auto status = client_->Status(1000);
  ASSERT_TRUE(status);
  EXPECT_EQ((*status)["sample_rate"], 48000);
  EXPECT_DOUBLE_EQ((*status)["worst_block_us"], 12.5);
}

TEST_F(OscServerTest, RecordStartAndStopDriveTheRecorder) {
  const auto dir =
      std::filesystem::temp_directory_path() / ("chronus-osc-" + std::to_string(getpid()));
  RecorderConfig config;
  config.directory = dir;
  config.max_block_frames = 64;
  config.ring_blocks = 16;
  Recorder recorder(config);
  OscServer server({test::FreeUdpPort()}, control_, &recorder,
                   [] { return std::vector<StatusEntry>{}; });
  ASSERT_EQ(server.Start(), "");
  test::OscClient client(server.port());
  lo_message m = lo_message_new();
  lo_message_add_string(m, "../../escape");
  client.Send("/record/start", m);
  lo_message_free(m);
  auto started = client.WaitResult("/record/start", 2000);
  ASSERT_TRUE(started);
  EXPECT_TRUE(started->first) << started->second;
  EXPECT_EQ(std::filesystem::path(started->second).parent_path(), dir);
  EXPECT_TRUE(recorder.recording());
  m = lo_message_new();
  client.Send("/record/stop", m);
  lo_message_free(m);
  auto stopped = client.WaitResult("/record/stop", 2000);
  ASSERT_TRUE(stopped);
  EXPECT_TRUE(stopped->first) << stopped->second;
  EXPECT_FALSE(recorder.recording());
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace chronus::firmware
