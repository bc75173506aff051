#include <algorithm>
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

// A transposing copy: the last dimension is contiguous in y (dst stride 1) and dimension
// `across` in x (src stride 1). Walking either one alone misses the cache on the other side
// at every element, so the two are copied in kTile x kTile blocks, which stay in cache.
template <typename T>
static void transposing_copy(T* y, const T* x, const int64_t* shape, const int64_t* dst_strides,
                             const int64_t* src_strides, int ndim, int across) {
  constexpr int64_t kTile = 64;
  int last = ndim - 1;
  int64_t rows = shape[across], cols = shape[last];
  int64_t row_tiles = (rows + kTile - 1) / kTile, col_tiles = (cols + kTile - 1) / kTile;
  int64_t outer = 1;  // every other dimension
  for (int d = 0; d < last; ++d)
    if (d != across) outer *= shape[d];
  int64_t tiles = outer * row_tiles * col_tiles;
  parallel_for(tiles, std::max<int64_t>(1, kElementwiseGrain / (kTile * kTile)),
               [&](int64_t begin, int64_t end) {
                 for (int64_t tile = begin; tile < end; ++tile) {
                   int64_t col_tile = tile % col_tiles, row_tile = tile / col_tiles % row_tiles;
                   int64_t dst_offset = 0, src_offset = 0;
                   for (int d = last - 1, r = tile / (col_tiles * row_tiles); d >= 0; --d) {
                     if (d == across) continue;
                     int64_t i = r % shape[d];
                     r /= shape[d];
                     dst_offset += i * dst_strides[d];
                     src_offset += i * src_strides[d];
                   }
                   int64_t r0 = row_tile * kTile, r1 = std::min(rows, r0 + kTile);
                   int64_t c0 = col_tile * kTile, c1 = std::min(cols, c0 + kTile);
                   const int64_t dst_row = dst_strides[across], src_col = src_strides[last];
                   for (int64_t r = r0; r < r1; ++r)
                     for (int64_t c = c0; c < c1; ++c)
                       y[dst_offset + r * dst_row + c] = x[src_offset + r + c * src_col];
                 }
               });
}

// The dimension x steps through contiguously when y's last dimension is contiguous but x's
// is not (a transpose or permute): the transposing copy's case; -1 otherwise.
static int transposed_dimension(const int64_t* shape, const int64_t* dst_strides,
                                const int64_t* src_strides, int ndim) {
  if (ndim < 2 || dst_strides[ndim - 1] != 1 || src_strides[ndim - 1] == 1 || shape[ndim - 1] < 8)
    return -1;
  for (int d = 0; d + 1 < ndim; ++d)
    if (src_strides[d] == 1 && shape[d] >= 8) return d;
  return -1;
}

void strided_copy(void* y, const void* x, int64_t element_size, const int64_t* shape,
                  const int64_t* dst_strides, const int64_t* src_strides, int ndim) {
  int across = transposed_dimension(shape, dst_strides, src_strides, ndim);
  auto run = [&](auto* out) {
    using T = std::remove_pointer_t<decltype(out)>;
    if (across >= 0)
      transposing_copy(out, static_cast<const T*>(x), shape, dst_strides, src_strides, ndim,
                       across);
    else
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
  parallel_for(n_indices,
               std::max<int64_t>(1, 4 * kElementwiseGrain / std::max<int64_t>(row_bytes, 1)),
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
