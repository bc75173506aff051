// The ops as module functions, under PyTorch's names and argument names: the op table
// (python/op_table.h) expanded into bindings, and the adapters it names for ops whose
// Python arguments need parsing before the C++ op takes them.
#include <limits>

#include "core/error.h"
#include "core/promotion.h"
#include "ops/ops.h"
#include "python/bindings.h"

namespace fg::python {

static std::vector<int64_t> parse_dims(const py::object& dim) {
  if (dim.is_none()) return {};
  if (py::isinstance<py::int_>(dim)) return {dim.cast<int64_t>()};
  FG_CHECK(py::isinstance<py::tuple>(dim) || py::isinstance<py::list>(dim), TypeError,
           "[sum] expected dim to be an int, a tuple of ints or None");
  std::vector<int64_t> dims = dim.cast<std::vector<int64_t>>();
  FG_CHECK(!dims.empty(), ValueError, "[sum] expected at least one dimension in dim");
  return dims;
}

// In-place writes would bypass autograd: allowed on tensors that record nothing.
static void check_in_place(const Tensor& t, const char* op) {
  FG_CHECK(!(grad_enabled() && t.requires_grad()), RuntimeError,
           "[" << op
               << "] a tensor that requires grad cannot be changed in place while "
                  "gradients are recorded; wrap the update in forgegrad.no_grad()");
}

namespace {

// ---- adapters named by the op table ----
Tensor empty_op(const Shape& shape, py::object dtype, py::object device) {
  return ops::empty(shape, parse_dtype(dtype, DType::Float32), parse_device(device));
}
Tensor full_op(const Shape& shape, double value, py::object dtype, py::object device) {
  return ops::full(shape, value, parse_dtype(dtype, DType::Float32), parse_device(device));
}
Tensor full_int64_op(const Shape& shape, int64_t value, py::object device) {
  return ops::full_int64(shape, value, parse_device(device));
}
Tensor arange_op(double start, double end, double step, py::object dtype, py::object device) {
  return ops::arange(start, end, step, parse_dtype(dtype, DType::Float32), parse_device(device));
}
Tensor arange_int64_op(int64_t start, int64_t end, int64_t step, py::object device) {
  return ops::arange(start, end, step, parse_device(device));
}
// A forgegrad._C._Generator, or null (the global stream) for None.
Generator* parse_generator(const py::object& generator) {
  return generator.is_none() ? nullptr : generator.cast<Generator*>();
}
Tensor rand_op(const Shape& shape, py::object dtype, py::object device, py::object generator) {
  return ops::rand(shape, parse_dtype(dtype, DType::Float32), parse_device(device),
                   parse_generator(generator));
}
Tensor randn_op(const Shape& shape, py::object dtype, py::object device, py::object generator) {
  return ops::randn(shape, parse_dtype(dtype, DType::Float32), parse_device(device),
                    parse_generator(generator));
}
Tensor randint_op(int64_t low, uint64_t span, const Shape& shape, py::object device,
                  py::object generator) {
  return ops::randint(low, span, shape, parse_device(device), parse_generator(generator));
}
Tensor randperm_op(int64_t n, py::object device, py::object generator) {
  return ops::randperm(n, parse_device(device), parse_generator(generator));
}
Tensor multinomial_op(const Tensor& probs, int64_t num_samples, bool replacement,
                      py::object generator) {
  return ops::multinomial(probs, num_samples, replacement, parse_generator(generator));
}
Tensor poisson_op(const Tensor& rates, py::object generator) {
  return ops::poisson(rates, parse_generator(generator));
}
void manual_seed_op(py::int_ seed) {
  // Any Python int, reduced to 64 bits as PyTorch does.
  py::int_ mask(0xFFFFFFFFFFFFFFFFull);
  ops::manual_seed(
      py::reinterpret_steal<py::int_>(PyNumber_And(seed.ptr(), mask.ptr())).cast<uint64_t>());
}
// Either format gives a contiguous copy of the values (preserve_format keeps a strided
// view's strides in PyTorch; forgegrad has no layout to keep beyond contiguous).
Tensor clone_op(const Tensor& x, MemoryFormat) { return ops::clone(x); }
Tensor to_device_op(const Tensor& x, py::object device) {
  return ops::to_device(x, parse_device(device));
}
py::object fill_op(py::object self, double value) {
  Tensor& t = self.cast<Tensor&>();
  check_in_place(t, "fill_");
  ops::fill_(t, value);
  return self;
}
py::object copy_op(py::object self, const Tensor& src) {
  Tensor& t = self.cast<Tensor&>();
  check_in_place(t, "copy_");
  ops::copy_(t, src);
  return self;
}

// dim, or numpy's axis (an alias PyTorch accepts), not both
static std::vector<int64_t> dims_or_axis(const py::object& dim, const py::object& axis,
                                         const char* op) {
  FG_CHECK(dim.is_none() || axis.is_none(), TypeError,
           "[" << op << "] got both dim and axis; give one");
  return parse_dims(dim.is_none() ? axis : dim);
}
static Tensor in_dtype(const Tensor& x, const py::object& dtype) {
  return dtype.is_none() ? x : ops::to_dtype(x, parse_dtype(dtype, x.dtype()));
}
Tensor sum_op(const Tensor& x, py::object dim, bool keepdim, py::object dtype, py::object axis) {
  return ops::sum(in_dtype(x, dtype), dims_or_axis(dim, axis, "sum"), keepdim);
}
Tensor mean_op(const Tensor& x, py::object dim, bool keepdim, py::object dtype, py::object axis) {
  return ops::mean(in_dtype(x, dtype), dims_or_axis(dim, axis, "mean"), keepdim);
}

// torch.return_types: named tuples (values, indices) and the like, made once per name
static py::object return_type(const char* name, const char* first, const char* second) {
  // never destroyed: a static py::dict would be freed after the interpreter, without the GIL
  static py::dict& made = *new py::dict();
  if (!made.contains(name))
    made[name] = py::module_::import("collections")
                     .attr("namedtuple")(name, py::make_tuple(first, second),
                                         py::arg("module") = "forgegrad.return_types");
  return made[name];
}
static py::object values_indices(const char* name, std::pair<Tensor, Tensor> result) {
  return return_type(name, "values", "indices")(result.first, result.second);
}

// max(input): the largest element; max(input, dim): (values, indices); max(input, other):
// maximum. min alike.
py::object max_op(const Tensor& x, py::object dim, bool keepdim) {
  if (dim.is_none()) return py::cast(ops::max(x));
  if (py::isinstance<Tensor>(dim)) return py::cast(ops::maximum(x, dim.cast<Tensor>()));
  return values_indices("max", ops::max(x, dim.cast<int64_t>(), keepdim));
}
py::object min_op(const Tensor& x, py::object dim, bool keepdim) {
  if (dim.is_none()) return py::cast(ops::min(x));
  if (py::isinstance<Tensor>(dim)) return py::cast(ops::minimum(x, dim.cast<Tensor>()));
  return values_indices("min", ops::min(x, dim.cast<int64_t>(), keepdim));
}
// amax and amin: dim=() (the default) is every dimension
static std::vector<int64_t> dims_or_all(const py::object& dim) {
  return py::isinstance<py::tuple>(dim) && py::len(dim) == 0 ? std::vector<int64_t>{}
                                                             : parse_dims(dim);
}
Tensor amax_op(const Tensor& x, py::object dim, bool keepdim) {
  return ops::amax(x, dims_or_all(dim), keepdim);
}
Tensor amin_op(const Tensor& x, py::object dim, bool keepdim) {
  return ops::amin(x, dims_or_all(dim), keepdim);
}
py::object aminmax_op(const Tensor& x, py::object dim, bool keepdim) {
  std::vector<int64_t> dims = parse_dims(dim);
  return return_type("aminmax", "min", "max")(ops::amin(x, dims, keepdim),
                                              ops::amax(x, dims, keepdim));
}
Tensor prod_op(const Tensor& x, std::optional<int64_t> dim, bool keepdim, py::object dtype) {
  return ops::prod(in_dtype(x, dtype), dim, keepdim);
}

// var and std: (input, dim, unbiased, keepdim, *, correction), where a bool in dim's place is
// unbiased (torch.var(x, False)); correction wins over unbiased (1 when unbiased, else 0).
struct Spread {
  std::vector<int64_t> dims;
  double correction;
};
static Spread spread_arguments(py::object dim, py::object unbiased, py::object correction,
                               const char* op) {
  if (py::isinstance<py::bool_>(dim)) unbiased = dim, dim = py::none();
  FG_CHECK(correction.is_none() || unbiased.is_none(), TypeError,
           "[" << op << "] got both unbiased and correction; give one");
  double c = !correction.is_none() ? correction.attr("__float__")().cast<double>()
             : unbiased.is_none()  ? 1.0
                                   : (unbiased.cast<bool>() ? 1.0 : 0.0);
  return {parse_dims(dim), c};
}
Tensor var_op(const Tensor& x, py::object dim, py::object unbiased, bool keepdim,
              py::object correction) {
  Spread a = spread_arguments(dim, unbiased, correction, "var");
  return ops::var(x, a.dims, a.correction, keepdim);
}
Tensor std_op(const Tensor& x, py::object dim, py::object unbiased, bool keepdim,
              py::object correction) {
  Spread a = spread_arguments(dim, unbiased, correction, "std");
  return ops::standard_deviation(x, a.dims, a.correction, keepdim);
}
py::tuple var_mean_op(const Tensor& x, py::object dim, py::object unbiased, bool keepdim,
                      py::object correction) {
  Spread a = spread_arguments(dim, unbiased, correction, "var_mean");
  return py::make_tuple(ops::var(x, a.dims, a.correction, keepdim), ops::mean(x, a.dims, keepdim));
}
py::tuple std_mean_op(const Tensor& x, py::object dim, py::object unbiased, bool keepdim,
                      py::object correction) {
  Spread a = spread_arguments(dim, unbiased, correction, "std_mean");
  return py::make_tuple(ops::standard_deviation(x, a.dims, a.correction, keepdim),
                        ops::mean(x, a.dims, keepdim));
}
Tensor logsumexp_op(const Tensor& x, py::object dim, bool keepdim) {
  return ops::logsumexp(x, parse_dims(dim), keepdim);
}
// ord as a number (inf, -inf included)
Tensor vector_norm_op(const Tensor& x, py::object ord, py::object dim, bool keepdim,
                      py::object dtype) {
  return ops::vector_norm(in_dtype(x, dtype), ord.attr("__float__")().cast<double>(),
                          parse_dims(dim), keepdim);
}
// norm(input, p='fro'): the 2-norm over all or dim; a number p: the vector p-norm
Tensor norm_op(const Tensor& x, py::object p, py::object dim, bool keepdim, py::object dtype) {
  if (py::isinstance<py::str>(p)) {
    FG_CHECK(p.cast<std::string>() == "fro", ValueError,
             "[norm] expected p a number or 'fro', got '" << p.cast<std::string>() << "'");
    return ops::vector_norm(in_dtype(x, dtype), 2.0, parse_dims(dim), keepdim);
  }
  return vector_norm_op(x, p.is_none() ? py::float_(2.0) : p, dim, keepdim, dtype);
}
Tensor all_op(const Tensor& x, py::object dim, bool keepdim, py::object axis) {
  return ops::all(x, dims_or_axis(dim, axis, "all"), keepdim);
}
Tensor any_op(const Tensor& x, py::object dim, bool keepdim, py::object axis) {
  return ops::any(x, dims_or_axis(dim, axis, "any"), keepdim);
}
Tensor count_nonzero_op(const Tensor& x, py::object dim) {
  return ops::count_nonzero(x, parse_dims(dim));
}
Tensor cumsum_op(const Tensor& x, int64_t dim, py::object dtype) {
  return ops::cumsum(in_dtype(x, dtype), dim);
}
Tensor cumprod_op(const Tensor& x, int64_t dim, py::object dtype) {
  return ops::cumprod(in_dtype(x, dtype), dim);
}
py::object cummax_op(const Tensor& x, int64_t dim) {
  return values_indices("cummax", ops::cummax(x, dim));
}
py::object cummin_op(const Tensor& x, int64_t dim) {
  return values_indices("cummin", ops::cummin(x, dim));
}
// Sorting is always stable, so `stable` asks for nothing more, and topk always sorted.
py::object sort_op(const Tensor& x, int64_t dim, bool descending, bool /*stable*/) {
  return values_indices("sort", ops::sort(x, dim, descending));
}
Tensor argsort_op(const Tensor& x, int64_t dim, bool descending, bool /*stable*/) {
  NoGradGuard no_grad;  // indices only
  return ops::sort(x, dim, descending).second;
}
Tensor msort_op(const Tensor& x) { return ops::sort(x, 0, false).first; }
py::object topk_op(const Tensor& x, int64_t k, int64_t dim, bool largest, bool /*sorted*/) {
  return values_indices("topk", ops::topk(x, k, dim, largest));
}
py::object kthvalue_op(const Tensor& x, int64_t k, int64_t dim, bool keepdim) {
  return values_indices("kthvalue", ops::kthvalue(x, k, dim, keepdim));
}
// median(input): the median of all elements; median(input, dim): (values, indices)
static py::object median_of(const Tensor& x, std::optional<int64_t> dim, bool keepdim,
                            bool ignore_nan) {
  if (!dim) return py::cast(ops::median(x, ignore_nan));
  return values_indices(ignore_nan ? "nanmedian" : "median",
                        ops::median(x, *dim, keepdim, ignore_nan));
}
py::object median_op(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return median_of(x, dim, keepdim, false);
}
py::object nanmedian_op(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  return median_of(x, dim, keepdim, true);
}
py::object mode_op(const Tensor& x, int64_t dim, bool keepdim) {
  return values_indices("mode", ops::mode(x, dim, keepdim));
}

// scatter(input, dim, index, src) or scatter(input, dim, index, value=v)
Tensor scatter_op(const Tensor& x, int64_t dim, const Tensor& index, py::object src,
                  py::object value) {
  FG_CHECK(src.is_none() != value.is_none(), TypeError,
           "[scatter] expected one of src (a tensor) and value (a number)");
  if (!value.is_none()) {
    Tensor v = operand(value, x, "scatter");
    return ops::scatter(x, dim, index, ops::to_dtype(v, x.dtype()));
  }
  FG_CHECK(py::isinstance<Tensor>(src) || is_number(src), TypeError,
           "[scatter] expected src a Tensor or a number, got " << type_name(src));
  Tensor s = operand(src, x, "scatter");
  return ops::scatter(x, dim, index, s.is_wrapped_number() ? ops::to_dtype(s, x.dtype()) : s);
}

// zeros(2, 3) and zeros((2, 3)) alike (and reshape(2, 3), reshape((2, 3))): integer sizes
// (Python or numpy), never bools.
Shape parse_shape(const py::args& args) {
  py::tuple size = args;
  if (args.size() == 1 && (py::isinstance<py::tuple>(args[0]) || py::isinstance<py::list>(args[0])))
    size = py::tuple(args[0]);
  Shape shape;
  for (py::handle s : size) {
    // A Python int is the common case; numpy integers are numbers.Integral too.
    bool integer = PyLong_CheckExact(s.ptr()) ||
                   (!PyBool_Check(s.ptr()) &&
                    py::isinstance(s, py::module_::import("numbers").attr("Integral")));
    FG_CHECK(integer, TypeError,
             "[size] expected integer sizes, got " << py::repr(size).cast<std::string>());
    shape.push_back(py::int_(py::reinterpret_borrow<py::object>(s)).cast<int64_t>());
  }
  return shape;
}
Tensor reshape_op(const Tensor& x, const py::args& shape) {
  return ops::reshape(x, parse_shape(shape));
}
Tensor view_op(const Tensor& x, const py::args& shape) { return ops::view(x, parse_shape(shape)); }
// permute(2, 0, 1) and permute((2, 0, 1)) alike; expand likewise (-1 keeps a size).
Tensor permute_op(const Tensor& x, const py::args& dims) {
  return ops::permute(x, parse_shape(dims));
}
Tensor expand_op(const Tensor& x, const py::args& sizes) {
  return ops::expand(x, parse_shape(sizes));
}
Tensor expand_as_op(const Tensor& x, const Tensor& other) { return ops::expand(x, other.shape()); }
Tensor t_op(const Tensor& x) {
  FG_CHECK(x.dim() <= 2, RuntimeError,
           "[t] expects a tensor with <= 2 dimensions, but self is " << x.dim() << "D");
  return ops::reverse_dims(x);
}
// An int or a sequence of ints: movedim's source and destination, squeeze's dim.
static std::vector<int64_t> int_list(const py::object& dims, const char* op) {
  if (py::isinstance<py::int_>(dims)) return {dims.cast<int64_t>()};
  FG_CHECK(py::isinstance<py::tuple>(dims) || py::isinstance<py::list>(dims), TypeError,
           "[" << op << "] expected an int or a sequence of ints, got " << type_name(dims));
  return dims.cast<std::vector<int64_t>>();
}
Tensor movedim_op(const Tensor& x, py::object source, py::object destination) {
  return ops::movedim(x, int_list(source, "movedim"), int_list(destination, "movedim"));
}
Tensor squeeze_op(const Tensor& x, py::object dim) {
  return ops::squeeze(x, dim.is_none() ? std::nullopt : std::optional(int_list(dim, "squeeze")));
}

// The arithmetic as functions and methods: other may be a Python number, as for the
// operators; add and sub scale it by alpha first, as PyTorch.
static Tensor times_alpha(const Tensor& a, py::object b, py::object alpha, const char* op) {
  Tensor other = operand(b, a, op);
  bool one = py::isinstance<py::int_>(alpha) && alpha.cast<int64_t>() == 1;
  return one ? other : ops::mul(other, operand(alpha, a, op));
}
Tensor add_op(const Tensor& a, py::object b, py::object alpha) {
  return ops::add(a, times_alpha(a, b, alpha, "add"));
}
Tensor sub_op(const Tensor& a, py::object b, py::object alpha) {
  return ops::sub(a, times_alpha(a, b, alpha, "sub"));
}
// A binary op's operands: either may be a Python number or a numpy array, not both.
static std::pair<Tensor, Tensor> operand_pair(py::object a, py::object b, const char* op) {
  if (py::isinstance<Tensor>(a)) {
    Tensor x = a.cast<Tensor>();
    return {x, operand(b, x, op)};
  }
  FG_CHECK(py::isinstance<Tensor>(b), TypeError,
           "[" << op << "] expected a Tensor among the operands, got " << type_name(a) << " and "
               << type_name(b));
  Tensor y = b.cast<Tensor>();
  return {operand(a, y, op), y};
}
Tensor mul_op(py::object a, py::object b) {
  auto [x, y] = operand_pair(a, b, "mul");
  return ops::mul(x, y);
}
Tensor div_op(py::object a, py::object b, py::object rounding_mode) {
  auto [x, y] = operand_pair(a, b, "div");
  if (rounding_mode.is_none()) return ops::div(x, y);
  FG_CHECK(
      py::isinstance<py::str>(rounding_mode), TypeError,
      "[div] expected rounding_mode None, 'trunc' or 'floor', got " << type_name(rounding_mode));
  return ops::div(x, y, rounding_mode.cast<std::string>());
}
#define FG_BINARY_ADAPTER(name)                          \
  Tensor name##_op(py::object a, py::object b) {         \
    auto [x, y] = operand_pair(a, b, #name);             \
    return ops::name(x, y);                              \
  }
FG_BINARY_ADAPTER(floor_divide)
FG_BINARY_ADAPTER(remainder)
FG_BINARY_ADAPTER(fmod)
FG_BINARY_ADAPTER(maximum)
FG_BINARY_ADAPTER(minimum)
FG_BINARY_ADAPTER(fmax)
FG_BINARY_ADAPTER(fmin)
FG_BINARY_ADAPTER(atan2)
FG_BINARY_ADAPTER(hypot)
FG_BINARY_ADAPTER(bitwise_and)
FG_BINARY_ADAPTER(bitwise_or)
FG_BINARY_ADAPTER(bitwise_xor)
FG_BINARY_ADAPTER(bitwise_left_shift)
FG_BINARY_ADAPTER(bitwise_right_shift)
FG_BINARY_ADAPTER(logical_and)
FG_BINARY_ADAPTER(logical_or)
FG_BINARY_ADAPTER(logical_xor)
#undef FG_BINARY_ADAPTER

template <CompareOp op>
Tensor compare_op(py::object a, py::object b) {
  static const char* names[] = {"eq", "ne", "lt", "le", "gt", "ge"};
  auto [x, y] = operand_pair(a, b, names[static_cast<int>(op)]);
  return ops::compare(op, x, y);
}

// pow(input, exponent): a number exponent keeps the scalar kernel (an integer tensor to a
// float power is float32, whatever the value); a tensor exponent or a number base broadcasts.
Tensor pow_op(py::object input, py::object exponent) {
  if (py::isinstance<Tensor>(input) && is_number(exponent)) {
    Tensor x = input.cast<Tensor>();
    bool to_float = !py::hasattr(exponent, "__index__") && !is_floating(x.dtype());
    return ops::pow(to_float ? ops::to_dtype(x, kDefaultFloatDType) : x,
                    exponent.attr("__float__")().cast<double>());
  }
  auto [x, y] = operand_pair(input, exponent, "pow");
  return ops::pow(x, y);
}

Tensor isclose_op(const Tensor& a, py::object b, double rtol, double atol, bool equal_nan) {
  return ops::isclose(a, operand(b, a, "isclose"), rtol, atol, equal_nan);
}
static bool none_true(const Tensor& mask) {
  Tensor count = ops::to_device(ops::sum(mask, {}, false), Device{});
  return count.data<int64_t>()[0] == 0;
}
bool allclose_op(const Tensor& a, py::object b, double rtol, double atol, bool equal_nan) {
  return none_true(
      ops::logical_not(ops::isclose(a, operand(b, a, "allclose"), rtol, atol, equal_nan)));
}
// same shape and elements
bool equal_op(const Tensor& a, const Tensor& b) {
  return a.shape() == b.shape() && none_true(ops::compare(CompareOp::Ne, a, b));
}

// Tensor lists: a list or tuple of Tensors, checked by name.
static std::vector<Tensor> tensor_list(const py::object& tensors, const char* op) {
  FG_CHECK(py::isinstance<py::list>(tensors) || py::isinstance<py::tuple>(tensors), TypeError,
           "[" << op << "] expected a list or tuple of Tensors, got " << type_name(tensors));
  std::vector<Tensor> out;
  for (py::handle item : tensors) {
    FG_CHECK(py::isinstance<Tensor>(item), TypeError,
             "[" << op << "] expected Tensors in the list, got "
                 << type_name(py::reinterpret_borrow<py::object>(item)));
    out.push_back(item.cast<Tensor>());
  }
  return out;
}
Tensor cat_op(py::object tensors, int64_t dim) {
  return ops::cat(tensor_list(tensors, "cat"), dim);
}
Tensor stack_op(py::object tensors, int64_t dim) {
  return ops::stack(tensor_list(tensors, "stack"), dim);
}
// split(tensor, split_size_or_sections, dim): an int size, or a list of sizes
py::tuple split_op(const Tensor& x, py::object split_size_or_sections, int64_t dim) {
  if (py::isinstance<py::int_>(split_size_or_sections))
    return py::cast(ops::split(x, split_size_or_sections.cast<int64_t>(), dim));
  return py::cast(ops::split(x, int_list(split_size_or_sections, "split"), dim));
}
py::tuple chunk_op(const Tensor& x, int64_t chunks, int64_t dim) {
  return py::cast(ops::chunk(x, chunks, dim));
}
py::tuple unbind_op(const Tensor& x, int64_t dim) { return py::cast(ops::unbind(x, dim)); }

// clamp's bounds: numbers or tensors. Number bounds as PyTorch types them: a float bound
// makes an integer tensor float32; a tensor bound promotes as an operand.
Tensor clamp_op(const Tensor& x, py::object min, py::object max) {
  if (py::isinstance<Tensor>(min) || py::isinstance<Tensor>(max)) {
    auto bound = [&](const py::object& b) {
      return b.is_none() ? Tensor() : operand(b, x, "clamp");
    };
    return ops::clamp(x, bound(min), bound(max));
  }
  auto bound = [](const py::object& b) {
    return b.is_none() ? std::nullopt : std::optional<double>(b.attr("__float__")().cast<double>());
  };
  auto is_float = [](const py::object& b) { return !b.is_none() && !py::hasattr(b, "__index__"); };
  bool to_float = !is_floating(x.dtype()) && (is_float(min) || is_float(max));
  return ops::clamp(to_float ? ops::to_dtype(x, DType::Float32) : x, bound(min), bound(max));
}
Tensor round_op(const Tensor& x, int64_t decimals) { return ops::round(x, decimals); }
Tensor bincount_op(const Tensor& x, py::object weights, int64_t minlength) {
  return ops::bincount(x, optional_tensor(weights, "bincount", "weights"), minlength);
}
Tensor clamp_min_op(const Tensor& x, py::object min) { return clamp_op(x, min, py::none()); }
Tensor clamp_max_op(const Tensor& x, py::object max) { return clamp_op(x, py::none(), max); }
Tensor lerp_op(const Tensor& start, const Tensor& end, py::object weight) {
  return ops::lerp(start, end, operand(weight, start, "lerp"));
}

// nonzero(as_tuple=True), and where(condition): one index tensor per dimension
static py::object as_columns(const Tensor& positions, int64_t ndim) {
  py::tuple columns(ndim);
  for (int64_t d = 0; d < ndim; ++d) columns[d] = ops::select(positions, 1, d);
  return columns;
}
py::object nonzero_op(const Tensor& x, bool as_tuple) {
  Tensor positions = ops::nonzero(x);
  return as_tuple ? as_columns(positions, x.dim()) : py::cast(positions);
}
py::object where_op(const Tensor& condition, py::object input, py::object other) {
  if (input.is_none() && other.is_none())
    return as_columns(ops::nonzero(condition), condition.dim());
  FG_CHECK(!input.is_none() && !other.is_none(), TypeError,
           "[where] expected both input and other, or neither");
  return py::cast(ops::where(condition, operand(input, condition, "where"),
                             operand(other, condition, "where")));
}
Tensor masked_fill_op(const Tensor& x, const Tensor& mask, py::object value) {
  return ops::masked_fill(x, mask, operand(value, x, "masked_fill"));
}
// indices: a tuple (or list) of index tensors, None for a full slice
static std::vector<Tensor> index_tuple(py::object indices, const char* op) {
  FG_CHECK(py::isinstance<py::tuple>(indices) || py::isinstance<py::list>(indices), TypeError,
           "[" << op << "] expected indices as a tuple of tensors, got " << type_name(indices));
  std::vector<Tensor> out;
  for (py::handle item : indices)
    out.push_back(optional_tensor(py::reinterpret_borrow<py::object>(item), op, "indices"));
  return out;
}
Tensor index_put_op(const Tensor& x, py::object indices, py::object values, bool accumulate) {
  return ops::index_put(x, index_tuple(indices, "index_put"), operand(values, x, "index_put"),
                        accumulate);
}
Tensor index_put__op(Tensor& x, py::object indices, py::object values, bool accumulate) {
  ops::index_put_(x, index_tuple(indices, "index_put_"), operand(values, x, "index_put_"),
                  accumulate);
  return x;
}
Tensor index_select_op(const Tensor& x, int64_t dim, const Tensor& index) {
  return ops::index_select(x, dim, index);
}

// The activations' inplace=True: the result written into x when x is not part of a
// recorded graph (an in-place write is not recorded); inside one, the result out of place,
// as the modules compute (nn.ReLU(inplace=True)).
static Tensor maybe_in_place(Tensor x, const Tensor& result, bool inplace) {
  if (!inplace || (grad_enabled() && x.requires_grad())) return result;
  FG_CHECK(result.shape() == x.shape() && result.dtype() == x.dtype(), TypeError,
           "[activation] inplace=True needs a floating input, got " << dtype_name(x.dtype()));
  ops::copy_(x, result);
  return x;
}
static Tensor activate(Activation op, const Tensor& x, ActivationParams params,
                       bool inplace = false) {
  return maybe_in_place(x, ops::apply_activation(op, x, params), inplace);
}
Tensor relu_op(const Tensor& x, bool inplace) { return maybe_in_place(x, ops::relu(x), inplace); }
Tensor softplus_op(const Tensor& x, double beta, double threshold) {
  FG_CHECK(beta != 0, ValueError, "[softplus] expected beta != 0");
  return activate(Activation::Softplus, x, {beta, threshold});
}
Tensor elu_op(const Tensor& x, double alpha, bool inplace) {
  return activate(Activation::Elu, x, {alpha, 1.0, 1.0}, inplace);
}
Tensor selu_op(const Tensor& x, bool inplace) {
  return activate(Activation::Elu, x, {1.6732632423543772, 1.0507009873554805, 1.0}, inplace);
}
Tensor celu_op(const Tensor& x, double alpha, bool inplace) {
  FG_CHECK(alpha != 0, ValueError, "[celu] ZeroDivisionError: alpha must not be 0");
  return activate(Activation::Elu, x, {alpha, 1.0, 1.0 / alpha}, inplace);
}
Tensor mish_op(const Tensor& x, bool inplace) { return activate(Activation::Mish, x, {}, inplace); }
Tensor hardtanh_op(const Tensor& x, double min_val, double max_val, bool inplace) {
  FG_CHECK(min_val <= max_val, ValueError,
           "[hardtanh] expected min_val <= max_val, got " << min_val << " and " << max_val);
  return activate(Activation::Hardtanh, x, {min_val, max_val}, inplace);
}
Tensor relu6_op(const Tensor& x, bool inplace) {
  return activate(Activation::Hardtanh, x, {0.0, 6.0}, inplace);
}
Tensor hardsigmoid_op(const Tensor& x, bool inplace) {
  return activate(Activation::Hardsigmoid, x, {}, inplace);
}
Tensor hardswish_op(const Tensor& x, bool inplace) {
  return activate(Activation::Hardswish, x, {}, inplace);
}
Tensor logsigmoid_op(const Tensor& x) { return activate(Activation::Logsigmoid, x, {}); }
Tensor softsign_op(const Tensor& x) { return activate(Activation::Softsign, x, {}); }
Tensor tanhshrink_op(const Tensor& x) { return activate(Activation::Tanhshrink, x, {}); }
Tensor threshold_op(const Tensor& x, double threshold, double value, bool inplace) {
  return activate(Activation::Threshold, x, {threshold, value}, inplace);
}
Tensor softshrink_op(const Tensor& x, double lambd) {
  FG_CHECK(lambd >= 0, ValueError, "[softshrink] expected lambd >= 0, got " << lambd);
  return activate(Activation::Softshrink, x, {lambd});
}
Tensor hardshrink_op(const Tensor& x, double lambd) {
  return activate(Activation::Hardshrink, x, {lambd});
}
// softmax and log_softmax(dtype=): the input cast to dtype first, as PyTorch
Tensor softmax_op(const Tensor& x, int64_t dim, py::object dtype) {
  return ops::softmax(dtype.is_none() ? x : ops::to_dtype(x, parse_dtype(dtype, x.dtype())), dim);
}
Tensor log_softmax_op(const Tensor& x, int64_t dim, py::object dtype) {
  return ops::log_softmax(dtype.is_none() ? x : ops::to_dtype(x, parse_dtype(dtype, x.dtype())),
                          dim);
}

// forgegrad's fused-activation argument: None or "relu", as a flag
bool relu_activation(py::object activation, const char* op) {
  FG_CHECK(activation.is_none() || py::isinstance<py::str>(activation), TypeError,
           "[" << op << "] expected activation None or a str, got " << type_name(activation));
  if (activation.is_none()) return false;
  std::string name = activation.cast<std::string>();
  FG_CHECK(name == "relu", ValueError,
           "[" << op << "] expected activation None or 'relu', got '" << name << "'");
  return true;
}

Tensor linear_op(const Tensor& x, const Tensor& weight, py::object bias, py::object activation) {
  return ops::linear(x, weight, optional_tensor(bias, "linear", "bias"),
                     relu_activation(activation, "linear") ? "relu" : "");
}
Tensor gemm_op(const Tensor& a, const Tensor& b, py::object bias, bool trans_a, bool trans_b,
               py::object out, bool relu) {
  return ops::gemm(a, b, optional_tensor(bias, "gemm", "bias"), trans_a, trans_b,
                   optional_tensor(out, "gemm", "out"), relu);
}

Tensor cross_entropy_op(const Tensor& input, const Tensor& target, py::object weight,
                        int64_t ignore_index, const std::string& reduction,
                        double label_smoothing) {
  return ops::cross_entropy(input, target, optional_tensor(weight, "cross_entropy", "weight"),
                            ignore_index, ops::parse_reduction(reduction, "cross_entropy"),
                            label_smoothing);
}
Tensor nll_loss_op(const Tensor& input, const Tensor& target, py::object weight,
                   int64_t ignore_index, const std::string& reduction) {
  return ops::nll_loss(input, target, optional_tensor(weight, "nll_loss", "weight"), ignore_index,
                       ops::parse_reduction(reduction, "nll_loss"));
}
Tensor mse_loss_op(const Tensor& input, const Tensor& target, const std::string& reduction) {
  return ops::mse_loss(input, target, ops::parse_reduction(reduction, "mse_loss"));
}
Tensor l1_loss_op(const Tensor& input, const Tensor& target, const std::string& reduction) {
  return ops::l1_loss(input, target, ops::parse_reduction(reduction, "l1_loss"));
}
Tensor binary_cross_entropy_op(const Tensor& input, const Tensor& target, py::object weight,
                               const std::string& reduction) {
  const char* op = "binary_cross_entropy";
  return ops::binary_cross_entropy(input, target, optional_tensor(weight, op, "weight"),
                                   ops::parse_reduction(reduction, op));
}
Tensor bce_with_logits_op(const Tensor& input, const Tensor& target, py::object weight,
                          const std::string& reduction, py::object pos_weight) {
  const char* op = "binary_cross_entropy_with_logits";
  return ops::binary_cross_entropy_with_logits(input, target, optional_tensor(weight, op, "weight"),
                                               optional_tensor(pos_weight, op, "pos_weight"),
                                               ops::parse_reduction(reduction, op));
}

// CTC lengths: a tensor of integers, a sequence of ints, or one int (one sequence).
static std::vector<int64_t> ctc_lengths(const py::object& lengths, const char* what) {
  if (py::isinstance<Tensor>(lengths)) {
    const Tensor& t = lengths.cast<const Tensor&>();
    FG_CHECK(!is_floating(t.dtype()) && t.dtype() != DType::Bool && t.dim() <= 1, TypeError,
             "[ctc_loss] expected " << what << " as integers (a 0-d or 1-d tensor), got a "
                                    << dtype_name(t.dtype()) << " tensor of shape " << t.shape());
    Tensor host = ops::to_device(ops::contiguous(ops::to_dtype(t, DType::Int64)), Device{});
    return std::vector<int64_t>(host.data<int64_t>(), host.data<int64_t>() + host.numel());
  }
  if (py::isinstance<py::int_>(lengths)) return {lengths.cast<int64_t>()};
  try {
    return lengths.cast<std::vector<int64_t>>();
  } catch (const py::cast_error&) {
    throw TypeError(std::string("[ctc_loss] expected ") + what +
                    " as a tensor or a sequence of ints, got " + type_name(lengths));
  }
}
Tensor ctc_loss_op(const Tensor& log_probs, const Tensor& targets, py::object input_lengths,
                   py::object target_lengths, int64_t blank, const std::string& reduction,
                   bool zero_infinity) {
  return ops::ctc_loss(log_probs, targets, ctc_lengths(input_lengths, "input_lengths"),
                       ctc_lengths(target_lengths, "target_lengths"), blank,
                       ops::parse_reduction(reduction, "ctc_loss"), zero_infinity);
}

py::list sgd_step_op(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                     const std::vector<py::object>& momentum_buffers, double lr, double momentum,
                     double dampening, double weight_decay, bool nesterov, bool maximize) {
  std::vector<Tensor> buffers;
  for (const py::object& b : momentum_buffers)
    buffers.push_back(optional_tensor(b, "sgd_step", "each momentum buffer"));
  {
    py::gil_scoped_release no_gil;
    buffers = ops::sgd_step(params, grads, std::move(buffers),
                            {lr, momentum, dampening, weight_decay, nesterov, maximize});
  }
  py::list out;  // None where there is no buffer (momentum 0), never an empty handle
  for (const Tensor& b : buffers) out.append(b.defined() ? py::cast(b) : py::none());
  return out;
}
void adam_step_op(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                  const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                  const std::vector<Tensor>& max_exp_avg_sqs, const std::vector<int64_t>& steps,
                  double lr, double beta1, double beta2, double eps, double weight_decay,
                  bool amsgrad, bool maximize, bool decoupled_weight_decay) {
  py::gil_scoped_release no_gil;
  ops::adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps,
                 {lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay});
}

// The optimizer steps below update in place with the GIL released; the Python optimizers
// check the hyperparameters first.
void rmsprop_step_op(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                     const std::vector<Tensor>& square_avgs,
                     const std::vector<Tensor>& momentum_buffers,
                     const std::vector<Tensor>& grad_avgs, double lr, double alpha, double eps,
                     double weight_decay, double momentum, bool centered, bool maximize) {
  py::gil_scoped_release no_gil;
  ops::rmsprop_step(params, grads, square_avgs, momentum_buffers, grad_avgs,
                    {lr, alpha, eps, weight_decay, momentum, centered, maximize});
}
void adagrad_step_op(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                     const std::vector<Tensor>& sums, const std::vector<int64_t>& steps, double lr,
                     double lr_decay, double weight_decay, double eps, bool maximize) {
  py::gil_scoped_release no_gil;
  ops::adagrad_step(params, grads, sums, steps, {lr, lr_decay, weight_decay, eps, maximize});
}
void adadelta_step_op(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                      const std::vector<Tensor>& square_avgs, const std::vector<Tensor>& acc_deltas,
                      double lr, double rho, double eps, double weight_decay, bool maximize) {
  py::gil_scoped_release no_gil;
  ops::adadelta_step(params, grads, square_avgs, acc_deltas,
                     {lr, rho, eps, weight_decay, maximize});
}
void adamax_step_op(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                    const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_infs,
                    const std::vector<int64_t>& steps, double lr, double beta1, double beta2,
                    double eps, double weight_decay, bool maximize) {
  py::gil_scoped_release no_gil;
  ops::adamax_step(params, grads, exp_avgs, exp_infs, steps,
                   {lr, beta1, beta2, eps, weight_decay, maximize});
}
std::vector<double> nadam_step_op(
    const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
    const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
    const std::vector<int64_t>& steps, const std::vector<double>& mu_products, double lr,
    double beta1, double beta2, double eps, double weight_decay, double momentum_decay,
    bool maximize, bool decoupled_weight_decay) {
  py::gil_scoped_release no_gil;
  return ops::nadam_step(
      params, grads, exp_avgs, exp_avg_sqs, steps, mu_products,
      {lr, beta1, beta2, eps, weight_decay, momentum_decay, maximize, decoupled_weight_decay});
}
void radam_step_op(const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                   const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                   const std::vector<int64_t>& steps, double lr, double beta1, double beta2,
                   double eps, double weight_decay, bool maximize, bool decoupled_weight_decay) {
  py::gil_scoped_release no_gil;
  ops::radam_step(params, grads, exp_avgs, exp_avg_sqs, steps,
                  {lr, beta1, beta2, eps, weight_decay, maximize, decoupled_weight_decay});
}

// ---- normalization: weight, bias and running statistics may be None; normalized_shape an
// int or a sequence of ints
Tensor layer_norm_op(const Tensor& x, py::object normalized_shape, py::object weight,
                     py::object bias, double eps) {
  const char* op = "layer_norm";
  return ops::layer_norm(x, int_list(normalized_shape, op), optional_tensor(weight, op, "weight"),
                         optional_tensor(bias, op, "bias"), eps);
}
// eps None: the machine epsilon of the input's dtype, as PyTorch's rms_norm
Tensor rms_norm_op(const Tensor& x, py::object normalized_shape, py::object weight,
                   py::object eps) {
  const char* op = "rms_norm";
  double epsilon = eps.is_none()
                       ? (x.dtype() == DType::Float64 ? std::numeric_limits<double>::epsilon()
                                                      : std::numeric_limits<float>::epsilon())
                       : eps.cast<double>();
  return ops::rms_norm(x, int_list(normalized_shape, op), optional_tensor(weight, op, "weight"),
                       epsilon);
}
Tensor group_norm_op(const Tensor& x, int64_t num_groups, py::object weight, py::object bias,
                     double eps) {
  const char* op = "group_norm";
  return ops::group_norm(x, num_groups, optional_tensor(weight, op, "weight"),
                         optional_tensor(bias, op, "bias"), eps);
}
Tensor batch_norm_op(const Tensor& x, py::object running_mean, py::object running_var,
                     py::object weight, py::object bias, bool training, double momentum, double eps,
                     py::object activation) {
  const char* op = "batch_norm";
  return ops::batch_norm(x, optional_tensor(running_mean, op, "running_mean"),
                         optional_tensor(running_var, op, "running_var"),
                         optional_tensor(weight, op, "weight"), optional_tensor(bias, op, "bias"),
                         training, momentum, eps, relu_activation(activation, op));
}

// ---- depthwise conv2d: bias may be None
Tensor depthwise_conv2d_op(const Tensor& x, const Tensor& weight, py::object bias,
                           const Shape& stride, const Shape& padding, const Shape& dilation,
                           const std::string& op) {
  return ops::depthwise_conv2d(x, weight, optional_tensor(bias, op.c_str(), "bias"), stride,
                               padding, dilation, op);
}
Tensor conv2d_op(const Tensor& input, const Tensor& weight, py::object bias, const Shape& stride,
                 const Shape& padding, const Shape& dilation, int64_t groups) {
  return ops::conv2d(input, weight, optional_tensor(bias, "conv2d", "bias"), stride, padding,
                     dilation, groups);
}

// scale None: 1 / sqrt(E); a number (a Python float or int)
Tensor scaled_dot_product_attention_op(const Tensor& query, const Tensor& key, const Tensor& value,
                                       py::object attn_mask, double dropout_p, bool is_causal,
                                       py::object scale, bool enable_gqa) {
  const char* op = "scaled_dot_product_attention";
  return ops::scaled_dot_product_attention(
      query, key, value, optional_tensor(attn_mask, op, "attn_mask"), dropout_p, is_causal,
      scale.is_none() ? std::nullopt
                      : std::optional<double>(scale.attr("__float__")().cast<double>()),
      enable_gqa);
}

// ---- one recurrent layer in one direction: optional states, biases and lengths
py::tuple rnn_layer_op(const Tensor& input, const Tensor& hx, py::object cx, const Tensor& w_ih,
                       const Tensor& w_hh, py::object b_ih, py::object b_hh, py::object w_hr,
                       const std::string& mode, bool reverse, py::object lengths) {
  std::vector<Tensor> out = ops::rnn_layer(input, hx, optional_tensor(cx, "rnn", "cx"), w_ih, w_hh,
                                           optional_tensor(b_ih, "rnn", "bias_ih"),
                                           optional_tensor(b_hh, "rnn", "bias_hh"),
                                           optional_tensor(w_hr, "rnn", "weight_hr"), mode, reverse,
                                           optional_tensor(lengths, "rnn", "lengths"));
  py::object c_n = out[2].defined() ? py::cast(out[2]) : py::none();
  return py::make_tuple(out[0], out[1], c_n);
}

// ---- the table's expansion ----
// Where an op goes besides forgegrad._C (the `where` column of op_table.h).
constexpr int kMethod = 1, kForgegrad = 2, kFunctional = 4, kInPlace = 8;

// An argument's record for _op_table: (name, default), the default a Python value, or
// _C._REQUIRED when there is none; keyword_only for those after py::kw_only().
struct ArgRecorder {
  py::list& out;
  py::object required;
  bool keyword_only = false;
  void operator()(const py::arg& a) { out.append(py::make_tuple(a.name, required, keyword_only)); }
  void operator()(const py::arg_v& a) {
    out.append(py::make_tuple(a.name, a.value ? a.value : py::none(), keyword_only));
  }
  void operator()(const py::kw_only&) { keyword_only = true; }
};

template <typename Fn, typename... Args>
void define_op(py::module_& m, py::list& table, const char* name, Fn fn, int where,
               const std::tuple<Args...>& args) {
  std::apply([&](const auto&... a) { m.def(name, fn, a...); }, args);
  py::list arg_records;
  ArgRecorder record{arg_records, m.attr("_REQUIRED")};
  std::apply([&](const auto&... a) { (record(a), ...); }, args);
  table.append(py::make_tuple(name, py::tuple(arg_records), bool(where & kMethod),
                              bool(where & kForgegrad), bool(where & kFunctional),
                              bool(where & kInPlace)));
}

}  // namespace

void bind_ops(py::module_& m) {
  using namespace py::literals;
  // A Philox stream; forgegrad.Generator (python/forgegrad/random.py) wraps it.
  py::class_<Generator, std::shared_ptr<Generator>>(m, "_Generator")
      .def(py::init<uint64_t>(), "seed"_a = Generator::kDefaultSeed)
      .def("state", &Generator::state)
      .def("set_state", &Generator::set_state, "seed"_a, "offset"_a);
  m.def("_default_generator", [] { return default_generator(); });
  m.attr("_REQUIRED") = py::module_::import("inspect").attr("Parameter").attr("empty");
  // (name, ((argument, default, keyword_only), ...), is_method, in_forgegrad, in_functional,
  //  has_in_place)
  py::list table;
#define FG_OP(name, function, arguments, where) \
  define_op(m, table, #name, function, where, std::make_tuple arguments);
#include "python/op_table.h"
#undef FG_OP
  m.attr("_op_table") = table;
}

}  // namespace fg::python
