// Running reductions along a dimension: cumsum, cumprod, cummax, cummin (one kernel,
// cumulative_forward; csrc/line_math.h).
#include "core/dispatch.h"
#include "core/dtype.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

// y and, for Max and Min, the indices of op's running reduction of x along dim (x's dtype)
static std::pair<Tensor, Tensor> run_cumulative(const Tensor& x_any, int64_t dim, Scan op,
                                                const char* name) {
  Tensor x = contiguous(x_any.detach());
  int64_t d = wrap_dim(dim, x.dim(), name);  // a 0-d tensor's dim 0 is itself
  Lines s = lines_around(x.shape(), d, d, name);
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
      record(y, "cumsum", {x},
             [d = x.dim() ? wrap_dim(dim, x.dim(), "cumsum") : 0](const Tensor& dout) {
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
        int64_t d = wrap_dim(dim, x.dim(), "cumprod");
        Lines s = lines_around(x.shape(), d, d, "cumprod");
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
  return selecting_in_wider_type(x_any, [&](const Tensor& x) {
    auto [values, indices] = run_cumulative(x, dim, op, name);
    record_taken(values, name, x, indices, wrap_dim(dim, x.dim(), name));
    return std::pair{values, indices};
  });
}
std::pair<Tensor, Tensor> cummax(const Tensor& x, int64_t dim) {
  return running_extreme(x, dim, Scan::Max, "cummax");
}
std::pair<Tensor, Tensor> cummin(const Tensor& x, int64_t dim) {
  return running_extreme(x, dim, Scan::Min, "cummin");
}

}  // namespace fg::ops
