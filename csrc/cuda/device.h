// The CUDA runtime as the rest of forgegrad sees it: device queries, copies, the current
// device, and the caching allocator's statistics. Callable from C++ without CUDA headers;
// defined only in a build with CUDA (csrc/cuda/device.cu, csrc/cuda/allocator.cpp).
#pragma once
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/device.h"

namespace fg::cuda {

int device_count();  // 0 when there is no driver or no GPU
std::string device_name(int index);
// RuntimeError naming `op` unless `index` is a CUDA device this machine has.
void check_device(int index, const char* op);
void synchronize(int index);

// Makes `index` the current device for the guard's lifetime (kernels launch there).
class DeviceGuard {
 public:
  explicit DeviceGuard(int index);
  ~DeviceGuard();
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_;
};

// Makes `stream` (a cudaStream_t of another library, as an integer) wait for the work
// launched so far on the default stream of `device`, which forgegrad's kernels run on.
void order_stream_after_default(int device, uintptr_t stream);

// nbytes from src on src_device to dst on dst_device, any pair of cpu and cuda:N, in order
// with the kernels on the default stream; host memory on either side is free to reuse after.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device, size_t nbytes);

// ---- the caching allocator (csrc/cuda/allocator.cpp) ----
// Device memory for tensors, kept in size classes after release for the next tensor of
// that class. Out of memory: the cache is returned to the driver and the allocation tried
// once more, then MemoryError says what was asked and what is held.
// FORGEGRAD_CUDA_NO_CACHE=1 frees on release (for compute-sanitizer).
void* allocate(size_t nbytes, int device);
void release(void* ptr, int device);
size_t memory_allocated(int device);      // bytes held by live tensors
size_t max_memory_allocated(int device);  // the peak of memory_allocated
size_t memory_reserved(int device);       // live plus cached bytes
void reset_peak_memory_stats(int device);
void empty_cache();  // cached blocks back to the driver

}  // namespace fg::cuda
