#include <cmath>
#include <limits>

#include "cpu/parallel.h"
#include "cpu/vec_math.h"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::cpu {

// The softmax axis has n elements spaced `inner` apart; there are outer * inner such lines.
// Lines are independent, so threads split them.
template <typename LineFn>
static void for_each_line(int64_t outer, int64_t n, int64_t inner, const LineFn& line) {
  int64_t lines = outer * inner;
  int64_t grain = std::max<int64_t>(1, kElementwiseGrain / std::max<int64_t>(n, 1));
  parallel_for(lines, grain, [&](int64_t begin, int64_t end) {
    for (int64_t l = begin; l < end; ++l) line((l / inner) * n * inner + l % inner);
  });
}

template <typename T>
static T line_max(const T* x, int64_t n, int64_t stride) {
  T m = -std::numeric_limits<T>::infinity();
  for (int64_t k = 0; k < n; ++k) {
    T v = x[k * stride];
    if (v > m || v != v) m = v;
    if (m != m) break;  // NaN: the whole line is NaN
  }
  return m;
}

// Contiguous rows (a softmax over the last axis, the common case) as FG_SIMD functions, so
// that their loops run the widest clone. Outputs never alias inputs (ops allocate them).

// x (n) -> y (n) = exp(x - max) / sum
template <typename T>
FG_SIMD static void softmax_row(T* y, const T* x, int64_t n) {
  T m = row_max(x, n);
  if (m == -std::numeric_limits<T>::infinity()) m = 0;  // all -inf: NaN like PyTorch
  for (int64_t k = 0; k < n; ++k) y[k] = exp_of(x[k] - m);
  T scale = static_cast<T>(1.0 / sum_float64(y, n));
  for (int64_t k = 0; k < n; ++k) y[k] *= scale;
}

// dy, y (n) -> dx = y (dy - sum(dy y))
template <typename T>
FG_SIMD static void softmax_backward_row(T* dx, const T* dy, const T* y, int64_t n) {
  T dot = static_cast<T>(dot_float64(dy, y, n));
  for (int64_t k = 0; k < n; ++k) dx[k] = y[k] * (dy[k] - dot);
}

// x (n) -> y = x - max - log(sum(exp(x - max))), the exps staged in y
template <typename T>
FG_SIMD static void log_softmax_row(T* y, const T* x, int64_t n) {
  T m = row_max(x, n);
  if (m == -std::numeric_limits<T>::infinity()) m = 0;
  for (int64_t k = 0; k < n; ++k) y[k] = exp_of(x[k] - m);
  // (x - m) first: exact for the large entries, so huge logits keep full precision.
  T log_total = static_cast<T>(std::log(sum_float64(y, n)));
  for (int64_t k = 0; k < n; ++k) y[k] = (x[k] - m) - log_total;
}

// dy, y (n) -> dx = dy - exp(y) sum(dy)
template <typename T>
FG_SIMD static void log_softmax_backward_row(T* dx, const T* dy, const T* y, int64_t n) {
  T total = static_cast<T>(sum_float64(dy, n));
  for (int64_t k = 0; k < n; ++k) dx[k] = dy[k] - exp_of(y[k]) * total;
}

// x (outer, n, inner) -> y (outer, n, inner)
template <typename T>
void softmax_forward(T* y, const T* x, int64_t outer, int64_t n, int64_t inner) {
  for_each_line(outer, n, inner, [&](int64_t start) {
    if (inner == 1) return softmax_row(y + start, x + start, n);
    const T* xl = x + start;
    T* yl = y + start;
    T m = line_max(xl, n, inner);
    if (m == -std::numeric_limits<T>::infinity()) m = 0;  // all -inf: NaN like PyTorch
    double total = 0;
    for (int64_t k = 0; k < n; ++k) total += (yl[k * inner] = exp_of(xl[k * inner] - m));
    T scale = static_cast<T>(1.0 / total);
    for (int64_t k = 0; k < n; ++k) yl[k * inner] *= scale;
  });
}

// dy, y (outer, n, inner) -> dx = y (dy - sum(dy y))
template <typename T>
void softmax_backward(T* dx, const T* dy, const T* y, int64_t outer, int64_t n, int64_t inner) {
  for_each_line(outer, n, inner, [&](int64_t start) {
    if (inner == 1) return softmax_backward_row(dx + start, dy + start, y + start, n);
    double dot = 0;
    for (int64_t k = 0; k < n; ++k) dot += dy[start + k * inner] * y[start + k * inner];
    for (int64_t k = 0; k < n; ++k) {
      int64_t i = start + k * inner;
      dx[i] = y[i] * (dy[i] - static_cast<T>(dot));
    }
  });
}

// x (outer, n, inner) -> y = x - max - log(sum(exp(x - max)))
template <typename T>
void log_softmax_forward(T* y, const T* x, int64_t outer, int64_t n, int64_t inner) {
  for_each_line(outer, n, inner, [&](int64_t start) {
    if (inner == 1) return log_softmax_row(y + start, x + start, n);
    T m = line_max(x + start, n, inner);
    if (m == -std::numeric_limits<T>::infinity()) m = 0;
    double total = 0;
    for (int64_t k = 0; k < n; ++k) total += exp_of(x[start + k * inner] - m);
    // (x - m) first: exact for the large entries, so huge logits keep full precision.
    T log_total = static_cast<T>(std::log(total));
    for (int64_t k = 0; k < n; ++k) y[start + k * inner] = (x[start + k * inner] - m) - log_total;
  });
}

// dy, y (outer, n, inner) -> dx = dy - exp(y) sum(dy)
template <typename T>
void log_softmax_backward(T* dx, const T* dy, const T* y, int64_t outer, int64_t n, int64_t inner) {
  for_each_line(outer, n, inner, [&](int64_t start) {
    if (inner == 1) return log_softmax_backward_row(dx + start, dy + start, y + start, n);
    double total = 0;
    for (int64_t k = 0; k < n; ++k) total += dy[start + k * inner];
    for (int64_t k = 0; k < n; ++k) {
      int64_t i = start + k * inner;
      dx[i] = dy[i] - exp_of(y[i]) * static_cast<T>(total);
    }
  });
}

FG_INSTANTIATE_SOFTMAX()

}  // namespace fg::cpu
