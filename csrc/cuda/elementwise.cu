// Elementwise kernels: broadcast binary ops and comparisons, unary math (casts and fills:
// cast.cu).
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

}  // namespace

// a, b broadcast to out (shape[ndim]) -> out
template <typename T>
void binary(BinaryOp op, T* out, const T* a, const T* b, const int64_t* shape,
            const int64_t* a_strides, const int64_t* b_strides, int ndim) {
  Broadcast bc = make_broadcast(shape, a_strides, b_strides, ndim, "binary");
  bool took = visit_binary<T>(
      op, [&](const char* name, auto fn) { broadcast_apply(name, out, a, b, bc, fn); });
  FG_CHECK(took, TypeError,
           "[binary] op " << static_cast<int>(op) << "'s kernel does not take this element type");
}

// a, b broadcast to out (shape[ndim]) -> out (bool)
template <typename T>
void compare(CompareOp op, bool* out, const T* a, const T* b, const int64_t* shape,
             const int64_t* a_strides, const int64_t* b_strides, int ndim) {
  Broadcast bc = make_broadcast(shape, a_strides, b_strides, ndim, "compare");
  switch (op) {
    case CompareOp::Eq: return broadcast_apply("eq", out, a, b, bc, math::Eq<T>{});
    case CompareOp::Ne: return broadcast_apply("ne", out, a, b, bc, math::Ne<T>{});
    case CompareOp::Lt: return broadcast_apply("lt", out, a, b, bc, math::Lt<T>{});
    case CompareOp::Le: return broadcast_apply("le", out, a, b, bc, math::Le<T>{});
    case CompareOp::Gt: return broadcast_apply("gt", out, a, b, bc, math::Gt<T>{});
    case CompareOp::Ge: return broadcast_apply("ge", out, a, b, bc, math::Ge<T>{});
  }
}

FG_INSTANTIATE_BROADCAST()

// ---- unary ops: x (n) -> y (n) -------------------------------------------------------

#include "elementwise_kernels.h"

}  // namespace fg::cuda
