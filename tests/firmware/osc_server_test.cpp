#include "firmware/control/osc_server.h"

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <optional>
#include <thread>

#include "firmware/control/osc_translate.h"
#include "tests/support/control_drain.h"
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
    return test::DrainControl(control_, expected, timeout_ms);
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

// A raw UDP socket to the server under test.
class RawSender {
 public:
  explicit RawSender(int port) : fd_(socket(AF_INET, SOCK_DGRAM, 0)) {
    addr_.sin_family = AF_INET;
    addr_.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr_.sin_port = htons(static_cast<uint16_t>(port));
  }
  ~RawSender() { close(fd_); }
  bool Send(const void* data, size_t size) {
    return sendto(fd_, data, size, 0, reinterpret_cast<sockaddr*>(&addr_), sizeof(addr_)) ==
           static_cast<ssize_t>(size);
  }

 private:
  int fd_;
  sockaddr_in addr_{};
};

std::vector<uint8_t> SerialiseBundle(lo_bundle bundle) {
  size_t size = 0;
  void* data = lo_bundle_serialise(bundle, nullptr, &size);
  std::vector<uint8_t> bytes(static_cast<uint8_t*>(data), static_cast<uint8_t*>(data) + size);
  free(data);
  return bytes;
}

TEST_F(OscServerTest, BundlesAreAppliedAtOnceWhateverTheirTimeTag) {
  // A far-future time tag would make liblo keep the messages in an unbounded queue: they are
  // applied at once instead, nested bundles included.
  lo_timetag future = {0xf0000000u, 0};
  lo_bundle outer = lo_bundle_new(future);
  lo_message on = lo_message_new();
  lo_message_add_int32(on, 60);
  lo_message_add_float(on, 0.5f);
  lo_bundle_add_message(outer, "/note/on", on);
  lo_bundle inner = lo_bundle_new(future);
  lo_message cutoff = lo_message_new();
  lo_message_add_float(cutoff, 500.0f);
  lo_bundle_add_message(inner, "/param/cutoff", cutoff);
  lo_bundle_add_bundle(outer, inner);
  const std::vector<uint8_t> bytes = SerialiseBundle(outer);
  lo_bundle_free_recursive(outer);
  RawSender sender(port_);
  ASSERT_TRUE(sender.Send(bytes.data(), bytes.size()));
  auto commands = Drain(2);
  ASSERT_EQ(commands.size(), 2u);
  EXPECT_EQ(commands[0].type, CommandType::kNoteOn);
  EXPECT_EQ(commands[1].param, dsp::ParamId::kCutoffHz);
  EXPECT_EQ(server_->bad_messages(), 0u);
}

TEST_F(OscServerTest, DatagramsLongerThanTheLimitAreRefused) {
  // A well-formed /record/start whose name makes it 5,000 bytes: liblo reads 4,096 of it.
  lo_message m = lo_message_new();
  lo_message_add_string(m, std::string(4980, 'n').c_str());
  size_t size = 0;
  void* bytes = lo_message_serialise(m, "/record/start", nullptr, &size);
  ASSERT_GT(size, size_t(kMaxOscPacketBytes));
  RawSender sender(port_);
  ASSERT_TRUE(sender.Send(bytes, size));
  WaitBad(1);
  EXPECT_EQ(server_->bad_messages(), 1u);
  free(bytes);
  lo_message_free(m);
}

TEST_F(OscServerTest, StatusCarriesTheServersOwnCounters) {
  lo_send(client_->address(), "/nowhere", "");
  WaitBad(1);
  auto status = client_->Status(1000);
  ASSERT_TRUE(status);
  for (const char* key : {"osc_messages", "osc_queue_full", "kernel_drops", "throttled_requests"}) {
    EXPECT_EQ(status->count(key), 1u) << key;
  }
  EXPECT_EQ((*status)["kernel_drops"], 0);
  EXPECT_EQ((*status)["osc_queue_full"], 0);
  EXPECT_GE(server_->receive_buffer_bytes(), 200000);  // at least the usual net.core.rmem_default
}

TEST_F(OscServerTest, AFullControlLaneDropsAndCountsWithoutCallingItMalformed) {
  // Nobody drains the queue: the lane (2048 commands) fills up.
  const int sent = int(ControlQueue::kLaneCapacity) + 100;
  for (int i = 0; i < sent; ++i) lo_send(client_->address(), "/note/off", "i", i % 128);
  for (int i = 0; i < 400 && server_->messages() + server_->queue_full() < uint64_t(sent); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(server_->messages(), ControlQueue::kLaneCapacity);
  EXPECT_EQ(server_->queue_full(), 100u);
  EXPECT_EQ(server_->bad_messages(), 0u);
}

TEST(OscServerLimits, RepliesAreRateLimited) {
  ControlQueue control;
  OscServerConfig config{test::FreeUdpPort()};
  config.replies_per_second = 0.001;
  config.reply_burst = 3;
  OscServer server(config, control, nullptr, [] { return std::vector<StatusEntry>{}; });
  ASSERT_EQ(server.Start(), "");
  test::OscClient client(server.port());
  int answered = 0;
  for (int i = 0; i < 10; ++i) answered += client.Status(i < 3 ? 1000 : 50).has_value();
  EXPECT_EQ(answered, 3);
  EXPECT_EQ(server.throttled(), 7u);
}

TEST(OscServerLimits, KernelDropsAreCountedSeparately) {
  // The server thread is held up in /status while datagrams pour in: the kernel drops what does
  // not fit the (small) receive buffer, and the server reports it.
  ControlQueue control;
  OscServerConfig config{test::FreeUdpPort()};
  config.receive_buffer_bytes = 4096;
  std::atomic<bool> hold{false};
  OscServer server(config, control, nullptr, [&] {
    while (hold.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return std::vector<StatusEntry>{};
  });
  ASSERT_EQ(server.Start(), "");
  RawSender sender(server.port());
  lo_message status = lo_message_new();
  size_t status_size = 0;
  void* status_bytes = lo_message_serialise(status, "/status", nullptr, &status_size);
  lo_message off = lo_message_new();
  lo_message_add_int32(off, 1);
  size_t off_size = 0;
  void* off_bytes = lo_message_serialise(off, "/note/off", nullptr, &off_size);
  hold = true;
  ASSERT_TRUE(sender.Send(status_bytes, status_size));
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the thread is now held
  const int sent = 1000;
  for (int i = 0; i < sent; ++i) sender.Send(off_bytes, off_size);
  hold = false;
  for (int i = 0; i < 400 && server.messages() + server.kernel_drops() < uint64_t(sent) + 1; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  std::printf("[ measure  ] %d sent into a %d-byte buffer: %llu accepted, %llu kernel drops\n",
              sent, server.receive_buffer_bytes(),
              static_cast<unsigned long long>(server.messages()),
              static_cast<unsigned long long>(server.kernel_drops()));
  EXPECT_GT(server.kernel_drops(), 0u);
  EXPECT_EQ(server.messages() + server.kernel_drops(), uint64_t(sent) + 1);  // + the /status
  EXPECT_EQ(server.bad_messages(), 0u);
  free(status_bytes);
  free(off_bytes);
  lo_message_free(status);
  lo_message_free(off);
}

TEST(OscServerLimits, DatagramsThatArrivedBeforeStopAreStillHandled) {
  // The server thread is held up in /status while commands arrive; Stop() then handles them on
  // the stopping thread instead of losing them (a note-off sent just before a shutdown counts).
  ControlQueue control;
  std::atomic<bool> hold{false};
  OscServer server({test::FreeUdpPort()}, control, nullptr, [&] {
    while (hold.load()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
    return std::vector<StatusEntry>{};
  });
  ASSERT_EQ(server.Start(), "");
  test::OscClient client(server.port());
  hold = true;
  lo_send(client.address(), "/status", "");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the thread is now held
  for (int i = 0; i < 100; ++i) lo_send(client.address(), "/note/off", "i", i);
  std::thread stopper([&] { server.Stop(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  hold = false;
  stopper.join();
  EXPECT_EQ(server.messages(), 101u);
  int queued = 0;
  Command c;
  while (control.popRt(&c)) ++queued;
  EXPECT_EQ(queued, 100);
}

class OscRecordTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("chronus-osc-" + std::to_string(getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    RecorderConfig config;
    config.directory = dir_ / "rec";
    config.max_block_frames = 64;
    config.ring_blocks = 16;
    recorder_ = std::make_unique<Recorder>(config);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  void StartServer(OscServerConfig config) {
    config.port = test::FreeUdpPort();
    server_ = std::make_unique<OscServer>(config, control_, recorder_.get(),
                                          [] { return std::vector<StatusEntry>{}; });
    ASSERT_EQ(server_->Start(), "");
    client_ = std::make_unique<test::OscClient>(server_->port());
  }

  std::optional<std::pair<bool, std::string>> Request(const char* address, const char* name) {
    lo_message m = lo_message_new();
    if (name != nullptr) lo_message_add_string(m, name);
    client_->Send(address, m);
    lo_message_free(m);
    return client_->WaitResult(address, 2000);
  }

  std::filesystem::path dir_;
  ControlQueue control_;
  std::unique_ptr<Recorder> recorder_;
  std::unique_ptr<OscServer> server_;
  std::unique_ptr<test::OscClient> client_;
};

TEST_F(OscRecordTest, RecordStartAndStopDriveTheRecorder) {
  StartServer({});
  auto started = Request("/record/start", "osc take");
  ASSERT_TRUE(started);
  EXPECT_TRUE(started->first) << started->second;
  EXPECT_EQ(std::filesystem::path(started->second), dir_ / "rec" / "osc_take.wav");
  EXPECT_TRUE(recorder_->recording());
  auto stopped = Request("/record/stop", nullptr);
  ASSERT_TRUE(stopped);
  EXPECT_TRUE(stopped->first) << stopped->second;
  EXPECT_FALSE(recorder_->recording());
}

TEST_F(OscRecordTest, TraversalNamesAreRefusedWithAReason) {
  StartServer({});
  for (const char* name : {"../../escape", "/tmp/abs", "..", "a\\..\\b", "x/../../y"}) {
    auto result = Request("/record/start", name);
    ASSERT_TRUE(result) << name;
    EXPECT_FALSE(result->first) << name;
    EXPECT_NE(result->second.find("take name"), std::string::npos) << result->second;
    EXPECT_FALSE(recorder_->recording()) << name;
  }
  EXPECT_EQ(server_->bad_messages(), 5u);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "escape"));
  EXPECT_FALSE(std::filesystem::exists(dir_ / "rec"));  // nothing was even created
}

TEST_F(OscRecordTest, RecordingRequestsAreRateLimited) {
  OscServerConfig config;
  config.recordings_per_second = 0.001;
  config.recording_burst = 2;
  StartServer(config);
  auto a = Request("/record/start", "a");
  auto b = Request("/record/stop", nullptr);
  auto c = Request("/record/start", "c");
  ASSERT_TRUE(a && b && c);
  EXPECT_TRUE(a->first);
  EXPECT_TRUE(b->first);
  EXPECT_FALSE(c->first);
  EXPECT_NE(c->second.find("too many"), std::string::npos) << c->second;
  EXPECT_FALSE(recorder_->recording());
  EXPECT_EQ(server_->throttled(), 1u);
}

}  // namespace
}  // namespace chronus::firmware
