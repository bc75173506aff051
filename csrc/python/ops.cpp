// The ops as module functions, under PyTorch's names and argument names: the op table
// (python/op_table.h) expanded into bindings, and the adapters it names for ops whose
// Python arguments need parsing before the C++ op takes them.
#include "core/error.h"
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
           "[" << op << "] a tensor that requires grad cannot be changed in place while "
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
Tensor rand_op(const Shape& shape, py::object dtype, py::object device) {
  return ops::rand(shape, parse_dtype(dtype, DType::Float32), parse_device(device));
}
Tensor randn_op(const Shape& shape, py::object dtype, py::object device) {
  return ops::randn(shape, parse_dtype(dtype, DType::Float32), parse_device(device));
}
void manual_seed_op(py::int_ seed) {
  // Any Python int, reduced to 64 bits as PyTorch does.
  py::int_ mask(0xFFFFFFFFFFFFFFFFull);
  ops::manual_seed(
      py::reinterpret_steal<py::int_>(PyNumber_And(seed.ptr(), mask.ptr())).cast<uint64_t>());
}
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

Tensor sum_op(const Tensor& x, py::object dim, bool keepdim) {
  return ops::sum(x, parse_dims(dim), keepdim);
}
Tensor mean_op(const Tensor& x, py::object dim, bool keepdim) {
  return ops::mean(x, parse_dims(dim), keepdim);
}
// max(input): the largest element; max(input, dim): (values, indices), a named tuple as
// torch.max gives.
py::object max_op(const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
  if (!dim) return py::cast(ops::max(x));
  auto [values, indices] = ops::max(x, *dim, keepdim);
  py::object result_type = py::module_::import("forgegrad._C").attr("_MaxResult");
  return result_type(values, indices);
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
Tensor view_op(const Tensor& x, const py::args& shape) {
  return ops::view(x, parse_shape(shape));
}
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
Tensor mul_op(const Tensor& a, py::object b) { return ops::mul(a, operand(b, a, "mul")); }
Tensor div_op(const Tensor& a, py::object b) { return ops::div(a, operand(b, a, "div")); }

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
Tensor cat_op(py::object tensors, int64_t dim) { return ops::cat(tensor_list(tensors, "cat"), dim); }
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

// clamp's bounds as PyTorch types them: a float bound makes an integer tensor float32.
Tensor clamp_op(const Tensor& x, py::object min, py::object max) {
  auto bound = [](const py::object& b) {
    return b.is_none() ? std::nullopt : std::optional<double>(b.attr("__float__")().cast<double>());
  };
  auto is_float = [](const py::object& b) { return !b.is_none() && !py::hasattr(b, "__index__"); };
  bool to_float = !is_floating(x.dtype()) && (is_float(min) || is_float(max));
  return ops::clamp(to_float ? ops::to_dtype(x, DType::Float32) : x, bound(min), bound(max));
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

Tensor linear_op(const Tensor& x, const Tensor& weight, py::object bias, py::object activation) {
  FG_CHECK(activation.is_none() || py::isinstance<py::str>(activation), TypeError,
           "[linear] expected activation None or a str, got " << type_name(activation));
  return ops::linear(x, weight, optional_tensor(bias, "linear", "bias"),
                     activation.is_none() ? "" : activation.cast<std::string>());
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
  return ops::nll_loss(input, target, optional_tensor(weight, "nll_loss", "weight"),
                       ignore_index, ops::parse_reduction(reduction, "nll_loss"));
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
  return ops::binary_cross_entropy_with_logits(
      input, target, optional_tensor(weight, op, "weight"),
      optional_tensor(pos_weight, op, "pos_weight"), ops::parse_reduction(reduction, op));
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

// ---- the table's expansion ----
// Where an op goes besides forgegrad._C (the `where` column of op_table.h).
constexpr int kMethod = 1, kForgegrad = 2, kFunctional = 4;

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
                              bool(where & kForgegrad), bool(where & kFunctional)));
}

}  // namespace

void bind_ops(py::module_& m) {
  using namespace py::literals;
  m.attr("_REQUIRED") = py::module_::import("inspect").attr("Parameter").attr("empty");
  m.attr("_MaxResult") = py::module_::import("collections")
                             .attr("namedtuple")("max", py::make_tuple("values", "indices"),
                                                 "module"_a = "forgegrad");
  // (name, ((argument, default, keyword_only), ...), is_method, in_forgegrad, in_functional)
  py::list table;
#define FG_OP(name, function, arguments, where) \
  define_op(m, table, #name, function, where, std::make_tuple arguments);
#include "python/op_table.h"
#undef FG_OP
  m.attr("_op_table") = table;
}

}  // namespace fg::python
