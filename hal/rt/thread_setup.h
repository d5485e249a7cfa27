// Real-time thread set-up: name, CPU affinity, SCHED_FIFO, denormal flushing, stack prefault,
// memory locking. Modelled on SuperCollider supernova's worker set-up.
#pragma once

#include <cstddef>
#include <string>

namespace chronus::hal {

/// How a thread should run. A priority of 0 keeps the normal (SCHED_OTHER) policy; a cpu of -1
/// leaves the affinity alone.
struct RtThreadConfig {
  std::string name;  ///< Thread name, at most 15 characters are kept (pthread limit).
  int priority = 0;  ///< SCHED_FIFO priority 1..99, or 0 for SCHED_OTHER.
  int cpu = -1;      ///< Core to pin to, or -1.
};

/// Outcome of SetUpCurrentThread: what was applied, and human-readable warnings for what was not.
struct RtThreadStatus {
  bool fifo = false;     ///< SCHED_FIFO is in effect.
  bool pinned = false;   ///< The affinity was set to `cpu`.
  std::string warnings;  ///< Empty when everything requested was applied.
};

/// Applies `config` to the calling thread: sets its name, pins it, switches it to SCHED_FIFO,
/// sets DAZ/FTZ (x86-64 MXCSR, aarch64 FPCR.FZ) and prefaults 64 KiB of stack. Failing steps
/// (EPERM without CAP_SYS_NICE / RLIMIT_RTPRIO, a core that does not exist) are reported in
/// `warnings`; the thread keeps running at normal priority. Call once, at the start of the thread,
/// before it enters its loop (it may allocate for the warning text).
RtThreadStatus SetUpCurrentThread(const RtThreadConfig& config);

/// Sets flush-to-zero and denormals-are-zero for the calling thread's floating point unit.
/// RT-safe.
void SetDenormalsFlushToZero();

/// Locks the process's current and future pages in RAM (mlockall) when RLIMIT_MEMLOCK allows it.
/// Returns an empty string on success, else the reason it was not done. Main thread, at start-up.
std::string LockMemory();

/// Stack size (bytes) of the threads created after SetDefaultThreadStack: every thread of the
/// firmware, libraries' threads included. mlockall locks a thread's whole stack, and glibc's
/// default (RLIMIT_STACK, 8 MiB) made each of the firmware's 17 threads cost 8 MiB of RAM: RSS
/// 341,576 KiB with FluidR3 loaded, 226,756 KiB with 1 MiB stacks. Built with 256 KiB stacks the
/// firmware passed the 36 end-to-end tests (a 148 MB SoundFont loaded by FluidSynth's loader
/// threads among them); 1 MiB leaves 4x that. Sanitizer builds (Debug, -O0) keep glibc's 8 MiB:
/// there every inlined local of the voice kernels gets its own slot (and under ASan its redzones),
/// so the AVX-512 kernel's frame alone is 1.2 MB (AVX2 0.6 MB); with 1 MiB its frame reached past
/// the stack's guard page into the mapping below (Failover.ThrowRepeated under ASan on an
/// AVX-512 machine: a stack overflow, or an ASan allocator CHECK on what it overwrote).
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
inline constexpr size_t kThreadStackBytes = 8 * 1024 * 1024;
#else
inline constexpr size_t kThreadStackBytes = 1024 * 1024;
#endif

/// Makes `bytes` the stack size of threads created from now on (pthread_setattr_default_np).
/// Returns an empty string on success, else the reason. Main thread, before any thread starts.
std::string SetDefaultThreadStack(size_t bytes);

/// Number of online CPUs.
int OnlineCpuCount();

}  // namespace chronus::hal
