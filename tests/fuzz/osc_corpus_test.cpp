// Fuzz corpus regression: every input of tests/fuzz/corpus/osc (seeds, and what the fuzzer found
// interesting, minimised) goes through the fuzz target again, in every build (gcc dev, ASan+UBSan,
// TSan) — no libFuzzer needed. A crash, a sanitizer report or a broken invariant fails the test.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "tests/fuzz/osc_fuzz_target.h"

namespace chronus::fuzz {
namespace {

namespace fs = std::filesystem;

std::vector<fs::path> CorpusFiles() {
  std::vector<fs::path> files;
  for (const auto& entry : fs::directory_iterator(CHRONUS_OSC_CORPUS_DIR)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  std::sort(files.begin(), files.end());
  return files;
}

TEST(OscFuzzCorpus, EveryInputIsHandledAndEveryInvariantHolds) {
  const std::vector<fs::path> files = CorpusFiles();
  ASSERT_GE(files.size(), 50u) << "corpus missing or too small: " << CHRONUS_OSC_CORPUS_DIR;
  for (const fs::path& file : files) {
    std::ifstream in(file, std::ios::binary);
    const std::vector<uint8_t> bytes((std::istreambuf_iterator<char>(in)), {});
    SCOPED_TRACE(file.filename().string());
    FuzzOscPacket(bytes.data(), bytes.size());
  }
  const FuzzOscStats stats = FuzzOscCounters();
  std::printf(
      "[ measure  ] %llu corpus packets: %llu refused by liblo, %llu messages translated, %llu "
      "accepted\n",
      static_cast<unsigned long long>(stats.packets),
      static_cast<unsigned long long>(stats.liblo_errors),
      static_cast<unsigned long long>(stats.messages),
      static_cast<unsigned long long>(stats.accepted));
  EXPECT_EQ(stats.packets, files.size());
  // The corpus reaches both sides: well-formed requests and malformed packets.
  EXPECT_GT(stats.accepted, 10u);
  EXPECT_GT(stats.liblo_errors, 10u);
  // ... and every other translator of the network input, accepting and refusing.
  std::printf(
      "[ measure  ] sound/gen %llu (%llu accepted, %llu SoundFont names resolved), /dirt/play "
      "%llu (%llu events, %llu synth), %llu timed messages\n",
      static_cast<unsigned long long>(stats.sound_messages),
      static_cast<unsigned long long>(stats.sound_accepted),
      static_cast<unsigned long long>(stats.soundfonts_resolved),
      static_cast<unsigned long long>(stats.dirt_play),
      static_cast<unsigned long long>(stats.dirt_events),
      static_cast<unsigned long long>(stats.dirt_synth_events),
      static_cast<unsigned long long>(stats.timed_messages));
  EXPECT_GT(stats.sound_accepted, 5u);
  EXPECT_GT(stats.sound_messages, stats.sound_accepted);
  EXPECT_GE(stats.soundfonts_resolved, 1u);
  EXPECT_GE(stats.dirt_events, 5u);
  EXPECT_GT(stats.dirt_play, stats.dirt_events);
  EXPECT_GE(stats.dirt_synth_events, 1u);
  EXPECT_GE(stats.dirt_requests, 2u);
  EXPECT_GT(stats.timed_messages, 5u);
}

}  // namespace
}  // namespace chronus::fuzz
