// Normalization kernels; the CPU versions (csrc/cpu/norm.cpp) are the reference and both
// apply csrc/norm_math.h. A group (group statistics) or a channel (channel statistics) gets a
// block, whose threads stride over its elements and combine float64 sums with a block
// reduction; per-element maps (channel_affine, batch_norm_backward) a thread an element.
#include <algorithm>

#include "cuda/lines.cuh"
#include "kernels.h"
#include "norm_math.h"

namespace fg::cuda {
namespace {

using Block = LineGroup<kLineBlock>;

// The index of the k-th element of channel c (k in [0, outer * inner))
__device__ inline int64_t channel_element(const NormLayout& layout, int64_t c, int64_t k) {
  return (k / layout.inner * layout.channels + c) * layout.inner + k % layout.inner;
}

}  // namespace

template <typename T>
void group_norm_forward(T* y, T* mean, T* rstd, const T* x, const T* weight, const T* bias,
                        const NormLayout& layout, double eps) {
  launch_items("group_norm_forward", layout.statistics(), [=] __device__(Block b, int64_t group) {
    const int64_t size = layout.group_size(), start = group * size;
    const int64_t first = group % layout.groups * (layout.channels / layout.groups);
    double total = 0, squares = 0;
    if (!layout.rms)
      for (int64_t k = b.lane; k < size; k += Block::kSize) total += x[start + k];
    const double m = b.sum(total) / size;  // 0 for rms_norm
    for (int64_t k = b.lane; k < size; k += Block::kSize)
      squares += (x[start + k] - m) * (x[start + k] - m);
    const T group_mean = static_cast<T>(m);
    const T r = static_cast<T>(norm::inverse_std(b.sum(squares) / size, eps));
    if (b.lane == 0) mean[group] = group_mean, rstd[group] = r;
    for (int64_t k = b.lane; k < size; k += Block::kSize)
      y[start + k] =
          norm::affine<T>((x[start + k] - group_mean) * r, weight, bias, first + k / layout.inner);
  });
}

template <typename T>
void group_norm_backward(T* dx, const T* dy, const T* x, const T* mean, const T* rstd,
                         const T* weight, const NormLayout& layout) {
  launch_items("group_norm_backward", layout.statistics(), [=] __device__(Block b, int64_t group) {
    const int64_t size = layout.group_size(), start = group * size;
    const int64_t first = group % layout.groups * (layout.channels / layout.groups);
    const T m = mean[group], r = rstd[group];
    double sum_g = 0, sum_g_xhat = 0;
    for (int64_t k = b.lane; k < size; k += Block::kSize) {
      T g = dy[start + k] * norm::weight_of(weight, first + k / layout.inner);
      sum_g += g;
      sum_g_xhat += g * ((x[start + k] - m) * r);
    }
    sum_g = b.sum(sum_g);
    sum_g_xhat = b.sum(sum_g_xhat);
    for (int64_t k = b.lane; k < size; k += Block::kSize) {
      int64_t i = start + k;
      dx[i] = norm::input_gradient<T>(dy[i] * norm::weight_of(weight, first + k / layout.inner),
                                      (x[i] - m) * r, r, layout.rms ? 0.0 : sum_g, sum_g_xhat,
                                      static_cast<double>(size));
    }
  });
}

template <typename T>
void channel_moments(T* mean, T* var, const T* x, const NormLayout& layout) {
  launch_items("channel_moments", layout.channels, [=] __device__(Block b, int64_t c) {
    const int64_t count = layout.outer * layout.inner;
    double total = 0, squares = 0;
    for (int64_t k = b.lane; k < count; k += Block::kSize)
      total += x[channel_element(layout, c, k)];
    const double m = b.sum(total) / count;
    for (int64_t k = b.lane; k < count; k += Block::kSize) {
      double d = x[channel_element(layout, c, k)] - m;
      squares += d * d;
    }
    squares = b.sum(squares);
    if (b.lane == 0) mean[c] = static_cast<T>(m), var[c] = static_cast<T>(squares / count);
  });
}

template <typename T>
void channel_affine(T* y, const T* x, const T* scale, const T* shift, const NormLayout& layout,
                    bool relu) {
  launch_for_each("channel_affine", layout.numel(), [=] __device__(int64_t i) {
    int64_t c = layout.channel_of(i);
    y[i] = norm::scale_shift(x[i], scale[c], shift, c, relu);
  });
}

template <typename T>
void norm_channel_sums(T* sum_dy, T* sum_dy_xhat, const T* dy, const T* x, const T* mean,
                       const T* rstd, const NormLayout& layout) {
  launch_items("norm_channel_sums", layout.channels, [=] __device__(Block b, int64_t c) {
    const int64_t count = layout.outer * layout.inner;
    double total = 0, total_xhat = 0;
    for (int64_t k = b.lane; k < count; k += Block::kSize) {
      int64_t i = channel_element(layout, c, k), s = layout.statistic_of(i);
      total += dy[i];
      total_xhat += dy[i] * ((x[i] - mean[s]) * rstd[s]);
    }
    total = b.sum(total);
    total_xhat = b.sum(total_xhat);
    if (b.lane == 0) sum_dy[c] = static_cast<T>(total), sum_dy_xhat[c] = static_cast<T>(total_xhat);
  });
}

template <typename T>
void batch_norm_backward(T* dx, const T* dy, const T* x, const T* mean, const T* rstd,
                         const T* weight, const T* sum_dy, const T* sum_dy_xhat,
                         const NormLayout& layout) {
  const double count = static_cast<double>(layout.outer * layout.inner);
  launch_for_each("batch_norm_backward", layout.numel(), [=] __device__(int64_t i) {
    int64_t c = layout.channel_of(i);
    T w = norm::weight_of(weight, c);
    dx[i] = norm::input_gradient<T>(dy[i] * w, (x[i] - mean[c]) * rstd[c], rstd[c],
                                    double(w) * sum_dy[c], double(w) * sum_dy_xhat[c], count);
  });
}

FG_INSTANTIATE_NORM()

}  // namespace fg::cuda
