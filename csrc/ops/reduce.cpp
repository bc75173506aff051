// Reductions: sum, mean, max, min, amax, amin, argmax, argmin, prod over dimensions.
#include <algorithm>
#include <set>

#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

Lines lines_around(const Shape& shape, int64_t first, int64_t last, const char* op) {
  if (shape.empty()) return {};  // a 0-d tensor is one line of one
  return {shape_numel(shape, op, 0, first), shape_numel(shape, op, first, last + 1),
          shape_numel(shape, op, last + 1)};
}

// The dimensions to reduce, sorted; none for a 0-d tensor, whose dimension 0 (or -1) names
// the tensor itself, as in PyTorch: reducing over it gives the value back.
static std::vector<int64_t> normalize_dims(const std::vector<int64_t>& dims, int64_t ndim,
                                           const char* op) {
  std::set<int64_t> unique;
  for (int64_t d : dims)
    FG_CHECK(unique.insert(wrap_dim(d, ndim, op)).second, ValueError,
             "[" << op << "] dimension " << d << " appears more than once");
  if (ndim == 0) return {};
  if (dims.empty())
    for (int64_t d = 0; d < ndim; ++d) unique.insert(d);
  return {unique.begin(), unique.end()};
}

static Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim) {
  Shape out;
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    bool reduced = std::find(dims.begin(), dims.end(), d) != dims.end();
    if (!reduced)
      out.push_back(shape[d]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

Shape reduction_shape(const Shape& shape, const std::vector<int64_t>& dims, bool keepdim,
                      const char* op) {
  return reduced_shape(shape, normalize_dims(dims, static_cast<int64_t>(shape.size()), op),
                       keepdim);
}

// The dtype a sum gives: x's own for floating x, int64 for integers and bool (as PyTorch).
static DType sum_dtype(DType dtype) { return is_floating(dtype) ? dtype : DType::Int64; }

// x's dimensions from the largest stride to the smallest: x permuted so is contiguous when
// x is a permutation of a contiguous layout (a transpose, a permute), with no gaps.
static std::vector<int64_t> memory_order(const Tensor& x) {
  std::vector<int64_t> order(x.dim());
  for (int64_t d = 0; d < x.dim(); ++d) order[d] = d;
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return x.strides()[a] > x.strides()[b]; });
  return order;
}

Tensor sum(const Tensor& x_any, const std::vector<int64_t>& dims, bool keepdim) {
  if (!x_any.is_contiguous() && x_any.dim() > 1) {
    // A permuted layout is summed where it lies, in memory order, with no copy; the result
    // is permuted back (a view of it).
    std::vector<int64_t> order = memory_order(x_any);
    Tensor in_memory_order = permute(x_any, order);
    if (in_memory_order.is_contiguous()) {
      std::vector<int64_t> reduced = normalize_dims(dims, x_any.dim(), "sum"), mapped;
      for (int64_t d : reduced)
        mapped.push_back(std::find(order.begin(), order.end(), d) - order.begin());
      std::vector<int64_t> back(order.size());
      for (size_t i = 0; i < order.size(); ++i) back[order[i]] = static_cast<int64_t>(i);
      Tensor out = permute(sum(in_memory_order, mapped, true), back);
      return keepdim ? out : squeeze(out, reduced);
    }
  }
  return with_float32_compute(x_any, [&](const Tensor& x_math) {
    Tensor x = contiguous(x_math);
    std::vector<int64_t> reduce = normalize_dims(dims, x.dim(), "sum");
    DType out_dtype = sum_dtype(x.dtype());
    // Reduce runs of neighbouring dimensions at once, the last run first; after the first
    // run the partial sums are already of the output's dtype.
    Tensor current = x;
    for (size_t end = reduce.size(); end > 0;) {
      size_t begin = end - 1;
      while (begin > 0 && reduce[begin - 1] == reduce[begin] - 1) --begin;
      Lines s = lines_around(current.shape(), reduce[begin], reduce[end - 1], "sum");
      Shape kept = current.shape();
      for (size_t i = begin; i < end; ++i) kept[reduce[i]] = 1;
      Tensor next = empty(kept, out_dtype, x.device());
      dispatch_dtype(current.dtype(), "sum", [&](auto tag) {
        using T = typename decltype(tag)::type;
        if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
          throw RuntimeError("[sum] float16 and bfloat16 are summed in float32");
        } else if constexpr (std::is_floating_point_v<T>) {
          FG_LAUNCH(sum_forward, next.device(), next.data<T>(), current.data<T>(), s.outer, s.n,
                    s.inner);
        } else {
          FG_LAUNCH(sum_forward, next.device(), next.data<int64_t>(), current.data<T>(), s.outer,
                    s.n, s.inner);
        }
      });
      current = next;
      end = begin;
    }
    Tensor out = current.same(x) ? to_dtype(clone(x), out_dtype).detach() : current.detach();
    out = out.alias(reduced_shape(x.shape(), reduce, keepdim));
    if (!is_floating(x.dtype())) return out;
    // The gradient: dout broadcast back over the reduced dimensions.
    record(out, "sum", {x},
           [shape = x.shape(), kept = reduced_shape(x.shape(), reduce, true)](const Tensor& dout) {
             return std::vector<Tensor>{contiguous(expand(reshape(dout, kept), shape))};
           });
    return out;
  });
}

Tensor mean(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  FG_CHECK(is_floating(x.dtype()), TypeError,
           "[mean] could not infer the output dtype: expected a floating-point input, got "
               << dtype_name(x.dtype()) << " (convert it with .float() first)");
  Shape reduced_sizes;
  for (int64_t d : normalize_dims(dims, x.dim(), "mean")) reduced_sizes.push_back(x.shape()[d]);
  int64_t count = shape_numel(reduced_sizes, "mean");
  // An empty mean is 0 / 0 = nan, as in numpy and PyTorch.
  return div(sum(x, dims, keepdim),
             scalar_tensor(static_cast<double>(count), x.dtype(), x.device()));
}

// extreme_along on a dtype extreme_forward takes
static std::pair<Tensor, Tensor> extreme_along_kernel_type(const Tensor& x_any, int64_t dim,
                                                           bool keepdim, bool smallest,
                                                           const char* op) {
  Tensor x = contiguous(x_any);
  int64_t d = wrap_dim(dim, x.dim(), op);
  Lines s = lines_around(x.shape(), d, d, op);
  FG_CHECK(s.n > 0, ValueError,
           "[" << op << "] cannot reduce over dimension " << dim << " of size 0 (shape "
               << x.shape() << "): an extreme of nothing is undefined");
  Shape out_shape = reduced_shape(x.shape(), {d}, keepdim);
  Tensor values = empty(out_shape, x.dtype(), x.device());
  Tensor indices = empty(out_shape, DType::Int64, x.device());
  dispatch_arithmetic(x.dtype(), op, [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(extreme_forward, values.device(), values.data<T>(), indices.data<int64_t>(),
              x.data<T>(), smallest, s.outer, s.n, s.inner);
  });
  // indices among the inputs: backward writes where they point, so a change to them in place
  // (they are the user's too) must fail backward, not write out of bounds.
  record(values, op, {x, indices}, [indices = indices, shape = x.shape(), s](const Tensor& dout) {
    Tensor dx = empty(shape, dout.dtype(), dout.device());
    dispatch_floating(dout.dtype(), "max", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(extreme_backward, dx.device(), dx.data<T>(), dout.data<T>(),
                indices.data<int64_t>(), s.outer, s.n, s.inner);
    });
    return std::vector<Tensor>{dx, Tensor()};
  });
  return {values, indices};
}

// The largest (or smallest) along dim, with its index (`op` names the caller in errors).
static std::pair<Tensor, Tensor> extreme_along(const Tensor& x_any, int64_t dim, bool keepdim,
                                               bool smallest, const char* op) {
  return selecting_in_wider_type(x_any, [&](const Tensor& x_wide) {
    return extreme_along_kernel_type(x_wide, dim, keepdim, smallest, op);
  });
}

std::pair<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_along(x, dim, keepdim, false, "max");
}
std::pair<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
  return extreme_along(x, dim, keepdim, true, "min");
}

// The extreme over dims (all for none): the reduced dimensions moved last and merged into
// one, reduced there. The gradient is shared evenly by the elements equal to the extreme (by
// the NaNs when it is NaN), as in PyTorch: mask = (x == value) + (x != x) * (value != value).
static Tensor extreme_over(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim,
                           bool smallest, const char* op) {
  std::vector<int64_t> reduce = normalize_dims(dims, x.dim(), op);
  std::vector<int64_t> order;
  Shape front;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (std::find(reduce.begin(), reduce.end(), d) == reduce.end())
      order.push_back(d), front.push_back(x.shape()[d]);
  int64_t count = 1;
  for (int64_t d : reduce) order.push_back(d), count *= x.shape()[d];
  FG_CHECK(count > 0, ValueError,
           "[" << op << "] expected a non-empty tensor or dimensions, got shape " << x.shape());
  Shape merged = front;
  merged.push_back(count);
  Shape kept = reduced_shape(x.shape(), reduce, true);
  Tensor value;
  {
    NoGradGuard no_grad;  // the rule below replaces extreme_along's, which picks one index
    Tensor lined_up = reshape(permute(x, order), merged, op);
    value = reshape(extreme_along(lined_up, -1, false, smallest, op).first,
                    reduced_shape(x.shape(), reduce, keepdim), op);
  }
  record(value, op, {x},
         [x = x.detach(), value = value.detach(), kept, reduce](const Tensor& dout) {
           auto as_float = [&x](const Tensor& t) { return to_dtype(t, x.dtype()); };
           Tensor v = reshape(value, kept);
           Tensor mask = add(
               as_float(compare(CompareOp::Eq, x, v)),
               mul(as_float(compare(CompareOp::Ne, x, x)), as_float(compare(CompareOp::Ne, v, v))));
           return std::vector<Tensor>{mul(mask, div(reshape(dout, kept), sum(mask, reduce, true)))};
         });
  return value;
}

Tensor max(const Tensor& x) { return extreme_over(x, {}, false, false, "max"); }
Tensor min(const Tensor& x) { return extreme_over(x, {}, false, true, "min"); }
Tensor amax(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme_over(x, dims, keepdim, false, "amax");
}
Tensor amin(const Tensor& x, const std::vector<int64_t>& dims, bool keepdim) {
  return extreme_over(x, dims, keepdim, true, "amin");
}

static Tensor arg_extreme(const Tensor& x, std::optional<int64_t> dim, bool keepdim, bool smallest,
                          const char* op) {
  NoGradGuard no_grad;  // indices have no gradient
  if (!dim) {
    FG_CHECK(x.numel() > 0, ValueError,
             "[" << op << "] expected a non-empty tensor, got shape " << x.shape());
    Tensor index = extreme_along(reshape(x, {x.numel()}), 0, false, smallest, op).second;
    return keepdim ? reshape(index, Shape(x.dim(), 1)) : index;
  }
  return extreme_along(x, *dim, keepdim, smallest, op).second;
}
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_extreme(x, dim, keepdim, false, "argmax");
}
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return arg_extreme(x, dim, keepdim, true, "argmin");
}

// The product over dim (all for none): integers and bool give int64, as PyTorch.
Tensor prod(const Tensor& x_any, std::optional<int64_t> dim, bool keepdim) {
  if (!dim) {
    Tensor all = prod(reshape(x_any, {x_any.numel()}), 0, false);
    return keepdim ? reshape(all, Shape(x_any.dim(), 1)) : all;
  }
  DType dtype = sum_dtype(x_any.dtype());
  return with_float32_compute(to_dtype(x_any, dtype), [&](const Tensor& x_math) {
    Tensor x = contiguous(x_math);
    int64_t d = wrap_dim(*dim, x.dim(), "prod");  // a 0-d tensor's dim 0 is itself
    Lines s = lines_around(x.shape(), d, d, "prod");
    Shape out_shape = x.dim() ? reduced_shape(x.shape(), {d}, keepdim) : Shape{};
    if (s.n == 0) return full(out_shape, 1.0, x.dtype(), x.device());  // empty product
    Tensor out = empty(out_shape, x.dtype(), x.device());
    dispatch_arithmetic(x.dtype(), "prod", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(prod_forward, out.device(), out.data<T>(), x.data<T>(), s.outer, s.n, s.inner);
    });
    if (!is_floating(x.dtype())) return out;
    record(out, "prod", {x}, [x = x.detach(), s](const Tensor& dout_any) {
      Tensor dout = contiguous(dout_any);
      Tensor dx = empty(x.shape(), x.dtype(), x.device());
      dispatch_floating(x.dtype(), "prod", [&](auto tag) {
        using T = typename decltype(tag)::type;
        FG_LAUNCH(prod_backward, dx.device(), dx.data<T>(), dout.data<T>(), x.data<T>(), s.outer,
                  s.n, s.inner);
      });
      return std::vector<Tensor>{dx};
    });
    return out;
  });
}

}  // namespace fg::ops
