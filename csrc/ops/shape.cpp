// Shape ops. Tensors are always contiguous, so reshape and first-axis selection are views;
// transpose and strided or indexed selection copy.
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

Tensor reshape(const Tensor& x, const Shape& shape, const char* op) {
  Shape resolved = shape;
  int64_t infer_at = -1;
  for (size_t d = 0; d < shape.size(); ++d) {
    if (shape[d] != -1) continue;
    FG_CHECK(infer_at < 0, ValueError, "[" << op << "] only one dimension can be -1, got " << shape);
    infer_at = static_cast<int64_t>(d);
  }
  if (infer_at >= 0) {
    resolved[infer_at] = 1;
    int64_t known = shape_numel(resolved, op);  // checked: sizes whose count overflows int64
    FG_CHECK(known != 0 && x.numel() % known == 0, ValueError,
             "[" << op << "] shape " << shape << " is invalid for a tensor of " << x.numel()
                                << " elements");
    resolved[infer_at] = x.numel() / known;
  }
  FG_CHECK(shape_numel(resolved, op) == x.numel(), ValueError,
           "[" << op << "] shape " << shape << " is invalid for a tensor of shape " << x.shape()
                              << " (" << x.numel() << " elements)");
  Tensor out = x.alias(resolved);
  record(out, "reshape", {x}, [in_shape = x.shape()](const Tensor& dout) {
    return std::vector<Tensor>{reshape(dout, in_shape)};
  });
  return out;
}

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

Tensor transpose(const Tensor& x, int64_t dim0, int64_t dim1) {
  int64_t a = wrap_dim(dim0, x.dim(), "transpose"), b = wrap_dim(dim1, x.dim(), "transpose");
  if (a == b) return reshape(x, x.shape());
  if (a > b) std::swap(a, b);
  Shape shape = x.shape();
  std::swap(shape[a], shape[b]);
  Tensor out = empty(shape, x.dtype(), x.device());
  int64_t outer = shape_numel(x.shape(), "transpose", 0, a);
  int64_t middle = shape_numel(x.shape(), "transpose", a + 1, b);
  int64_t inner = shape_numel(x.shape(), "transpose", b + 1);
  int64_t A = x.shape()[a], B = x.shape()[b];
  auto swap = [&](auto* y, const auto* in) {
    FG_LAUNCH(swap_axes, x.device(), y, in, outer, A, middle, B, inner);
  };
  switch (dtype_size(x.dtype())) {
    case 4:
      swap(out.data<float>(), x.data<float>());
      break;
    case 8:
      swap(out.data<int64_t>(), x.data<int64_t>());
      break;
    case 2:
      swap(out.data<uint16_t>(), x.data<uint16_t>());
      break;
    default:
      swap(out.data<uint8_t>(), x.data<uint8_t>());
  }
  record(out, "transpose", {x}, [a, b](const Tensor& dout) {
    return std::vector<Tensor>{transpose(dout, a, b)};
  });
  out.impl()->copy_of_view = true;
  return out;
}

// Rows [start, start + count) of x's first axis, as a view.
static Tensor row_range(const Tensor& x, int64_t start, int64_t count, Shape shape) {
  int64_t row = shape_numel(x.shape(), "index", 1);
  Tensor out = x.alias(shape, start * row);
  record(out, "select", {x}, [in_shape = x.shape(), start, count, row](const Tensor& dout) {
    Tensor dx = zeros(in_shape, DType::Float32, dout.device());
    Tensor rows = dx.alias({count * row}, start * row);
    copy_(rows, reshape(dout, {count * row}));
    return std::vector<Tensor>{dx};
  });
  return out;
}

Tensor select(const Tensor& x, int64_t index) {
  FG_CHECK(x.dim() > 0, IndexError, "[index] cannot index a 0-d tensor");
  int64_t n = x.shape()[0];
  FG_CHECK(index >= -n && index < n, IndexError,
           "[index] index " << index << " is out of bounds for dimension 0 with size " << n);
  if (index < 0) index += n;
  return row_range(x, index, 1, Shape(x.shape().begin() + 1, x.shape().end()));
}

Tensor slice(const Tensor& x, int64_t start, int64_t stop, int64_t step) {
  FG_CHECK(x.dim() > 0, IndexError, "[index] cannot slice a 0-d tensor");
  FG_CHECK(step > 0, ValueError, "[index] slice step must be positive, got " << step);
  int64_t n = x.shape()[0];
  // start and stop arrive already clamped to [0, n] by Python's slice.indices.
  int64_t count = stop > start ? (stop - start - 1) / step + 1 : 0;  // no overflow for any step
  if (step == 1) {
    Shape shape = x.shape();
    shape[0] = count;
    return row_range(x, std::min(start, n), count, shape);
  }
  Tensor indices = empty({count}, DType::Int64, Device{});
  for (int64_t i = 0; i < count; ++i) indices.data<int64_t>()[i] = start + i * step;
  Tensor out = index_select(x, to_device(indices, x.device()));
  out.impl()->copy_of_view = true;
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
  Shape shape = x.shape();
  shape[0] = indices.numel();
  Tensor out = empty(shape, x.dtype(), x.device());
  int64_t row = shape_numel(x.shape(), "index", 1);
  FG_LAUNCH(gather_rows, x.device(), out.raw_data(), x.raw_data(), normalized.data<int64_t>(),
            normalized.numel(), row * static_cast<int64_t>(dtype_size(x.dtype())));
  record(out, "index", {x}, [in_shape = x.shape(), normalized, row](const Tensor& dout) {
    Tensor dx = zeros(in_shape, DType::Float32, dout.device());
    FG_LAUNCH(scatter_add_rows, dx.device(), dx.data<float>(), dout.data<float>(),
              normalized.data<int64_t>(), normalized.numel(), row);
    return std::vector<Tensor>{dx};
  });
  return out;
}

}  // namespace fg::ops
