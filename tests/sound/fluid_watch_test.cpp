// The watchdog's check of the FluidSynth worker: a stalled render (the worker's own stall hook) is
// one episode, logged once when it starts and once when the worker renders again; a stall shorter
// than the limit is none; no block while the audio thread plays is stuck, a stopped engine is not.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "firmware/sound/fluid_watch.h"
#include "firmware/sound/fluid_worker.h"
#include "hal/rt/clock.h"

namespace chronus::firmware {
namespace {

int Count(const std::vector<std::string>& lines, const std::string& part) {
  int n = 0;
  for (const std::string& line : lines) n += line.find(part) != std::string::npos ? 1 : 0;
  return n;
}

TEST(FluidWatch, StalledRenderIsOneEpisodeLoggedOnceAndClears) {
  FluidWorker worker(FluidWorkerConfig{-1, 0, 128, 1}, nullptr);  // renders silence
  worker.Start();
  std::atomic<uint64_t> periods{0};
  std::vector<std::string> lines;
  FluidWatch watch({[&] { return worker.render_started_ns(); },
                    [&] { return worker.blocks_rendered(); }, [&] { return periods.load(); }},
                   0.25, [&](const std::string& line) { lines.push_back(line); });
  // This thread plays the audio thread (a period every 2 ms, never waiting for the worker) and
  // the watchdog (a tick every 5 ms).
  bool was_stuck = false;
  auto run = [&](int ms) {
    const int64_t until = hal::MonotonicNs() + int64_t{ms} * 1000000;
    int64_t next_tick = 0;
    while (hal::MonotonicNs() < until) {
      FluidBlock* block = worker.popBlockRt();
      worker.EndPeriodRt();
      if (block != nullptr) worker.returnBlockRt(block);
      periods.fetch_add(1);
      const int64_t now = hal::MonotonicNs();
      if (now >= next_tick) {
        watch.Tick(now);
        was_stuck = was_stuck || watch.stuck();
        next_tick = now + 5000000;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
  };
  run(200);
  EXPECT_EQ(watch.episodes(), 0u);
  EXPECT_TRUE(lines.empty());
  worker.InjectStallNonRt(100.0);  // shorter than the 250 ms limit: not stuck
  run(400);
  EXPECT_EQ(watch.episodes(), 0u);
  EXPECT_FALSE(was_stuck);
  worker.InjectStallNonRt(700.0);
  run(1200);
  EXPECT_TRUE(was_stuck);
  EXPECT_FALSE(watch.stuck()) << "cleared once it renders again";
  EXPECT_EQ(watch.episodes(), 1u);
  EXPECT_EQ(Count(lines, "FluidSynth worker stuck"), 1) << "logged once per episode";
  EXPECT_EQ(Count(lines, "renders again"), 1);
  for (const std::string& line : lines) std::printf("[ log      ] %s\n", line.c_str());
  worker.InjectStallNonRt(700.0);
  run(1200);
  EXPECT_EQ(watch.episodes(), 2u);
  EXPECT_EQ(Count(lines, "FluidSynth worker stuck"), 2);
  worker.Stop();
}

TEST(FluidWatch, NoBlockWhileTheEnginePlaysIsStuckAStoppedEngineIsNot) {
  uint64_t blocks = 10, periods = 100;
  std::vector<std::string> lines;
  FluidWatch watch({[] { return int64_t{0}; }, [&] { return blocks; }, [&] { return periods; }},
                   0.25, [&](const std::string& line) { lines.push_back(line); });
  const int64_t ms = 1000000;
  watch.Tick(0);
  watch.Tick(1000 * ms);  // the engine stopped (no periods) and so did the worker: fine
  EXPECT_FALSE(watch.stuck());
  periods += 1;  // the audio thread plays on, the worker renders nothing
  watch.Tick(1200 * ms);
  EXPECT_FALSE(watch.stuck()) << "one period is within the lookahead";
  periods += 100;
  watch.Tick(1300 * ms);
  EXPECT_TRUE(watch.stuck());
  EXPECT_EQ(watch.episodes(), 1u);
  watch.Tick(1400 * ms);
  EXPECT_EQ(lines.size(), 1u);
  EXPECT_NE(lines[0].find("no block for 1300 ms"), std::string::npos) << lines[0];
  blocks += 1;
  watch.Tick(1500 * ms);
  EXPECT_FALSE(watch.stuck());
  EXPECT_EQ(watch.episodes(), 1u);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_NE(lines[1].find("renders again after 1500 ms"), std::string::npos) << lines[1];
}

}  // namespace
}  // namespace chronus::firmware
