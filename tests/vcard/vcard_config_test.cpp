// The helpers that load the virtual card without /etc, and the hw_params it offers.
#include "hal/vcard/vcard_config.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "vcard_client.h"

namespace chronus::hal::vcard {
namespace {

TEST(VcardConfigTest, TextDeclaresThePluginTypeAndTheDevice) {
  Options options;
  options.plugin_path = "/opt/x/libasound_module_pcm_chronus_vcard.so";
  options.capture_path = "/tmp/a \"b\" \\c.wav";
  const std::string text = AlsaConfigText(options);
  EXPECT_NE(
      text.find("pcm_type.chronus_vcard {\n  lib \"/opt/x/libasound_module_pcm_chronus_vcard.so\""),
      std::string::npos)
      << text;
  EXPECT_NE(text.find("pcm.chronus_vcard {\n  type chronus_vcard\n"), std::string::npos) << text;
  EXPECT_NE(text.find("capture \"/tmp/a \\\"b\\\" \\\\c.wav\"\n"), std::string::npos) << text;

  snd_config_t* config = nullptr;
  ASSERT_EQ(snd_config_load_string(&config, text.data(), text.size()), 0);
  snd_config_t* capture = nullptr;
  ASSERT_EQ(snd_config_search(config, "pcm.chronus_vcard.capture", &capture), 0);
  const char* value = nullptr;
  ASSERT_EQ(snd_config_get_string(capture, &value), 0);
  EXPECT_STREQ(value, options.capture_path.c_str());
  snd_config_delete(config);

  options.capture_path.clear();
  EXPECT_EQ(AlsaConfigText(options).find("capture"), std::string::npos);
  EXPECT_EQ(AlsaConfigText(options).find("control"), std::string::npos);
  options.control_path = "/run/vcard \"state\"";
  EXPECT_NE(AlsaConfigText(options).find("  control \"/run/vcard \\\"state\\\"\"\n"),
            std::string::npos)
      << AlsaConfigText(options);
}

TEST(VcardConfigTest, DefaultPluginPathIsTheBuiltPluginUnlessOverridden) {
  const char* env = std::getenv("CHRONUS_VCARD_PLUGIN");
  const std::string saved = env != nullptr ? env : "";
  unsetenv("CHRONUS_VCARD_PLUGIN");
  const std::string built = DefaultPluginPath();
  EXPECT_EQ(access(built.c_str(), R_OK), 0) << built;
  EXPECT_NE(built.find("libasound_module_pcm_chronus_vcard.so"), std::string::npos);
  setenv("CHRONUS_VCARD_PLUGIN", "/elsewhere/plugin.so", 1);
  EXPECT_EQ(DefaultPluginPath(), "/elsewhere/plugin.so");
  if (saved.empty()) {
    unsetenv("CHRONUS_VCARD_PLUGIN");
  } else {
    setenv("CHRONUS_VCARD_PLUGIN", saved.c_str(), 1);
  }
}

TEST(VcardConfigTest, WriteAlsaConfigFileWritesTheText) {
  testing::TempDir dir;
  Options options;
  options.capture_path = "/tmp/x.wav";
  const std::string path = WriteAlsaConfigFile(options, dir.path("vcard.conf"));
  ASSERT_EQ(path, dir.path("vcard.conf"));
  std::ifstream in(path);
  std::stringstream content;
  content << in.rdbuf();
  EXPECT_EQ(content.str(), AlsaConfigText(options));
  EXPECT_EQ(WriteAlsaConfigFile(options, "/nonexistent-dir/vcard.conf"), "");
}

TEST(VcardConfigTest, OpenFailsForAMissingPlugin) {
  Options options;
  options.plugin_path = "/nonexistent/libasound_module_pcm_chronus_vcard.so";
  snd_pcm_t* pcm = nullptr;
  EXPECT_LT(OpenPcm(&pcm, options), 0);
}

TEST(VcardConfigTest, OpenFailsForAnUncreatableCapture) {
  Options options;
  options.capture_path = "/nonexistent-dir/capture.wav";
  snd_pcm_t* pcm = nullptr;
  EXPECT_EQ(OpenPcm(&pcm, options), -ENOENT);
}

TEST(VcardConfigTest, IsPlaybackOnly) {
  const std::string text = AlsaConfigText({});
  snd_config_t* config = nullptr;
  ASSERT_EQ(snd_config_load_string(&config, text.data(), text.size()), 0);
  snd_pcm_t* pcm = nullptr;
  EXPECT_LT(snd_pcm_open_lconf(&pcm, kDeviceName, SND_PCM_STREAM_CAPTURE, 0, config), 0);
  snd_config_delete(config);
}

TEST(VcardConfigTest, OffersTheDocumentedHwParams) {
  snd_pcm_t* pcm = nullptr;
  ASSERT_EQ(OpenPcm(&pcm, {}), 0);
  snd_pcm_hw_params_t* hw;
  snd_pcm_hw_params_alloca(&hw);
  ASSERT_GE(snd_pcm_hw_params_any(pcm, hw), 0);
  EXPECT_EQ(snd_pcm_hw_params_test_access(pcm, hw, SND_PCM_ACCESS_MMAP_INTERLEAVED), 0);
  EXPECT_EQ(snd_pcm_hw_params_test_access(pcm, hw, SND_PCM_ACCESS_RW_INTERLEAVED), 0);
  EXPECT_LT(snd_pcm_hw_params_test_access(pcm, hw, SND_PCM_ACCESS_MMAP_NONINTERLEAVED), 0);
  for (auto format : {SND_PCM_FORMAT_S16_LE, SND_PCM_FORMAT_S32_LE, SND_PCM_FORMAT_FLOAT_LE}) {
    EXPECT_EQ(snd_pcm_hw_params_test_format(pcm, hw, format), 0) << snd_pcm_format_name(format);
  }
  EXPECT_LT(snd_pcm_hw_params_test_format(pcm, hw, SND_PCM_FORMAT_S24_LE), 0);
  EXPECT_EQ(snd_pcm_hw_params_test_rate(pcm, hw, 44100, 0), 0);
  EXPECT_EQ(snd_pcm_hw_params_test_rate(pcm, hw, 48000, 0), 0);
  EXPECT_LT(snd_pcm_hw_params_test_rate(pcm, hw, 96000, 0), 0);
  EXPECT_EQ(snd_pcm_hw_params_test_channels(pcm, hw, 1), 0);
  EXPECT_EQ(snd_pcm_hw_params_test_channels(pcm, hw, 2), 0);
  EXPECT_LT(snd_pcm_hw_params_test_channels(pcm, hw, 3), 0);
  // 16-frame periods of stereo S32 (128 bytes) and 64 periods are accepted.
  ASSERT_EQ(snd_pcm_hw_params_set_format(pcm, hw, SND_PCM_FORMAT_S32_LE), 0);
  ASSERT_EQ(snd_pcm_hw_params_set_channels(pcm, hw, 2), 0);
  EXPECT_EQ(snd_pcm_hw_params_test_period_size(pcm, hw, 16, 0), 0);
  EXPECT_LT(snd_pcm_hw_params_test_period_size(pcm, hw, 8, 0), 0);
  EXPECT_EQ(snd_pcm_hw_params_test_periods(pcm, hw, 64, 0), 0);
  EXPECT_LT(snd_pcm_hw_params_test_periods(pcm, hw, 65, 0), 0);
  snd_pcm_close(pcm);
}

}  // namespace
}  // namespace chronus::hal::vcard
