// The SuperDirt port's /samples/reload through a running DirtServer, in process: the bank is
// reloaded from its directory on the loader thread, swapped in by the engine at a block boundary
// (the test renders periods as the audio thread would), and the sender is answered /done with the
// summary.
#include <gtest/gtest.h>
#include <sndfile.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "firmware/control/dirt_server.h"
#include "firmware/engine/audio_engine.h"
#include "firmware/engine/sample_layer.h"
#include "firmware/samples/sample_bank.h"
#include "tests/support/firmware_process.h"

namespace chronus::firmware {
namespace {

namespace fs = std::filesystem;

void WriteWav(const fs::path& path, size_t frames, float value) {
  fs::create_directories(path.parent_path());
  SF_INFO info{};
  info.samplerate = 48000;
  info.channels = 1;
  info.format = SF_FORMAT_WAV | SF_FORMAT_FLOAT;
  SNDFILE* f = sf_open(path.c_str(), SFM_WRITE, &info);
  ASSERT_NE(f, nullptr) << sf_strerror(nullptr);
  const std::vector<float> data(frames, value);
  sf_writef_float(f, data.data(), static_cast<sf_count_t>(frames));
  sf_close(f);
}

TEST(DirtServer, SamplesReloadSwapsInTheBankAndAnswersDone) {
  constexpr uint32_t kBlock = 128;
  const fs::path root = fs::temp_directory_path() / ("chronus_reload_" + std::to_string(getpid()));
  fs::remove_all(root);
  WriteWav(root / "dc" / "0.wav", 4800, 0.5f);
  const SampleBankConfig bank_config{root.string(), 48000.0f, 1 << 20};

  SampleLayerConfig lc;
  lc.block_frames = kBlock;
  lc.workers = 1;
  lc.voices = 4;
  lc.lookahead_blocks = 1;
  lc.max_delay_s = 0.5f;
  SampleLayer layer(lc);
  layer.SetInitialBankNonRt(LoadSampleBank(bank_config));
  ASSERT_EQ(layer.current_bank()->sound_count(), 1u);
  ControlQueue queue;
  EngineConfig ec;
  ec.block_frames = kBlock;
  ec.workers = 1;
  ec.voices = 4;
  ec.lookahead_blocks = 1;
  ec.sample_layer = &layer;
  AudioEngine engine(ec, queue);
  engine.Start();
  // The audio thread's part: periods, each once the worker has delivered its block.
  std::atomic<bool> rendering{true};
  std::thread audio([&] {
    std::vector<int32_t> out(2 * kBlock);
    while (rendering.load()) {
      const uint64_t target = engine.periods() + 1;
      for (const auto* worker : engine.workers()) {
        while (worker->blocks_rendered() < target && rendering.load()) std::this_thread::yield();
      }
      engine.RenderPeriodRt(out.data());
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
  });

  // New sounds on the card since the start: picked up by the reload.
  WriteWav(root / "click" / "0.wav", 100, 0.5f);
  WriteWav(root / "click" / "1.wav", 100, 0.25f);
  DirtServerConfig config;
  config.port = test::FreeUdpPort();
  config.samples = bank_config;
  DirtServer dirt(config, layer);
  ASSERT_EQ(dirt.Start(), "");
  test::OscClient client(dirt.port());
  lo_message m = lo_message_new();
  ASSERT_TRUE(client.Send("/samples/reload", m));
  lo_message_free(m);
  const auto result = client.WaitResult("/samples/reload", 10000);

  dirt.Stop();
  rendering.store(false);
  audio.join();
  engine.Stop();
  fs::remove_all(root);

  ASSERT_TRUE(result.has_value()) << "no /done or /fail for /samples/reload";
  EXPECT_TRUE(result->first) << result->second;
  EXPECT_EQ(result->second, "3 samples in 2 sounds, 0 skipped");
  EXPECT_EQ(dirt.reloads(), 1u);
  EXPECT_EQ(layer.bank_swaps(), 1u);
  EXPECT_EQ(layer.current_bank()->sound_count(), 2u);
  EXPECT_EQ(layer.current_bank()->sample_count(), 3u);
  EXPECT_NE(dirt.last_report(), "");
  EXPECT_EQ(dirt.bad_messages(), 0u);
}

}  // namespace
}  // namespace chronus::firmware
