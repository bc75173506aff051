// The pooling windows, written once for both devices: csrc/cpu/pool.cpp runs these per output
// (or, for avg_pool2d_backward, per input) element on threads, csrc/cuda/pool.cu a GPU thread
// per element. The windows follow PyTorch's: fixed ones start at o * stride - padding and take
// every dilation-th position, adaptive ones cover [floor(o in / out), ceil((o + 1) in / out)).
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.h"
#include "kernels.h"

namespace fg::pool {

// The input positions begin, begin + step, ... < end of one output's window along an axis;
// padded_size: the window's length with its padding (avg_pool2d's count_include_pad divisor).
struct Window {
  int64_t begin, end, step, padded_size;
  FG_HOST_DEVICE bool holds(int64_t i) const {
    return i >= begin && i < end && (i - begin) % step == 0;
  }
};

FG_HOST_DEVICE inline Window window(const PoolAxis& a, int64_t o) {
  if (a.adaptive) {
    int64_t begin = o * a.in / a.out, end = ((o + 1) * a.in + a.out - 1) / a.out;
    return {begin, end, 1, end - begin};
  }
  int64_t begin = o * a.stride - a.padding;
  int64_t end = begin + (a.kernel - 1) * a.dilation + 1;
  int64_t padded_end = end < a.in + a.padding ? end : a.in + a.padding;
  int64_t padded_size = padded_end - begin;
  if (begin < 0) begin += (-begin + a.dilation - 1) / a.dilation * a.dilation;
  return {begin, end < a.in ? end : a.in, a.dilation, padded_size};
}

// [first, last) of the outputs along an axis whose windows may hold input position i (a
// superset for fixed windows with dilation; Window::holds decides).
struct OutputRange {
  int64_t first, last;
};
FG_HOST_DEVICE inline OutputRange outputs_holding(const PoolAxis& a, int64_t i) {
  if (a.adaptive) return {i * a.out / a.in, ((i + 1) * a.out + a.in - 1) / a.in};
  int64_t reach = (a.kernel - 1) * a.dilation;  // o * stride - padding + reach >= i
  int64_t low = i + a.padding - reach;
  int64_t first = low <= 0 ? 0 : (low + a.stride - 1) / a.stride;
  int64_t last = (i + a.padding) / a.stride + 1;
  return {first, last < a.out ? last : a.out};
}

// What an average divides its window's sum by.
FG_HOST_DEVICE inline int64_t divisor(const PoolPlanes& p, const Window& h, const Window& w) {
  if (p.divisor_override) return p.divisor_override;
  if (p.count_include_pad) return h.padded_size * w.padded_size;
  return (h.end - h.begin) * (w.end - w.begin);
}

// Output element i (plane, oh, ow) of max_pool2d_forward.
template <typename T>
FG_HOST_DEVICE void max_output(T* y, int64_t* indices, const T* x, const PoolPlanes& p, int64_t i) {
  int64_t ow = i % p.w.out, oh = i / p.w.out % p.h.out, plane = i / (p.w.out * p.h.out);
  Window h = window(p.h, oh), w = window(p.w, ow);
  const T* in = x + plane * p.h.in * p.w.in;
  T best = T(-INFINITY);
  int64_t best_at = h.begin * p.w.in + w.begin;
  for (int64_t ih = h.begin; ih < h.end; ih += h.step)
    for (int64_t iw = w.begin; iw < w.end; iw += w.step) {
      T v = in[ih * p.w.in + iw];
      if (v > best || v != v) {  // NaN propagates, as in PyTorch
        best = v;
        best_at = ih * p.w.in + iw;
      }
    }
  y[i] = best;
  indices[i] = best_at;
}

// Output element i (plane, oh, ow) of avg_pool2d_forward.
template <typename T>
FG_HOST_DEVICE void avg_output(T* y, const T* x, const PoolPlanes& p, int64_t i) {
  int64_t ow = i % p.w.out, oh = i / p.w.out % p.h.out, plane = i / (p.w.out * p.h.out);
  Window h = window(p.h, oh), w = window(p.w, ow);
  const T* in = x + plane * p.h.in * p.w.in;
  T sum = 0;
  for (int64_t ih = h.begin; ih < h.end; ++ih)
    for (int64_t iw = w.begin; iw < w.end; ++iw) sum += in[ih * p.w.in + iw];
  y[i] = sum / T(divisor(p, h, w));
}

// Input element j (plane, ih, iw) of avg_pool2d_backward: a gather, so no two threads write
// one element.
template <typename T>
FG_HOST_DEVICE void avg_input_gradient(T* dx, const T* dy, const PoolPlanes& p, int64_t j) {
  int64_t iw = j % p.w.in, ih = j / p.w.in % p.h.in, plane = j / (p.w.in * p.h.in);
  const T* dout = dy + plane * p.h.out * p.w.out;
  OutputRange rows = outputs_holding(p.h, ih), cols = outputs_holding(p.w, iw);
  T total = 0;
  for (int64_t oh = rows.first; oh < rows.last; ++oh) {
    Window h = window(p.h, oh);
    if (!h.holds(ih)) continue;
    for (int64_t ow = cols.first; ow < cols.last; ++ow) {
      Window w = window(p.w, ow);
      if (w.holds(iw)) total += dout[oh * p.w.out + ow] / T(divisor(p, h, w));
    }
  }
  dx[j] = total;
}

}  // namespace fg::pool
