// One entry of im2col and one pixel of col2im: the GPU's thread per output element
// (csrc/cuda/im2col.cu). The CPU walks whole rows and planes instead (csrc/cpu/im2col.cpp);
// tests/cuda_emulation checks both agree bit for bit. Geometry: Im2colGeometry (kernels.h).
// A kernel position (oh, ow) puts tap (i, j) on the padded image's pixel
// (oh stride_h + i dilation_h, ow stride_w + j dilation_w), that is image row
// oh stride_h - pad_h + i dilation_h.
#pragma once
#include <cstdint>

#include "core/host_device.h"
#include "kernels.h"

namespace fg::im2col {

// columns[row, position] of one image: row = (c, i, j), position = (oh, ow); 0 on padding
template <typename T>
FG_HOST_DEVICE T column_entry(const Im2colGeometry& g, const T* image, int64_t row,
                              int64_t position) {
  int64_t j = row % g.kernel_w, i = (row / g.kernel_w) % g.kernel_h;
  int64_t c = row / (g.kernel_w * g.kernel_h);
  int64_t oh = position / g.out_w, ow = position % g.out_w;
  int64_t h = oh * g.stride_h - g.pad_h + i * g.dilation_h;
  int64_t w = ow * g.stride_w - g.pad_w + j * g.dilation_w;
  bool inside = h >= 0 && h < g.height && w >= 0 && w < g.width;
  return inside ? image[(c * g.height + h) * g.width + w] : T(0);
}

// The kernel position along one axis whose tap `tap` lands on image coordinate x, or -1:
// x + pad - tap dilation must be a whole number of strides within the out positions.
FG_HOST_DEVICE inline int64_t position_of_tap(int64_t x, int64_t tap, int64_t pad, int64_t dilation,
                                              int64_t stride, int64_t out) {
  int64_t offset = x + pad - tap * dilation;
  if (offset < 0 || offset % stride != 0 || offset / stride >= out) return -1;
  return offset / stride;
}

// image[c, h, w] of col2im for one image: the sum, taps in row-major order, of the columns
// entries that im2col copies pixel = (c, h, w) to
template <typename T>
FG_HOST_DEVICE T pixel_sum(const Im2colGeometry& g, const T* columns, int64_t pixel) {
  int64_t w = pixel % g.width, h = (pixel / g.width) % g.height;
  int64_t c = pixel / (g.width * g.height);
  int64_t positions = g.positions();
  T sum = T(0);
  for (int64_t i = 0; i < g.kernel_h; ++i) {
    int64_t oh = position_of_tap(h, i, g.pad_h, g.dilation_h, g.stride_h, g.out_h);
    if (oh < 0) continue;
    for (int64_t j = 0; j < g.kernel_w; ++j) {
      int64_t ow = position_of_tap(w, j, g.pad_w, g.dilation_w, g.stride_w, g.out_w);
      if (ow < 0) continue;
      int64_t row = (c * g.kernel_h + i) * g.kernel_w + j;
      sum += columns[row * positions + oh * g.out_w + ow];
    }
  }
  return sum;
}

}  // namespace fg::im2col
