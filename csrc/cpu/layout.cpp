#include <cstring>

#include "cpu/parallel.h"
#include "kernels.h"

namespace fg::cpu {

// x (outer, A, middle, B, inner) -> y (outer, B, middle, A, inner)
template <typename T>
void swap_axes(T* y, const T* x, int64_t outer, int64_t A, int64_t middle, int64_t B,
               int64_t inner) {
  int64_t rows = outer * B * middle * A;  // output rows of `inner` elements
  parallel_for(rows, std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(inner, 1)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t r = begin; r < end; ++r) {
                   int64_t a = r % A, m = (r / A) % middle, b = (r / A / middle) % B,
                           o = r / A / middle / B;
                   const T* src = x + (((o * A + a) * middle + m) * B + b) * inner;
                   std::memcpy(y + r * inner, src, inner * sizeof(T));
                 }
               });
}
FG_INSTANTIATE_SWAP_AXES()

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

// dy (n_indices, row_size) -> dx (rows, row_size) += at indices. Serial over indices, so
// repeated indices accumulate without races.
void scatter_add_rows(float* dx, const float* dy, const int64_t* indices, int64_t n_indices,
                      int64_t row_size) {
  for (int64_t i = 0; i < n_indices; ++i) add_inplace(dx + indices[i] * row_size, dy + i * row_size, row_size);
}

}  // namespace fg::cpu
