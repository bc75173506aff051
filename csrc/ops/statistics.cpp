// Statistics composed of reductions and elementwise ops: var, std, logsumexp, vector norms,
// all, any, count_nonzero. Their gradients follow from the compositions, except where a
// composition's would be NaN at a point PyTorch defines (std and the 2-norm at 0).
#include <cmath>

#include "core/dtype.h"
#include "core/error.h"
#include "ops/ops.h"

namespace fg::ops {

static Tensor number_like(double value, const Tensor& like) {
  return scalar_tensor(value, like.dtype(), like.device());
}

static void check_floating(const Tensor& x, const char* op) {
  FG_CHECK(is_floating(x.dtype()), TypeError,
           "[" << op << "] expected a floating-point input, got " << dtype_name(x.dtype())
               << " (convert it with .float() first)");
}

// The number of elements reduced over dims ({} = all).
static int64_t reduced_count(const Tensor& x, const std::vector<int64_t>& dims) {
  if (dims.empty()) return x.numel();
  int64_t count = 1;
  for (int64_t d : dims) count *= x.dim() ? x.shape()[wrap_dim(d, x.dim(), "reduce")] : 1;
  return count;
}

// sum((x - mean)^2) / max(N - correction, 0)
Tensor var(const Tensor& x, const std::vector<int64_t>& dims, double correction, bool keepdim) {
  check_floating(x, "var");
  Tensor centered = sub(x, mean(x, dims, true));
  double divisor = std::max(static_cast<double>(reduced_count(x, dims)) - correction, 0.0);
  return div(sum(mul(centered, centered), dims, keepdim), number_like(divisor, x));
}

// sqrt(var); its gradient (x - mean) / ((N - correction) std) is 0 where std is 0 (constant
// data), as PyTorch's, where sqrt's own would be NaN.
Tensor standard_deviation(const Tensor& x, const std::vector<int64_t>& dims, double correction,
                          bool keepdim) {
  check_floating(x, "std");
  Tensor out;
  {
    NoGradGuard no_grad;
    out = sqrt(var(x, dims, correction, keepdim));
  }
  double divisor = std::max(static_cast<double>(reduced_count(x, dims)) - correction, 0.0);
  record(out, "std", {x},
         [x = x.detach(), out = out.detach(), dims, divisor,
          kept = reduction_shape(x.shape(), dims, true, "std")](const Tensor& dout) {
           Tensor s = reshape(out, kept);
           Tensor scale = div(reshape(dout, kept), mul(s, number_like(divisor, s)));
           Tensor zero = number_like(0, s);
           Tensor dx = mul(where(compare(CompareOp::Eq, s, zero), zero, scale),
                           sub(x, mean(x, dims, true)));
           return std::vector<Tensor>{dx};
         });
  return out;
}

// m + log(sum(exp(x - m))), m the max (0 where it is infinite, so that all -inf gives -inf
// and an inf gives inf, not NaN)
Tensor logsumexp(const Tensor& x_any, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor x = is_floating(x_any.dtype()) ? x_any : to_dtype(x_any, DType::Float32);
  if (x.numel() == 0) return log(sum(exp(x), dims, keepdim));
  Tensor m = amax(x.detach(), dims, true);
  m = where(isinf(m), number_like(0, m), m);
  Tensor out = add(log(sum(exp(sub(x, m)), dims, true)), m);
  return keepdim ? out : reshape(out, reduction_shape(x.shape(), dims, false, "logsumexp"));
}

Tensor vector_norm(const Tensor& x, double ord, const std::vector<int64_t>& dims, bool keepdim) {
  check_floating(x, "vector_norm");
  if (std::isinf(ord)) {
    FG_CHECK(x.numel() > 0 || !dims.empty(), ValueError,
             "[vector_norm] the inf norm of an empty tensor is undefined");
    return ord > 0 ? amax(abs(x), dims, keepdim) : amin(abs(x), dims, keepdim);
  }
  if (ord == 0)
    return to_dtype(sum(compare(CompareOp::Ne, x.detach(), number_like(0, x)), dims, keepdim),
                    x.dtype());
  if (ord == 1) return sum(abs(x), dims, keepdim);
  if (ord != 2) return pow(sum(pow(abs(x), ord), dims, keepdim), 1.0 / ord);
  // the 2-norm: its gradient x / norm is 0 at a zero vector (sqrt's would be NaN)
  Tensor out;
  {
    NoGradGuard no_grad;
    out = sqrt(sum(mul(x, x), dims, keepdim));
  }
  record(out, "vector_norm", {x},
         [x = x.detach(), out = out.detach(),
          kept = reduction_shape(x.shape(), dims, true, "vector_norm")](const Tensor& dout) {
           Tensor n = reshape(out, kept), zero = number_like(0, n);
           Tensor scale = where(compare(CompareOp::Eq, n, zero), zero, div(reshape(dout, kept), n));
           return std::vector<Tensor>{mul(scale, x)};
         });
  return out;
}

// the count of nonzeros over dims
Tensor count_nonzero(const Tensor& x, const std::vector<int64_t>& dims) {
  return sum(compare(CompareOp::Ne, x.detach(), scalar_tensor(0, x.dtype(), x.device())), dims,
             false);
}
Tensor any(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor count = sum(compare(CompareOp::Ne, x.detach(), scalar_tensor(0, x.dtype(), x.device())),
                     dims, keepdim);
  return compare(CompareOp::Gt, count, scalar_tensor(0, count.dtype(), count.device()));
}
Tensor all(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  Tensor zeros_found = sum(
      compare(CompareOp::Eq, x.detach(), scalar_tensor(0, x.dtype(), x.device())), dims, keepdim);
  return compare(CompareOp::Eq, zeros_found,
                 scalar_tensor(0, zeros_found.dtype(), zeros_found.device()));
}

}  // namespace fg::ops
