#include <cmath>
#include <vector>

#include "core/error.h"
#include "cpu/parallel.h"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::cpu {

// ---- binary ops with broadcasting ------------------------------------------------------

template <typename Out, typename In, typename Op>
__attribute__((always_inline)) static inline void binary_row(Out* out, const In* a, const In* b,
                                                             int64_t a_step, int64_t b_step,
                                                             int64_t n, Op op) {
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

// The loops of a block, as an FG_SIMD function so that each runs its widest clone.
template <typename Out, typename In, typename Op>
FG_SIMD static void broadcast_block(Out* out, const In* a, const In* b, const int64_t* shape,
                                    const int64_t* as, const int64_t* bs, int ndim, int64_t r0,
                                    int64_t r1, int64_t c0, int64_t c1, Op op) {
  binary_block(out, a, b, shape, as, bs, ndim, r0, r1, c0, c1, op);
}

// out = op(a, b) over the broadcast, split across threads
template <typename Out, typename In, typename Op>
static void broadcast_apply(Out* out, const In* a, const In* b, const int64_t* shape,
                            const int64_t* as, const int64_t* bs, int ndim, Op op) {
  for_each_block(shape, ndim, [&](int64_t r0, int64_t r1, int64_t c0, int64_t c1) {
    broadcast_block(out, a, b, shape, as, bs, ndim, r0, r1, c0, c1, op);
  });
}

// a, b broadcast to out (shape[ndim]) -> out
template <typename T>
void binary(BinaryOp op, T* out, const T* a, const T* b, const int64_t* shape,
            const int64_t* a_strides, const int64_t* b_strides, int ndim) {
  bool took = visit_binary<T>(op, [&](const char*, auto fn) {
    broadcast_apply(out, a, b, shape, a_strides, b_strides, ndim, fn);
  });
  FG_CHECK(took, TypeError,
           "[binary] op " << static_cast<int>(op) << "'s kernel does not take this element type");
}

// a, b broadcast to out (shape[ndim]) -> out (bool)
template <typename T>
void compare(CompareOp op, bool* out, const T* a, const T* b, const int64_t* shape,
             const int64_t* a_strides, const int64_t* b_strides, int ndim) {
  auto run = [&](auto fn) { broadcast_apply(out, a, b, shape, a_strides, b_strides, ndim, fn); };
  switch (op) {
    case CompareOp::Eq: return run(math::Eq<T>{});
    case CompareOp::Ne: return run(math::Ne<T>{});
    case CompareOp::Lt: return run(math::Lt<T>{});
    case CompareOp::Le: return run(math::Le<T>{});
    case CompareOp::Gt: return run(math::Gt<T>{});
    case CompareOp::Ge: return run(math::Ge<T>{});
  }
}

FG_INSTANTIATE_BROADCAST()

// ---- unary ops: x (n) -> y (n) -------------------------------------------------------

#include "elementwise_kernels.h"

}  // namespace fg::cpu
