// Quadrature decoding of a rotary encoder's A/B lines into detent steps. Pure: no I/O, no clock;
// fed one line level at a time (from GPIO edge events), so it is tested with scripted sequences.
//
// Algorithm: the Gray-code transition table (prev AB, new AB) -> -1 / 0 / +1 quarter step, as in
// Zynthian's zyncoder.c and Ben Buxton's Arduino Rotary library: a valid single-bit change counts
// a quarter step in its direction, a repeat of the same state counts nothing, and a double change
// (both lines at once: a missed edge) is invalid, counts nothing and is counted in `invalid()`.
// Contact bounce on one line (A: 0 1 0 1) alternates +1 / -1 and cancels out. Detent handling:
// quarter steps accumulate and a detent is reported only when the encoder arrives in a rest
// state with at least half a detent's quarter steps accumulated in one direction (so a bounce
// around the rest state and a missed edge in a fast turn still give exactly one step per detent).
#pragma once

#include <cstdint>

namespace chronus::hal::gpio {

struct QuadratureConfig {
  /// Quarter steps (line transitions) per mechanical detent: 4 (full cycle per detent, e.g. most
  /// EC11 encoders), 2 (half cycle: rest states 00 and 11) or 1 (every transition is a step).
  int steps_per_detent = 4;
  /// The AB state (A << 1 | B) the encoder rests in at a detent when steps_per_detent is 4: 3
  /// (both lines high: contacts open, with pull-ups) for most encoders.
  uint8_t rest_state = 3;
  /// Swaps the direction (A and B wired the other way round).
  bool reverse = false;
};

class QuadratureDecoder {
 public:
  explicit QuadratureDecoder(const QuadratureConfig& config = {}) : config_(config) {}

  /// Sets the lines' levels without counting (at start-up, from a read of both lines).
  void Reset(bool a, bool b) {
    state_ = static_cast<uint8_t>((a ? 2 : 0) | (b ? 1 : 0));
    accumulated_ = 0;
  }

  /// Line A (`line_b` false) or B changed to `level`. Returns the detent steps this completes:
  /// +1 (clockwise), -1 or 0. Any thread, but one thread per decoder.
  int Update(bool line_b, bool level) {
    const uint8_t bit = line_b ? 1 : 2;
    const auto next = static_cast<uint8_t>(level ? (state_ | bit) : (state_ & ~bit));
    return Transition(next);
  }

  /// Both lines' new levels at once (when they are read together). Returns as Update.
  int UpdateBoth(bool a, bool b) {
    return Transition(static_cast<uint8_t>((a ? 2 : 0) | (b ? 1 : 0)));
  }

  /// Double transitions seen (both lines changed between two readings: edges were missed).
  uint64_t invalid() const { return invalid_; }
  uint8_t state() const { return state_; }

 private:
  int Transition(uint8_t next) {
    // Index prev << 2 | next. Clockwise order 00 -> 01 -> 11 -> 10 -> 00 counts +1.
    static constexpr int8_t kTable[16] = {0, +1, -1, 2, -1, 0, 2, +1, +1, 2, 0, -1, 2, -1, +1, 0};
    const int8_t delta = kTable[(state_ << 2) | next];
    state_ = next;
    if (delta == 2) {
      ++invalid_;
      return 0;
    }
    accumulated_ += config_.reverse ? -delta : delta;
    int steps = 0;
    switch (config_.steps_per_detent) {
      case 1:
        steps = accumulated_;
        accumulated_ = 0;
        return steps;
      case 2:
        if (next != 0 && next != 3) return 0;
        break;
      default:
        if (next != config_.rest_state) return 0;
        break;
    }
    const int half = config_.steps_per_detent == 2 ? 1 : 2;
    if (accumulated_ >= half) steps = 1;
    if (accumulated_ <= -half) steps = -1;
    accumulated_ = 0;  // at rest: start counting the next detent afresh
    return steps;
  }

  QuadratureConfig config_;
  uint8_t state_ = 3;
  int accumulated_ = 0;
  uint64_t invalid_ = 0;
};

}  // namespace chronus::hal::gpio
