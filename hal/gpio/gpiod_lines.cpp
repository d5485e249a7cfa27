#include "hal/gpio/gpiod_lines.h"

#include <gpiod.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>

namespace chronus::hal::gpio {

namespace {

std::string ErrnoText(int error) {
  switch (error) {
    case EACCES:
    case EPERM:
      return "permission denied (add the user to group gpio)";
    case EBUSY:
      return "busy (used by another driver or program; see gpioinfo)";
    case ENOENT:
    case ENODEV:
      return "no such device";
    case EINVAL:
      return "invalid request (line offset out of range?)";
    default:
      return std::strerror(error);
  }
}

}  // namespace

std::string FindGpioChip(const GpioChipConfig& config, std::string* error) {
  namespace fs = std::filesystem;
  std::vector<std::string> paths;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/dev", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("gpiochip")) paths.push_back(entry.path().string());
  }
  std::sort(paths.begin(), paths.end());
  if (paths.empty()) {
    *error = "no GPIO chip (/dev/gpiochip* missing: not a Raspberry Pi, or no GPIO driver)";
    return {};
  }
  const bool by_label = config.chip == "auto";
  std::string seen;
  std::string denied;
  for (const std::string& path : paths) {
    gpiod_chip* chip = gpiod_chip_open(path.c_str());
    if (chip == nullptr) {
      if (errno == EACCES || errno == EPERM) denied = path;
      continue;
    }
    const std::string label = gpiod_chip_label(chip);
    const std::string name = gpiod_chip_name(chip);
    gpiod_chip_close(chip);
    seen += (seen.empty() ? "" : ", ") + name + " \"" + label + "\"";
    const bool match =
        by_label
            ? std::find(config.labels.begin(), config.labels.end(), label) != config.labels.end()
            : (config.chip == name || config.chip == path || config.chip == label);
    if (match) return name;
  }
  if (!denied.empty()) {
    *error = "cannot open " + denied + ": " + ErrnoText(EACCES);
  } else {
    std::string wanted;
    for (const auto& label : config.labels) wanted += (wanted.empty() ? "" : " or ") + label;
    *error = "no GPIO chip " + (by_label ? "labelled " + wanted : "named " + config.chip) +
             " (found: " + (seen.empty() ? "none readable" : seen) + ")";
  }
  return {};
}

GpiodLines::GpiodLines() : wake_fd_(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {}

GpiodLines::~GpiodLines() {
  if (chip_ != nullptr) gpiod_chip_close(chip_);  // releases the lines
  if (wake_fd_ >= 0) close(wake_fd_);
}

std::string GpiodLines::Open(const GpioChipConfig& config, const std::vector<unsigned>& inputs,
                             const std::vector<unsigned>& outputs) {
  std::string error;
  chip_name_ = FindGpioChip(config, &error);
  if (chip_name_.empty()) return error;
  chip_ = gpiod_chip_open_by_name(chip_name_.c_str());
  if (chip_ == nullptr) return "cannot open " + chip_name_ + ": " + ErrnoText(errno);
  const unsigned lines = gpiod_chip_num_lines(chip_);
  auto get = [&](unsigned offset, gpiod_line** line) -> std::string {
    if (offset >= lines) {
      return chip_name_ + " line " + std::to_string(offset) + ": out of range (the chip has " +
             std::to_string(lines) + " lines)";
    }
    *line = gpiod_chip_get_line(chip_, offset);
    if (*line == nullptr) {
      return chip_name_ + " line " + std::to_string(offset) + ": " + ErrnoText(errno);
    }
    return {};
  };
  for (const unsigned offset : inputs) {
    gpiod_line* line = nullptr;
    if (std::string e = get(offset, &line); !e.empty()) return e;
    int rc = gpiod_line_request_both_edges_events_flags(line, config.consumer.c_str(),
                                                        GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP);
    if (rc != 0 && errno == EINVAL) {  // kernel without bias support: external pull-ups then
      rc = gpiod_line_request_both_edges_events(line, config.consumer.c_str());
    }
    if (rc != 0) {
      return chip_name_ + " line " + std::to_string(offset) + " (input): " + ErrnoText(errno);
    }
    inputs_.push_back({offset, line, gpiod_line_event_get_fd(line)});
  }
  for (const unsigned offset : outputs) {
    gpiod_line* line = nullptr;
    if (std::string e = get(offset, &line); !e.empty()) return e;
    if (gpiod_line_request_output(line, config.consumer.c_str(), 0) != 0) {
      return chip_name_ + " line " + std::to_string(offset) + " (output): " + ErrnoText(errno);
    }
    outputs_.push_back({offset, line, -1});
  }
  if (wake_fd_ < 0) return "eventfd: " + std::string(std::strerror(errno));
  return {};
}

bool GpiodLines::Level(unsigned offset) {
  for (const Line& l : inputs_) {
    if (l.offset == offset) return gpiod_line_get_value(l.line) == 1;
  }
  return false;
}

std::string GpiodLines::Wait(int timeout_ms, std::vector<LineEvent>* events) {
  std::vector<pollfd> fds;
  fds.reserve(inputs_.size() + 1);
  fds.push_back({wake_fd_, POLLIN, 0});
  for (const Line& l : inputs_) fds.push_back({l.fd, POLLIN, 0});
  const int n = poll(fds.data(), fds.size(), timeout_ms);
  if (n < 0) return errno == EINTR ? std::string() : "poll: " + std::string(std::strerror(errno));
  if (fds[0].revents & POLLIN) {
    uint64_t count = 0;
    [[maybe_unused]] const ssize_t r = read(wake_fd_, &count, sizeof(count));
  }
  const size_t first = events->size();
  for (size_t i = 0; i < inputs_.size(); ++i) {
    const short revents = fds[i + 1].revents;
    if (revents & (POLLERR | POLLHUP | POLLNVAL)) {
      return chip_name_ + " line " + std::to_string(inputs_[i].offset) + ": the line went away";
    }
    if (!(revents & POLLIN)) continue;
    gpiod_line_event buffer[16];
    const int read = gpiod_line_event_read_multiple(inputs_[i].line, buffer, 16);
    if (read < 0) {
      if (errno == EAGAIN) continue;
      return chip_name_ + " line " + std::to_string(inputs_[i].offset) + ": " + ErrnoText(errno);
    }
    for (int k = 0; k < read; ++k) {
      events->push_back(
          {inputs_[i].offset, buffer[k].event_type == GPIOD_LINE_EVENT_RISING_EDGE,
           static_cast<int64_t>(buffer[k].ts.tv_sec) * 1'000'000'000 + buffer[k].ts.tv_nsec});
    }
  }
  // Each line has its own kernel FIFO: merge them in time order for the quadrature decoder.
  std::stable_sort(events->begin() + static_cast<std::ptrdiff_t>(first), events->end(),
                   [](const LineEvent& a, const LineEvent& b) { return a.time_ns < b.time_ns; });
  return {};
}

void GpiodLines::Set(unsigned offset, bool high) {
  for (const Line& l : outputs_) {
    if (l.offset == offset) gpiod_line_set_value(l.line, high ? 1 : 0);
  }
}

void GpiodLines::Wake() {
  const uint64_t one = 1;
  [[maybe_unused]] const ssize_t r = write(wake_fd_, &one, sizeof(one));
}

}  // namespace chronus::hal::gpio
