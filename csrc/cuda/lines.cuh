// Kernels that work along one axis of (outer, n, inner): softmax, log-softmax, the fused
// losses and reductions. A line is the n elements of one (outer, inner) position, `inner`
// apart. Contiguous lines (inner == 1) get a warp each, which reads them coalesced and
// reduces with shuffles; strided lines get a thread each, so that neighbouring threads read
// neighbouring elements. Included by .cu files only.
#pragma once
#include <cuda_runtime.h>

#include <cmath>

#include "cuda/launch.cuh"

namespace fg::cuda {

// G threads share one line: 32 (a warp) or 1. lane in [0, G).
template <int G>
struct LineGroup {
  static constexpr int kSize = G;
  int lane;

  template <typename T>
  __device__ T sum(T v) const {
    if constexpr (G > 1)
      for (int offset = G / 2; offset > 0; offset >>= 1)
        v += __shfl_xor_sync(0xffffffffu, v, offset);
    return v;
  }
  // NaN wins, as on the CPU (a line with a NaN has a NaN maximum).
  __device__ float max(float v) const {
    if constexpr (G > 1)
      for (int offset = G / 2; offset > 0; offset >>= 1) {
        float other = __shfl_xor_sync(0xffffffffu, v, offset);
        v = (other != other || other > v) ? other : v;
      }
    return v;
  }
};

// fn(group, line, start, stride) for each line (line = o * inner + i): its elements are
// start + k * stride, k in [0, n); the group's lanes take k = lane, lane + G, ... and
// combine with group.sum / group.max.
template <int G, typename LineFn>
__global__ void for_each_line(int64_t lines, int64_t n, int64_t inner, LineFn fn) {
  int64_t thread = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  int64_t line = thread / G;
  if (line >= lines) return;  // whole warps: a warp's lanes share one line
  fn(LineGroup<G>{static_cast<int>(threadIdx.x % G)}, line,
     (line / inner) * n * inner + line % inner, inner);
}

template <typename LineFn>
void launch_lines(const char* name, int64_t outer, int64_t n, int64_t inner, LineFn fn) {
  int64_t lines = outer * inner;
  if (lines <= 0) return;
  if (inner == 1) {
    int64_t threads = lines * 32;
    for_each_line<32><<<static_cast<unsigned>((threads + kThreads - 1) / kThreads), kThreads>>>(
        lines, n, inner, fn);
  } else {
    for_each_line<1><<<static_cast<unsigned>((lines + kThreads - 1) / kThreads), kThreads>>>(
        lines, n, inner, fn);
  }
  FG_CUDA_CHECK_LAUNCH(name);
}

}  // namespace fg::cuda
