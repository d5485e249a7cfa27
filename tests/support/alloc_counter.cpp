#include "tests/support/alloc_counter.h"

#include <sys/prctl.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <new>

namespace {

std::atomic<bool> g_counting_rt{false};
std::atomic<uint64_t> g_rt_allocs{0};

// Counts an allocation of a thread named like the firmware's RT threads while enabled.
void NoteRt() {
  if (!g_counting_rt.load(std::memory_order_relaxed)) return;
  char name[17] = {};
  prctl(PR_GET_NAME, name);
  if (std::strncmp(name, "chronus-audio", 13) == 0 || std::strncmp(name, "chronus-dsp", 11) == 0) {
    g_rt_allocs.fetch_add(1, std::memory_order_relaxed);
  }
}

thread_local bool t_counting = false;
thread_local uint64_t t_allocs = 0;
thread_local uint64_t t_frees = 0;

void* Allocate(std::size_t size) {
  if (t_counting) ++t_allocs;
  NoteRt();
  void* p = std::malloc(size == 0 ? 1 : size);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}

void* AllocateNoThrow(std::size_t size) noexcept {
  if (t_counting) ++t_allocs;
  NoteRt();
  return std::malloc(size == 0 ? 1 : size);
}

void* AllocateAligned(std::size_t size, std::align_val_t align) noexcept {
  if (t_counting) ++t_allocs;
  NoteRt();
  const auto a = static_cast<std::size_t>(align);
  const std::size_t rounded = ((size == 0 ? 1 : size) + a - 1) / a * a;
  return std::aligned_alloc(a, rounded);
}

void Free(void* p) noexcept {
  if (p == nullptr) return;
  if (t_counting) ++t_frees;
  std::free(p);
}

}  // namespace

namespace chronus::test {

AllocCountScope::AllocCountScope() : start_allocs_(t_allocs), start_frees_(t_frees) {
  t_counting = true;
}
AllocCountScope::~AllocCountScope() { t_counting = false; }
uint64_t AllocCountScope::allocations() const { return t_allocs - start_allocs_; }
uint64_t AllocCountScope::deallocations() const { return t_frees - start_frees_; }

void StartCountingRtAllocations() {
  g_rt_allocs.store(0);
  g_counting_rt.store(true);
}

uint64_t StopCountingRtAllocations() {
  g_counting_rt.store(false);
  return g_rt_allocs.load();
}

}  // namespace chronus::test

// Global replacements (all standard forms).
void* operator new(std::size_t size) { return Allocate(size); }
void* operator new[](std::size_t size) { return Allocate(size); }
void* operator new(std::size_t size, const std::nothrow_t&) noexcept {
  return AllocateNoThrow(size);
}
void* operator new[](std::size_t size, const std::nothrow_t&) noexcept {
  return AllocateNoThrow(size);
}
void* operator new(std::size_t size, std::align_val_t align) {
  void* p = AllocateAligned(size, align);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new[](std::size_t size, std::align_val_t align) {
  void* p = AllocateAligned(size, align);
  if (p == nullptr) throw std::bad_alloc();
  return p;
}
void* operator new(std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return AllocateAligned(size, align);
}
void* operator new[](std::size_t size, std::align_val_t align, const std::nothrow_t&) noexcept {
  return AllocateAligned(size, align);
}

void operator delete(void* p) noexcept { Free(p); }
void operator delete[](void* p) noexcept { Free(p); }
void operator delete(void* p, std::size_t) noexcept { Free(p); }
void operator delete[](void* p, std::size_t) noexcept { Free(p); }
void operator delete(void* p, const std::nothrow_t&) noexcept { Free(p); }
void operator delete[](void* p, const std::nothrow_t&) noexcept { Free(p); }
void operator delete(void* p, std::align_val_t) noexcept { Free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { Free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { Free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { Free(p); }
void operator delete(void* p, std::align_val_t, const std::nothrow_t&) noexcept { Free(p); }
void operator delete[](void* p, std::align_val_t, const std::nothrow_t&) noexcept { Free(p); }
