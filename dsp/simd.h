// Tiny SIMD layer over GCC/Clang vector extensions, for the voice bank's kernels.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#if defined(__aarch64__)
#include <arm_neon.h>
#endif

// Every helper is force-inlined so that a kernel instantiated inside a function compiled for a
// wider instruction set (GCC `target` attribute, see voice_bank.cpp) is generated for that set.
#define CHRONUS_SIMD_INLINE [[gnu::always_inline]] inline

namespace chronus::dsp::simd {

/// Native float vectors (GCC vector extensions; lowered to SSE, AVX, AVX-512 or NEON registers).
/// Only use a width the current target supports natively: GCC 12 scalarises comparisons and
/// selects on wider-than-native vectors. Wider work goes through Pack instead.
typedef float F4 __attribute__((vector_size(16)));
typedef float F8 __attribute__((vector_size(32)));
typedef float F16 __attribute__((vector_size(64)));
typedef int32_t I4 __attribute__((vector_size(16)));
typedef int32_t I8 __attribute__((vector_size(32)));
typedef int32_t I16 __attribute__((vector_size(64)));

template <class N>
struct MaskOf;
template <>
struct MaskOf<F4> {
  using type = I4;
};
template <>
struct MaskOf<F8> {
  using type = I8;
};
template <>
struct MaskOf<F16> {
  using type = I16;
};

/// `P` independent native vectors `N` handled as one value of `kLanes` = P * width floats. The
/// sub-vectors give the out-of-order core independent dependency chains (a recursive filter is
/// latency-bound on one vector). Plain value semantics; the compiler keeps it in registers.
template <class N, int P>
struct Pack {
  using Native = N;
  using NativeMask = typename MaskOf<N>::type;
  static constexpr int kWidth = static_cast<int>(sizeof(N) / sizeof(float));
  static constexpr int kParts = P;
  static constexpr size_t kLanes = static_cast<size_t>(kWidth * P);

  /// Lane masks (all bits set = true), as produced by the comparisons below.
  struct Mask {
    NativeMask m[P];
  };

  N v[P];

  Pack() = default;
  /// Every lane = x.
  CHRONUS_SIMD_INLINE explicit Pack(float x) {
    for (int j = 0; j < P; ++j) v[j] = N{} + x;
  }

  CHRONUS_SIMD_INLINE static Pack Load(const float* p) {
    Pack r;
    for (int j = 0; j < P; ++j) __builtin_memcpy(&r.v[j], p + j * kWidth, sizeof(N));
    return r;
  }
  CHRONUS_SIMD_INLINE void Store(float* p) const {
    for (int j = 0; j < P; ++j) __builtin_memcpy(p + j * kWidth, &v[j], sizeof(N));
  }
  CHRONUS_SIMD_INLINE static Pack Splat(float x) { return Pack(x); }

  CHRONUS_SIMD_INLINE friend Pack operator+(Pack a, Pack b) {
    for (int j = 0; j < P; ++j) a.v[j] += b.v[j];
    return a;
  }
  CHRONUS_SIMD_INLINE friend Pack operator-(Pack a, Pack b) {
    for (int j = 0; j < P; ++j) a.v[j] -= b.v[j];
    return a;
  }
  CHRONUS_SIMD_INLINE friend Pack operator*(Pack a, Pack b) {
    for (int j = 0; j < P; ++j) a.v[j] *= b.v[j];
    return a;
  }
  CHRONUS_SIMD_INLINE friend Pack operator/(Pack a, Pack b) {
    for (int j = 0; j < P; ++j) a.v[j] /= b.v[j];
    return a;
  }
  CHRONUS_SIMD_INLINE friend Pack operator-(Pack a) {
    for (int j = 0; j < P; ++j) a.v[j] = -a.v[j];
    return a;
  }
  CHRONUS_SIMD_INLINE Pack& operator+=(Pack b) { return *this = *this + b; }
  CHRONUS_SIMD_INLINE Pack& operator-=(Pack b) { return *this = *this - b; }
  CHRONUS_SIMD_INLINE Pack& operator*=(Pack b) { return *this = *this * b; }

  CHRONUS_SIMD_INLINE friend Mask operator<(Pack a, Pack b) {
    Mask m;
    for (int j = 0; j < P; ++j) m.m[j] = a.v[j] < b.v[j];
    return m;
  }
  CHRONUS_SIMD_INLINE friend Mask operator>(Pack a, Pack b) {
    Mask m;
    for (int j = 0; j < P; ++j) m.m[j] = a.v[j] > b.v[j];
    return m;
  }
  CHRONUS_SIMD_INLINE friend Mask operator>=(Pack a, Pack b) {
    Mask m;
    for (int j = 0; j < P; ++j) m.m[j] = a.v[j] >= b.v[j];
    return m;
  }
  CHRONUS_SIMD_INLINE friend Mask operator<=(Pack a, Pack b) {
    Mask m;
    for (int j = 0; j < P; ++j) m.m[j] = a.v[j] <= b.v[j];
    return m;
  }
  CHRONUS_SIMD_INLINE friend Mask operator==(Pack a, Pack b) {
    Mask m;
    for (int j = 0; j < P; ++j) m.m[j] = a.v[j] == b.v[j];
    return m;
  }
  CHRONUS_SIMD_INLINE friend Mask operator!=(Pack a, Pack b) {
    Mask m;
    for (int j = 0; j < P; ++j) m.m[j] = a.v[j] != b.v[j];
    return m;
  }
  CHRONUS_SIMD_INLINE friend Mask operator|(Mask a, Mask b) {
    for (int j = 0; j < P; ++j) a.m[j] |= b.m[j];
    return a;
  }
  /// True when any lane of `m` is set.
  CHRONUS_SIMD_INLINE friend bool Any(Mask m) {
    NativeMask all = m.m[0];
    for (int j = 1; j < P; ++j) all |= m.m[j];
    for (int k = 0; k < kWidth; ++k) {
      if (all[k] != 0) return true;
    }
    return false;
  }
  CHRONUS_SIMD_INLINE friend Pack Abs(Pack a) { return Max(a, -a); }

  /// Per lane: m ? a : b.
  CHRONUS_SIMD_INLINE friend Pack Select(Mask m, Pack a, Pack b) {
    for (int j = 0; j < P; ++j) a.v[j] = m.m[j] ? a.v[j] : b.v[j];
    return a;
  }
  // x86 minps / maxps have exactly these semantics and GCC emits them; on aarch64 GCC keeps a
  // compare and a select (fmin / fmax differ for NaN), so NEON's are called directly.
  CHRONUS_SIMD_INLINE friend Pack Min(Pack a, Pack b) {
    for (int j = 0; j < P; ++j) {
#if defined(__aarch64__)
      if constexpr (std::is_same_v<N, F4>) {
        a.v[j] = reinterpret_cast<N>(vminq_f32(reinterpret_cast<float32x4_t>(a.v[j]),
                                               reinterpret_cast<float32x4_t>(b.v[j])));
        continue;
      }
#endif
      a.v[j] = a.v[j] < b.v[j] ? a.v[j] : b.v[j];
    }
    return a;
  }
  CHRONUS_SIMD_INLINE friend Pack Max(Pack a, Pack b) {
    for (int j = 0; j < P; ++j) {
#if defined(__aarch64__)
      if constexpr (std::is_same_v<N, F4>) {
        a.v[j] = reinterpret_cast<N>(vmaxq_f32(reinterpret_cast<float32x4_t>(a.v[j]),
                                               reinterpret_cast<float32x4_t>(b.v[j])));
        continue;
      }
#endif
      a.v[j] = a.v[j] > b.v[j] ? a.v[j] : b.v[j];
    }
    return a;
  }
  /// The same value, hidden from the optimiser: GCC turns Max(x, constant) into a compare and a
  /// masked move (two instructions) but Max(x, opaque) into one vmaxps. Call outside loops.
  CHRONUS_SIMD_INLINE Pack Opaque() const {
    Pack r = *this;
    for (int j = 0; j < P; ++j) {
#if defined(__x86_64__) || defined(__i386__)
#if defined(__clang__) && !defined(__AVX__)
      // Clang refuses a register operand wider than the target's vector registers (a 32-byte
      // vector without AVX): such a part goes through memory, once, outside the loop.
      if constexpr (sizeof(N) > 16) {
        __asm__("" : "+m"(r.v[j]));
      } else {
        __asm__("" : "+v"(r.v[j]));
      }
#else
      __asm__("" : "+v"(r.v[j]));
#endif
#elif defined(__aarch64__)
      __asm__("" : "+w"(r.v[j]));
#endif
    }
    return r;
  }
  /// Sum of the P sub-vectors (one native vector).
  CHRONUS_SIMD_INLINE N SumParts() const {
    N s = v[0];
    for (int j = 1; j < P; ++j) s += v[j];
    return s;
  }
};

/// Horizontal sum of a native vector (pairwise halving).
CHRONUS_SIMD_INLINE float HorizontalSum(F4 x) {
  const F4 s = x + __builtin_shufflevector(x, x, 2, 3, 0, 1);
  const F4 t = s + __builtin_shufflevector(s, s, 1, 0, 3, 2);
  return t[0];
}
CHRONUS_SIMD_INLINE float HorizontalSum(F8 x) {
  const F4 lo = __builtin_shufflevector(x, x, 0, 1, 2, 3);
  const F4 hi = __builtin_shufflevector(x, x, 4, 5, 6, 7);
  return HorizontalSum(lo + hi);
}
CHRONUS_SIMD_INLINE float HorizontalSum(F16 x) {
  const F8 lo = __builtin_shufflevector(x, x, 0, 1, 2, 3, 4, 5, 6, 7);
  const F8 hi = __builtin_shufflevector(x, x, 8, 9, 10, 11, 12, 13, 14, 15);
  return HorizontalSum(lo + hi);
}

}  // namespace chronus::dsp::simd
