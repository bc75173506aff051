// Kernels that work along one axis of (outer, n, inner): softmax, log-softmax, the fused
// losses and reductions. A line is the n elements of one (outer, inner) position, `inner`
// apart. Contiguous lines (inner == 1) get a warp each, or a block of kLineBlock threads
// when they are long, and the group reads them coalesced and reduces with shuffles (and
// shared memory across a block's warps); strided lines get a thread each, so that
// neighbouring threads read neighbouring elements. Included by .cu files only.
#pragma once
#include <cuda_runtime.h>

#include <cmath>
#include <type_traits>

#include "cuda/launch.cuh"

namespace fg::cuda {

// Contiguous lines this long or longer get a block of kLineBlock threads each: a warp
// would walk a line of 2048 floats in 16 steps.
constexpr int64_t kBlockLineLength = 2048;
constexpr int kLineBlock = kThreads;

// Lane i gets v of lane i ^ offset. CUDA's shuffles take 32- and 64-bit words: narrower
// types go through an int, and int64_t / uint64_t (long on Linux) through long long.
template <typename T>
__device__ inline T shuffle_xor(T v, int offset) {
  if constexpr (sizeof(T) < 4)
    return static_cast<T>(__shfl_xor_sync(0xffffffffu, static_cast<int>(v), offset));
  else if constexpr (std::is_integral_v<T> && sizeof(T) == 8)
    return static_cast<T>(__shfl_xor_sync(0xffffffffu, static_cast<unsigned long long>(v), offset));
  else
    return __shfl_xor_sync(0xffffffffu, v, offset);
}

// A value and its index along the line, for argmax.
template <typename T>
struct Candidate {
  T value;
  int64_t index;  // -1: no candidate yet
};
template <typename T>
__device__ inline Candidate<T> shuffle_xor(Candidate<T> c, int offset) {
  return {shuffle_xor(c.value, offset), shuffle_xor(c.index, offset)};
}

// G threads share one line: 1, 32 (a warp) or kLineBlock (a block). lane in [0, G). Every
// lane of the group must call a reduction, and gets its result.
template <int G>
struct LineGroup {
  static_assert(G == 1 || G == 32 || G == kLineBlock, "a thread, a warp or a whole block");
  static constexpr int kSize = G;
  int lane;

  // combine(a, b) must be commutative: then the xor butterfly leaves the same value, bit for
  // bit, in every lane, and the block's warps combine their results in one fixed order.
  template <typename T, typename Combine>
  __device__ T reduce(T v, Combine combine) const {
    if constexpr (G > 1)
      for (int offset = 16; offset > 0; offset >>= 1) v = combine(v, shuffle_xor(v, offset));
    if constexpr (G > 32) {
      __shared__ T warp_results[G / 32];
      if (lane % 32 == 0) warp_results[lane / 32] = v;
      __syncthreads();
      v = warp_results[0];
      for (int w = 1; w < G / 32; ++w) v = combine(v, warp_results[w]);
      __syncthreads();  // read by all before the next reduction writes them again
    }
    return v;
  }
  template <typename T>
  __device__ T sum(T v) const {
    return reduce(v, [](T a, T b) { return a + b; });
  }
  // NaN wins, as on the CPU (a line with a NaN has a NaN maximum); +0 over -0, so that the
  // combine is commutative.
  template <typename T>
  __device__ T max(T v) const {
    return reduce(v, [](T a, T b) {
      if (a != a || b != b) return a != a ? a : b;
      return a > b || (a == b && !signbit(a)) ? a : b;
    });
  }
};

// fn(group, line, start, stride) for each line (line = o * inner + i): its elements are
// start + k * stride, k in [0, n); the group's lanes take k = lane, lane + G, ... and
// combine with group.sum / group.max / group.reduce.
template <int G, typename LineFn>
__global__ void for_each_line(int64_t lines, int64_t n, int64_t inner, LineFn fn) {
  int64_t thread = blockIdx.x * int64_t(blockDim.x) + threadIdx.x;
  int64_t line = thread / G;
  if (line >= lines) return;  // whole groups: a group's lanes share one line
  fn(LineGroup<G>{static_cast<int>(threadIdx.x % G)}, line,
     (line / inner) * n * inner + line % inner, inner);
}

template <int G, typename LineFn>
void launch_line_groups(const char* name, int64_t lines, int64_t n, int64_t inner, LineFn fn) {
  static_assert(kThreads % G == 0, "a block holds whole groups");
  int64_t blocks = ceil_div(lines * G, kThreads);
  FG_CHECK(blocks <= 0x7FFFFFFF, ValueError,
           "[" << name << "] the CUDA kernel takes at most 2^31 - 1 blocks, got " << blocks);
  FG_LAUNCH_KERNEL(for_each_line<G>, static_cast<unsigned>(blocks), kThreads, lines, n, inner, fn);
}

template <typename LineFn>
void launch_lines(const char* name, int64_t outer, int64_t n, int64_t inner, LineFn fn) {
  int64_t lines = outer * inner;
  if (lines <= 0) return;
  if (inner != 1)
    launch_line_groups<1>(name, lines, n, inner, fn);
  else if (n >= kBlockLineLength)
    launch_line_groups<kLineBlock>(name, lines, n, inner, fn);
  else
    launch_line_groups<32>(name, lines, n, inner, fn);
  FG_CUDA_CHECK_LAUNCH(name);
}

template <typename Fn>
__global__ void for_each_item_kernel(int64_t items, Fn fn) {
  for (int64_t item = blockIdx.x; item < items; item += gridDim.x)
    fn(LineGroup<kLineBlock>{static_cast<int>(threadIdx.x)}, item);
}

// fn(block, item) for item in [0, items), a block of kLineBlock threads each (grid-stride
// past the grid's limit); every thread of the block takes the same items, so all reach each
// reduction (norm.cu's groups and channels, depthwise.cu's weight taps).
template <typename Fn>
void launch_items(const char* name, int64_t items, Fn fn) {
  if (items <= 0) return;
  unsigned blocks = static_cast<unsigned>(std::min<int64_t>(items, 65535 * 8));
  FG_LAUNCH_KERNEL(for_each_item_kernel, blocks, kLineBlock, items, fn);
  FG_CUDA_CHECK_LAUNCH(name);
}

}  // namespace fg::cuda
