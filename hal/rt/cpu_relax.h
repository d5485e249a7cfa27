// A hint to the core that the caller is spinning on a value another core will change.
#pragma once

namespace chronus::hal {

/// One spin-wait hint: PAUSE on x86-64, YIELD on aarch64, nothing elsewhere. Any thread; RT-safe
/// (no syscall). It saves power and, on a core shared by hyperthreads or vCPUs, gives the other
/// thread the pipeline; it does not give up the core.
inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

}  // namespace chronus::hal
