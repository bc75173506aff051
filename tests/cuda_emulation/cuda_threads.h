// Just enough of CUDA's thread model, on the host, to run kernels that use only the built-in
// indices, __syncthreads, __shared__ arrays, float4 and fmaf (such as csrc/cuda/
// gemm_kernel.cuh): every thread of a block is a host thread, __syncthreads is a barrier
// among them, and the blocks of a grid run one after another, so that a __shared__ array
// (a static here) belongs to the block that runs. The scheduler interleaves the threads
// freely between barriers, so a missing barrier can show as a wrong result.
#pragma once
#include <barrier>
#include <cmath>
#include <cstdint>
#include <functional>
#include <thread>
#include <vector>

struct float4 {
  float x, y, z, w;
};
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
using std::fmaf;

struct dim3 {
  unsigned x = 1, y = 1, z = 1;
};
inline thread_local dim3 threadIdx, blockIdx;
inline dim3 blockDim, gridDim;

#define __global__
#define __device__
#define __launch_bounds__(...)
#define __shared__ static
#define __align__(n) __attribute__((aligned(n)))

namespace emulation {
inline std::barrier<>* block_barrier = nullptr;
}
inline void __syncthreads() { emulation::block_barrier->arrive_and_wait(); }

namespace emulation {

// Runs kernel() as the grid's blocks of block.x threads (1-D blocks), block after block.
inline void launch(dim3 grid, dim3 block, const std::function<void()>& kernel) {
  gridDim = grid, blockDim = block;
  for (unsigned z = 0; z < grid.z; ++z)
    for (unsigned y = 0; y < grid.y; ++y)
      for (unsigned x = 0; x < grid.x; ++x) {
        std::barrier<> barrier(block.x);
        block_barrier = &barrier;
        std::vector<std::thread> threads;
        for (unsigned t = 0; t < block.x; ++t)
          threads.emplace_back([&, t] {
            threadIdx = {t, 0, 0};
            blockIdx = {x, y, z};
            kernel();
          });
        for (std::thread& thread : threads) thread.join();
      }
}

}  // namespace emulation
