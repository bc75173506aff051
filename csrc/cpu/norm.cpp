// Normalization kernels (csrc/kernel_list.h): threads split the groups (group statistics), or
// the channels or chunks of rows (per-channel sums); sums are float64, variances two-pass (the
// mean, then the squares about it), so a large mean costs no precision.
#include <algorithm>
#include <vector>

#include "cpu/parallel.h"
#include "cpu/vec_math.h"
#include "kernels.h"
#include "norm_math.h"

namespace fg::cpu {

// fn(item) for item in [0, items), each item `size` elements of work
template <typename Fn>
static void for_each_item(int64_t items, int64_t size, const Fn& fn) {
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(size, 1));
  parallel_for(items, grain, [&](int64_t begin, int64_t end) {
    for (int64_t item = begin; item < end; ++item) fn(item);
  });
}

// Planes this long or longer are read a channel per thread; shorter ones (layer_norm's
// columns, batch_norm on (N, C)) by chunks of outer rows, so that reads stay contiguous.
constexpr int64_t kLongPlane = 64;
constexpr int64_t kRowChunks = 64;

// Per-channel float64 totals of Terms quantities: add(i, c, s, totals of channel c) for each
// element i of channel c (s: its statistics). Row chunks keep partial totals, combined in
// chunk order, so the result does not depend on the number of threads.
template <int Terms, typename Add>
static std::vector<double> channel_totals(const NormLayout& layout, const Add& add) {
  const int64_t C = layout.channels, inner = layout.inner;
  std::vector<double> totals(C * Terms, 0.0);
  auto add_plane = [&](int64_t o, int64_t c, double* out) {
    const int64_t start = (o * C + c) * inner, s = layout.statistic_of(start);
    for (int64_t i = start; i < start + inner; ++i) add(i, c, s, out);
  };
  if (inner >= kLongPlane) {
    for_each_item(C, layout.outer * inner, [&](int64_t c) {
      for (int64_t o = 0; o < layout.outer; ++o) add_plane(o, c, &totals[c * Terms]);
    });
    return totals;
  }
  const int64_t rows = std::max<int64_t>(1, (layout.outer + kRowChunks - 1) / kRowChunks);
  const int64_t chunks = (layout.outer + rows - 1) / rows;
  std::vector<double> partial(chunks * C * Terms, 0.0);
  for_each_item(chunks, rows * C * inner, [&](int64_t k) {
    for (int64_t o = k * rows; o < std::min(layout.outer, (k + 1) * rows); ++o)
      for (int64_t c = 0; c < C; ++c) add_plane(o, c, &partial[(k * C + c) * Terms]);
  });
  for (int64_t k = 0; k < chunks; ++k)
    for (int64_t j = 0; j < C * Terms; ++j) totals[j] += partial[k * C * Terms + j];
  return totals;
}

// ---- groups of contiguous channels (inner == 1: layer_norm, rms_norm): one row each, its
// loops vectorized (FG_SIMD), its sums in eight float64 partial sums (vec_math.h) ----

// sum of (x[k] - m)^2 in float64; always inlined, so that it vectorizes in its FG_SIMD
// caller's clone (on its own it is compiled for baseline x86-64 only)
template <typename T>
[[gnu::always_inline]] inline double centered_squares(const T* x, double m, int64_t n) {
  double partial[8] = {};
  int64_t k = 0;
  for (; k + 8 <= n; k += 8)
    for (int j = 0; j < 8; ++j) partial[j] += (x[k + j] - m) * (x[k + j] - m);
  double total = 0;
  for (; k < n; ++k) total += (x[k] - m) * (x[k] - m);
  for (double p : partial) total += p;
  return total;
}

// x (n), weight and bias (n, or null) -> y (n), the row's mean and rstd
template <typename T>
FG_SIMD void normalize_row(T* y, T* mean, T* rstd, const T* x, const T* weight, const T* bias,
                           bool rms, double eps, int64_t n) {
  const double m = rms ? 0.0 : sum_float64(x, n) / n;
  const T row_mean = static_cast<T>(m);
  const T r = static_cast<T>(norm::inverse_std(centered_squares(x, m, n) / n, eps));
  *mean = row_mean;
  *rstd = r;
  for (int64_t k = 0; k < n; ++k) y[k] = norm::affine<T>((x[k] - row_mean) * r, weight, bias, k);
}

// dy, x (n), weight (n, or null), the row's mean and rstd -> dx (n) of normalize_row. g = dy
// weight waits in dx for the last pass; sum(g xhat) = r (sum(g x) - m sum(g)), in float64,
// where float products are exact: two plain reductions, no xhat in the first pass.
template <typename T>
FG_SIMD void normalize_row_backward(T* dx, const T* dy, const T* x, const T* weight, T m, T r,
                                    bool rms, int64_t n) {
  for (int64_t k = 0; k < n; ++k) dx[k] = dy[k] * norm::weight_of(weight, k);
  const double sum_g = sum_float64(dx, n);
  const double sum_g_xhat = double(r) * (dot_float64(dx, x, n) - double(m) * sum_g);
  const double count = static_cast<double>(n);
  for (int64_t k = 0; k < n; ++k)
    dx[k] = norm::input_gradient<T>(dx[k], (x[k] - m) * r, r, rms ? 0.0 : sum_g, sum_g_xhat, count);
}

// dy, x (n), the row's mean and rstd -> sum_dy[k] += dy[k], sum_dy_xhat[k] += dy[k] xhat[k]
template <typename T>
FG_SIMD void add_row_sums(double* sum_dy, double* sum_dy_xhat, const T* dy, const T* x, T m, T r,
                          int64_t n) {
  for (int64_t k = 0; k < n; ++k) {
    sum_dy[k] += dy[k];
    sum_dy_xhat[k] += dy[k] * ((x[k] - m) * r);
  }
}

template <typename T>
void group_norm_forward(T* y, T* mean, T* rstd, const T* x, const T* weight, const T* bias,
                        const NormLayout& layout, double eps) {
  const int64_t size = layout.group_size(), per_group = layout.channels / layout.groups;
  if (layout.inner == 1)
    return for_each_item(layout.statistics(), size, [&](int64_t group) {
      const int64_t first = group % layout.groups * per_group;
      normalize_row(y + group * size, mean + group, rstd + group, x + group * size,
                    weight ? weight + first : nullptr, bias ? bias + first : nullptr, layout.rms,
                    eps, size);
    });
  for_each_item(layout.statistics(), size, [&](int64_t group) {
    const T* xg = x + group * size;
    T* yg = y + group * size;
    double total = 0, squares = 0;
    if (!layout.rms)
      for (int64_t k = 0; k < size; ++k) total += xg[k];
    const double m = total / size;  // 0 for rms_norm: its squares are about 0
    for (int64_t k = 0; k < size; ++k) squares += (xg[k] - m) * (xg[k] - m);
    const T group_mean = static_cast<T>(m);
    const T r = static_cast<T>(norm::inverse_std(squares / size, eps));
    mean[group] = group_mean;
    rstd[group] = r;
    const int64_t first = group % layout.groups * per_group;
    for (int64_t c = 0; c < per_group; ++c)
      for (int64_t i = c * layout.inner; i < (c + 1) * layout.inner; ++i)
        yg[i] = norm::affine<T>((xg[i] - group_mean) * r, weight, bias, first + c);
  });
}

template <typename T>
void group_norm_backward(T* dx, const T* dy, const T* x, const T* mean, const T* rstd,
                         const T* weight, const NormLayout& layout) {
  const int64_t size = layout.group_size(), per_group = layout.channels / layout.groups;
  if (layout.inner == 1)
    return for_each_item(layout.statistics(), size, [&](int64_t group) {
      const int64_t first = group % layout.groups * per_group;
      normalize_row_backward(dx + group * size, dy + group * size, x + group * size,
                             weight ? weight + first : nullptr, mean[group], rstd[group],
                             layout.rms, size);
    });
  for_each_item(layout.statistics(), size, [&](int64_t group) {
    const int64_t start = group * size, first = group % layout.groups * per_group;
    const T m = mean[group], r = rstd[group];
    double sum_g = 0, sum_g_xhat = 0;
    for (int64_t c = 0; c < per_group; ++c) {
      const T w = norm::weight_of(weight, first + c);
      for (int64_t i = start + c * layout.inner; i < start + (c + 1) * layout.inner; ++i) {
        T g = dy[i] * w;
        sum_g += g;
        sum_g_xhat += g * ((x[i] - m) * r);
      }
    }
    for (int64_t c = 0; c < per_group; ++c) {
      const T w = norm::weight_of(weight, first + c);
      for (int64_t i = start + c * layout.inner; i < start + (c + 1) * layout.inner; ++i)
        dx[i] = norm::input_gradient<T>(dy[i] * w, (x[i] - m) * r, r, layout.rms ? 0.0 : sum_g,
                                        sum_g_xhat, static_cast<double>(size));
    }
  });
}

template <typename T>
void channel_moments(T* mean, T* var, const T* x, const NormLayout& layout) {
  const double count = static_cast<double>(layout.outer * layout.inner);
  std::vector<double> means = channel_totals<1>(
      layout, [&](int64_t i, int64_t, int64_t, double* total) { *total += x[i]; });
  for (double& m : means) m /= count;
  std::vector<double> squares =
      channel_totals<1>(layout, [&](int64_t i, int64_t c, int64_t, double* total) {
        *total += (x[i] - means[c]) * (x[i] - means[c]);
      });
  for (int64_t c = 0; c < layout.channels; ++c) {
    mean[c] = static_cast<T>(means[c]);
    var[c] = static_cast<T>(squares[c] / count);
  }
}

template <typename T>
void channel_affine(T* y, const T* x, const T* scale, const T* shift, const NormLayout& layout,
                    bool relu) {
  for_each_item(layout.outer * layout.channels, layout.inner, [&](int64_t plane) {
    const int64_t c = plane % layout.channels, start = plane * layout.inner;
    for (int64_t i = start; i < start + layout.inner; ++i)
      y[i] = norm::scale_shift(x[i], scale[c], shift, c, relu);
  });
}

template <typename T>
void norm_channel_sums(T* sum_dy, T* sum_dy_xhat, const T* dy, const T* x, const T* mean,
                       const T* rstd, const NormLayout& layout) {
  const int64_t C = layout.channels;
  if (layout.inner == 1 && layout.groups == 1 && !layout.per_channel) {
    // layer_norm's rows, one statistic each: chunks of rows add into their own totals (the
    // rows of a chunk vectorized along the channels), combined in chunk order
    const int64_t rows = std::max<int64_t>(1, (layout.outer + kRowChunks - 1) / kRowChunks);
    const int64_t chunks = (layout.outer + rows - 1) / rows;
    std::vector<double> partial(chunks * 2 * C, 0.0);
    for_each_item(chunks, rows * C, [&](int64_t k) {
      for (int64_t o = k * rows; o < std::min(layout.outer, (k + 1) * rows); ++o)
        add_row_sums(&partial[2 * k * C], &partial[(2 * k + 1) * C], dy + o * C, x + o * C, mean[o],
                     rstd[o], C);
    });
    for (int64_t c = 0; c < C; ++c) {
      double total_dy = 0, total_dy_xhat = 0;
      for (int64_t k = 0; k < chunks; ++k) {
        total_dy += partial[2 * k * C + c];
        total_dy_xhat += partial[(2 * k + 1) * C + c];
      }
      sum_dy[c] = static_cast<T>(total_dy);
      sum_dy_xhat[c] = static_cast<T>(total_dy_xhat);
    }
    return;
  }
  std::vector<double> totals =
      channel_totals<2>(layout, [&](int64_t i, int64_t, int64_t s, double* total) {
        total[0] += dy[i];
        total[1] += dy[i] * ((x[i] - mean[s]) * rstd[s]);
      });
  for (int64_t c = 0; c < C; ++c) {
    sum_dy[c] = static_cast<T>(totals[2 * c]);
    sum_dy_xhat[c] = static_cast<T>(totals[2 * c + 1]);
  }
}

template <typename T>
void batch_norm_backward(T* dx, const T* dy, const T* x, const T* mean, const T* rstd,
                         const T* weight, const T* sum_dy, const T* sum_dy_xhat,
                         const NormLayout& layout) {
  const double count = static_cast<double>(layout.outer * layout.inner);
  for_each_item(layout.outer * layout.channels, layout.inner, [&](int64_t plane) {
    const int64_t c = plane % layout.channels, start = plane * layout.inner;
    const T w = norm::weight_of(weight, c);
    for (int64_t i = start; i < start + layout.inner; ++i)
      dx[i] = norm::input_gradient<T>(dy[i] * w, (x[i] - mean[c]) * rstd[c], rstd[c],
                                      double(w) * sum_dy[c], double(w) * sum_dy_xhat[c], count);
  });
}

FG_INSTANTIATE_NORM()

}  // namespace fg::cpu
