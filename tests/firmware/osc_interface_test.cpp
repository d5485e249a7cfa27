// The OSC interface in process (no sound card): allow-list, bind address, TCP, timetagged
// bundles (with an engine clock published by the test), subscriptions, /fail for refusals.
#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <time.h>

#include <array>
#include <atomic>
#include <chrono>
#include <thread>

#include "firmware/control/net_allow_list.h"
#include "firmware/control/osc_server.h"
#include "firmware/control/osc_subscriptions.h"
#include "firmware/control/osc_translate.h"
#include "firmware/engine/engine_clock.h"
#include "hal/rt/clock.h"
#include "tests/support/control_drain.h"
#include "tests/support/firmware_process.h"
#include "tests/support/sanitizer.h"
#include "tests/support/timetag.h"

namespace chronus::firmware {
namespace {

using chronus::test::RealtimeNs;
using chronus::test::TimetagAtRealtimeNs;

std::vector<Command> Drain(ControlQueue& control, size_t expected, int timeout_ms = 1000) {
  return test::DrainControl(control, expected, timeout_ms);
}

std::unique_ptr<OscServer> MakeServer(OscServerConfig config, ControlQueue& control) {
  // The default port (9000) may be taken (a running firmware, a parallel test): a free one.
  if (config.port == 0 || config.port == OscServerConfig{}.port) config.port = test::FreeUdpPort();
  return std::make_unique<OscServer>(config, control, nullptr, [] {
    return std::vector<StatusEntry>{{"sample_rate", 1}};
  });
}

TEST(NetAllowList, MatchesIpv4AndIpv6NetworksAndMappedAddresses) {
  NetAllowList list;
  EXPECT_TRUE(list.Allows("8.8.8.8"));  // empty: everyone
  EXPECT_EQ(list.Add("10.0.0.0/8"), "");
  EXPECT_EQ(list.Add("192.168.1.7"), "");
  EXPECT_EQ(list.Add("fd00::/8"), "");
  EXPECT_TRUE(list.Allows("10.200.3.4"));
  EXPECT_TRUE(list.Allows("::ffff:10.1.2.3"));  // IPv4 seen on a dual-stack socket
  EXPECT_TRUE(list.Allows("192.168.1.7"));
  EXPECT_FALSE(list.Allows("192.168.1.8"));
  EXPECT_FALSE(list.Allows("127.0.0.1"));
  EXPECT_FALSE(list.Allows("11.0.0.1"));
  EXPECT_TRUE(list.Allows("fd12::1"));
  EXPECT_FALSE(list.Allows("fe80::1"));
  EXPECT_FALSE(list.Allows("not-an-address"));
  NetAllowList partial;
  EXPECT_EQ(partial.Add("172.16.0.0/12"), "");
  EXPECT_TRUE(partial.Allows("172.31.255.255"));
  EXPECT_FALSE(partial.Allows("172.32.0.0"));
  EXPECT_NE(list.Add("10.0.0.0/33"), "");
  EXPECT_NE(list.Add("300.1.1.1/8"), "");
  EXPECT_NE(list.Add("10.0.0.0/"), "");
  EXPECT_NE(list.Add("localhost"), "");
}

TEST(OscSubscriptions, RegistersRenewsRemovesExpiresAndIsBounded) {
  OscSubscriptions subs(2, 60.0);
  using R = OscSubscriptions::Result;
  EXPECT_EQ(subs.Notify("127.0.0.1", "5000", true, 0.0), R::kAdded);
  EXPECT_EQ(subs.Notify("127.0.0.1", "5000", true, 50.0), R::kRenewed);  // now expires at 110
  EXPECT_EQ(subs.Notify("127.0.0.1", "5001", true, 1.0), R::kAdded);     // expires at 61
  EXPECT_EQ(subs.Notify("127.0.0.1", "5002", true, 1.0), R::kFull);
  auto targets = subs.TakeTargets();
  ASSERT_EQ(targets.size(), 2u);
  EXPECT_TRUE(targets[0].wants_all);
  EXPECT_FALSE(subs.TakeTargets()[0].wants_all);  // served once
  EXPECT_EQ(subs.Expire(60.0), 0u);
  EXPECT_EQ(subs.Expire(61.0), 1u);  // 5001 did not renew
  EXPECT_EQ(subs.size(), 1u);
  EXPECT_EQ(subs.expired(), 1u);
  EXPECT_EQ(subs.Notify("127.0.0.1", "5001", false, 62.0), R::kNotSubscribed);
  EXPECT_EQ(subs.Notify("127.0.0.1", "5000", false, 62.0), R::kRemoved);
  EXPECT_EQ(subs.size(), 0u);
}

TEST(OscTranslateNotify, AcceptsOneAndZeroOnly) {
  lo_arg one{}, two{};
  one.i = 1;
  two.i = 2;
  lo_arg* argv1[] = {&one};
  lo_arg* argv2[] = {&two};
  EXPECT_EQ(TranslateOsc("/notify", "i", argv1, 1).kind, OscRequest::Kind::kNotify);
  EXPECT_TRUE(TranslateOsc("/notify", "i", argv1, 1).notify_on);
  const OscRequest bad = TranslateOsc("/notify", "i", argv2, 1);
  EXPECT_EQ(bad.kind, OscRequest::Kind::kRefuse);
  EXPECT_TRUE(bad.reply_on_refusal);
  EXPECT_EQ(TranslateOsc("/notify", "", nullptr, 0).kind, OscRequest::Kind::kRefuse);
}

TEST(OscServerAllowList, SenderOutsideTheAllowListIsRefusedAndCounted) {
  ControlQueue control;
  OscServerConfig config;
  config.allow = {"10.0.0.0/8"};
  auto server = MakeServer(config, control);
  ASSERT_EQ(server->Start(), "");
  test::OscClient client(server->port());  // sends from 127.0.0.1
  for (int i = 0; i < 5; ++i) lo_send(client.address(), "/note/on", "if", 60, 0.5f);
  EXPECT_FALSE(client.Status(300).has_value());  // not even answered
  for (int i = 0; i < 100 && server->refused_senders() < 6; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(server->refused_senders(), 6u);
  EXPECT_EQ(server->messages(), 0u);
  EXPECT_TRUE(Drain(control, 1, 50).empty());
}

TEST(OscServerAllowList, SenderInsideTheAllowListIsServed) {
  ControlQueue control;
  OscServerConfig config;
  config.allow = {"10.0.0.0/8", "127.0.0.0/8", "::1"};
  auto server = MakeServer(config, control);
  ASSERT_EQ(server->Start(), "");
  test::OscClient client(server->port());
  lo_send(client.address(), "/note/on", "if", 60, 0.5f);
  EXPECT_EQ(Drain(control, 1).size(), 1u);
  EXPECT_TRUE(client.Status(1000).has_value());
  EXPECT_EQ(server->refused_senders(), 0u);
}

TEST(OscServerAllowList, InvalidNetworkStopsTheStartWithAClearError) {
  ControlQueue control;
  OscServerConfig config;
  config.allow = {"10.0.0.0/40"};
  auto server = MakeServer(config, control);
  EXPECT_NE(server->Start().find("prefix length"), std::string::npos);
}

TEST(OscServerBind, BindsTheConfiguredAddressOnly) {
  ControlQueue control;
  OscServerConfig config;
  config.bind_address = "127.0.0.1";
  auto server = MakeServer(config, control);
  ASSERT_EQ(server->Start(), "");
  EXPECT_GT(server->port(), 0);
  test::OscClient client(server->port());
  EXPECT_TRUE(client.Status(1000).has_value());  // replies come from the bound socket
  lo_send(client.address(), "/note/off", "i", 3);
  EXPECT_EQ(Drain(control, 1).size(), 1u);

  OscServerConfig bad;
  bad.bind_address = "192.0.2.77";  // TEST-NET-1: not an address of this machine
  auto unbindable = MakeServer(bad, control);
  EXPECT_NE(unbindable->Start().find("cannot bind"), std::string::npos);
  OscServerConfig garbage;
  garbage.bind_address = "example";
  EXPECT_NE(MakeServer(garbage, control)->Start().find("not an IP address"), std::string::npos);
}

// liblo reports a port it cannot bind through the same error handler as a malformed packet: that
// is the server's own trouble, given as Start()'s error, not bad input to count.
TEST(OscServerErrors, ATakenPortIsAStartErrorNotABadMessageButAGarbledPacketIsOne) {
  ControlQueue control;
  auto first = MakeServer({}, control);
  ASSERT_EQ(first->Start(), "");
  OscServerConfig same;
  same.port = first->port();
  auto second = std::make_unique<OscServer>(same, control, nullptr,
                                            [] { return std::vector<StatusEntry>{}; });
  EXPECT_NE(second->Start(), "");
  EXPECT_EQ(second->bad_messages(), 0u);
  EXPECT_EQ(first->bad_messages(), 0u);
  EXPECT_FALSE(IsLibloPacketError(LO_NOPORT));

  // A truncated message (address without its terminating padding) is counted.
  const char garbled[] = {'/', 'n', 'o', 't', 'e'};
  lo_address to = lo_address_new("127.0.0.1", std::to_string(first->port()).c_str());
  lo_server from = lo_server_new(nullptr, nullptr);
  ASSERT_NE(from, nullptr);
  const int fd = lo_server_get_socket_fd(from);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(first->port()));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(sendto(fd, garbled, sizeof garbled, 0, reinterpret_cast<sockaddr*>(&addr), sizeof addr),
            static_cast<ssize_t>(sizeof garbled));
  for (int i = 0; i < 200 && first->bad_messages() == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(first->bad_messages(), 1u);
  lo_server_free(from);
  lo_address_free(to);
}

TEST(OscServerTcp, CommandsOverTcp) {
  ControlQueue control;
  OscServerConfig config;
  config.tcp_port = test::FreeUdpPort();  // free for UDP; TCP almost surely too
  auto server = MakeServer(config, control);
  ASSERT_EQ(server->Start(), "");
  ASSERT_GT(server->tcp_port(), 0);
  lo_address tcp =
      lo_address_new_with_proto(LO_TCP, "127.0.0.1", std::to_string(server->tcp_port()).c_str());
  ASSERT_GT(lo_send(tcp, "/note/on", "if", 64, 0.7f), 0);
  const std::vector<Command> commands = Drain(control, 1);
  ASSERT_EQ(commands.size(), 1u);
  EXPECT_EQ(commands[0].note, 64);
  lo_address_free(tcp);
}

TEST(OscServerTcp, UdpAndTcpSendersAtOnceFeedTheOneLaneWithoutLoss) {
  // Both ports are served by one thread: the control lane has a single producer (under TSan a
  // second producer thread would be reported).
  ControlQueue control;
  OscServerConfig config;
  config.tcp_port = test::FreeUdpPort();
  auto server = MakeServer(config, control);
  ASSERT_EQ(server->Start(), "");
  constexpr int kEach = 300;
  std::atomic<bool> go{false};
  auto send = [&](int protocol, int port, int note) {
    lo_address to = lo_address_new_with_proto(protocol, "127.0.0.1", std::to_string(port).c_str());
    while (!go.load()) std::this_thread::yield();
    for (int i = 0; i < kEach; ++i) lo_send(to, "/note/off", "i", note);
    lo_address_free(to);
  };
  std::thread udp(send, LO_UDP, server->port(), 1);
  std::thread tcp(send, LO_TCP, server->tcp_port(), 2);
  go.store(true);
  const std::vector<Command> commands = Drain(control, 2 * kEach, 5000);
  udp.join();
  tcp.join();
  ASSERT_EQ(commands.size(), 2u * kEach);
  int from_udp = 0, from_tcp = 0;
  for (const Command& c : commands) (c.note == 1 ? from_udp : from_tcp) += 1;
  EXPECT_EQ(from_udp, kEach);
  EXPECT_EQ(from_tcp, kEach);
  EXPECT_EQ(server->queue_full(), 0u);
}

TEST(OscServerBackPressure, AFullLaneWaitsForTheAudioThreadInsteadOfDropping) {
  // The lane is filled while nobody consumes; as soon as it is full a consumer takes 64 commands
  // every 2 ms (a slow audio thread). Every command gets in: the server thread waits for room
  // while the socket buffer holds the rest (150 datagrams fit in the smallest usual buffer), and
  // counts the waits, not drops.
  ControlQueue control;
  auto server = MakeServer({}, control);
  ASSERT_EQ(server->Start(), "");
  test::OscClient client(server->port());
  const int sent = static_cast<int>(ControlQueue::kLaneCapacity) + 150;
  std::thread sender([&] {
    for (int i = 0; i < sent; ++i) lo_send(client.address(), "/note/off", "i", i % 128);
  });
  std::vector<Command> got;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (server->messages() < ControlQueue::kLaneCapacity &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::microseconds(500));
  }
  while (got.size() < static_cast<size_t>(sent) && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
    Command c;
    for (int i = 0; i < 64 && control.popRt(&c); ++i) got.push_back(c);
  }
  sender.join();
  EXPECT_EQ(got.size(), static_cast<size_t>(sent));
  EXPECT_EQ(server->queue_full(), 0u);
  EXPECT_GT(server->queue_waits(), 0u);
  EXPECT_EQ(server->kernel_drops(), 0u);
}

TEST(OscServerBackPressure, AStoppedConsumerCostsOneWaitThenFullLanesDropAtOnce) {
  // Nobody ever consumes (the audio thread is gone): the first command that finds the lane full
  // waits kLaneWait, the rest are dropped without waiting, and /status is still answered at once.
  ControlQueue control;
  auto server = MakeServer({}, control);
  ASSERT_EQ(server->Start(), "");
  test::OscClient client(server->port());
  const int sent = static_cast<int>(ControlQueue::kLaneCapacity) + 200;
  for (int i = 0; i < sent; ++i) lo_send(client.address(), "/note/off", "i", i % 128);
  for (int i = 0; i < 400 && server->messages() + server->queue_full() < uint64_t(sent); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  EXPECT_EQ(server->messages(), ControlQueue::kLaneCapacity);
  EXPECT_EQ(server->queue_full(), 200u);
  const auto start = std::chrono::steady_clock::now();
  EXPECT_TRUE(client.Status(1000).has_value());
  if (!test::kSanitized) {
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(100));
  }
}

TEST(OscServerFail, RefusedCommandIsAnsweredWithFailAddressReason) {
  ControlQueue control;
  auto server = MakeServer({}, control);
  ASSERT_EQ(server->Start(), "");
  test::OscClient client(server->port());
  lo_send_from(client.address(), client.server(), LO_TT_IMMEDIATE, "/param/cutoff", "f", 1e9f);
  const auto result = client.WaitResult("/param/cutoff", 1000);
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->first);
  EXPECT_NE(result->second.find("outside"), std::string::npos) << result->second;
  lo_send_from(client.address(), client.server(), LO_TT_IMMEDIATE, "/no/such", "");
  const auto unknown = client.WaitResult("/no/such", 1000);
  ASSERT_TRUE(unknown.has_value());
  EXPECT_EQ(unknown->second, "unknown address");
}

TEST(OscServerBundles, FutureTimetagBecomesTheEngineFrameOfThatTime) {
  ControlQueue control;
  EngineClock clock(48000);
  auto server = MakeServer({}, control);
  server->SetClock(&clock);
  ASSERT_EQ(server->Start(), "");
  test::OscClient client(server->port());

  // Engine frame 96000 is heard now, the time the timetag counts from. Published next to it:
  // published before the server started, it was 13 ms (629 frames) older than `now` once under
  // TSan in CI.
  clock.PublishRt(96000, hal::MonotonicNs(), true);
  const int64_t now = RealtimeNs();
  lo_bundle future = lo_bundle_new(TimetagAtRealtimeNs(now + 500'000'000));  // +0.5 s
  lo_message on = lo_message_new();
  lo_message_add_int32(on, 60);
  lo_message_add_float(on, 0.5f);
  lo_bundle_add_message(future, "/note/on", on);
  lo_message off = lo_message_new();
  lo_message_add_int32(off, 60);
  lo_bundle_add_message(future, "/note/off", off);
  ASSERT_GT(lo_send_bundle_from(client.address(), client.server(), future), 0);
  lo_bundle_free_recursive(future);

  lo_bundle immediate = lo_bundle_new(LO_TT_IMMEDIATE);
  lo_message now_on = lo_message_new();
  lo_message_add_int32(now_on, 61);
  lo_message_add_float(now_on, 0.5f);
  lo_bundle_add_message(immediate, "/note/on", now_on);
  lo_send_bundle_from(client.address(), client.server(), immediate);
  lo_bundle_free_recursive(immediate);
  lo_send(client.address(), "/note/on", "if", 62, 0.5f);  // not in a bundle

  const std::vector<Command> commands = Drain(control, 4);
  ASSERT_EQ(commands.size(), 4u);
  const int64_t expected = 96000 + 24000;  // 0.5 s later
  // Within 1 ms (10 ms under a sanitizer: the clock's realtime/monotonic pairing is read slowly).
  EXPECT_NEAR(static_cast<double>(commands[0].frame), expected, test::kSanitized ? 480.0 : 48.0);
  EXPECT_EQ(commands[1].frame, commands[0].frame);  // same bundle, same frame
  EXPECT_EQ(commands[1].type, CommandType::kNoteOff);
  EXPECT_EQ(commands[2].frame, 0u);  // immediate timetag: at once
  EXPECT_EQ(commands[3].frame, 0u);
  EXPECT_EQ(server->timed_commands(), 2u);
}

TEST(OscServerSubscriptions, SubscribersGetEveryValueThenChangesUntilTheyUnsubscribe) {
  ControlQueue control;
  std::array<std::atomic<float>, dsp::kParamCount> values;
  for (const auto& spec : dsp::kParamSpecs) values[size_t(spec.id)] = spec.default_value;
  std::atomic<uint64_t> changes{0};
  auto server = MakeServer({}, control);
  server->SetParamSource([&](dsp::ParamId id) { return values[size_t(id)].load(); },
                         [&] { return changes.load(); });
  ASSERT_EQ(server->Start(), "");
  test::OscClient subscriber(server->port());
  lo_send_from(subscriber.address(), subscriber.server(), LO_TT_IMMEDIATE, "/notify", "i", 1);
  const auto done = subscriber.WaitResult("/notify", 1000);
  ASSERT_TRUE(done.has_value());
  EXPECT_TRUE(done->first);
  // Every parameter once, at once.
  const auto initial = subscriber.TakeParams(200);
  EXPECT_EQ(initial.size(), dsp::kParamCount);
  EXPECT_EQ(server->subscribers(), 1u);

  // A change from anywhere (here: the test, as a knob would) is pushed within a poll period.
  const double t0 = test::MonotonicSeconds();
  values[size_t(dsp::ParamId::kCutoffHz)] = 1234.0f;
  changes++;
  const auto cutoff = subscriber.WaitParam("cutoff", 1000);
  const double latency_ms = (test::MonotonicSeconds() - t0) * 1000.0;
  ASSERT_TRUE(cutoff.has_value());
  EXPECT_FLOAT_EQ(*cutoff, 1234.0f);
  std::printf("[ measure  ] subscription push latency %.1f ms (parameters polled every 5 ms)\n",
              latency_ms);
  EXPECT_LT(latency_ms, 200.0);

  // Many changes of one parameter within a poll are coalesced: at most ~30 pushes per second.
  for (int i = 0; i < 300; ++i) {
    values[size_t(dsp::ParamId::kResonance)] = static_cast<float>(i) / 300.0f;
    changes++;
    std::this_thread::sleep_for(std::chrono::microseconds(1000));
  }
  const auto burst = subscriber.TakeParams(100);
  size_t resonance = 0;
  for (const auto& [name, value] : burst) resonance += name == "resonance";
  EXPECT_GT(resonance, 0u);
  EXPECT_LT(resonance, 40u);                              // ~0.4 s of changes at <= 30 Hz, not 300
  EXPECT_FLOAT_EQ(burst.back().second, 299.0f / 300.0f);  // the latest value arrives

  lo_send_from(subscriber.address(), subscriber.server(), LO_TT_IMMEDIATE, "/notify", "i", 0);
  ASSERT_TRUE(subscriber.WaitResult("/notify", 1000).has_value());
  values[size_t(dsp::ParamId::kCutoffHz)] = 999.0f;
  changes++;
  EXPECT_TRUE(subscriber.TakeParams(200).empty());
  EXPECT_EQ(server->subscribers(), 0u);
}

TEST(OscServerSubscriptions, WithoutAParameterSourceNotifyFails) {
  ControlQueue control;
  auto server = MakeServer({}, control);
  ASSERT_EQ(server->Start(), "");
  test::OscClient client(server->port());
  lo_send_from(client.address(), client.server(), LO_TT_IMMEDIATE, "/notify", "i", 1);
  const auto result = client.WaitResult("/notify", 1000);
  ASSERT_TRUE(result.has_value());
  EXPECT_FALSE(result->first);
}

TEST(EngineClock, MapsFramesAndTimesAndKeepsTheEarliestEstimate) {
  EngineClock clock(48000);
  EXPECT_FALSE(clock.valid());
  clock.PublishRt(0, 1'000'000'000, true);
  EXPECT_TRUE(clock.valid());
  EXPECT_EQ(clock.FrameAtMonotonicNs(1'000'000'000 + 10'000'000), 480);  // 10 ms later
  EXPECT_EQ(clock.MonotonicNsOfFrame(48000), 2'000'000'000);
  // A late estimate (the thread was preempted) does not move the mapping, beyond the drift
  // allowance (200 ppm of 100 ms = 20 us)...
  clock.PublishRt(4800, 1'100'000'000 + 3'000'000, false);
  EXPECT_EQ(clock.MonotonicNsOfFrame(4800), 1'100'000'000 + 20'000);
  // ... an earlier one does; a reset takes the new value whatever it is.
  clock.PublishRt(9600, 1'200'000'000 - 20'000, false);
  EXPECT_EQ(clock.MonotonicNsOfFrame(9600), 1'200'000'000 - 20'000);
  clock.PublishRt(14400, 1'400'000'000, true);
  EXPECT_EQ(clock.MonotonicNsOfFrame(14400), 1'400'000'000);
  // NTP <-> realtime: 2^31 fraction is half a second.
  const timespec half = EngineClock::NtpToRealtime(2'208'988'800u + 10u, 0x80000000u);
  EXPECT_EQ(half.tv_sec, 10);
  EXPECT_EQ(half.tv_nsec, 500'000'000);
}

}  // namespace
}  // namespace chronus::firmware
