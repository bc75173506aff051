// im2col / col2im on the CPU. A row of the columns (one tap of one channel) or a channel's
// plane at a time, so that the inner loops walk contiguous memory without the divisions of
// the GPU's per-element code (csrc/im2col_math.h); tests/cuda_emulation checks that both
// give the same bits (col2im adds each pixel's taps in the same order).
#include <algorithm>

#include "cpu/parallel.h"
#include "kernels.h"

namespace fg::cpu {

namespace {

// line (out_h out_w) = tap (i, j) of plane (H, W) at every kernel position, 0 on padding
template <typename T>
void tap_row(T* line, const T* plane, const Im2colGeometry& g, int64_t i, int64_t j) {
  int64_t first_w = j * g.dilation_w - g.pad_w;
  for (int64_t oh = 0; oh < g.out_h; ++oh) {
    T* out = line + oh * g.out_w;
    int64_t h = oh * g.stride_h - g.pad_h + i * g.dilation_h;
    if (h < 0 || h >= g.height) {
      std::fill(out, out + g.out_w, T(0));
      continue;
    }
    const T* source = plane + h * g.width;
    for (int64_t ow = 0; ow < g.out_w; ++ow) {
      int64_t w = first_w + ow * g.stride_w;
      out[ow] = w >= 0 && w < g.width ? source[w] : T(0);
    }
  }
}

// plane (H, W) = the sum of the rows (kh kw, out_h out_w) of its channel, taps in order
template <typename T>
void plane_sum(T* plane, const T* rows, const Im2colGeometry& g) {
  std::fill(plane, plane + g.height * g.width, T(0));
  int64_t positions = g.positions();
  for (int64_t i = 0; i < g.kernel_h; ++i)
    for (int64_t j = 0; j < g.kernel_w; ++j) {
      const T* line = rows + (i * g.kernel_w + j) * positions;
      int64_t first_w = j * g.dilation_w - g.pad_w;
      for (int64_t oh = 0; oh < g.out_h; ++oh) {
        int64_t h = oh * g.stride_h - g.pad_h + i * g.dilation_h;
        if (h < 0 || h >= g.height) continue;
        T* target = plane + h * g.width;
        for (int64_t ow = 0; ow < g.out_w; ++ow) {
          int64_t w = first_w + ow * g.stride_w;
          if (w >= 0 && w < g.width) target[w] += line[oh * g.out_w + ow];
        }
      }
    }
}

}  // namespace

// images (N, C, H, W) -> columns (N, C kh kw, out_h out_w): threads over the rows
template <typename T>
void im2col(T* columns, const T* images, const Im2colGeometry& geometry, int64_t batch) {
  const Im2colGeometry g = geometry;
  int64_t taps = g.kernel_h * g.kernel_w, rows = g.rows(), positions = g.positions();
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(positions, 1));
  parallel_for(batch * rows, grain, [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      int64_t tap = r % taps, plane = r / taps;  // plane: (n, c)
      tap_row(columns + r * positions, images + plane * g.height * g.width, g, tap / g.kernel_w,
              tap % g.kernel_w);
    }
  });
}

// columns (N, C kh kw, out_h out_w) -> images (N, C, H, W): threads over the planes
template <typename T>
void col2im(T* images, const T* columns, const Im2colGeometry& geometry, int64_t batch) {
  const Im2colGeometry g = geometry;
  int64_t plane_size = g.height * g.width, rows_size = g.kernel_h * g.kernel_w * g.positions();
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(rows_size, 1));
  parallel_for(batch * g.channels, grain, [&](int64_t begin, int64_t end) {
    for (int64_t plane = begin; plane < end; ++plane)
      plane_sum(images + plane * plane_size, columns + plane * rows_size, g);
  });
}

FG_INSTANTIATE_IM2COL()

}  // namespace fg::cpu
