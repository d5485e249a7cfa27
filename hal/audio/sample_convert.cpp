#include "hal/audio/sample_convert.h"

#include <cstring>

namespace chronus::hal {

void ConvertFromS32(const int32_t* in, void* out, size_t samples, SampleFormat format) {
  switch (format) {
    case SampleFormat::kS16: {
      auto* dst = static_cast<int16_t*>(out);
      for (size_t i = 0; i < samples; ++i) dst[i] = static_cast<int16_t>(in[i] >> 16);
      break;
    }
    case SampleFormat::kS24In32: {
      auto* dst = static_cast<int32_t*>(out);
      for (size_t i = 0; i < samples; ++i) dst[i] = in[i] >> 8;
      break;
    }
    case SampleFormat::kS32:
      std::memcpy(out, in, samples * sizeof(int32_t));
      break;
    case SampleFormat::kFloat: {
      auto* dst = static_cast<float*>(out);
      constexpr float kScale = 1.0f / 2147483648.0f;
      for (size_t i = 0; i < samples; ++i) dst[i] = static_cast<float>(in[i]) * kScale;
      break;
    }
  }
}

}  // namespace chronus::hal
