// Conversion of full-scale int32 samples to a device sample format.
#pragma once

#include <cstddef>
#include <cstdint>

#include "hal/audio/alsa_output.h"

namespace chronus::hal {

/// Converts `samples` int32 samples (full scale = INT32 range) into `out` in `format`:
/// S16 keeps the top 16 bits, S24_LE (in a 32-bit container) the top 24, S32 all, FLOAT scales by
/// 2^-31. Truncation, no dither. RT-safe.
void ConvertFromS32(const int32_t* in, void* out, size_t samples, SampleFormat format);

}  // namespace chronus::hal
