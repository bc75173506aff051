// What the CUDA kernels share: block sizes, grid-stride loops over n elements, scratch
// memory, and the FG_CUDA_ELEMENTWISE macro that mirrors the CPU's FG_ELEMENTWISE_KERNEL, so
// that a kernel's two versions read alike. Included by .cu files only.
#pragma once
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "cuda/check.h"
#include "cuda/device.h"

namespace fg::cuda {

constexpr int kThreads = 256;

// kernel<<<grid, block>>>(args...), spelled as a macro so that tests/cuda_emulation can run
// the same launches on host threads. A kernel named with template arguments goes in through
// a variable (the commas would split the macro's arguments).
#ifndef FG_LAUNCH_KERNEL
#define FG_LAUNCH_KERNEL(kernel, grid, block, ...) kernel<<<(grid), (block)>>>(__VA_ARGS__)
#endif

// How many pieces of `size` cover n (the last may be partial): blocks, tiles, chunks.
__host__ __device__ inline int64_t ceil_div(int64_t n, int64_t size) {
  return (n + size - 1) / size;
}

// Enough blocks to cover n with kThreads each, capped: grid-stride loops do the rest.
inline unsigned blocks_for(int64_t n) {
  return static_cast<unsigned>(std::clamp<int64_t>(ceil_div(n, kThreads), 1, 65535 * 8));
}

template <typename Body>
__global__ void for_each_index(int64_t n, Body body) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    body(i);
}

// Runs body(i) for i in [0, n) on the current device's default stream; `name` names the
// kernel in the error a failed launch raises.
template <typename Body>
void launch_for_each(const char* name, int64_t n, Body body) {
  if (n <= 0) return;
  FG_LAUNCH_KERNEL(for_each_index, blocks_for(n), kThreads, n, body);
  FG_CUDA_CHECK_LAUNCH(name);
}

// Device memory for one op's intermediate results, on the current device, from the caching
// allocator. It goes back to the cache at scope exit while the op's kernels may still be
// using it, which is safe: every kernel and copy runs in order on the default stream, so
// whatever gets the block next runs after them.
class DeviceScratch {
 public:
  explicit DeviceScratch(size_t nbytes) {
    FG_CUDA_CHECK(cudaGetDevice(&device_));
    data_ = allocate(nbytes, device_);
  }
  ~DeviceScratch() { release(data_, device_); }
  DeviceScratch(const DeviceScratch&) = delete;
  DeviceScratch& operator=(const DeviceScratch&) = delete;
  void* data() const { return data_; }

 private:
  int device_ = 0;
  void* data_ = nullptr;
};

}  // namespace fg::cuda

// Defines `void name params` (its last parameter `int64_t n`) whose element i does `body`.
#define FG_CUDA_ELEMENTWISE(name, params, body)                                 \
  void name params {                                                            \
    ::fg::cuda::launch_for_each(#name, n, [=] __device__(int64_t i) { body; }); \
  }
