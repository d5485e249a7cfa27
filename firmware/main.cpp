// chronus: the firmware executable.
#include <signal.h>

#include <CLI/CLI.hpp>

#include "firmware/app.h"
#include "firmware/config/board_detect.h"

int main(int argc, char** argv) {
  chronus::firmware::AppOptions options;
  CLI::App cli{
      "Chronus synthesizer firmware. Plays notes received over OSC through the sound card of the "
      "board (or the virtual card on a PC) and records to the recordings directory. Runs until "
      "SIGINT or SIGTERM."};
  cli.add_option("--board", options.board,
                 "Board name (board/<name>.toml) or path to a board file; default: detected "
                 "(a Raspberry Pi board on a Pi, dev-virtual elsewhere)");
  cli.add_option("--capture", options.capture,
                 "Virtual card only: WAV file receiving what was played (default "
                 "sdcard/capture.wav)");
  cli.add_option("--vcard-control", options.vcard_control,
                 "Virtual card only: while this file says 'unplugged' the card vanishes like an "
                 "unplugged USB card (for tests of device loss and device standby)");
  cli.add_option("--recordings", options.recordings, "Recordings directory (overrides the board)");
  cli.add_option("--state", options.state,
                 "State directory: the current patch, presets, crash-loop guard (overrides the "
                 "board)");
  cli.add_option("--osc-port", options.osc_port, "OSC UDP port (overrides the board; default 9000)")
      ->check(CLI::Range(1, 65535));
  cli.add_option("--dirt-port", options.dirt_port,
                 "SuperDirt (TidalCycles) UDP port (overrides the board; default 57120)")
      ->check(CLI::Range(1, 65535));
  cli.add_option("--samples", options.samples,
                 "Sample bank directory in SuperDirt's layout, <dir>/<sound>/*.wav (overrides the "
                 "board; default sdcard/samples)");
  cli.add_option("--period", options.period, "Period size in frames (overrides the board)")
      ->check(CLI::Range(16, 4096));
  cli.add_option("--periods", options.periods, "Periods per buffer (overrides the board)")
      ->check(CLI::Range(2, 16));
  cli.add_option("--fault", options.faults,
                 "Test only: inject a fault into a DSP worker, e.g. stall:0:50@2 (stall worker 0 "
                 "for 50 ms, 2 s after start), spin:1@3 (spin forever), throw:0@2. Repeatable.");
  bool detect_board = false;
  cli.add_flag("--detect-board", detect_board,
               "Print the board this machine would start with (from /etc/chronus/chronus.toml, "
               "else detected) and exit; the reason goes to stderr. CHRONUS_DT_MODEL and "
               "CHRONUS_ASOUND_CARDS, if set, are read instead of /proc/device-tree/model and "
               "/proc/asound/cards (tests, image builds)");
  CLI11_PARSE(cli, argc, argv);
  if (detect_board) {
    chronus::firmware::ApplyDetectionPathsFromEnvironment(&options.model_path, &options.cards_path);
    return chronus::firmware::PrintBoardChoice(options);
  }

  // Every thread inherits this mask; the main thread takes the signals with sigwait.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  return chronus::firmware::RunApp(options);
}
