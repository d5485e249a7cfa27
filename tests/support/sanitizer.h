// Whether this test binary is built with a sanitizer (ASan/UBSan or TSan): such builds run
// several times slower, so the few assertions that depend on the relative timing of threads state
// what they skip under them.
#pragma once

namespace chronus::test {

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr bool kSanitized = true;
#else
inline constexpr bool kSanitized = false;
#endif

}  // namespace chronus::test
