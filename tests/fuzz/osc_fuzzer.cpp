// libFuzzer entry point (clang only: the `fuzz` preset, tests/fuzz/run).
#include <cstddef>
#include <cstdint>

#include "tests/fuzz/osc_fuzz_target.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  return chronus::fuzz::FuzzOscPacket(data, size);
}
