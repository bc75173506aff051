// What the CUDA kernels share: block sizes, grid-stride loops over n elements, scratch
// memory, and map_elements, the CUDA twin of fg::cpu::map_elements. Included by .cu files only.
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

template <typename Op, typename Out, typename... In>
__global__ void map_elements_kernel(int64_t n, Op op, Out* out, const In*... in) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < n;
       i += int64_t(gridDim.x) * blockDim.x)
    out[i] = op(in[i]...);
}

// The one CUDA launch of the elementwise kernels: out[i] = op(in[i]...) for i in [0, n), as
// fg::cpu::map_elements. (A kernel, not a lambda: extended lambdas cannot capture a pack.)
template <typename Op, typename Out, typename... In>
void map_elements(const char* name, Op op, Out* out, int64_t n, const In*... in) {
  if (n <= 0) return;
  auto kernel = map_elements_kernel<Op, Out, In...>;
  FG_LAUNCH_KERNEL(kernel, blocks_for(n), kThreads, n, op, out, in...);
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
