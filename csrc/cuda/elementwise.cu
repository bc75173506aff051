// Elementwise kernels: broadcast binary ops and comparisons, unary math, casts and fills.
// The CPU versions (csrc/cpu/elementwise.cpp) are the reference.
#include <cmath>

#include "core/error.h"
#include "cuda/launch.cuh"
#include "elementwise_math.h"
#include "kernels.h"

namespace fg::cuda {
namespace {

constexpr int kMaxDims = 8;

// The broadcast's shape and strides, by value in the kernel's arguments.
struct Broadcast {
  int64_t shape[kMaxDims], a_strides[kMaxDims], b_strides[kMaxDims];
  int ndim;
};

Broadcast make_broadcast(const int64_t* shape, const int64_t* as, const int64_t* bs, int ndim,
                         const char* op) {
  FG_CHECK(ndim <= kMaxDims, ValueError,
           "[" << op << "] the CUDA kernels broadcast over at most " << kMaxDims
               << " dimensions (after merging), got " << ndim);
  Broadcast b{};
  for (int d = 0; d < ndim; ++d)
    b.shape[d] = shape[d], b.a_strides[d] = as[d], b.b_strides[d] = bs[d];
  b.ndim = ndim;
  return b;
}

int64_t numel(const Broadcast& b) {
  int64_t n = 1;
  for (int d = 0; d < b.ndim; ++d) n *= b.shape[d];
  return n;
}

// out[i] = op(a[offset_a(i)], b[offset_b(i)]) over the broadcast
template <typename Out, typename In, typename Op>
void broadcast_apply(const char* name, Out* out, const In* a, const In* b, const Broadcast& bc,
                     Op op) {
  launch_for_each(name, numel(bc), [=] __device__(int64_t i) {
    int64_t ia = 0, ib = 0, rest = i;
    for (int d = bc.ndim - 1; d >= 0; --d) {
      int64_t index = rest % bc.shape[d];
      rest /= bc.shape[d];
      ia += index * bc.a_strides[d];
      ib += index * bc.b_strides[d];
    }
    out[i] = op(a[ia], b[ib]);
  });
}

template <typename In>
void compare_apply(CompareOp op, bool* out, const In* a, const In* b, const Broadcast& bc) {
  switch (op) {
    case CompareOp::Eq:
      return broadcast_apply("eq", out, a, b, bc, [] __device__(In x, In y) { return x == y; });
    case CompareOp::Ne:
      return broadcast_apply("ne", out, a, b, bc, [] __device__(In x, In y) { return x != y; });
    case CompareOp::Lt:
      return broadcast_apply("lt", out, a, b, bc, [] __device__(In x, In y) { return x < y; });
    case CompareOp::Le:
      return broadcast_apply("le", out, a, b, bc, [] __device__(In x, In y) { return x <= y; });
    case CompareOp::Gt:
      return broadcast_apply("gt", out, a, b, bc, [] __device__(In x, In y) { return x > y; });
    case CompareOp::Ge:
      return broadcast_apply("ge", out, a, b, bc, [] __device__(In x, In y) { return x >= y; });
  }
}

}  // namespace

// a, b broadcast to out (shape[ndim]) -> out
void binary(BinaryOp op, float* out, const float* a, const float* b, const int64_t* shape,
            const int64_t* a_strides, const int64_t* b_strides, int ndim) {
  Broadcast bc = make_broadcast(shape, a_strides, b_strides, ndim, "binary");
  switch (op) {
    case BinaryOp::Add:
      return broadcast_apply("add", out, a, b, bc,
                             [] __device__(float x, float y) { return x + y; });
    case BinaryOp::Sub:
      return broadcast_apply("sub", out, a, b, bc,
                             [] __device__(float x, float y) { return x - y; });
    case BinaryOp::Mul:
      return broadcast_apply("mul", out, a, b, bc,
                             [] __device__(float x, float y) { return x * y; });
    case BinaryOp::Div:
      return broadcast_apply("div", out, a, b, bc,
                             [] __device__(float x, float y) { return x / y; });
  }
}

void compare(CompareOp op, bool* out, const float* a, const float* b, const int64_t* shape,
             const int64_t* a_strides, const int64_t* b_strides, int ndim) {
  compare_apply(op, out, a, b, make_broadcast(shape, a_strides, b_strides, ndim, "compare"));
}

void compare(CompareOp op, bool* out, const int64_t* a, const int64_t* b, const int64_t* shape,
             const int64_t* a_strides, const int64_t* b_strides, int ndim) {
  compare_apply(op, out, a, b, make_broadcast(shape, a_strides, b_strides, ndim, "compare"));
}

// ---- unary ops: x (n) -> y (n) -------------------------------------------------------

FG_CUDA_ELEMENTWISE(neg_forward, (float* y, const float* x, int64_t n), y[i] = -x[i])
FG_CUDA_ELEMENTWISE(exp_forward, (float* y, const float* x, int64_t n), y[i] = expf(x[i]))
FG_CUDA_ELEMENTWISE(log_forward, (float* y, const float* x, int64_t n), y[i] = logf(x[i]))
FG_CUDA_ELEMENTWISE(log1p_forward, (float* y, const float* x, int64_t n), y[i] = log1pf(x[i]))
FG_CUDA_ELEMENTWISE(sqrt_forward, (float* y, const float* x, int64_t n), y[i] = sqrtf(x[i]))
FG_CUDA_ELEMENTWISE(abs_forward, (float* y, const float* x, int64_t n), y[i] = fabsf(x[i]))
// d|x| = sign(x), 0 at 0 and at NaN (PyTorch's sign(NaN) is 0)
FG_CUDA_ELEMENTWISE(abs_backward, (float* dx, const float* dy, const float* x, int64_t n),
                    dx[i] = dy[i] * (x[i] > 0 ? 1.0f : (x[i] < 0 ? -1.0f : 0.0f)))
FG_CUDA_ELEMENTWISE(pow_forward, (float* y, const float* x, double exponent, int64_t n),
                    y[i] = pow_value(x[i], exponent))
FG_CUDA_ELEMENTWISE(pow_backward,
                    (float* dx, const float* dy, const float* x, double exponent, int64_t n),
                    dx[i] = pow_gradient(dy[i], x[i], exponent))
FG_CUDA_ELEMENTWISE(clamp_forward, (float* y, const float* x, float lo, float hi, int64_t n),
                    y[i] = clamp_value(x[i], lo, hi))
FG_CUDA_ELEMENTWISE(clamp_backward,
                    (float* dx, const float* dy, const float* x, float lo, float hi, int64_t n),
                    dx[i] = clamp_gradient(dy[i], x[i], lo, hi))
FG_CUDA_ELEMENTWISE(add_inplace, (float* y, const float* x, int64_t n), y[i] += x[i])

// ---- casts and fills -------------------------------------------------------------------

// bool outputs are x != 0; every other cast is static_cast
template <typename Dst, typename Src>
__device__ Dst cast_value(Src x) {
  if constexpr (std::is_same_v<Dst, bool>)
    return x != Src(0);
  else
    return static_cast<Dst>(x);
}

template <typename Dst, typename Src>
void cast(Dst* y, const Src* x, int64_t n) {
  launch_for_each("cast", n, [=] __device__(int64_t i) { y[i] = cast_value<Dst>(x[i]); });
}

template <typename T>
void fill(T* y, T value, int64_t n) {
  launch_for_each("fill", n, [=] __device__(int64_t i) { y[i] = value; });
}

FG_INSTANTIATE_CASTS()

}  // namespace fg::cuda
