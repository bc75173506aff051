// Just enough of CUDA, on the host, to compile forgegrad's kernels as C++ and run them
// (tests/cuda_emulation stands in for <cuda_runtime.h> on the include path). Every thread
// of a block is a host thread; __syncthreads is a barrier among them and __shfl_xor_sync an
// exchange among a warp's 32; the blocks of a grid run one after another, so a __shared__
// array (a static here) belongs to the block that runs. The scheduler interleaves the
// threads freely between barriers (and warps dawdle), so a missing barrier can show as a
// wrong result. Kernels launch through FG_LAUNCH_KERNEL (csrc/cuda/launch.cuh), defined here
// to run them at once.
#pragma once
#include <algorithm>
#include <atomic>
#include <barrier>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <memory>
#include <random>
#include <thread>
#include <vector>

struct float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
using std::fmaf;
using std::max;
using std::min;
using std::signbit;

struct dim3 {
  dim3(unsigned x_ = 1, unsigned y_ = 1, unsigned z_ = 1) : x(x_), y(y_), z(z_) {}
  unsigned x, y, z;
};
inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;

#define __global__
#define __device__
#define __host__
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

// The runtime calls the kernels' files make; no error ever happens here.
enum cudaError_t { cudaSuccess = 0 };
inline cudaError_t cudaGetLastError() { return cudaSuccess; }
inline const char* cudaGetErrorString(cudaError_t) { return "no error"; }
inline cudaError_t cudaGetDevice(int* device) {
  *device = 0;
  return cudaSuccess;
}

namespace emulation {

inline std::barrier<>* block_barrier = nullptr;
inline std::vector<std::unique_ptr<std::barrier<>>> warp_barriers;
inline uint64_t warp_slots[32][32];  // [warp][lane]: what each lane offers an exchange

// Runs kernel() as the grid's blocks of block.x threads (1-D blocks), block after block:
// block.x host threads take each block in turn, and all finish one before any starts the
// next (so a __shared__ static belongs to one block at a time).
inline void launch(dim3 grid, dim3 block, const std::function<void()>& kernel) {
  gridDim = grid, blockDim = block;
  std::barrier<> barrier(block.x), block_done(block.x);
  block_barrier = &barrier;
  warp_barriers.clear();
  for (unsigned w = 0; w < block.x / 32; ++w)
    warp_barriers.push_back(std::make_unique<std::barrier<>>(32));
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < block.x; ++t)
    threads.emplace_back([&, t] {
      threadIdx = dim3(t);
      for (unsigned z = 0; z < grid.z; ++z)
        for (unsigned y = 0; y < grid.y; ++y)
          for (unsigned x = 0; x < grid.x; ++x) {
            blockIdx = dim3(x, y, z);
            kernel();
            block_done.arrive_and_wait();
          }
    });
  for (std::thread& thread : threads) thread.join();
}

}  // namespace emulation

// After half the barriers, picked at random, one warp runs ahead into the next phase while
// the others dawdle, so that a race the barriers leave open (a write of the next phase
// before a read of this one) is likely to show.
inline void __syncthreads() {
  emulation::block_barrier->arrive_and_wait();
  thread_local unsigned phase = 0;  // the same count in every thread of the block
  unsigned pick = std::minstd_rand(++phase * 7919u + blockIdx.x * 31u + blockIdx.y)() %
                  (2 * std::max(1u, blockDim.x / 32));
  if (pick < blockDim.x / 32 && pick != threadIdx.x / 32)
    std::this_thread::sleep_for(std::chrono::microseconds(2000));
}

// Lane i gets the value of lane i ^ offset; every lane of the warp must take part.
template <typename T>
T __shfl_xor_sync(unsigned, T value, int offset) {
  static_assert(sizeof(T) <= sizeof(uint64_t));
  unsigned lane = threadIdx.x % 32, warp = threadIdx.x / 32;
  std::memcpy(&emulation::warp_slots[warp][lane], &value, sizeof(T));
  emulation::warp_barriers[warp]->arrive_and_wait();
  T other;
  std::memcpy(&other, &emulation::warp_slots[warp][lane ^ offset], sizeof(T));
  emulation::warp_barriers[warp]->arrive_and_wait();  // all read before the next exchange
  return other;
}

template <typename T>
T atomicAdd(T* address, T value) {
  return std::atomic_ref<T>(*address).fetch_add(value);
}

#define FG_LAUNCH_KERNEL(kernel, grid, block, ...) \
  ::emulation::launch(dim3(grid), dim3(block), [&] { kernel(__VA_ARGS__); })
