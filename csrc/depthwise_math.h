// Depthwise conv2d (groups == channels), one element at a time: the GPU's thread per output
// element or input pixel and block per weight tap (csrc/cuda/depthwise.cu). The CPU walks rows
// instead (csrc/cpu/depthwise.cpp), adding each element's terms in the same order (taps in
// row-major order, the multiplier's channels first for an input pixel); tests/cuda_emulation
// checks both agree. Geometry: Im2colGeometry (kernels.h), channels the input's; output
// channel o = c multiplier + k reads input channel c only, through its own kernel.
#pragma once
#include <cstdint>

#include "core/host_device.h"
#include "im2col_math.h"
#include "kernels.h"

namespace fg::depthwise {

// The output positions [begin, end) along one axis whose tap lands inside the image: position
// o reads coordinate o stride + offset (offset = tap dilation - pad), which must be in
// [0, size).
struct Span {
  int64_t begin, end;
};
FG_HOST_DEVICE inline Span inside_span(int64_t offset, int64_t stride, int64_t size, int64_t out) {
  int64_t begin = offset >= 0 ? 0 : (-offset + stride - 1) / stride;
  int64_t end = size - offset <= 0 ? 0 : (size - offset - 1) / stride + 1;
  end = end < out ? end : out;
  return {begin, end > begin ? end : begin};
}

// y[n, o, oh, ow] from plane = x[n, c] (H, W) and taps = weight[o] (kh, kw): the taps inside
// the image in row-major order, then the bias
template <typename T>
FG_HOST_DEVICE T output_at(const Im2colGeometry& g, const T* plane, const T* taps, T bias,
                           int64_t oh, int64_t ow) {
  T sum = T(0);
  for (int64_t i = 0; i < g.kernel_h; ++i) {
    int64_t h = oh * g.stride_h - g.pad_h + i * g.dilation_h;
    if (h < 0 || h >= g.height) continue;
    for (int64_t j = 0; j < g.kernel_w; ++j) {
      int64_t w = ow * g.stride_w - g.pad_w + j * g.dilation_w;
      if (w >= 0 && w < g.width) sum += taps[i * g.kernel_w + j] * plane[h * g.width + w];
    }
  }
  return sum + bias;
}

// dx[n, c, h, w] from dy = dy[n, c m .. c m + m - 1] (m, out_h, out_w) and taps =
// weight[c m .. c m + m - 1] (m, kh, kw): the terms of each output channel k in turn, taps in
// row-major order
template <typename T>
FG_HOST_DEVICE T input_gradient_at(const Im2colGeometry& g, const T* dy, const T* taps,
                                   int64_t multiplier, int64_t h, int64_t w) {
  T sum = T(0);
  for (int64_t k = 0; k < multiplier; ++k)
    for (int64_t i = 0; i < g.kernel_h; ++i) {
      int64_t oh = im2col::position_of_tap(h, i, g.pad_h, g.dilation_h, g.stride_h, g.out_h);
      if (oh < 0) continue;
      for (int64_t j = 0; j < g.kernel_w; ++j) {
        int64_t ow = im2col::position_of_tap(w, j, g.pad_w, g.dilation_w, g.stride_w, g.out_w);
        if (ow >= 0)
          sum +=
              taps[(k * g.kernel_h + i) * g.kernel_w + j] * dy[(k * g.out_h + oh) * g.out_w + ow];
      }
    }
  return sum;
}

// The term of output position p of plane dy[n, o] (out_h, out_w) in dweight[o, i, j]: dy there
// times the pixel of x[n, c] (H, W) that tap (i, j) reads, 0 on padding
template <typename T>
FG_HOST_DEVICE T weight_gradient_term(const Im2colGeometry& g, const T* dy, const T* plane,
                                      int64_t i, int64_t j, int64_t p) {
  int64_t oh = p / g.out_w, ow = p % g.out_w;
  int64_t h = oh * g.stride_h - g.pad_h + i * g.dilation_h;
  int64_t w = ow * g.stride_w - g.pad_w + j * g.dilation_w;
  bool inside = h >= 0 && h < g.height && w >= 0 && w < g.width;
  return inside ? dy[p] * plane[h * g.width + w] : T(0);
}

}  // namespace fg::depthwise
