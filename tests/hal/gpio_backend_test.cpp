// The libgpiod backend: clear errors without a GPIO chip; and, where the kernel offers gpio-sim
// (configfs), edges on a simulated chip decoded into an encoder step, a button's level and an LED.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <string>
#include <vector>

#include "hal/gpio/gpiod_lines.h"
#include "hal/gpio/quadrature_decoder.h"

namespace chronus::hal::gpio {
namespace {

bool Exists(const std::string& path) { return access(path.c_str(), F_OK) == 0; }

TEST(HalGpio, NoMatchingChipIsAClearError) {
  GpioChipConfig config;
  config.labels = {"no-such-gpio-controller"};
  std::string error;
  EXPECT_EQ(FindGpioChip(config, &error), "");
  EXPECT_NE(error, "");
  EXPECT_TRUE(error.find("GPIO chip") != std::string::npos) << error;
  GpiodLines lines;
  EXPECT_NE(lines.Open(config, {5, 6}, {25}), "");
}

TEST(HalGpio, DefaultLabelsCoverPi4AndPi5) {
  const auto& labels = DefaultChipLabels();
  EXPECT_NE(std::find(labels.begin(), labels.end(), "pinctrl-bcm2711"), labels.end());
  EXPECT_NE(std::find(labels.begin(), labels.end(), "pinctrl-rp1"), labels.end());
}

// A gpio-sim chip made through configfs (Documentation/admin-guide/gpio/gpio-sim.rst).
class GpioSim {
 public:
  static constexpr const char* kRoot = "/sys/kernel/config/gpio-sim";
  explicit GpioSim(const std::string& label) : dir_(std::string(kRoot) + "/chronus-test") {
    ok_ = mkdir(dir_.c_str(), 0755) == 0 && mkdir((dir_ + "/bank0").c_str(), 0755) == 0 &&
          Write(dir_ + "/bank0/num_lines", "8") && Write(dir_ + "/bank0/label", label) &&
          Write(dir_ + "/live", "1");
    if (ok_) {
      dev_name_ = Read(dir_ + "/dev_name");
      chip_name_ = Read(dir_ + "/bank0/chip_name");
    }
  }
  ~GpioSim() {
    Write(dir_ + "/live", "0");
    rmdir((dir_ + "/bank0").c_str());
    rmdir(dir_.c_str());
  }
  bool ok() const { return ok_; }
  // Drives input `line` from the "outside": high (pull-up) or low (pull-down).
  bool Drive(int line, bool high) {
    return Write(Attr(line, "pull"), high ? "pull-up" : "pull-down");
  }
  std::string Value(int line) { return Read(Attr(line, "value")); }

 private:
  std::string Attr(int line, const char* name) {
    return "/sys/devices/platform/" + dev_name_ + "/" + chip_name_ + "/sim_gpio" +
           std::to_string(line) + "/" + name;
  }
  static bool Write(const std::string& path, const std::string& text) {
    std::ofstream out(path);
    out << text;
    out.flush();
    return static_cast<bool>(out);
  }
  static std::string Read(const std::string& path) {
    std::ifstream in(path);
    std::string text;
    std::getline(in, text);
    return text;
  }
  std::string dir_;
  std::string dev_name_;
  std::string chip_name_;
  bool ok_ = false;
};

TEST(HalGpioSim, EdgesOfASimulatedEncoderButtonAndLed) {
  if (!Exists(GpioSim::kRoot)) {
    GTEST_SKIP() << "no gpio-sim (" << GpioSim::kRoot
                 << " missing: configfs not mounted or CONFIG_GPIO_SIM off); the libgpiod "
                    "backend's line requests, edge events and outputs are not exercised here";
  }
  GpioSim sim("chronus-sim");
  ASSERT_TRUE(sim.ok()) << "cannot create a gpio-sim chip (not root?)";
  GpioChipConfig config;
  config.chip = "auto";
  config.labels = {"chronus-sim"};
  GpiodLines lines;
  ASSERT_EQ(lines.Open(config, {0, 1, 2}, {3}), "");
  for (int line : {0, 1, 2}) ASSERT_TRUE(sim.Drive(line, true));
  usleep(10'000);
  std::vector<LineEvent> events;
  while (true) {  // drain the edges of the set-up
    events.clear();
    ASSERT_EQ(lines.Wait(20, &events), "");
    if (events.empty()) break;
  }
  QuadratureDecoder decoder;
  decoder.Reset(lines.Level(0), lines.Level(1));
  // One detent clockwise: B falls, A falls, B rises, A rises.
  for (auto [line, high] : {std::pair{1, false}, {0, false}, {1, true}, {0, true}}) {
    ASSERT_TRUE(sim.Drive(line, high));
  }
  ASSERT_TRUE(sim.Drive(2, false));  // the button is pressed (to ground)
  std::vector<LineEvent> all;
  for (int i = 0; i < 50 && all.size() < 5; ++i) ASSERT_EQ(lines.Wait(20, &all), "");
  int steps = 0;
  bool button_fell = false;
  for (const LineEvent& e : all) {
    if (e.offset == 0) steps += decoder.Update(false, e.rising);
    if (e.offset == 1) steps += decoder.Update(true, e.rising);
    if (e.offset == 2 && !e.rising) button_fell = true;
  }
  EXPECT_EQ(steps, 1);
  EXPECT_TRUE(button_fell);
  EXPECT_FALSE(lines.Level(2));
  lines.Set(3, true);
  EXPECT_EQ(sim.Value(3), "1");
  lines.Set(3, false);
  EXPECT_EQ(sim.Value(3), "0");
}

}  // namespace
}  // namespace chronus::hal::gpio
