// Child of the kill -9 torture test: saves self-checking patches (TorturePatch) in a tight loop
// through StateStore until it is killed.
//
// Usage: state_torture_child STATE_DIR
// Starts like the firmware (LoadAtStart), continues counting from the patch it loaded, and after
// each save has returned writes the saved counter to stdout as 4 raw bytes (an acknowledgement).
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>

#include "firmware/state/state_store.h"
#include "tests/state/torture_patch.h"

int main(int argc, char** argv) {
  using namespace chronus::firmware;
  if (argc != 2) {
    std::fprintf(stderr, "usage: state_torture_child STATE_DIR\n");
    return 2;
  }
  StateStore::Config config;
  config.directory = argv[1];
  config.debounce_s = 3600.0;  // only the explicit flushes below write
  config.max_delay_s = 3600.0;
  StateStore store(config);
  std::string report;
  const Patch loaded = store.LoadAtStart(&report);
  uint32_t counter = test::TortureCounter(loaded).value_or(0);
  for (;;) {
    ++counter;
    store.NoteChangedNonRt(test::TorturePatch(counter));
    if (const std::string error = store.FlushNonRt(); !error.empty()) {
      std::fprintf(stderr, "state_torture_child: %s\n", error.c_str());
      return 1;
    }
    if (::write(STDOUT_FILENO, &counter, sizeof counter) != sizeof counter) return 1;
  }
}
