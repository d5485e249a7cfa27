#include "hal/rt/thread_setup.h"

#include <pthread.h>
#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#if defined(__x86_64__) || defined(__i386__)
#include <xmmintrin.h>
#endif

namespace chronus::hal {

namespace {

void PrefaultStack() {
  constexpr size_t kBytes = 64 * 1024;
  char stack[kBytes];
  for (size_t i = 0; i < kBytes; i += 4096) stack[i] = 0;
  asm volatile("" : : "r"(stack) : "memory");  // keep the writes: they fault the pages in
}

}  // namespace

void SetDenormalsFlushToZero() {
#if defined(__x86_64__) || defined(__i386__)
  _mm_setcsr(_mm_getcsr() | 0x8040);  // FTZ (bit 15) | DAZ (bit 6)
#elif defined(__aarch64__)
  uint64_t fpcr;
  asm volatile("mrs %0, fpcr" : "=r"(fpcr));
  fpcr |= (1ull << 24);  // FZ
  asm volatile("msr fpcr, %0" : : "r"(fpcr));
#endif
}

RtThreadStatus SetUpCurrentThread(const RtThreadConfig& config) {
  RtThreadStatus status;
  if (!config.name.empty()) {
    pthread_setname_np(pthread_self(), config.name.substr(0, 15).c_str());
  }
  if (config.cpu >= 0) {
    if (config.cpu >= OnlineCpuCount()) {
      status.warnings += "cpu " + std::to_string(config.cpu) + " does not exist (" +
                         std::to_string(OnlineCpuCount()) + " online); not pinned. ";
    } else {
      cpu_set_t set;
      CPU_ZERO(&set);
      CPU_SET(config.cpu, &set);
      int err = pthread_setaffinity_np(pthread_self(), sizeof(set), &set);
      if (err == 0) {
        status.pinned = true;
      } else {
        status.warnings += std::string("cannot pin to cpu ") + std::to_string(config.cpu) + ": " +
                           std::strerror(err) + ". ";
      }
    }
  }
  if (config.priority > 0) {
    sched_param param{};
    param.sched_priority = config.priority;
    int err = pthread_setschedparam(pthread_self(), SCHED_FIFO, &param);
    if (err == 0) {
      status.fifo = true;
    } else {
      status.warnings += std::string("SCHED_FIFO priority ") + std::to_string(config.priority) +
                         " not permitted (" + std::strerror(err) +
                         "); running at normal priority (grant CAP_SYS_NICE or raise "
                         "RLIMIT_RTPRIO). ";
    }
  }
  SetDenormalsFlushToZero();
  PrefaultStack();
  return status;
}

std::string LockMemory() {
  rlimit limit{};
  if (getrlimit(RLIMIT_MEMLOCK, &limit) == 0 && limit.rlim_cur != RLIM_INFINITY && geteuid() != 0) {
    return "RLIMIT_MEMLOCK is " + std::to_string(limit.rlim_cur) +
           " bytes (not unlimited); memory not locked";
  }
  if (mlockall(MCL_CURRENT | MCL_FUTURE) != 0) {
    return std::string("mlockall failed: ") + std::strerror(errno);
  }
  return {};
}

std::string SetDefaultThreadStack(size_t bytes) {
  pthread_attr_t attr;
  if (pthread_attr_init(&attr) != 0) return "pthread_attr_init failed";
  int err = pthread_attr_setstacksize(&attr, bytes);
  if (err == 0) err = pthread_setattr_default_np(&attr);
  pthread_attr_destroy(&attr);
  if (err != 0) {
    return "thread stack size " + std::to_string(bytes) + " bytes not set: " + std::strerror(err);
  }
  return {};
}

int OnlineCpuCount() {
  long n = sysconf(_SC_NPROCESSORS_ONLN);
  return n > 0 ? static_cast<int>(n) : 1;
}

}  // namespace chronus::hal
