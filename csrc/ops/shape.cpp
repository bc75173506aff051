// Shape ops and views. A view shares its input's storage, with its own shape, strides and
// offset (Tensor::as_strided); its backward maps the gradient back onto the input's shape.
#include <algorithm>
#include <numeric>

#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

Shape merge_dims(const Shape& shape, std::vector<Shape*> strides) {
  Shape merged;
  std::vector<Shape> merged_strides(strides.size());
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] == 1) continue;
    bool mergeable = !merged.empty();
    for (size_t k = 0; k < strides.size() && mergeable; ++k)
      mergeable = merged_strides[k].back() == (*strides[k])[d] * shape[d];
    if (mergeable)
      merged.back() *= shape[d];
    else
      merged.push_back(shape[d]);
    for (size_t k = 0; k < strides.size(); ++k) {
      if (mergeable)
        merged_strides[k].back() = (*strides[k])[d];
      else
        merged_strides[k].push_back((*strides[k])[d]);
    }
  }
  for (size_t k = 0; k < strides.size(); ++k) *strides[k] = std::move(merged_strides[k]);
  return merged;
}

void strided_copy(const Tensor& dst, const Tensor& src) {
  if (dst.numel() == 0) return;
  Shape dst_strides = dst.strides(), src_strides = src.strides();
  Shape shape = merge_dims(dst.shape(), {&dst_strides, &src_strides});
  FG_LAUNCH(strided_copy, dst.device(), dst.strided_data(), src.strided_data(),
            static_cast<int64_t>(dtype_size(dst.dtype())), shape.data(), dst_strides.data(),
            src_strides.data(), static_cast<int>(shape.size()));
}

Tensor contiguous(const Tensor& x) {
  if (x.is_contiguous()) return x;
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  strided_copy(out, x);
  record(out, "contiguous", {x}, [](const Tensor& dout) { return std::vector<Tensor>{dout}; });
  return out;
}

// Records the backward of a view made by view_of(x): the gradient written into the same
// view of zeros shaped like x (elements outside the view get no gradient), or added into
// that view of a gradient x already has.
template <typename ViewOf>
static Tensor record_view(Tensor out, const char* name, const Tensor& x, ViewOf view_of) {
  record(
      out, name, {x},
      [in_shape = x.shape(), view_of](const Tensor& dout) {
        Tensor dx = zeros(in_shape, dout.dtype(), dout.device());
        Tensor target = view_of(dx);
        copy_(target, dout);
        return std::vector<Tensor>{dx};
      },
      [view_of](Tensor& dx, const Tensor& dout) {
        Tensor target = view_of(dx);
        add_(target, dout);
      });
  return out;
}

// Records a view whose elements are x's, all of them, in another shape: the gradient is
// reshaped back.
static Tensor record_reshape(Tensor out, const char* name, const Tensor& x) {
  record(out, name, {x}, [in_shape = x.shape()](const Tensor& dout) {
    return std::vector<Tensor>{reshape(dout, in_shape)};
  });
  return out;
}

// `shape` with its -1 (at most one) resolved for `numel` elements.
static Shape infer_shape(const Shape& shape, int64_t numel, const Shape& in_shape, const char* op) {
  Shape resolved = shape;
  int64_t infer_at = -1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] != -1) continue;
    FG_CHECK(infer_at < 0, ValueError,
             "[" << op << "] only one dimension can be -1, got " << shape);
    infer_at = static_cast<int64_t>(d);
  }
  if (infer_at >= 0) {
    resolved[infer_at] = 1;
    int64_t known = shape_numel(resolved, op);  // checked: sizes whose count overflows int64
    FG_CHECK(
        known != 0 && numel % known == 0, ValueError,
        "[" << op << "] shape " << shape << " is invalid for a tensor of " << numel << " elements");
    resolved[infer_at] = numel / known;
  }
  FG_CHECK(shape_numel(resolved, op) == numel, ValueError,
           "[" << op << "] shape " << shape << " is invalid for a tensor of shape " << in_shape
               << " (" << numel << " elements)");
  return resolved;
}

// The strides that read x's elements in row-major order as `shape`, when there are any
// (PyTorch's computeStride): each run of x's dims that is contiguous in memory may be split
// or merged, never two runs into one.
static std::optional<Shape> view_strides(const Tensor& x, const Shape& shape) {
  if (x.numel() == 0 || x.dim() == 0) return contiguous_strides(shape);
  const Shape &old_shape = x.shape(), &old_strides = x.strides();
  Shape strides(shape.size());
  int64_t view_d = static_cast<int64_t>(shape.size()) - 1;
  int64_t chunk_base_stride = old_strides.back(), tensor_numel = 1, view_numel = 1;
  for (int64_t tensor_d = x.dim() - 1; tensor_d >= 0; --tensor_d) {
    tensor_numel *= old_shape[tensor_d];
    bool chunk_ends =
        tensor_d == 0 || (old_shape[tensor_d - 1] != 1 &&
                          old_strides[tensor_d - 1] != tensor_numel * chunk_base_stride);
    if (!chunk_ends) continue;
    while (view_d >= 0 && (view_numel < tensor_numel || shape[view_d] == 1)) {
      strides[view_d] = view_numel * chunk_base_stride;
      view_numel *= shape[view_d];
      --view_d;
    }
    if (view_numel != tensor_numel) return std::nullopt;
    if (tensor_d > 0) {
      chunk_base_stride = old_strides[tensor_d - 1];
      tensor_numel = view_numel = 1;
    }
  }
  if (view_d != -1) return std::nullopt;
  return strides;
}

Tensor reshape(const Tensor& x, const Shape& shape, const char* op) {
  Shape resolved = infer_shape(shape, x.numel(), x.shape(), op);
  std::optional<Shape> strides = view_strides(x, resolved);
  if (!strides) {
    FG_CHECK(std::string(op) != "view", RuntimeError,
             "[view] view size is not compatible with input tensor's size and stride (at least "
             "one dimension spans across two contiguous subspaces); use .reshape(...) instead");
    return reshape(contiguous(x), resolved, op);
  }
  return record_reshape(x.as_strided(resolved, *strides, x.storage_offset(), op), "reshape", x);
}

Tensor view(const Tensor& x, const Shape& shape) { return reshape(x, shape, "view"); }

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
  int64_t start = wrap_dim(start_dim, x.dim(), "flatten");
  int64_t end = wrap_dim(end_dim, x.dim(), "flatten");
  if (x.dim() == 0) return reshape(x, {1});  // dims 0 and -1 only, as PyTorch checks
  FG_CHECK(start <= end, ValueError,
           "[flatten] start_dim " << start_dim << " comes after end_dim " << end_dim);
  Shape shape(x.shape().begin(), x.shape().begin() + start);
  shape.push_back(shape_numel(x.shape(), "flatten", start, end + 1));
  shape.insert(shape.end(), x.shape().begin() + end + 1, x.shape().end());
  return reshape(x, shape);
}

Tensor unflatten(const Tensor& x, int64_t dim, const Shape& sizes) {
  int64_t d = wrap_dim(dim, x.dim(), "unflatten");
  FG_CHECK(!sizes.empty(), ValueError, "[unflatten] sizes must be non-empty");
  Shape split = infer_shape(sizes, x.shape()[d], {x.shape()[d]}, "unflatten");
  Shape shape(x.shape().begin(), x.shape().begin() + d);
  shape.insert(shape.end(), split.begin(), split.end());
  shape.insert(shape.end(), x.shape().begin() + d + 1, x.shape().end());
  return reshape(x, shape, "unflatten");
}

Tensor permute(const Tensor& x, const std::vector<int64_t>& dims) {
  FG_CHECK(static_cast<int64_t>(dims.size()) == x.dim(), RuntimeError,
           "[permute] expected " << x.dim() << " dims for a tensor of shape " << x.shape()
                                 << ", got " << dims.size());
  Shape shape(dims.size()), strides(dims.size());
  std::vector<int64_t> inverse(dims.size(), -1);
  for (size_t i = 0; i < dims.size(); ++i) {
    int64_t d = wrap_dim(dims[i], x.dim(), "permute");
    FG_CHECK(inverse[d] < 0, RuntimeError, "[permute] dim " << d << " appears more than once");
    inverse[d] = static_cast<int64_t>(i);
    shape[i] = x.shape()[d], strides[i] = x.strides()[d];
  }
  Tensor out = x.as_strided(shape, strides, x.storage_offset(), "permute");
  record(out, "permute", {x},
         [inverse](const Tensor& dout) { return std::vector<Tensor>{permute(dout, inverse)}; });
  return out;
}

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  int64_t a = wrap_dim(dim0, x.dim(), "transpose"), b = wrap_dim(dim1, x.dim(), "transpose");
  std::vector<int64_t> dims(x.dim());
  std::iota(dims.begin(), dims.end(), 0);
  if (a != b) std::swap(dims[a], dims[b]);  // a 0-d tensor has dims 0 and -1, both none
  return permute(x, dims);
}

Tensor matrix_transpose(const Tensor& x) {
  FG_CHECK(x.dim() >= 2, RuntimeError,
           "[mT] expected a tensor of at least 2 dimensions, got shape " << x.shape());
  return transpose(x, -2, -1);
}

Tensor reverse_dims(const Tensor& x) {
  std::vector<int64_t> dims(x.dim());
  std::iota(dims.rbegin(), dims.rend(), 0);
  return permute(x, dims);
}

Tensor movedim(const Tensor& x, const std::vector<int64_t>& source,
               const std::vector<int64_t>& destination) {
  FG_CHECK(source.size() == destination.size(), ValueError,
           "[movedim] expected as many source dims as destination dims, got "
               << source.size() << " and " << destination.size());
  int64_t n = x.dim();
  std::vector<int64_t> order(n, -1);  // order[destination] = source
  std::vector<bool> moved(n, false);
  for (size_t i = 0; i < source.size(); ++i) {
    int64_t from = wrap_dim(source[i], n, "movedim"), to = wrap_dim(destination[i], n, "movedim");
    FG_CHECK(!moved[from], RuntimeError, "[movedim] repeated dim in source " << source[i]);
    FG_CHECK(order[to] < 0, RuntimeError,
             "[movedim] repeated dim in destination " << destination[i]);
    moved[from] = true, order[to] = from;
  }
  int64_t next = 0;  // the other dims keep their order in the free places
  for (int64_t& slot : order) {
    if (slot >= 0) continue;
    while (moved[next]) ++next;
    slot = next++;
  }
  return permute(x, order);
}

Tensor expand(const Tensor& x, const Shape& shape) {
  int64_t lead = static_cast<int64_t>(shape.size()) - x.dim();
  FG_CHECK(lead >= 0, RuntimeError,
           "[expand] the number of sizes provided ("
               << shape.size()
               << ") must be greater or "
                  "equal to the number of dimensions in the tensor ("
               << x.dim() << ")");
  Shape sizes(shape.size()), strides(shape.size(), 0);
  for (int64_t d = 0; d < static_cast<int64_t>(shape.size()); ++d) {
    if (d < lead) {
      FG_CHECK(shape[d] >= 0, RuntimeError,
               "[expand] the expanded size " << shape[d]
                                             << " is not allowed in a leading, "
                                                "non-existing dimension "
                                             << d);
      sizes[d] = shape[d];
      continue;
    }
    int64_t size = x.shape()[d - lead];
    sizes[d] = shape[d] == -1 ? size : shape[d];
    FG_CHECK(sizes[d] == size || size == 1, RuntimeError,
             "[expand] the expanded size of the tensor (" << shape[d]
                                                          << ") must match the "
                                                             "existing size ("
                                                          << size << ") at non-singleton dimension "
                                                          << d << ". Target sizes: " << shape
                                                          << ". Tensor sizes: " << x.shape());
    strides[d] = sizes[d] == size ? x.strides()[d - lead] : 0;
  }
  Tensor out = x.as_strided(sizes, strides, x.storage_offset(), "expand");
  record(out, "expand", {x}, [in_shape = x.shape()](const Tensor& dout) {
    return std::vector<Tensor>{sum_to(dout, in_shape)};
  });
  return out;
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t stop, int64_t step) {
  FG_CHECK(x.dim() > 0, IndexError, "[slice] cannot slice a 0-d tensor");
  int64_t d = wrap_dim(dim, x.dim(), "slice");
  FG_CHECK(step > 0, ValueError, "[slice] slice step must be positive, got " << step);
  int64_t n = x.shape()[d];
  auto clamp_index = [n](int64_t i) { return std::clamp<int64_t>(i < 0 ? i + n : i, 0, n); };
  start = clamp_index(start), stop = clamp_index(stop);
  int64_t count = stop > start ? (stop - start - 1) / step + 1 : 0;  // no overflow for any step
  Shape shape = x.shape(), strides = x.strides();
  shape[d] = count;
  if (count > 1) strides[d] *= step;  // fits: the last element lies in the storage
  Tensor out = x.as_strided(shape, strides, x.storage_offset() + start * x.strides()[d], "slice");
  return record_view(out, "slice", x, [d, start, stop, step](const Tensor& t) {
    return slice(t, d, start, stop, step);
  });
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
  FG_CHECK(x.dim() > 0, IndexError, "[narrow] cannot narrow a 0-d tensor");
  int64_t n = x.shape()[wrap_dim(dim, x.dim(), "narrow")];
  FG_CHECK(
      start >= -n && start <= n, IndexError,
      "[narrow] start " << start << " is out of range for dimension " << dim << " of size " << n);
  if (start < 0) start += n;
  FG_CHECK(length >= 0 && start + length <= n, RuntimeError,
           "[narrow] start (" << start << ") + length (" << length << ") exceeds dimension size ("
                              << n << ")");
  return slice(x, dim, start, start + length, 1);
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
  FG_CHECK(x.dim() > 0, IndexError, "[select] cannot index a 0-d tensor");
  int64_t d = wrap_dim(dim, x.dim(), "select");
  int64_t n = x.shape()[d];
  FG_CHECK(
      index >= -n && index < n, IndexError,
      "[select] index " << index << " is out of bounds for dimension " << d << " with size " << n);
  if (index < 0) index += n;
  Shape shape = x.shape(), strides = x.strides();
  shape.erase(shape.begin() + d), strides.erase(strides.begin() + d);
  Tensor out = x.as_strided(shape, strides, x.storage_offset() + index * x.strides()[d], "select");
  return record_view(out, "select", x, [d, index](const Tensor& t) { return select(t, d, index); });
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
  int64_t d = wrap_dim(dim, x.dim() + 1, "unsqueeze");
  Shape shape = x.shape(), strides = x.strides();
  int64_t stride = d < x.dim() ? x.shape()[d] * x.strides()[d] : 1;
  shape.insert(shape.begin() + d, 1), strides.insert(strides.begin() + d, stride);
  return record_reshape(x.as_strided(shape, strides, x.storage_offset(), "unsqueeze"), "unsqueeze",
                        x);
}

Tensor squeeze(const Tensor& x, std::optional<std::vector<int64_t>> dims) {
  std::vector<bool> drop(x.dim(), !dims);
  if (dims)
    for (int64_t dim : *dims) drop[wrap_dim(dim, x.dim(), "squeeze")] = true;
  Shape shape, strides;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (drop[d] && x.shape()[d] == 1) continue;
    shape.push_back(x.shape()[d]), strides.push_back(x.strides()[d]);
  }
  return record_reshape(x.as_strided(shape, strides, x.storage_offset(), "squeeze"), "squeeze", x);
}

Tensor diagonal(const Tensor& x, int64_t offset, int64_t dim1, int64_t dim2) {
  int64_t a = wrap_dim(dim1, x.dim(), "diagonal"), b = wrap_dim(dim2, x.dim(), "diagonal");
  FG_CHECK(a != b, RuntimeError,
           "[diagonal] dimensions cannot be identical " << dim1 << ", " << dim2);
  int64_t rows = x.shape()[a], cols = x.shape()[b];
  int64_t length = offset >= 0 ? std::min(rows, cols - std::min(offset, cols))
                               : std::min(rows - std::min(-offset, rows), cols);
  int64_t start = x.storage_offset();
  if (length > 0) start += offset >= 0 ? offset * x.strides()[b] : -offset * x.strides()[a];
  Shape shape, strides;
  for (int64_t d = 0; d < x.dim(); ++d) {
    if (d == a || d == b) continue;
    shape.push_back(x.shape()[d]), strides.push_back(x.strides()[d]);
  }
  shape.push_back(length), strides.push_back(x.strides()[a] + x.strides()[b]);
  Tensor out = x.as_strided(shape, strides, start, "diagonal");
  return record_view(out, "diagonal", x,
                     [offset, a, b](const Tensor& t) { return diagonal(t, offset, a, b); });
}

Tensor unfold(const Tensor& x, int64_t dim, int64_t size, int64_t step) {
  FG_CHECK(x.dim() > 0, IndexError, "[unfold] cannot unfold a 0-d tensor");
  int64_t d = wrap_dim(dim, x.dim(), "unfold");
  int64_t n = x.shape()[d];
  FG_CHECK(size >= 0 && size <= n, RuntimeError,
           "[unfold] maximum size for tensor at dimension " << d << " is " << n << " but size is "
                                                            << size);
  FG_CHECK(step > 0, RuntimeError, "[unfold] step is " << step << " but must be > 0");
  int64_t windows = (n - size) / step + 1;
  Shape shape = x.shape(), strides = x.strides();
  shape[d] = windows, strides[d] = x.strides()[d] * step;
  shape.push_back(size), strides.push_back(x.strides()[d]);
  Tensor out = x.as_strided(shape, strides, x.storage_offset(), "unfold");
  // Windows may overlap: the gradient of element k of every window is added into the
  // elements k, k + step, ... of dx, one k at a time (no two of those coincide).
  record(out, "unfold", {x}, [in_shape = x.shape(), d, size, step, windows](const Tensor& dout) {
    Tensor dx = zeros(in_shape, dout.dtype(), dout.device());
    for (int64_t k = 0; k < size && windows > 0; ++k) {
      Tensor target = slice(dx, d, k, k + (windows - 1) * step + 1, step);
      add_(target, select(dout, -1, k));
    }
    return std::vector<Tensor>{dx};
  });
  return out;
}

Tensor index_select(const Tensor& x, const Tensor& indices) {
  FG_CHECK(x.dim() > 0, IndexError, "[index] cannot index a 0-d tensor");
  FG_CHECK(indices.dtype() == DType::Int64, TypeError,
           "[index] expected int64 indices, got " << dtype_name(indices.dtype()));
  FG_CHECK(indices.dim() == 1, ValueError,
           "[index] expected a 1-d index array, got shape " << indices.shape());
  // Indices on the CPU serve a tensor on any device (as in PyTorch): checked there, then moved.
  FG_CHECK(indices.device() == x.device() || indices.device().is_cpu(), ValueError,
           "[index] expected indices on the cpu"
               << (x.device().is_cpu() ? "" : " or " + x.device().str()) << ", got "
               << indices.device().str());
  int64_t n = x.shape()[0];
  // Normalize negative indices into a private copy (which backward keeps), checking bounds
  // first: on the CPU, with GPU indices looked at through a host copy unless their bounds
  // are known to be in range.
  Tensor normalized;
  if (indices.device().is_cuda() && known_within(indices, 0, n - 1)) {
    normalized = clone(indices);
  } else {
    Tensor host = indices.device().is_cpu() ? indices : to_device(indices, Device{});
    normalized = empty(indices.shape(), DType::Int64, Device{});
    for (int64_t i = 0; i < indices.numel(); ++i) {
      int64_t k = host.data<int64_t>()[i];
      FG_CHECK(k >= -n && k < n, IndexError,
               "[index] index " << k << " is out of bounds for dimension 0 with size " << n);
      normalized.data<int64_t>()[i] = k < 0 ? k + n : k;
    }
    normalized = to_device(normalized, x.device());
  }
  Tensor source = contiguous(x);
  Shape shape = x.shape();
  shape[0] = indices.numel();
  Tensor out = empty(shape, x.dtype(), x.device());
  int64_t row = shape_numel(x.shape(), "index", 1);
  FG_LAUNCH(gather_rows, x.device(), out.raw_data(), source.raw_data(), normalized.data<int64_t>(),
            normalized.numel(), row * static_cast<int64_t>(dtype_size(x.dtype())));
  record(out, "index", {source}, [in_shape = x.shape(), normalized, row](const Tensor& dout) {
    Tensor dx = zeros(in_shape, dout.dtype(), dout.device());
    dispatch_floating(dout.dtype(), "index", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(scatter_add_rows, dx.device(), dx.data<T>(), dout.data<T>(),
                normalized.data<int64_t>(), normalized.numel(), row);
    });
    return std::vector<Tensor>{dx};
  });
  return out;
}

}  // namespace fg::ops
