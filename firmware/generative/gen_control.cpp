#include "firmware/generative/gen_control.h"

#include <algorithm>
#include <cmath>

namespace chronus::firmware {

void ApplyGenControl(GenPlayer& player, TargetKind kind, float value) {
  switch (kind) {
    case TargetKind::kGenIntensity:
      player.SetIntensityNonRt(std::clamp(static_cast<double>(value), 0.0, 1.0));
      break;
    case TargetKind::kGenBpm:
      player.SetBpmNonRt(std::clamp(static_cast<double>(value), 20.0, 300.0));
      break;
    case TargetKind::kGenMode:
      player.SetModeNonRt(
          static_cast<generative::Mode>(std::clamp(static_cast<int>(std::lround(value)), 0, 6)));
      break;
    case TargetKind::kGenToggle:
      if (player.playing()) {
        player.StopMusicNonRt();
      } else {
        player.StartMusicNonRt();
      }
      break;
    default:
      break;
  }
}

float GenControlValue(const GenPlayer& player, TargetKind kind) {
  const generative::GenParams params = player.params();
  switch (kind) {
    case TargetKind::kGenIntensity:
      return static_cast<float>(params.intensity);
    case TargetKind::kGenBpm:
      return static_cast<float>(params.bpm);
    case TargetKind::kGenMode:
      return static_cast<float>(static_cast<int>(params.mode));
    case TargetKind::kGenToggle:
      return player.playing() ? 1.0f : 0.0f;
    default:
      return 0.0f;
  }
}

}  // namespace chronus::firmware
