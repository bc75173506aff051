// F.interpolate's modes, written once for both devices: csrc/cpu/interpolate.cpp runs these
// per output (forward) or per input (backward) element on threads, csrc/cuda/interpolate.cu
// a GPU thread per element. Each output reads a few input "taps" along H and along W, with
// PyTorch's source-index rules (aten/src/ATen/native/UpSample.h): the coordinate scale is
// 1 / scale_factor when the user gave one, else in / out ((in - 1) / (out - 1) with
// align_corners); nearest computes it in float32, the other modes in the element type.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.h"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::interpolate {

// The input positions (ascending) one output reads along an axis, and their weights; a
// position repeats where the taps are clamped at the border.
template <typename T>
struct Taps {
  int64_t index[4];
  T weight[4];
  int count;
  FG_HOST_DEVICE int64_t lowest() const { return index[0]; }
  FG_HOST_DEVICE int64_t highest() const { return index[count - 1]; }
  // the total weight this output gives input position i
  FG_HOST_DEVICE T weight_of(int64_t i) const {
    T total = 0;
    for (int k = 0; k < count; ++k)
      if (index[k] == i) total += weight[k];
    return total;
  }
};

// PyTorch's area_pixel_compute_scale, in the precision S it computes it in.
template <typename S>
FG_HOST_DEVICE S coordinate_scale(const InterpolateAxis& a, bool align_corners) {
  if (align_corners) return a.out > 1 ? S(a.in - 1) / S(a.out - 1) : S(0);
  return a.scale_factor > 0 ? S(1.0 / a.scale_factor) : S(a.in) / S(a.out);
}

FG_HOST_DEVICE inline int64_t at_most(int64_t i, int64_t last) { return i < last ? i : last; }

template <typename T>
FG_HOST_DEVICE T clamp_unit(T v) {
  return v < T(0) ? T(0) : v > T(1) ? T(1) : v;
}

// Keys' cubic convolution with A = -0.75 (PyTorch's get_cubic_upsample_coefficients): the
// weights of the taps at floor(src) - 1 .. floor(src) + 2 for fraction t.
template <typename T>
FG_HOST_DEVICE void cubic_weights(T* weight, T t) {
  const T A = T(-0.75);
  auto near = [A](T x) { return ((A + T(2)) * x - (A + T(3))) * x * x + T(1); };       // |x| <= 1
  auto far = [A](T x) { return ((A * x - T(5) * A) * x + T(8) * A) * x - T(4) * A; };  // 1..2
  weight[0] = far(t + T(1));
  weight[1] = near(t);
  weight[2] = near(T(1) - t);
  weight[3] = far(T(2) - t);
}

// The taps of output o along axis a.
template <typename T>
FG_HOST_DEVICE Taps<T> taps(const InterpolateAxis& a, InterpolateMode mode, bool align_corners,
                            int64_t o) {
  Taps<T> t{};
  const int64_t last = a.in - 1;
  if (mode == InterpolateMode::Nearest || mode == InterpolateMode::NearestExact) {
    t.count = 1;
    t.weight[0] = T(1);
    float scale = coordinate_scale<float>(a, false);
    if (mode == InterpolateMode::NearestExact)  // floor((o + 0.5) scale), rounded to float
      t.index[0] = at_most(int64_t(floorf(float((o + 0.5) * double(scale)))), last);
    else  // PyTorch's nearest copies an axis whose size does not change
      t.index[0] = a.in == a.out ? o : at_most(int64_t(floorf(scale * float(o))), last);
    return t;
  }
  T scale = coordinate_scale<T>(a, align_corners);
  T src = align_corners ? scale * T(o) : scale * (T(o) + T(0.5)) - T(0.5);
  if (mode == InterpolateMode::Linear) {
    t.count = 2;
    if (a.in == a.out) {  // PyTorch's linear copies an axis whose size does not change
      t.index[0] = t.index[1] = o;
      t.weight[0] = T(1);
      return t;
    }
    if (src < T(0)) src = T(0);
    int64_t i0 = at_most(int64_t(math::floor_value(src)), last);
    T lambda = clamp_unit(src - T(i0));
    t.index[0] = i0;
    t.index[1] = i0 < last ? i0 + 1 : i0;
    t.weight[0] = T(1) - lambda;
    t.weight[1] = lambda;
    return t;
  }
  // cubic: src may be negative; the taps clamp to the border
  t.count = 4;
  int64_t i0 = at_most(int64_t(math::floor_value(src)), last);
  cubic_weights(t.weight, clamp_unit(src - T(i0)));
  for (int k = 0; k < 4; ++k) {
    int64_t i = i0 - 1 + k;
    t.index[k] = i < 0 ? 0 : at_most(i, last);
  }
  return t;
}

// Output element i (plane, oh, ow) of interpolate_forward.
template <typename T>
FG_HOST_DEVICE void output_element(T* y, const T* x, const InterpolatePlanes& p, int64_t i) {
  int64_t ow = i % p.w.out, oh = i / p.w.out % p.h.out, plane = i / (p.w.out * p.h.out);
  Taps<T> rows = taps<T>(p.h, p.mode, p.align_corners, oh);
  Taps<T> cols = taps<T>(p.w, p.mode, p.align_corners, ow);
  const T* in = x + plane * p.h.in * p.w.in;
  T sum = 0;
  for (int a = 0; a < rows.count; ++a) {
    T row = 0;
    const T* line = in + rows.index[a] * p.w.in;
    for (int b = 0; b < cols.count; ++b) row += cols.weight[b] * line[cols.index[b]];
    sum += rows.weight[a] * row;
  }
  y[i] = sum;
}

// [first, last) of the outputs along an axis whose taps hold input position i: the lowest
// and highest tap never decrease with o, so two binary searches find the ends.
struct OutputRange {
  int64_t first, last;
};
template <typename T>
FG_HOST_DEVICE OutputRange outputs_reading(const InterpolateAxis& a, InterpolateMode mode,
                                           bool align_corners, int64_t i) {
  int64_t low = 0, high = a.out;
  while (low < high) {  // the first output whose highest tap reaches i
    int64_t mid = low + (high - low) / 2;
    if (taps<T>(a, mode, align_corners, mid).highest() >= i)
      high = mid;
    else
      low = mid + 1;
  }
  int64_t first = low;
  high = a.out;
  while (low < high) {  // the first output whose lowest tap is past i
    int64_t mid = low + (high - low) / 2;
    if (taps<T>(a, mode, align_corners, mid).lowest() > i)
      high = mid;
    else
      low = mid + 1;
  }
  return {first, low};
}

// Input element j (plane, ih, iw) of interpolate_backward: a gather of the output gradients
// weighted as the forward weighed this element, so no two threads write one element.
template <typename T>
FG_HOST_DEVICE void input_gradient(T* dx, const T* dy, const InterpolatePlanes& p, int64_t j) {
  int64_t iw = j % p.w.in, ih = j / p.w.in % p.h.in, plane = j / (p.w.in * p.h.in);
  OutputRange rows = outputs_reading<T>(p.h, p.mode, p.align_corners, ih);
  OutputRange cols = outputs_reading<T>(p.w, p.mode, p.align_corners, iw);
  const T* dout = dy + plane * p.h.out * p.w.out;
  T total = 0;
  for (int64_t oh = rows.first; oh < rows.last; ++oh) {
    T row = 0;
    for (int64_t ow = cols.first; ow < cols.last; ++ow)
      row += taps<T>(p.w, p.mode, p.align_corners, ow).weight_of(iw) * dout[oh * p.w.out + ow];
    total += taps<T>(p.h, p.mode, p.align_corners, oh).weight_of(ih) * row;
  }
  dx[j] = total;
}

}  // namespace fg::interpolate
