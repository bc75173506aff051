// Layout kernels: axis swaps, row gathers and scatter-adds; the CPU versions
// (csrc/cpu/layout.cpp) are the reference.
#include "cuda/launch.cuh"
#include "kernels.h"

namespace fg::cuda {

// x (outer, A, middle, B, inner) -> y (outer, B, middle, A, inner)
template <typename T>
void swap_axes(T* y, const T* x, int64_t outer, int64_t A, int64_t middle, int64_t B,
               int64_t inner) {
  launch_for_each("swap_axes", outer * B * middle * A * inner, [=] __device__(int64_t i) {
    int64_t e = i % inner, r = i / inner;  // r: output row (o, b, m, a)
    int64_t a = r % A, m = (r / A) % middle, b = (r / A / middle) % B, o = r / A / middle / B;
    y[i] = x[(((o * A + a) * middle + m) * B + b) * inner + e];
  });
}
FG_INSTANTIATE_SWAP_AXES()

// x (rows, row_bytes), indices (n_indices) -> y (n_indices, row_bytes); whole 4-byte words
// where the rows allow it
void gather_rows(void* y, const void* x, const int64_t* indices, int64_t n_indices,
                 int64_t row_bytes) {
  bool words = row_bytes % 4 == 0 &&
               (reinterpret_cast<uintptr_t>(x) | reinterpret_cast<uintptr_t>(y)) % 4 == 0;
  if (words) {  // a uint8 view can start at any byte: words only where both are aligned
    int64_t words = row_bytes / 4;
    auto* out = static_cast<uint32_t*>(y);
    auto* in = static_cast<const uint32_t*>(x);
    launch_for_each("gather_rows", n_indices * words, [=] __device__(int64_t i) {
      out[i] = in[indices[i / words] * words + i % words];
    });
    return;
  }
  auto* out = static_cast<uint8_t*>(y);
  auto* in = static_cast<const uint8_t*>(x);
  launch_for_each("gather_rows", n_indices * row_bytes, [=] __device__(int64_t i) {
    out[i] = in[indices[i / row_bytes] * row_bytes + i % row_bytes];
  });
}

// dy (n_indices, row_size) -> dx (rows, row_size) += at indices; atomics let repeated
// indices accumulate
void scatter_add_rows(float* dx, const float* dy, const int64_t* indices, int64_t n_indices,
                      int64_t row_size) {
  launch_for_each("scatter_add_rows", n_indices * row_size, [=] __device__(int64_t i) {
    atomicAdd(dx + indices[i / row_size] * row_size + i % row_size, dy[i]);
  });
}

}  // namespace fg::cuda
