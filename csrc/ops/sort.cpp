// Ordering along a dimension: sort, topk, kthvalue, median, nanmedian, mode. sort_forward
// orders every line (stable, NaN the largest value) and topk_forward finds a line's first k
// in that order; kthvalue, the medians and mode pick from sort_forward's output. Each value's
// gradient goes back to where it was taken from.
#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

// indices are an input so that changing them in place fails backward rather than misdirecting
// it; a 0-d x's one value takes the whole gradient.
void record_taken(Tensor& values, const char* op, const Tensor& x, const Tensor& indices,
                  int64_t d) {
  record(values, op, {x, indices}, [indices, shape = x.shape(), d](const Tensor& dout) {
    if (shape.empty()) return std::vector<Tensor>{dout, Tensor()};
    Tensor dx = zeros(shape, dout.dtype(), dout.device());
    return std::vector<Tensor>{scatter_add(dx, d, indices, dout), Tensor()};
  });
}

// x's lines along d in order, with the indices they came from; no gradient. x: >= 1-d, a dtype
// of sort_forward's.
static std::pair<Tensor, Tensor> sorted_lines(const Tensor& x_any, int64_t d, bool descending,
                                              const char* op) {
  Tensor x = contiguous(x_any.detach());
  Lines s = lines_around(x.shape(), d, d, op);
  Tensor values = empty(x.shape(), x.dtype(), x.device());
  Tensor indices = empty(x.shape(), DType::Int64, x.device());
  if (x.numel() == 0) return {values, indices};
  Tensor spare_values = empty(x.shape(), x.dtype(), x.device());
  Tensor spare_indices = empty(x.shape(), DType::Int64, x.device());
  dispatch_arithmetic(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(sort_forward, x.device(), values.data<T>(), indices.data<int64_t>(),
              spare_values.data<T>(), spare_indices.data<int64_t>(), x.data<T>(), descending,
              s.outer, s.n, s.inner);
  });
  return {values, indices};
}

// op(x) on x as at least 1-d (a 0-d tensor is one line of one), its results shaped back
template <typename Op>
static std::pair<Tensor, Tensor> as_line(const Tensor& x, Op&& op) {
  if (x.dim() > 0) return op(x);
  auto [values, indices] = op(reshape(x, {1}));
  return {reshape(values, {}), reshape(indices, {})};
}

std::pair<Tensor, Tensor> sort(const Tensor& x_any, int64_t dim, bool descending) {
  int64_t d = wrap_dim(dim, x_any.dim(), "sort");
  return as_line(x_any, [&](const Tensor& x_line) {
    return selecting_in_wider_type(x_line, [&](const Tensor& x) {
      auto [values, indices] = sorted_lines(x, d, descending, "sort");
      record_taken(values, "sort", x, indices, d);
      return std::pair{values, indices};
    });
  });
}

// k must lie in [low, n], n the size of x along d (1 for a 0-d x)
static void check_rank(const Tensor& x, int64_t d, int64_t k, int64_t low, const char* op) {
  int64_t n = x.dim() ? x.shape()[d] : 1;
  FG_CHECK(k >= low && k <= n, IndexError,
           "[" << op << "] expected k in [" << low << ", " << n << "] (the size of dimension " << d
               << " of shape " << x.shape() << "), got k=" << k);
}

// a value to pick needs a line of at least one element along d
static void check_line_not_empty(const Tensor& x, int64_t d, int64_t dim, const char* op) {
  FG_CHECK(x.dim() == 0 || x.shape()[d] > 0, IndexError,
           "[" << op << "] expected a dimension of non-zero size, got dimension " << dim
               << " of shape " << x.shape());
}

std::pair<Tensor, Tensor> topk(const Tensor& x_any, int64_t k, int64_t dim, bool largest) {
  int64_t d = wrap_dim(dim, x_any.dim(), "topk");
  check_rank(x_any, d, k, x_any.dim() ? 0 : 1, "topk");
  return as_line(x_any, [&](const Tensor& x_line) {
    return selecting_in_wider_type(x_line, [&](const Tensor& x_in) {
      Tensor x = contiguous(x_in.detach());
      Shape picked = x.shape();
      picked[d] = k;
      Tensor values = empty(picked, x.dtype(), x.device());
      Tensor indices = empty(picked, DType::Int64, x.device());
      if (values.numel() > 0) {
        Lines s = lines_around(x.shape(), d, d, "topk");
        dispatch_arithmetic(x.dtype(), "topk", [&](auto tag) {
          using T = typename decltype(tag)::type;
          FG_LAUNCH(topk_forward, x.device(), values.data<T>(), indices.data<int64_t>(),
                    x.data<T>(), largest, s.outer, s.n, s.inner, k);
        });
      }
      record_taken(values, "topk", x_in, indices, d);
      return std::pair{values, indices};
    });
  });
}

// the values and indices at position k along d of x sorted ascending, d kept if keepdim
static std::pair<Tensor, Tensor> sorted_at(const Tensor& x, int64_t d, const Tensor& position,
                                           bool keepdim) {
  auto [values, indices] = sort(x, d, false);
  if (x.dim() == 0) return {values, indices};
  Tensor picked_values = gather(values, d, position), picked_indices = gather(indices, d, position);
  if (keepdim) return {picked_values, picked_indices};
  return {squeeze(picked_values, std::vector<int64_t>{d}),
          squeeze(picked_indices, std::vector<int64_t>{d})};
}

// position (int64) filled with k, shaped as x with d kept
static Tensor position_tensor(const Tensor& x, int64_t d, int64_t k) {
  Shape shape = x.shape();
  if (!shape.empty()) shape[d] = 1;
  return full_int64(shape, k, x.device());
}

std::pair<Tensor, Tensor> kthvalue(const Tensor& x, int64_t k, int64_t dim, bool keepdim) {
  int64_t d = wrap_dim(dim, x.dim(), "kthvalue");
  check_rank(x, d, k, 1, "kthvalue");
  return sorted_at(x, d, position_tensor(x, d, k - 1), keepdim);
}

std::pair<Tensor, Tensor> median(const Tensor& x, int64_t dim, bool keepdim, bool ignore_nan) {
  const char* op = ignore_nan ? "nanmedian" : "median";
  int64_t d = wrap_dim(dim, x.dim(), op);
  check_line_not_empty(x, d, dim, op);
  int64_t n = x.dim() ? x.shape()[d] : 1;
  Tensor position = position_tensor(x, d, (n - 1) / 2);
  if (is_floating(x.dtype()) && x.dim() > 0) {  // NaNs sort last
    NoGradGuard no_grad;
    Tensor nans = sum(isnan(x), {d}, true);
    auto number = [&](int64_t v) {
      return scalar_tensor(static_cast<double>(v), DType::Int64, x.device());
    };
    Tensor n_left = sub(number(n), nans);
    position = ignore_nan  // the lower median of the others (the first NaN if all are)
                   ? floor_divide(maximum(sub(n_left, number(1)), number(0)), number(2))
                   : where(compare(CompareOp::Gt, nans, number(0)), n_left, position);
  }
  return sorted_at(x, d, position, keepdim);
}

Tensor median(const Tensor& x, bool ignore_nan) {
  if (x.numel() == 0)  // as PyTorch: the median of nothing is NaN
    return full({}, std::numeric_limits<double>::quiet_NaN(), x.dtype(), x.device());
  return median(reshape(x, {-1}), 0, false, ignore_nan).first;
}

std::pair<Tensor, Tensor> mode(const Tensor& x_any, int64_t dim, bool keepdim) {
  int64_t d = wrap_dim(dim, x_any.dim(), "mode");
  check_line_not_empty(x_any, d, dim, "mode");
  auto [values, indices] = as_line(x_any, [&](const Tensor& x_line) {
    return selecting_in_wider_type(x_line, [&](const Tensor& x) {
      auto [sorted, sorted_indices] = sorted_lines(x, d, false, "mode");
      Lines s = lines_around(x.shape(), d, d, "mode");
      Shape kept = x.shape();
      kept[d] = 1;
      Tensor mode = empty(kept, x.dtype(), x.device());
      Tensor mode_indices = empty(kept, DType::Int64, x.device());
      dispatch_arithmetic(x.dtype(), "mode", [&](auto tag) {
        using T = typename decltype(tag)::type;
        FG_LAUNCH(mode_forward, x.device(), mode.data<T>(), mode_indices.data<int64_t>(),
                  sorted.data<T>(), sorted_indices.data<int64_t>(), s.outer, s.n, s.inner);
      });
      record_taken(mode, "mode", x, mode_indices, d);
      return std::pair{mode, mode_indices};
    });
  });
  if (keepdim || x_any.dim() == 0) return {values, indices};
  return {squeeze(values, std::vector<int64_t>{d}), squeeze(indices, std::vector<int64_t>{d})};
}

}  // namespace fg::ops
