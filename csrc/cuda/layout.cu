// Layout kernels: strided copies, row gathers and scatter-adds; the CPU versions
// (csrc/cpu/layout.cpp) are the reference.
#include "core/error.h"
#include "cuda/launch.cuh"
#include "kernels.h"

namespace fg::cuda {

constexpr int kMaxCopyDims = 16;

// shape and both strides, passed by value into the kernel
struct CopyLayout {
  int64_t shape[kMaxCopyDims], dst_strides[kMaxCopyDims], src_strides[kMaxCopyDims];
  int ndim;
};

// y[layout] = x[layout] for n elements of one type; thread i copies element i in row-major
// order, so neighbouring threads touch neighbouring elements of the last dim
template <typename T>
void strided_copy_typed(T* y, const T* x, CopyLayout layout, int64_t n) {
  launch_for_each("strided_copy", n, [=] __device__(int64_t i) {
    int64_t dst_offset = 0, src_offset = 0;
    for (int d = layout.ndim - 1; d >= 0; --d) {
      int64_t index = i % layout.shape[d];
      i /= layout.shape[d];
      dst_offset += index * layout.dst_strides[d];
      src_offset += index * layout.src_strides[d];
    }
    y[dst_offset] = x[src_offset];
  });
}

// x (shape[ndim]) at src_strides -> y (shape[ndim]) at dst_strides
void strided_copy(void* y, const void* x, int64_t element_size, const int64_t* shape,
                  const int64_t* dst_strides, const int64_t* src_strides, int ndim) {
  FG_CHECK(ndim <= kMaxCopyDims, ValueError,
           "[strided_copy] the CUDA kernel copies at most "
               << kMaxCopyDims << " dimensions (after merging), got " << ndim);
  CopyLayout layout;
  int64_t n = 1;
  for (int d = 0; d < ndim; ++d) {
    layout.shape[d] = shape[d], layout.dst_strides[d] = dst_strides[d];
    layout.src_strides[d] = src_strides[d], n *= shape[d];
  }
  layout.ndim = ndim;
  switch (element_size) {
    case 1:
      return strided_copy_typed(static_cast<uint8_t*>(y), static_cast<const uint8_t*>(x), layout,
                                n);
    case 2:
      return strided_copy_typed(static_cast<uint16_t*>(y), static_cast<const uint16_t*>(x), layout,
                                n);
    case 4:
      return strided_copy_typed(static_cast<uint32_t*>(y), static_cast<const uint32_t*>(x), layout,
                                n);
    default:
      return strided_copy_typed(static_cast<uint64_t*>(y), static_cast<const uint64_t*>(x), layout,
                                n);
  }
}

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

// x (n_indices, row_bytes) -> y (rows, row_bytes) at indices; bytes, as any element type
void scatter_rows(void* y, const void* x, const int64_t* indices, int64_t n_indices,
                  int64_t row_bytes) {
  auto* out = static_cast<uint8_t*>(y);
  auto* in = static_cast<const uint8_t*>(x);
  launch_for_each("scatter_rows", n_indices * row_bytes, [=] __device__(int64_t i) {
    out[indices[i / row_bytes] * row_bytes + i % row_bytes] = in[i];
  });
}

// dy (n_indices, row_size) -> dx (rows, row_size) += at indices; atomics let repeated
// indices accumulate
template <typename T>
void scatter_add_rows(T* dx, const T* dy, const int64_t* indices, int64_t n_indices,
                      int64_t row_size) {
  launch_for_each("scatter_add_rows", n_indices * row_size, [=] __device__(int64_t i) {
    atomicAdd(dx + indices[i / row_size] * row_size + i % row_size, dy[i]);
  });
}
FG_INSTANTIATE_SCATTER_ADD()

}  // namespace fg::cuda
