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
}

}  // namespace
}  // namespace chronus::fuzz
