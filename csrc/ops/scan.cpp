// Running reductions along a dimension: cumsum, cumprod, cummax, cummin (one kernel,
// cumulative_forward; csrc/line_math.h).
#include "core/dispatch.h"
#include "core/dtype.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

struct Lines {
  int64_t outer = 1, n = 1, inner = 1;
};
static Lines lines_along(const Tensor& x, int64_t d) {
  Lines s;
  for (int64_t i = 0; i < x.dim(); ++i) {
    if (i < d) s.outer *= x.shape()[i];
    else if (i == d) s.n = x.shape()[i];
    else s.inner *= x.shape()[i];
  }
  return s;
}

// y and, for Max and Min, the indices of op's running reduction of x along dim (x's dtype)
static std::pair<Tensor, Tensor> run_cumulative(const Tensor& x_any, int64_t dim, Scan op,
                                                const char* name) {
  Tensor x = contiguous(x_any.detach());
  int64_t d = wrap_dim(dim, x.dim(), name);  // a 0-d tensor's dim 0 is itself
  Lines s = lines_along(x, d);
  Tensor y = empty(x.shape(), x.dtype(), x.device());
  bool with_indices = op == Scan::Max || op == Scan::Min;
  Tensor indices = with_indices ? empty(x.shape(), DType::Int64, x.device()) : Tensor();
  if (x.numel() == 0) return {y, indices};
  dispatch_arithmetic(x.dtype(), name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(cumulative_forward, x.device(), y.data<T>(),
              with_indices ? indices.data<int64_t>() : nullptr, x.data<T>(), op, s.outer, s.n,
              s.inner);
  });
  return {y, indices};
}

// the reversed cumulative sum along d: total - (running sum) + the element itself
static Tensor reverse_cumsum(const Tensor& g, int64_t d) {
  return add(sub(sum(g, {d}, true), cumsum(g, d)), g);
}

Tensor cumsum(const Tensor& x_any, int64_t dim) {
  DType dtype = is_floating(x_any.dtype()) ? x_any.dtype() : DType::Int64;
  return with_float32_compute(to_dtype(x_any, dtype), [&](const Tensor& x) {
    Tensor y = run_cumulative(x, dim, Scan::Sum, "cumsum").first;
    if (is_floating(x.dtype()))
      record(y, "cumsum", {x}, [d = x.dim() ? wrap_dim(dim, x.dim(), "cumsum") : 0](
                                   const Tensor& dout) {
        return std::vector<Tensor>{dout.dim() ? reverse_cumsum(dout, d) : dout};
      });
    return y;
  });
}

Tensor cumprod(const Tensor& x_any, int64_t dim) {
  DType dtype = is_floating(x_any.dtype()) ? x_any.dtype() : DType::Int64;
  return with_float32_compute(to_dtype(x_any, dtype), [&](const Tensor& x_in) {
    Tensor x = contiguous(x_in);
    Tensor y = run_cumulative(x, dim, Scan::Prod, "cumprod").first;
    if (is_floating(x.dtype()))
      record(y, "cumprod", {x}, [x = x.detach(), y = y.detach(), dim](const Tensor& dout_any) {
        Tensor dout = contiguous(dout_any), dx = empty(x.shape(), x.dtype(), x.device());
        Lines s = lines_along(x, wrap_dim(dim, x.dim(), "cumprod"));
        if (x.numel() == 0) return std::vector<Tensor>{dx};
        dispatch_floating(x.dtype(), "cumprod", [&](auto tag) {
          using T = typename decltype(tag)::type;
          FG_LAUNCH(cumprod_backward, dx.device(), dx.data<T>(), dout.data<T>(), x.data<T>(),
                    y.data<T>(), s.outer, s.n, s.inner);
        });
        return std::vector<Tensor>{dx};
      });
    return y;
  });
}

// values and indices; the gradient goes to where each running extreme was found
static std::pair<Tensor, Tensor> running_extreme(const Tensor& x_any, int64_t dim, Scan op,
                                                 const char* name) {
  bool narrow_type = x_any.dtype() == DType::Float16 || x_any.dtype() == DType::BFloat16 ||
                     x_any.dtype() == DType::Bool;
  if (narrow_type) {  // through float32 (bool: uint8), exact either way
    DType wider = x_any.dtype() == DType::Bool ? DType::UInt8 : DType::Float32;
    auto [values, indices] = running_extreme(to_dtype(x_any, wider), dim, op, name);
    return {to_dtype(values, x_any.dtype()), indices};
  }
  auto [values, indices] = run_cumulative(x_any, dim, op, name);
  if (is_floating(x_any.dtype()))
    record(values, name, {x_any, indices},
           [indices = indices, shape = x_any.shape(), dim](const Tensor& dout) {
             int64_t d = shape.empty() ? 0 : wrap_dim(dim, static_cast<int64_t>(shape.size()), "cummax");
             Tensor dx = zeros(shape, dout.dtype(), dout.device());
             if (shape.empty()) return std::vector<Tensor>{dout, Tensor()};
             return std::vector<Tensor>{scatter_add(dx, d, indices, dout), Tensor()};
           });
  return {values, indices};
}
std::pair<Tensor, Tensor> cummax(const Tensor& x, int64_t dim) {
  return running_extreme(x, dim, Scan::Max, "cummax");
}
std::pair<Tensor, Tensor> cummin(const Tensor& x, int64_t dim) {
  return running_extreme(x, dim, Scan::Min, "cummin");
}

}  // namespace fg::ops
