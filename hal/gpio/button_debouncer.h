// Debounce and press classification of a push button. Pure: fed raw edges with their timestamps
// (GPIO edge events) and the current time, so it is tested with scripted timestamps.
//
// Debounce: a level counts once it has stayed unchanged for `debounce_ns` after its last edge
// (contact bounce restarts the wait), so a burst of bounces is one press and a spike shorter than
// `debounce_ns` is none. Classification: a press held `long_press_ns` reports kLongPress at that
// moment (while still held; the release then reports nothing); a press released earlier reports
// kShortPress on release.
#pragma once

#include <cstdint>
#include <optional>

namespace chronus::hal::gpio {

struct ButtonConfig {
  int64_t debounce_ns = 10'000'000;     ///< 10 ms: mechanical bounce is typically < 5 ms.
  int64_t long_press_ns = 600'000'000;  ///< 0.6 s.
};

enum class ButtonEvent : uint8_t { kShortPress, kLongPress };

class ButtonDebouncer {
 public:
  static constexpr int64_t kNoDeadline = INT64_MAX;

  explicit ButtonDebouncer(const ButtonConfig& config = {}) : config_(config) {}

  /// Sets the settled state without reporting (start-up read).
  void Reset(bool pressed) {
    raw_ = stable_ = pressed;
    long_reported_ = pressed;  // a button held at start-up reports nothing until released
  }

  /// A raw edge: the line now reads `pressed` (after active-low inversion) since `time_ns`.
  /// Call Poll afterwards (or at NextDeadline) to collect events.
  void Edge(bool pressed, int64_t time_ns) {
    raw_ = pressed;
    last_edge_ns_ = time_ns;
  }

  /// Advances to `now_ns` and returns the event that happened by then, if any. Call it after
  /// each edge and whenever NextDeadline passes; it reports at most one event per call, so call it
  /// until it returns nullopt.
  std::optional<ButtonEvent> Poll(int64_t now_ns) {
    if (raw_ != stable_ && now_ns - last_edge_ns_ >= config_.debounce_ns) {
      stable_ = raw_;
      if (stable_) {
        pressed_ns_ = last_edge_ns_;
        long_reported_ = false;
      } else if (!long_reported_) {
        long_reported_ = true;
        return ButtonEvent::kShortPress;
      }
    }
    if (stable_ && !long_reported_ && now_ns - pressed_ns_ >= config_.long_press_ns) {
      long_reported_ = true;
      return ButtonEvent::kLongPress;
    }
    return std::nullopt;
  }

  /// When Poll has something to do next without a new edge (ns, CLOCK_MONOTONIC), or
  /// kNoDeadline.
  int64_t NextDeadline() const {
    if (raw_ != stable_) return last_edge_ns_ + config_.debounce_ns;
    if (stable_ && !long_reported_) return pressed_ns_ + config_.long_press_ns;
    return kNoDeadline;
  }

  bool pressed() const { return stable_; }

 private:
  ButtonConfig config_;
  bool raw_ = false;
  bool stable_ = false;
  bool long_reported_ = true;
  int64_t last_edge_ns_ = 0;
  int64_t pressed_ns_ = 0;
};

}  // namespace chronus::hal::gpio
