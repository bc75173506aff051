// Advanced indexing (numpy's integer-array indexing, as PyTorch does it): x[indices] reads and
// index_put_ writes the elements that index tensors pick, plus the ops built on them
// (nonzero, masked_fill, where). The indexed dimensions are permuted to the front and seen
// as one dimension of rows, so one row gather (or scatter) of the GEMM-era kernels does it.
#include <algorithm>
#include <functional>
#include <numeric>

#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

// Where an advanced index reads from and where its result dimensions go.
struct IndexPlan {
  std::vector<int64_t> order;  // x's indexed dimensions first, then the others
  size_t n_indexed = 0;
  Shape index_shape;      // the index tensors broadcast together
  Tensor rows;            // int64 (index_shape) on x's device: a row of x permuted by
                          // `order` and seen as (rows of the indexed dims, the rest)
  Shape rest_shape;       // x's other dimensions, in order
  int64_t insert_at = 0;  // the result's dimension where index_shape goes: the place of
                          // the indexed dims when they are adjacent, else the front
  Shape result_shape() const {
    Shape out = rest_shape;
    out.insert(out.begin() + insert_at, index_shape.begin(), index_shape.end());
    return out;
  }
};

static IndexPlan plan_index(const Tensor& x, const std::vector<Tensor>& indices, const char* op) {
  FG_CHECK(static_cast<int64_t>(indices.size()) <= x.dim(), IndexError,
           "[" << op << "] too many indices for a tensor of dimension " << x.dim() << " (got "
               << indices.size() << ")");
  IndexPlan plan;
  std::vector<int64_t> indexed;
  for (size_t d = 0; d < indices.size(); ++d) {
    if (!indices[d].defined()) continue;
    DType dtype = indices[d].dtype();
    FG_CHECK(dtype == DType::Int64 || dtype == DType::Int32 || dtype == DType::Int16 ||
                 dtype == DType::Int8 || dtype == DType::UInt8,
             IndexError,
             "[" << op
                 << "] tensors used as indices must be integer (int64, int32, ...) or bool "
                    "tensors, got "
                 << dtype_name(dtype));
    FG_CHECK(indices[d].device() == x.device() || indices[d].device().is_cpu(), ValueError,
             "[" << op << "] expected indices on the cpu"
                 << (x.device().is_cpu() ? "" : " or " + x.device().str()) << ", got "
                 << indices[d].device().str());
    plan.index_shape = broadcast_shapes(plan.index_shape, indices[d].shape(), op);
    indexed.push_back(static_cast<int64_t>(d));
  }
  FG_CHECK(!indexed.empty(), ValueError, "[" << op << "] expected at least one index tensor");
  plan.n_indexed = indexed.size();
  plan.order = indexed;
  for (int64_t d = 0; d < x.dim(); ++d)
    if (std::find(indexed.begin(), indexed.end(), d) == indexed.end()) {
      plan.order.push_back(d);
      plan.rest_shape.push_back(x.shape()[d]);
    }
  bool adjacent = indexed.back() - indexed.front() + 1 == static_cast<int64_t>(indexed.size());
  plan.insert_at = adjacent ? indexed.front() : 0;
  // The row numbers, on the host: every index checked and wrapped once, then moved.
  int64_t count = shape_numel(plan.index_shape, op);
  Tensor rows = zeros(plan.index_shape, DType::Int64, Device{});
  int64_t* row = rows.data<int64_t>();
  for (int64_t d : indexed) {
    int64_t size = x.shape()[d];
    Tensor host =
        to_device(contiguous(expand(to_dtype(indices[d].detach(), DType::Int64), plan.index_shape)),
                  Device{});
    const int64_t* index = host.data<int64_t>();
    for (int64_t i = 0; i < count; ++i) {
      int64_t k = index[i];
      FG_CHECK(k >= -size && k < size, IndexError,
               "[" << op << "] index " << k << " is out of bounds for dimension " << d
                   << " with size " << size);
      row[i] = row[i] * size + (k < 0 ? k + size : k);
    }
  }
  plan.rows = to_device(rows, x.device());
  return plan;
}

Tensor write_in_place(Tensor& x, const std::vector<Tensor>& inputs, const char* op,
                      const std::function<void(Tensor&)>& write) {
  bool recorded = needs_grad(inputs);
  NoGradGuard no_grad;  // the write itself is not recorded: the caller records it
  if (!recorded) {
    write(x);
    return Tensor();
  }
  FG_CHECK(!(x.is_leaf() && x.requires_grad()), RuntimeError,
           "[" << op
               << "] a leaf tensor that requires grad cannot be changed in place while "
                  "gradients are recorded; wrap the update in forgegrad.no_grad()");
  // The handle x is rebound to the updated copy; nodes that recorded x keep its old tensor.
  Tensor before = x, updated = clone(x.detach());
  write(updated);
  x = updated;
  return before;
}

// x permuted by the plan and seen as (indexed rows, the rest): a view when x's layout
// allows, else a copy.
static Tensor as_rows(const Tensor& x, const IndexPlan& plan) {
  Tensor permuted = permute(x, plan.order);
  Shape indexed(permuted.shape().begin(), permuted.shape().begin() + plan.n_indexed);
  return reshape(permuted, {shape_numel(indexed), shape_numel(plan.rest_shape)}, "index");
}

// index_shape's dimensions moved from the front to plan.insert_at (or back, inverse).
static Tensor place_index_dims(const Tensor& t, const IndexPlan& plan, bool inverse) {
  if (plan.insert_at == 0 || plan.index_shape.empty()) return t;
  std::vector<int64_t> front(plan.index_shape.size()), placed(plan.index_shape.size());
  std::iota(front.begin(), front.end(), 0);
  std::iota(placed.begin(), placed.end(), plan.insert_at);
  return inverse ? movedim(t, placed, front) : movedim(t, front, placed);
}

// x[indices], its errors naming `op`
static Tensor index_as(const Tensor& x, const std::vector<Tensor>& indices, const char* op) {
  IndexPlan plan = plan_index(x, indices, op);
  Tensor picked = index_select(as_rows(x, plan), reshape(plan.rows, {-1}));
  Shape front_shape = plan.index_shape;
  front_shape.insert(front_shape.end(), plan.rest_shape.begin(), plan.rest_shape.end());
  return place_index_dims(reshape(picked, front_shape), plan, false);
}

Tensor index(const Tensor& x, const std::vector<Tensor>& indices) {
  return index_as(x, indices, "index");
}

// Writes `values` (already of x's dtype, broadcast to the plan's result shape) into x.
static void put_rows(const Tensor& x, const IndexPlan& plan, const Tensor& values,
                     bool accumulate) {
  Shape front_shape = plan.index_shape;
  front_shape.insert(front_shape.end(), plan.rest_shape.begin(), plan.rest_shape.end());
  int64_t n = shape_numel(plan.index_shape), rest = shape_numel(plan.rest_shape);
  Tensor source = place_index_dims(expand(values, plan.result_shape()), plan, true);
  // A private contiguous copy: values may be x itself, or overlap it
  source = reshape(clone(source.detach()), {n, rest});
  Tensor permuted = permute(x, plan.order);
  Tensor target = permuted.is_contiguous() ? permuted : contiguous(permuted);
  Tensor rows = reshape(plan.rows, {-1});
  if (accumulate) {
    dispatch_floating(x.dtype(), "index_put_", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(scatter_add_rows, x.device(), target.data<T>(), source.data<T>(),
                rows.data<int64_t>(), n, rest);
    });
  } else {
    FG_LAUNCH(scatter_rows, x.device(), target.raw_data(), source.raw_data(), rows.data<int64_t>(),
              n, rest * static_cast<int64_t>(dtype_size(x.dtype())));
  }
  if (!target.same(permuted)) strided_copy(permuted, target);
  x.storage()->bump_version();
}

void index_put_(Tensor& x, const std::vector<Tensor>& indices, const Tensor& values_any,
                bool accumulate) {
  check_writable(x, "index_put_");
  check_same_device(x, values_any, "index_put_");
  IndexPlan plan = plan_index(x, indices, "index_put_");
  Shape result_shape = plan.result_shape();
  FG_CHECK(broadcastable_to(values_any.shape(), result_shape), ValueError,
           "[index_put_] values of shape " << values_any.shape()
                                           << " cannot be broadcast to the indexed shape "
                                           << result_shape);
  Tensor values = to_dtype(values_any, x.dtype());
  Tensor before = write_in_place(x, {x, values}, "index_put_", [&](Tensor& target) {
    put_rows(target, plan, values, accumulate);
  });
  if (before.defined())
    record(x, "index_put", {before, values},
           [indices, accumulate, value_shape = values.shape()](const Tensor& dout) {
             Tensor dx = clone(dout);
             if (!accumulate) {  // what was overwritten gets no gradient
               NoGradGuard no_grad;
               index_put_(dx, indices, zeros({}, dx.dtype(), dx.device()), false);
             }
             return std::vector<Tensor>{dx, sum_to(index(dout, indices), value_shape)};
           });
}

Tensor index_put(const Tensor& x, const std::vector<Tensor>& indices, const Tensor& values,
                 bool accumulate) {
  Tensor out = clone(x);
  index_put_(out, indices, values, accumulate);
  return out;
}

Tensor nonzero(const Tensor& x) {
  Tensor host = to_device(contiguous(to_dtype(x.detach(), DType::Bool)), Device{});
  const bool* flag = host.data<bool>();
  int64_t n = host.numel(), found = std::count(flag, flag + n, true);
  Tensor out = empty({found, x.dim()}, DType::Int64, Device{});
  int64_t* row = out.data<int64_t>();
  Shape strides = contiguous_strides(x.shape());
  for (int64_t i = 0; i < n; ++i) {
    if (!flag[i]) continue;
    for (int64_t d = 0, rest = i; d < x.dim(); ++d) {
      *row++ = rest / strides[d];
      rest %= strides[d];
    }
  }
  return to_device(out, x.device());
}

// The index tensors nonzero(mask) gives, one per dimension of the mask.
static std::vector<Tensor> mask_indices(const Tensor& mask, const char* op) {
  FG_CHECK(mask.dtype() == DType::Bool, TypeError,
           "[" << op << "] expected a bool mask, got " << dtype_name(mask.dtype()));
  Tensor found = nonzero(mask);
  std::vector<Tensor> indices;
  for (int64_t d = 0; d < mask.dim(); ++d) indices.push_back(select(found, 1, d));
  return indices;
}

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b) {
  check_same_device(condition, a, "where");
  check_same_device(a, b, "where");
  FG_CHECK(condition.dtype() == DType::Bool, TypeError,
           "[where] expected a bool condition, got " << dtype_name(condition.dtype()));
  DType dtype = result_type(a, b);
  Shape shape =
      broadcast_shapes(broadcast_shapes(condition.shape(), a.shape(), "where"), b.shape(), "where");
  // b everywhere, then a's elements where the condition holds: the gradients follow.
  Tensor out = contiguous(expand(to_dtype(b, dtype), shape));
  if (shape_numel(shape) == 0) return out;
  std::vector<Tensor> picked = mask_indices(contiguous(expand(condition, shape)), "where");
  if (picked.empty())  // 0-d: as 1-d of one element, where both inputs keep their graphs
    return reshape(where(reshape(condition, {1}), reshape(to_dtype(a, dtype), {1}),
                         reshape(to_dtype(b, dtype), {1})),
                   {});
  return index_put(out, picked, index(expand(to_dtype(a, dtype), shape), picked), false);
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value) {
  FG_CHECK(value.dim() == 0, ValueError,
           "[masked_fill] expected a number or a 0-d tensor as value, got shape " << value.shape());
  FG_CHECK(broadcastable_to(mask.shape(), x.shape()), ValueError,
           "[masked_fill] mask of shape " << mask.shape() << " does not broadcast to the input's "
                                          << x.shape());
  return where(mask, to_dtype(value, x.dtype()), x);
}

Tensor masked_select(const Tensor& x, const Tensor& mask) {
  Shape shape = broadcast_shapes(x.shape(), mask.shape(), "masked_select");
  if (shape.empty()) shape = {1};  // both 0-d: one element; the result is 1-d all the same
  return index(expand(x, shape), mask_indices(contiguous(expand(mask, shape)), "masked_select"));
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index_tensor) {
  FG_CHECK(index_tensor.dtype() == DType::Int64 || index_tensor.dtype() == DType::Int32, TypeError,
           "[index_select] expected an index of dtype int64 or int32, got "
               << dtype_name(index_tensor.dtype()));
  FG_CHECK(index_tensor.dim() <= 1, ValueError,
           "[index_select] expected a 0-d or 1-d index, got shape " << index_tensor.shape());
  std::vector<Tensor> indices(wrap_dim(dim, x.dim(), "index_select") + 1);
  indices.back() = reshape(index_tensor, {-1});
  return index_as(x, indices, "index_select");
}

}  // namespace fg::ops
