// The element math of the normalization kernels (csrc/cpu/norm.cpp, csrc/cuda/norm.cu): both
// devices loop differently (threads over groups, a block per group) but compute each element
// with these functions, so their results cannot drift.
#pragma once
#include <cmath>
#include <cstdint>

#include "core/host_device.h"

namespace fg::norm {

// 1 / sqrt(var + eps), in float64
FG_HOST_DEVICE inline double inverse_std(double var, double eps) { return 1.0 / sqrt(var + eps); }

// weight[c] x + bias[c], either one absent when null
template <typename T>
FG_HOST_DEVICE T affine(T x, const T* weight, const T* bias, int64_t c) {
  if (weight) x *= weight[c];
  if (bias) x += bias[c];
  return x;
}

// x scale + shift (shift absent when null), then max(., 0) when relu: batch_norm's map with
// the ReLU of a conv-BN-ReLU block fused in (NaN stays NaN, as relu keeps it)
template <typename T>
FG_HOST_DEVICE T scale_shift(T x, T scale, const T* shift, int64_t c, bool relu) {
  T y = x * scale + (shift ? shift[c] : T(0));
  return relu && y < T(0) ? T(0) : y;
}

template <typename T>
FG_HOST_DEVICE T weight_of(const T* weight, int64_t c) {
  return weight ? weight[c] : T(1);
}

// dx of one element normalized with its statistics' own mean and rstd over `count`
// elements: g = dy weight, dx = rstd (g - sum(g) / count - xhat sum(g xhat) / count);
// rms_norm, which subtracts no mean, passes sum(g) = 0
template <typename T>
FG_HOST_DEVICE T input_gradient(T g, T xhat, T rstd, double sum_g, double sum_g_xhat,
                                double count) {
  return rstd * (g - static_cast<T>(sum_g / count) - xhat * static_cast<T>(sum_g_xhat / count));
}

}  // namespace fg::norm
