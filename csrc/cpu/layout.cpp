#include <cstring>
#include <type_traits>

#include "cpu/parallel.h"
#include "kernels.h"

namespace fg::cpu {

// x (shape[ndim]) at src_strides -> y (shape[ndim]) at dst_strides, for one element type:
// rows of the last dimension, split across threads.
template <typename T>
static void strided_copy_typed(T* y, const T* x, const int64_t* shape, const int64_t* dst_strides,
                               const int64_t* src_strides, int ndim) {
  int64_t n = ndim ? shape[ndim - 1] : 1, rows = 1;
  for (int d = 0; d + 1 < ndim; ++d) rows *= shape[d];
  int64_t dst_step = ndim ? dst_strides[ndim - 1] : 0, src_step = ndim ? src_strides[ndim - 1] : 0;
  parallel_for(rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(n, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t row = begin; row < end; ++row) {
                   int64_t dst_offset = 0, src_offset = 0;
                   for (int d = ndim - 2, rest = 0, r = row; d >= 0; --d) {
                     rest = r % shape[d], r /= shape[d];
                     dst_offset += rest * dst_strides[d];
                     src_offset += rest * src_strides[d];
                   }
                   T* out = y + dst_offset;
                   const T* in = x + src_offset;
                   if (dst_step == 1 && src_step == 1) {
                     std::memcpy(out, in, n * sizeof(T));
                   } else {
                     for (int64_t i = 0; i < n; ++i) out[i * dst_step] = in[i * src_step];
                   }
                 }
               });
}

void strided_copy(void* y, const void* x, int64_t element_size, const int64_t* shape,
                  const int64_t* dst_strides, const int64_t* src_strides, int ndim) {
  auto run = [&](auto* out) {
    using T = std::remove_pointer_t<decltype(out)>;
    strided_copy_typed(out, static_cast<const T*>(x), shape, dst_strides, src_strides, ndim);
  };
  switch (element_size) {
    case 1: return run(static_cast<uint8_t*>(y));
    case 2: return run(static_cast<uint16_t*>(y));
    case 4: return run(static_cast<uint32_t*>(y));
    default: return run(static_cast<uint64_t*>(y));
  }
}

// x (rows, row_bytes), indices (n_indices) -> y (n_indices, row_bytes)
void gather_rows(void* y, const void* x, const int64_t* indices, int64_t n_indices,
                 int64_t row_bytes) {
  parallel_for(n_indices, std::max<int64_t>(1, 4 * kElementwiseGrain / std::max<int64_t>(row_bytes, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t i = begin; i < end; ++i)
                   std::memcpy(static_cast<char*>(y) + i * row_bytes,
                               static_cast<const char*>(x) + indices[i] * row_bytes, row_bytes);
               });
}

// x (n_indices, row_bytes) -> y (rows, row_bytes) at indices. Serial, so that the last of
// repeated indices wins, every time.
void scatter_rows(void* y, const void* x, const int64_t* indices, int64_t n_indices,
                  int64_t row_bytes) {
  for (int64_t i = 0; i < n_indices; ++i)
    std::memcpy(static_cast<char*>(y) + indices[i] * row_bytes,
                static_cast<const char*>(x) + i * row_bytes, row_bytes);
}

// dy (n_indices, row_size) -> dx (rows, row_size) += at indices. Serial over indices, so
// repeated indices accumulate without races.
template <typename T>
void scatter_add_rows(T* dx, const T* dy, const int64_t* indices, int64_t n_indices,
                      int64_t row_size) {
  for (int64_t i = 0; i < n_indices; ++i)
    add_inplace(dx + indices[i] * row_size, dy + i * row_size, row_size);
}
FG_INSTANTIATE_SCATTER_ADD()

}  // namespace fg::cpu
