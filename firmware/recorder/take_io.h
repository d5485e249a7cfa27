// The few file operations a take is written with, behind an interface so that tests can replay
// them and check what a power cut at any step would leave on the card. Non-RT (writer thread).
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <cstdint>

namespace chronus::firmware {

class TakeIo {
 public:
  virtual ~TakeIo() = default;
  // pwrite(2): bytes written (possibly fewer than `bytes`) or -1 with errno set.
  virtual ssize_t Pwrite(int fd, const void* data, std::size_t bytes, uint64_t offset) = 0;
  // fdatasync(2): 0 or -1 with errno set.
  virtual int Fdatasync(int fd) = 0;
  // ftruncate(2): 0 or -1 with errno set. Also releases blocks preallocated past the new end.
  virtual int Ftruncate(int fd, uint64_t size) = 0;
  // fallocate(FALLOC_FL_KEEP_SIZE): reserves blocks without changing the file size. 0 or -1.
  virtual int Preallocate(int fd, uint64_t offset, uint64_t bytes) = 0;
  // posix_fadvise(DONTNEED) on data already on the card: keeps the page cache small.
  virtual void DropCache(int fd, uint64_t offset, uint64_t bytes) = 0;
};

// The real system calls.
TakeIo& PosixTakeIo();

}  // namespace chronus::firmware
