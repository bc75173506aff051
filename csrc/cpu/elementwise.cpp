#include <cmath>
#include <vector>

#include "cpu/parallel.h"
#include "cpu/vec_math.h"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::cpu {

// ---- binary ops with broadcasting ------------------------------------------------------

template <typename Out, typename In, typename Op>
__attribute__((always_inline)) static inline void binary_row(Out* out, const In* a,
                                                             const In* b, int64_t a_step,
                                                             int64_t b_step, int64_t n, Op op) {
  // The common stride patterns (0 or 1) get their own loops so that each vectorizes; views
  // (a transposed operand, a stepped slice) take the general one.
  if (a_step == 1 && b_step == 1)
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[i], b[i]);
  else if (a_step == 1 && b_step == 0)
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[i], b[0]);
  else if (a_step == 0 && b_step == 1)
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[0], b[i]);
  else if (a_step == 0 && b_step == 0)
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[0], b[0]);
  else
    for (int64_t i = 0; i < n; ++i) out[i] = op(a[i * a_step], b[i * b_step]);
}

// Runs rows [row_begin, row_end), columns [col_begin, col_end) of the broadcast, a row
// being the innermost dimension.
template <typename Out, typename In, typename Op>
__attribute__((always_inline)) static inline void binary_block(
    Out* out, const In* a, const In* b, const int64_t* shape, const int64_t* a_strides,
    const int64_t* b_strides, int ndim, int64_t row_begin, int64_t row_end, int64_t col_begin,
    int64_t col_end, Op op) {
  int64_t n = ndim ? shape[ndim - 1] : 1;
  int64_t a_step = ndim ? a_strides[ndim - 1] : 0, b_step = ndim ? b_strides[ndim - 1] : 0;
  for (int64_t row = row_begin; row < row_end; ++row) {
    int64_t a_offset = col_begin * a_step, b_offset = col_begin * b_step;
    for (int64_t d = ndim - 2, rest = row; d >= 0; --d) {
      int64_t index = rest % shape[d];
      rest /= shape[d];
      a_offset += index * a_strides[d];
      b_offset += index * b_strides[d];
    }
    binary_row(out + row * n + col_begin, a + a_offset, b + b_offset, a_step, b_step,
               col_end - col_begin, op);
  }
}

// Calls block(row_begin, row_end, col_begin, col_end) over the broadcast split across
// threads: by rows, or by columns when there are fewer rows than threads (two tensors of
// one shape merge into a single row).
template <typename Block>
static void for_each_block(const int64_t* shape, int ndim, const Block& block) {
  int64_t n = ndim ? shape[ndim - 1] : 1, rows = 1;
  for (int d = 0; d + 1 < ndim; ++d) rows *= shape[d];
  if (n == 0 || rows == 0) return;
  if (rows >= thread_count()) {
    parallel_for(rows, std::max<int64_t>(1, kElementwiseGrain / n),
                 [&](int64_t begin, int64_t end) { block(begin, end, 0, n); });
  } else {
    parallel_for(n, std::max<int64_t>(1, kElementwiseGrain / rows),
                 [&](int64_t begin, int64_t end) { block(0, rows, begin, end); });
  }
}

// FG_SIMD clones must be plain functions, so each op gets its own small function for a block
// (the loops the clones vectorize), and an entry point that splits the work.
#define FG_BINARY_ENTRY(name, Out, In, expr)                                                   \
  FG_SIMD static void name##_block(Out* out, const In* a, const In* b, const int64_t* shape,   \
                                   const int64_t* as, const int64_t* bs, int ndim,             \
                                   int64_t r0, int64_t r1, int64_t c0, int64_t c1) {           \
    binary_block(out, a, b, shape, as, bs, ndim, r0, r1, c0, c1,                               \
                 [](In x, In y) -> Out { return expr; });                                      \
  }                                                                                            \
  static void name(Out* out, const In* a, const In* b, const int64_t* shape,                   \
                   const int64_t* as, const int64_t* bs, int ndim) {                           \
    for_each_block(shape, ndim, [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {          \
      name##_block(out, a, b, shape, as, bs, ndim, r0, r1, c0, c1);                            \
    });                                                                                        \
  }

FG_BINARY_ENTRY(add_kernel, float, float, x + y)
FG_BINARY_ENTRY(sub_kernel, float, float, x - y)
FG_BINARY_ENTRY(mul_kernel, float, float, x * y)
FG_BINARY_ENTRY(div_kernel, float, float, x / y)
FG_BINARY_ENTRY(eq_f32, bool, float, x == y)
FG_BINARY_ENTRY(ne_f32, bool, float, x != y)
FG_BINARY_ENTRY(lt_f32, bool, float, x < y)
FG_BINARY_ENTRY(le_f32, bool, float, x <= y)
FG_BINARY_ENTRY(gt_f32, bool, float, x > y)
FG_BINARY_ENTRY(ge_f32, bool, float, x >= y)
FG_BINARY_ENTRY(eq_i64, bool, int64_t, x == y)
FG_BINARY_ENTRY(ne_i64, bool, int64_t, x != y)
FG_BINARY_ENTRY(lt_i64, bool, int64_t, x < y)
FG_BINARY_ENTRY(le_i64, bool, int64_t, x <= y)
FG_BINARY_ENTRY(gt_i64, bool, int64_t, x > y)
FG_BINARY_ENTRY(ge_i64, bool, int64_t, x >= y)
#undef FG_BINARY_ENTRY

// a, b broadcast to out (shape[ndim]) -> out
void binary(BinaryOp op, float* out, const float* a, const float* b, const int64_t* shape,
            const int64_t* a_strides, const int64_t* b_strides, int ndim) {
  using Kernel = void (*)(float*, const float*, const float*, const int64_t*, const int64_t*,
                          const int64_t*, int);
  static constexpr Kernel kernels[] = {add_kernel, sub_kernel, mul_kernel, div_kernel};
  kernels[static_cast<int>(op)](out, a, b, shape, a_strides, b_strides, ndim);
}

// a, b broadcast to out (shape[ndim]) -> out (bool)
void compare(CompareOp op, bool* out, const float* a, const float* b, const int64_t* shape,
             const int64_t* a_strides, const int64_t* b_strides, int ndim) {
  using Kernel = void (*)(bool*, const float*, const float*, const int64_t*, const int64_t*,
                          const int64_t*, int);
  static constexpr Kernel kernels[] = {eq_f32, ne_f32, lt_f32, le_f32, gt_f32, ge_f32};
  kernels[static_cast<int>(op)](out, a, b, shape, a_strides, b_strides, ndim);
}

void compare(CompareOp op, bool* out, const int64_t* a, const int64_t* b, const int64_t* shape,
             const int64_t* a_strides, const int64_t* b_strides, int ndim) {
  using Kernel = void (*)(bool*, const int64_t*, const int64_t*, const int64_t*,
                          const int64_t*, const int64_t*, int);
  static constexpr Kernel kernels[] = {eq_i64, ne_i64, lt_i64, le_i64, gt_i64, ge_i64};
  kernels[static_cast<int>(op)](out, a, b, shape, a_strides, b_strides, ndim);
}

// ---- unary ops: x (n) -> y (n) -------------------------------------------------------

FG_ELEMENTWISE_KERNEL(neg_forward, (float* y, const float* x, int64_t n), (y, x, n), y[i] = -x[i])
FG_ELEMENTWISE_KERNEL(exp_forward, (float* y, const float* x, int64_t n), (y, x, n), y[i] = vexp(x[i]))
FG_ELEMENTWISE_KERNEL(log_forward, (float* y, const float* x, int64_t n), (y, x, n),
              y[i] = std::log(x[i]))
FG_ELEMENTWISE_KERNEL(sqrt_forward, (float* y, const float* x, int64_t n), (y, x, n),
              y[i] = std::sqrt(x[i]))
FG_ELEMENTWISE_KERNEL(abs_forward, (float* y, const float* x, int64_t n), (y, x, n),
              y[i] = std::fabs(x[i]))
// d|x| = sign(x), 0 at 0 and at NaN: PyTorch's sign(NaN) is 0, so abs and l1_loss pass no
// NaN gradient back from a NaN input.
FG_ELEMENTWISE_KERNEL(abs_backward, (float* dx, const float* dy, const float* x, int64_t n),
              (dx, dy, x, n), dx[i] = dy[i] * (x[i] > 0 ? 1.0f : (x[i] < 0 ? -1.0f : 0.0f)))
FG_ELEMENTWISE_KERNEL(pow_forward, (float* y, const float* x, double exponent, int64_t n),
              (y, x, exponent, n), y[i] = pow_value(x[i], exponent))
FG_ELEMENTWISE_KERNEL(pow_backward,
              (float* dx, const float* dy, const float* x, double exponent, int64_t n),
              (dx, dy, x, exponent, n), dx[i] = pow_gradient(dy[i], x[i], exponent))
FG_ELEMENTWISE_KERNEL(clamp_forward, (float* y, const float* x, float lo, float hi, int64_t n),
              (y, x, lo, hi, n), y[i] = clamp_value(x[i], lo, hi))
FG_ELEMENTWISE_KERNEL(clamp_backward,
              (float* dx, const float* dy, const float* x, float lo, float hi, int64_t n),
              (dx, dy, x, lo, hi, n), dx[i] = clamp_gradient(dy[i], x[i], lo, hi))
FG_ELEMENTWISE_KERNEL(add_inplace, (float* y, const float* x, int64_t n), (y, x, n), y[i] += x[i])


// ---- casts and fills -------------------------------------------------------------------

template <typename Dst, typename Src>
void cast(Dst* y, const Src* x, int64_t n) {
  parallel_for(n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) {
      if constexpr (std::is_same_v<Dst, bool>)
        y[i] = x[i] != Src(0);
      else
        y[i] = static_cast<Dst>(x[i]);
    }
  });
}

template <typename T>
void fill(T* y, T value, int64_t n) {
  parallel_for(n, kElementwiseGrain, [&](int64_t begin, int64_t end) {
    std::fill(y + begin, y + end, value);
  });
}

FG_INSTANTIATE_CASTS()

}  // namespace fg::cpu
