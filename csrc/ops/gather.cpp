// gather, scatter, scatter_add, scatter_reduce and take_along_dim: one kernel pair
// (gather_along, scatter_along; csrc/line_math.h), each op's backward rule beside it.
#include "core/dispatch.h"
#include "core/dtype.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

// Calls fn(tag) with the element type that moves x's bits: the integer of its size (gather
// and assignment copy bits, so float16, bfloat16 and bool need no math of their own).
template <typename Fn>
static void dispatch_bits(DType dtype, const Fn& fn) {
  switch (dtype_size(dtype)) {
    case 1: return fn(TypeTag<uint8_t>{});
    case 2: return fn(TypeTag<int16_t>{});
    case 4: return fn(TypeTag<int32_t>{});
    default: return fn(TypeTag<int64_t>{});
  }
}

// index: int64, x's number of dimensions, sizes within x's (within `within` along dim too),
// values in [0, size along dim) (read on the host). Returns dim wrapped.
static int64_t check_index(const Tensor& x, int64_t dim, const Tensor& index, const char* op,
                           const Tensor& within = Tensor()) {
  FG_CHECK(index.dtype() == DType::Int64, TypeError,
           "[" << op << "] expected an int64 index, got " << dtype_name(index.dtype()));
  FG_CHECK(index.dim() == x.dim(), ValueError,
           "[" << op << "] expected an index with as many dimensions as the input (" << x.dim()
               << "), got shape " << index.shape());
  check_same_device(x, index, op);
  int64_t d = wrap_dim(dim, x.dim(), op);
  for (int64_t i = 0; i < x.dim(); ++i) {
    bool fits = (i == d || index.shape()[i] <= x.shape()[i]) &&
                (!within.defined() || index.shape()[i] <= within.shape()[i]);
    FG_CHECK(fits, ValueError,
             "[" << op << "] index of shape " << index.shape()
                 << " does not fit the input of shape " << x.shape()
                 << (within.defined() ? " and source" : "") << " along dimension " << i);
  }
  int64_t size = x.dim() ? x.shape()[d] : 1;
  if (index.numel() > 0) {
    Tensor low = to_device(amin(index.detach(), {}, false), Device{});
    Tensor high = to_device(amax(index.detach(), {}, false), Device{});
    int64_t lo = *low.data<int64_t>(), hi = *high.data<int64_t>();
    FG_CHECK(lo >= 0 && hi < size, IndexError,
             "[" << op << "] index " << (lo < 0 ? lo : hi) << " is out of bounds for dimension "
                 << d << " with size " << size);
  }
  return d;
}

// x and index seen with at least one dimension (a 0-d one as 1-d)
static Tensor at_least_1d(const Tensor& t) { return t.dim() ? t : reshape(t, {1}); }

Tensor gather(const Tensor& x_any, int64_t dim, const Tensor& index_any) {
  int64_t d = check_index(x_any, dim, index_any, "gather");
  Tensor x = at_least_1d(x_any), index = contiguous(at_least_1d(index_any.detach()));
  Tensor out = empty(index.shape(), x.dtype(), x.device());
  if (out.numel() > 0)
    dispatch_bits(x.dtype(), [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(gather_along, out.device(), static_cast<T*>(out.strided_data()),
                static_cast<const T*>(x.strided_data()), index.data<int64_t>(),
                index.shape().data(), x.strides().data(), x.shape()[d],
                static_cast<int>(index.dim()), static_cast<int>(d));
    });
  out = out.alias(index_any.shape());
  record(out, "gather", {x_any}, [shape = x_any.shape(), d, index](const Tensor& dout) {
    Tensor dx = zeros(shape, dout.dtype(), dout.device());
    return std::vector<Tensor>{
        scatter_add(dx, d, shape.empty() ? reshape(index, {}) : index, dout)};
  });
  return out;
}

// out = x with src combined in at index along dim (a copy; contiguous)
static Tensor scatter_into(const Tensor& x, int64_t d, const Tensor& index_any,
                           const Tensor& src_any, ScatterReduce op, const char* name) {
  Tensor out = contiguous(clone(at_least_1d(x.detach())));  // x itself is unchanged
  Tensor index = contiguous(at_least_1d(index_any.detach()));
  Tensor src = contiguous(at_least_1d(to_dtype(src_any.detach(), x.dtype())));
  // src may be larger than index: the part index covers
  for (int64_t i = 0; i < src.dim(); ++i) src = narrow(src, i, 0, index.shape()[i]);
  src = contiguous(src);
  if (index.numel() == 0) return out.alias(x.shape());
  auto launch = [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(scatter_along, out.device(), static_cast<T*>(out.strided_data()),
              static_cast<const T*>(src.strided_data()), index.data<int64_t>(),
              index.shape().data(), out.strides().data(), out.shape()[d],
              static_cast<int>(index.dim()), static_cast<int>(d), op);
  };
  if (op == ScatterReduce::Assign) {
    dispatch_bits(x.dtype(), launch);
  } else if (x.dtype() == DType::Float16 || x.dtype() == DType::BFloat16 ||
             x.dtype() == DType::Bool) {  // math in float32 (bool: uint8), rounded once
    DType wider = x.dtype() == DType::Bool ? DType::UInt8 : DType::Float32;
    return to_dtype(scatter_into(to_dtype(x.detach(), wider), d, index_any,
                                 to_dtype(src_any.detach(), wider), op, name),
                    x.dtype());
  } else {
    dispatch_arithmetic(x.dtype(), name, launch);
  }
  return out.alias(x.shape());
}

// src: a tensor of x's number of dimensions, at least index's sizes
static void check_source(const Tensor& x, const Tensor& index, const Tensor& src, const char* op) {
  FG_CHECK(src.dim() == x.dim(), ValueError,
           "[" << op << "] expected a source with as many dimensions as the input (" << x.dim()
               << "), got shape " << src.shape());
  check_same_device(x, src, op);
  for (int64_t i = 0; i < x.dim(); ++i)
    FG_CHECK(index.shape()[i] <= src.shape()[i], ValueError,
             "[" << op << "] index of shape " << index.shape()
                 << " does not fit the source of shape " << src.shape());
}

// the gradient of the source: dout at index (where the source's values went)
static Tensor source_gradient(const Tensor& dout, int64_t d, const Tensor& index,
                              const Shape& src_shape) {
  Tensor picked = gather(dout, d, index);
  if (picked.shape() == src_shape) return picked;
  Tensor grad = zeros(src_shape, dout.dtype(), dout.device()), region = grad;
  for (int64_t i = 0; i < grad.dim(); ++i) region = narrow(region, i, 0, index.shape()[i]);
  copy_(region, picked);
  return grad;
}

Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_index(x, dim, index, "scatter_add", src);
  check_source(x, index, src, "scatter_add");
  int64_t d = wrap_dim(dim, x.dim(), "scatter_add");
  Tensor out = scatter_into(x, d, index, src, ScatterReduce::Add, "scatter_add");
  record(out, "scatter_add", {x, src},
         [d, index = index.detach(), src_shape = src.shape()](const Tensor& dout) {
           return std::vector<Tensor>{dout, source_gradient(dout, d, index, src_shape)};
         });
  return out;
}

Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
  check_index(x, dim, index, "scatter", src.dim() ? src : Tensor());
  Tensor source = src.dim() ? src : expand(src, index.shape());  // a value: everywhere
  if (src.dim()) check_source(x, index, src, "scatter");
  int64_t d = wrap_dim(dim, x.dim(), "scatter");
  Tensor out = scatter_into(x, d, index, source, ScatterReduce::Assign, "scatter");
  record(out, "scatter", {x, src},
         [d, index = index.detach(), src_shape = src.shape()](const Tensor& dout) {
           // x's gradient stops where the source overwrote it
           Tensor dx = scatter(dout, d, index, scalar_tensor(0, dout.dtype(), dout.device()));
           Tensor dsrc = src_shape.empty() ? sum(gather(dout, d, index), {}, false)
                                           : source_gradient(dout, d, index, src_shape);
           return std::vector<Tensor>{dx, dsrc};
         });
  return out;
}

// reduce: "sum", "prod", "mean", "amax", "amin"; include_self: x's values take part
Tensor scatter_reduce(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src,
                      const std::string& reduce, bool include_self) {
  static const std::pair<const char*, ScatterReduce> kinds[] = {{"sum", ScatterReduce::Add},
                                                                {"mean", ScatterReduce::Add},
                                                                {"prod", ScatterReduce::Multiply},
                                                                {"amax", ScatterReduce::Amax},
                                                                {"amin", ScatterReduce::Amin}};
  const ScatterReduce* op = nullptr;
  for (const auto& [name, kind] : kinds)
    if (reduce == name) op = &kind;
  FG_CHECK(op, ValueError,
           "[scatter_reduce] expected reduce 'sum', 'prod', 'mean', 'amax' or 'amin', got '"
               << reduce << "'");
  check_index(x, dim, index, "scatter_reduce", src);
  check_source(x, index, src, "scatter_reduce");
  int64_t d = wrap_dim(dim, x.dim(), "scatter_reduce");
  FG_CHECK(reduce == "sum" || reduce == "mean" || !needs_grad({x, src}), RuntimeError,
           "[scatter_reduce] the gradient of reduce='" << reduce
                                                       << "' is not implemented; use 'sum' or "
                                                          "'mean', or forgegrad.no_grad()");
  Tensor index_part = index.detach(), out, landed, count;
  {
    NoGradGuard no_grad;  // recorded below
    // where nothing lands x stays; where something does, x takes part only with include_self
    Tensor hit = scatter_into(zeros(x.shape(), x.dtype(), x.device()), d, index_part,
                              full(index.shape(), 1.0, x.dtype(), x.device()), ScatterReduce::Add,
                              "scatter_reduce");
    landed = compare(CompareOp::Gt, hit, scalar_tensor(0, hit.dtype(), hit.device()));
    Tensor start = x.detach();
    if (!include_self) {  // the reduction's identity where something lands
      Tensor base = full(x.shape(), reduce == "prod" ? 1.0 : 0.0, x.dtype(), x.device());
      if (reduce == "amax" || reduce == "amin")  // one of the values that land
        base = scatter_into(base, d, index_part, src, ScatterReduce::Assign, "scatter_reduce");
      start = where(landed, base, x.detach());
    }
    out = scatter_into(start, d, index_part, src, *op, "scatter_reduce");
    if (reduce == "mean") {
      count = add(hit, scalar_tensor(include_self ? 1 : 0, hit.dtype(), hit.device()));
      count = where(landed, count, scalar_tensor(1, hit.dtype(), hit.device()));
      out = is_floating(x.dtype()) ? div(out, count) : div(out, count, "floor");
    }
  }
  record(out, "scatter_reduce", {x, src},
         [d, index_part, src_shape = src.shape(), landed, count,
          include_self](const Tensor& dout_any) {
           Tensor dout = count.defined() ? div(dout_any, count) : dout_any;
           Tensor zero = scalar_tensor(0, dout.dtype(), dout.device());
           Tensor dx = include_self ? dout : where(landed, zero, dout);
           return std::vector<Tensor>{dx, source_gradient(dout, d, index_part, src_shape)};
         });
  return out;
}

// x and indices broadcast against each other in the other dimensions, then gathered; without
// a dim, both flattened
Tensor take_along_dim(const Tensor& x, const Tensor& indices, std::optional<int64_t> dim) {
  if (!dim) return gather(reshape(x, {x.numel()}), 0, reshape(indices, {indices.numel()}));
  FG_CHECK(x.dim() == indices.dim(), ValueError,
           "[take_along_dim] expected indices with as many dimensions as the input ("
               << x.dim() << "), got shape " << indices.shape());
  int64_t d = wrap_dim(*dim, x.dim(), "take_along_dim");
  Shape x_shape = x.shape(), i_shape = indices.shape();
  x_shape[d] = 1, i_shape[d] = 1;
  Shape common = broadcast_shapes(x_shape, i_shape, "take_along_dim");
  Shape x_to = common, i_to = common;
  x_to[d] = x.shape()[d], i_to[d] = indices.shape()[d];
  return gather(expand(x, x_to), d, expand(indices, i_to));
}

}  // namespace fg::ops
