// Creation, copies and casts, and the checks every op shares.
#include <algorithm>
#include <cmath>
#include <limits>

#include "cast_math.h"
#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"
#ifdef FORGEGRAD_WITH_CUDA
#include "cuda/device.h"
#endif

namespace fg::ops {

void check_same_device(const Tensor& a, const Tensor& b, const char* op) {
  FG_CHECK(a.device() == b.device(), ValueError,
           "[" << op << "] expected tensors on one device, got " << a.device().str() << " and "
               << b.device().str());
}

void check_bias(const Tensor& bias, const Tensor& like, int64_t n, const char* op) {
  if (!bias.defined()) return;
  check_same_device(like, bias, op);
  FG_CHECK(bias.dtype() == like.dtype(), TypeError,
           "[" << op << "] expected bias of dtype " << dtype_name(like.dtype()) << ", got "
               << dtype_name(bias.dtype()));
  FG_CHECK(bias.shape() == Shape{n}, ValueError,
           "[" << op << "] expected bias of shape (" << n << ",), got " << bias.shape());
}

// Fills x (its dtype T) with value on x's device.
template <typename T>
static void fill_typed(const Tensor& x, T value) {
  FG_LAUNCH(fill, x.device(), x.data<T>(), value, x.numel());
}

Tensor empty(const Shape& shape, DType dtype, Device device) {
  return Tensor::empty(shape, dtype, device);
}

// Whether `value` fits `dtype` (integers take a truncated value, as PyTorch's do; NaN,
// infinities and values out of range have no integer to become). Floating dtypes take any
// value (out of range: +-inf).
static bool representable(double value, DType dtype) {
  return dispatch_dtype(dtype, "representable", [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, bool>) {
      return !std::isnan(value);
    } else if constexpr (std::is_integral_v<T>) {
      // min is exact as a double; max + 1.0 is too (2**63 for int64, where max rounds up).
      double whole = std::trunc(value);
      return whole >= double(std::numeric_limits<T>::min()) &&
             whole < double(std::numeric_limits<T>::max()) + 1.0;
    } else {
      return true;
    }
  });
}

static void check_representable(double value, DType dtype, const char* op) {
  FG_CHECK(representable(value, dtype), ValueError,
           "[" << op << "] cannot store " << value << " in a " << dtype_name(dtype) << " tensor");
}

Tensor full(const Shape& shape, double value, DType dtype, Device device) {
  check_representable(value, dtype, "full");  // before a maybe huge allocation
  Tensor out = empty(shape, dtype, device);
  fill_(out, value);
  return out;
}

Tensor full_int64(const Shape& shape, int64_t value, Device device) {
  Tensor out = empty(shape, DType::Int64, device);
  fill_typed(out, value);
  return out;
}

Tensor zeros(const Shape& shape, DType dtype, Device device) {
  return full(shape, 0.0, dtype, device);
}

Tensor scalar_tensor(double value, DType dtype, Device device) {
  return full({}, value, dtype, device);
}

bool known_within(const Tensor& indices, int64_t low, int64_t high) {
  int64_t known_low, known_high;
  return indices.storage()->index_bounds(known_low, known_high) && known_low >= low &&
         known_high <= high;
}

void check_writable(const Tensor& dst, const char* op) {
  for (int64_t d = 0; d < dst.dim(); ++d)
    FG_CHECK(dst.strides()[d] != 0 || dst.shape()[d] <= 1, RuntimeError,
             "[" << op
                 << "] unsupported operation: more than one element of the written-to "
                    "tensor refers to a single memory location (an expanded tensor); clone() "
                    "it first");
}

void fill_(Tensor& dst, double value) {
  check_writable(dst, "fill_");
  check_representable(value, dst.dtype(), "fill_");
  if (!dst.is_contiguous()) {  // one element filled, then repeated into the view (stride 0)
    Tensor one = empty({}, dst.dtype(), dst.device());
    fill_(one, value);
    dst.storage()->bump_version();
    strided_copy(dst, one.as_strided(dst.shape(), Shape(dst.dim(), 0), 0));
    return;
  }
  dst.storage()->bump_version();
  dispatch_dtype(dst.dtype(), "fill_", [&](auto tag) {
    using T = typename decltype(tag)::type;
    fill_typed(dst, cast_value<T>(value));
  });
}

static void check_step_sign(bool ascending, bool descending, bool step_positive) {
  FG_CHECK(step_positive ? !descending : !ascending, ValueError,
           "[arange] upper bound and lower bound inconsistent with step sign");
}

Tensor arange(int64_t start, int64_t end, int64_t step, Device device) {
  FG_CHECK(step != 0, ValueError, "[arange] step must be nonzero");
  check_step_sign(end > start, end < start, step > 0);
  // Counted and stepped in 128 bits: exact over all of int64 (end - start may not fit int64).
  __int128 span = static_cast<__int128>(end) - start;
  __int128 count = span == 0 ? 0 : (span - (step > 0 ? 1 : -1)) / step + 1;
  FG_CHECK(count <= kMaxNumel, ValueError,
           "[arange] too many elements: " << static_cast<double>(count));
  Tensor out = empty({static_cast<int64_t>(count)}, DType::Int64, Device{});
  int64_t* values = out.data<int64_t>();
  for (int64_t i = 0; i < out.numel(); ++i)
    values[i] = static_cast<int64_t>(start + static_cast<__int128>(i) * step);
  return to_device(out, device);
}

Tensor arange(double start, double end, double step, DType dtype, Device device) {
  FG_CHECK(
      std::isfinite(start) && std::isfinite(end) && std::isfinite(step), ValueError,
      "[arange] expected finite start, end and step, got " << start << ", " << end << ", " << step);
  FG_CHECK(dtype != DType::Bool, TypeError, "[arange] expected a numeric dtype, got bool");
  if (is_integral(dtype, false)) {  // as PyTorch: bounds and step truncated to int64 first
    for (double v : {start, end, step})
      FG_CHECK(representable(v, DType::Int64), ValueError,
               "[arange] " << v << " does not fit int64");
    Tensor values = arange(static_cast<int64_t>(start), static_cast<int64_t>(end),
                           static_cast<int64_t>(step), device);
    return to_dtype(values, dtype);
  }
  FG_CHECK(step != 0, ValueError, "[arange] step must be nonzero");
  check_step_sign(end > start, end < start, step > 0);
  double count = std::ceil((end - start) / step);
  FG_CHECK(count < 1e15, ValueError, "[arange] too many elements: " << count);
  // Computed on the CPU in double, rounded once to dtype, then moved: the values are the
  // CPU's on every device.
  Tensor values = empty({static_cast<int64_t>(count)}, DType::Float64, Device{});
  for (int64_t i = 0; i < values.numel(); ++i) values.data<double>()[i] = start + i * step;
  return to_device(to_dtype(values, dtype), device);
}

void manual_seed(uint64_t seed) { default_generator()->manual_seed(seed); }

std::pair<uint64_t, uint64_t> reserve_random_blocks(int64_t n, Generator* generator) {
  Generator& stream = generator ? *generator : *default_generator();
  return stream.reserve_blocks(static_cast<uint64_t>((n + 3) / 4));
}

// A tensor of a floating dtype filled by kernel(device, out, seed, offset, n) from the next
// Philox counters. The kernels draw float32; other dtypes are those draws cast (so float64
// values carry float32's 24 random bits, and one seed gives the same numbers in every dtype).
template <typename Kernel>
static Tensor random_tensor(const Shape& shape, DType dtype, Device device, Generator* generator,
                            const char* op, const Kernel& kernel) {
  FG_CHECK(is_floating(dtype), TypeError,
           "[" << op << "] expected a floating-point dtype, got " << dtype_name(dtype));
  Tensor out = empty(shape, DType::Float32, device);
  auto [seed, offset] = reserve_random_blocks(out.numel(), generator);
  kernel(device, out.data<float>(), seed, offset, out.numel());
  return to_dtype(out, dtype);
}

Tensor rand(const Shape& shape, DType dtype, Device device, Generator* generator) {
  return random_tensor(shape, dtype, device, generator, "rand", FG_KERNELS(uniform));
}

Tensor randn(const Shape& shape, DType dtype, Device device, Generator* generator) {
  return random_tensor(shape, dtype, device, generator, "randn", FG_KERNELS(normal));
}

void copy_(Tensor& dst, const Tensor& src) {
  FG_CHECK(dst.shape() == src.shape(), ValueError,
           "[copy_] expected a source of shape " << dst.shape() << ", got " << src.shape());
  check_same_device(dst, src, "copy_");
  check_writable(dst, "copy_");
  if (is_floating(src.dtype()) && !is_floating(dst.dtype())) {
    // Checked on the CPU in float64 (exact for every floating dtype): a GPU source is looked
    // at through a host copy.
    Tensor host = to_device(to_dtype(src.detach(), DType::Float64), Device{});
    const double* values = host.data<double>();
    for (int64_t i = 0; i < src.numel(); ++i)
      FG_CHECK(representable(values[i], dst.dtype()), ValueError,
               "[copy_] cannot store " << values[i] << " (element " << i << ") in a "
                                       << dtype_name(dst.dtype()) << " tensor");
  }
  if (dst.numel() == 0) return;
  // Overlapping views of one storage (t[1:].copy_(t[:-1])) would read what was just
  // written: copy through a temporary then (a copy onto the very same view is safe).
  auto span = [](const Tensor& t) {
    int64_t last = 0;
    for (int64_t d = 0; d < t.dim(); ++d) last += (t.shape()[d] - 1) * t.strides()[d];
    const char* begin = static_cast<const char*>(t.strided_data());
    return std::make_pair(begin, begin + (last + 1) * dtype_size(t.dtype()));
  };
  auto [dst_begin, dst_end] = span(dst);
  auto [src_begin, src_end] = span(src);
  bool same_view =
      dst_begin == src_begin && dst.strides() == src.strides() && dst.dtype() == src.dtype();
  bool overlap =
      dst.storage() == src.storage() && !same_view && dst_begin < src_end && src_begin < dst_end;
  Tensor source = overlap ? clone(src.detach()) : src;
  dst.storage()->bump_version();
  if (dst.dtype() == source.dtype()) return strided_copy(dst, source);
  // A cast runs on row-major buffers: into dst itself when it is contiguous.
  Tensor converted = dst.is_contiguous() ? dst : empty(dst.shape(), dst.dtype(), dst.device());
  Tensor input = contiguous(source.detach());
  dispatch_dtype(dst.dtype(), "copy_", [&](auto out_tag) {
    using Out = typename decltype(out_tag)::type;
    dispatch_dtype(input.dtype(), "copy_", [&](auto in_tag) {
      using In = typename decltype(in_tag)::type;
      FG_LAUNCH(cast, dst.device(), converted.data<Out>(), input.data<In>(), dst.numel());
    });
  });
  if (!converted.same(dst)) strided_copy(dst, converted);
}

Tensor clone(const Tensor& x) {
  Tensor out = empty(x.shape(), x.dtype(), x.device());
  copy_(out, x);
  record(out, "clone", {x}, [](const Tensor& dout) { return std::vector<Tensor>{dout}; });
  return out;
}

Tensor to_dtype(const Tensor& x, DType dtype) {
  if (dtype == x.dtype()) return x;
  Tensor out = empty(x.shape(), dtype, x.device());
  copy_(out, x);
  // Between floating dtypes the gradient is cast back; a cast to an integer or bool dtype
  // ends the graph, as in PyTorch.
  if (is_floating(x.dtype()) && is_floating(dtype))
    record(out, "to", {x}, [from = x.dtype()](const Tensor& dout) {
      return std::vector<Tensor>{to_dtype(dout, from)};
    });
  return out;
}

// The same values on another device; recorded, so gradients flow back to x's device.
Tensor to_device(const Tensor& x, Device device) {
  if (device == x.device()) return x;
#ifdef FORGEGRAD_WITH_CUDA
  Tensor out = empty(x.shape(), x.dtype(), device);
  Tensor source = contiguous(x.detach());
  cuda::copy_bytes(out.raw_data(), device, source.raw_data(), x.device(),
                   static_cast<size_t>(x.numel()) * dtype_size(x.dtype()));
  if (x.dtype() == DType::Int64 && x.device().is_cpu() && x.numel() > 0) {
    // Indices on their way to the GPU: their bounds, for checks that then need no copy back.
    auto [low, high] =
        std::minmax_element(source.data<int64_t>(), source.data<int64_t>() + x.numel());
    out.storage()->set_index_bounds(*low, *high);
  }
  record(out, "to", {x}, [from = x.device()](const Tensor& dout) {
    return std::vector<Tensor>{to_device(dout, from)};
  });
  return out;
#else
  throw RuntimeError("[to] this build of forgegrad has no CUDA support (" + device.str() +
                     " asked); rebuild with nvcc present");
#endif
}

void add_(Tensor& dst, const Tensor& src) {
  FG_CHECK(dst.dtype() == src.dtype(), TypeError,
           "[add_] expected a source of dtype " << dtype_name(dst.dtype()) << ", got "
                                                << dtype_name(src.dtype()));
  FG_CHECK(dst.shape() == src.shape(), ValueError,
           "[add_] expected a source of shape " << dst.shape() << ", got " << src.shape());
  check_same_device(dst, src, "add_");
  check_writable(dst, "add_");
  bool has_kernel = dst.dtype() == DType::Float32 || dst.dtype() == DType::Float64;
  if (!dst.is_contiguous() || !has_kernel) return copy_(dst, add(dst.detach(), src.detach()));
  Tensor source = contiguous(src.detach());
  dst.storage()->bump_version();
  dispatch_floating(dst.dtype(), "add_", [&](auto tag) {
    using T = typename decltype(tag)::type;
    FG_LAUNCH(add_inplace, dst.device(), dst.data<T>(), source.data<T>(), dst.numel());
  });
}

// Each root's gradient, checked against it, or ones for a one-element root given none
static std::vector<Tensor> seeds(const std::vector<Tensor>& roots,
                                 const std::vector<Tensor>& gradients, const char* op) {
  FG_CHECK(gradients.size() == roots.size(), ValueError,
           "[" << op << "] expected " << roots.size() << " gradients, one per tensor, got "
               << gradients.size());
  std::vector<Tensor> seeds;
  for (size_t r = 0; r < roots.size(); ++r) {
    const Tensor& root = roots[r];
    std::string which = roots.size() > 1 ? "element " + std::to_string(r) + " of the tensors"
                                         : std::string("the tensor");
    FG_CHECK(root.requires_grad(), RuntimeError,
             "[" << op << "] " << which << " does not require grad and has no grad_fn");
    Tensor seed = gradients[r];
    if (!seed.defined()) {
      FG_CHECK(root.numel() == 1, RuntimeError,
               "[" << op << "] grad can be implicitly created only for scalar outputs; " << which
                   << " has shape " << root.shape() << ", pass its gradient");
      seed = full(root.shape(), 1.0, root.dtype(), root.device());
    } else {
      FG_CHECK(seed.dtype() == root.dtype(), TypeError,
               "[" << op << "] expected a gradient of dtype " << dtype_name(root.dtype()) << " for "
                   << which << ", got " << dtype_name(seed.dtype()));
      FG_CHECK(seed.shape() == root.shape(), ValueError,
               "[" << op << "] expected a gradient of shape " << root.shape() << " for " << which
                   << ", got " << seed.shape());
      check_same_device(seed, root, op);
    }
    seeds.push_back(seed.detach());
  }
  return seeds;
}

void backward(const std::vector<Tensor>& roots, const std::vector<Tensor>& gradients,
              bool retain_graph) {
  run_backward(roots, seeds(roots, gradients, "backward"), retain_graph);
}

std::vector<Tensor> grad(const std::vector<Tensor>& roots, const std::vector<Tensor>& gradients,
                         const std::vector<Tensor>& inputs, bool retain_graph, const char* op) {
  for (size_t i = 0; i < inputs.size(); ++i)
    FG_CHECK(inputs[i].requires_grad(), RuntimeError,
             "[" << op << "] input " << i << " does not require grad, so it has no gradient");
  return run_grad(roots, seeds(roots, gradients, op), inputs, retain_graph);
}

}  // namespace fg::ops
