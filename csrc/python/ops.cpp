// The ops as module functions, under PyTorch's names and argument names. forgegrad's
// Python layer attaches the unary and reduction ones to Tensor as methods too.
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

void bind_ops(py::module_& m) {
  using namespace py::literals;

  // creation
  m.def("empty", [](const Shape& shape, py::object dtype, py::object device) {
    return ops::empty(shape, parse_dtype(dtype, DType::Float32), parse_device(device));
  }, "shape"_a, "dtype"_a = py::none(), "device"_a = py::none());
  m.def("full", [](const Shape& shape, double value, py::object dtype, py::object device) {
    return ops::full(shape, value, parse_dtype(dtype, DType::Float32), parse_device(device));
  }, "shape"_a, "fill_value"_a, "dtype"_a = py::none(), "device"_a = py::none());
  m.def("full_int64", [](const Shape& shape, int64_t value, py::object device) {
    return ops::full_int64(shape, value, parse_device(device));
  }, "shape"_a, "fill_value"_a, "device"_a = py::none());
  m.def("arange", [](double start, double end, double step, py::object dtype, py::object device) {
    return ops::arange(start, end, step, parse_dtype(dtype, DType::Float32), parse_device(device));
  }, "start"_a, "end"_a, "step"_a, "dtype"_a, "device"_a = py::none());
  m.def("_arange_int64", [](int64_t start, int64_t end, int64_t step, py::object device) {
    return ops::arange(start, end, step, parse_device(device));
  }, "start"_a, "end"_a, "step"_a, "device"_a = py::none());
  m.def("rand", [](const Shape& shape, py::object device) {
    return ops::rand(shape, parse_device(device));
  }, "shape"_a, "device"_a = py::none());
  m.def("randn", [](const Shape& shape, py::object device) {
    return ops::randn(shape, parse_device(device));
  }, "shape"_a, "device"_a = py::none());
  m.def("manual_seed", [](py::int_ seed) {
    // Any Python int, reduced to 64 bits as PyTorch does.
    py::int_ mask(0xFFFFFFFFFFFFFFFFull);
    ops::manual_seed(py::reinterpret_steal<py::int_>(PyNumber_And(seed.ptr(), mask.ptr()))
                         .cast<uint64_t>());
  }, "seed"_a);
  m.def("_get_rng_state", &ops::rng_state);
  m.def("_set_rng_state", &ops::set_rng_state, "seed"_a, "offset"_a);
  m.def("clone", &ops::clone, "input"_a);
  m.def("_to_dtype", &ops::to_dtype, "input"_a, "dtype"_a);
  m.def("_to_device", [](const Tensor& x, py::object device) {
    return ops::to_device(x, parse_device(device));
  }, "input"_a, "device"_a);
  m.def("_fill_", [](py::object self, double value) {
    Tensor& t = self.cast<Tensor&>();
    check_in_place(t, "fill_");
    ops::fill_(t, value);
    return self;
  });
  m.def("_copy_", [](py::object self, const Tensor& src) {
    Tensor& t = self.cast<Tensor&>();
    check_in_place(t, "copy_");
    ops::copy_(t, src);
    return self;
  });

  // elementwise
  m.def("add", &ops::add, "input"_a, "other"_a);
  m.def("sub", &ops::sub, "input"_a, "other"_a);
  m.def("mul", &ops::mul, "input"_a, "other"_a);
  m.def("div", &ops::div, "input"_a, "other"_a);
  m.def("neg", &ops::neg, "input"_a);
  m.def("exp", &ops::exp, "input"_a);
  m.def("log", &ops::log, "input"_a);
  m.def("sqrt", &ops::sqrt, "input"_a);
  m.def("abs", &ops::abs, "input"_a);
  m.def("clamp", [](const Tensor& x, std::optional<double> min, std::optional<double> max) {
    return ops::clamp(x, min, max);
  }, "input"_a, "min"_a = py::none(), "max"_a = py::none());

  // reductions
  m.def("sum", [](const Tensor& x, py::object dim, bool keepdim) {
    return ops::sum(x, parse_dims(dim), keepdim);
  }, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  m.def("mean", [](const Tensor& x, py::object dim, bool keepdim) {
    return ops::mean(x, parse_dims(dim), keepdim);
  }, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);
  m.def("_max", [](const Tensor& x) { return ops::max(x); }, "input"_a);
  m.def("_max_dim", [](const Tensor& x, int64_t dim, bool keepdim) {
    return ops::max(x, dim, keepdim);
  }, "input"_a, "dim"_a, "keepdim"_a = false);
  m.def("argmax", [](const Tensor& x, std::optional<int64_t> dim, bool keepdim) {
    return ops::argmax(x, dim, keepdim);
  }, "input"_a, "dim"_a = py::none(), "keepdim"_a = false);

  // shape
  m.def("_reshape", [](const Tensor& x, const Shape& shape) { return ops::reshape(x, shape); },
        "input"_a, "shape"_a);
  m.def("_view", [](const Tensor& x, const Shape& shape) { return ops::view(x, shape); },
        "input"_a, "shape"_a);
  m.def("flatten", &ops::flatten, "input"_a, "start_dim"_a = 0, "end_dim"_a = -1);
  m.def("transpose", &ops::transpose, "input"_a, "dim0"_a, "dim1"_a);

  // matmul, linear, the raw GEMM
  m.def("matmul", &ops::matmul, "input"_a, "other"_a);
  // activation=None | "relu": forgegrad's extension, the ReLU fused into the GEMM.
  m.def("linear", [](const Tensor& x, const Tensor& weight, py::object bias,
                     py::object activation) {
    FG_CHECK(activation.is_none() || py::isinstance<py::str>(activation), TypeError,
             "[linear] expected activation None or a str, got " << type_name(activation));
    return ops::linear(x, weight, optional_tensor(bias, "linear", "bias"),
                       activation.is_none() ? "" : activation.cast<std::string>());
  }, "input"_a, "weight"_a, "bias"_a = py::none(), py::kw_only(), "activation"_a = py::none());
  m.def("gemm", [](const Tensor& a, const Tensor& b, py::object bias, bool trans_a, bool trans_b,
                   py::object out, bool relu) {
    return ops::gemm(a, b, optional_tensor(bias, "gemm", "bias"), trans_a, trans_b,
                     optional_tensor(out, "gemm", "out"), relu);
  }, "a"_a, "b"_a, "bias"_a = py::none(), "trans_a"_a = false, "trans_b"_a = false,
     "out"_a = py::none(), "relu"_a = false);

  // activations
  m.def("relu", &ops::relu, "input"_a);
  m.def("leaky_relu", &ops::leaky_relu, "input"_a, "negative_slope"_a = 0.01);
  m.def("gelu", &ops::gelu, "input"_a, "approximate"_a = "none");
  m.def("tanh", &ops::tanh, "input"_a);
  m.def("sigmoid", &ops::sigmoid, "input"_a);
  m.def("silu", &ops::silu, "input"_a);
  m.def("softmax", &ops::softmax, "input"_a, "dim"_a = -1);
  m.def("log_softmax", &ops::log_softmax, "input"_a, "dim"_a = -1);
  m.def("dropout", &ops::dropout, "input"_a, "p"_a = 0.5, "training"_a = true);

  // losses
  m.def("cross_entropy", [](const Tensor& input, const Tensor& target, const std::string& reduction,
                            double label_smoothing) {
    return ops::cross_entropy(input, target, ops::parse_reduction(reduction, "cross_entropy"),
                              label_smoothing);
  }, "input"_a, "target"_a, "reduction"_a = "mean", "label_smoothing"_a = 0.0);
  m.def("nll_loss", [](const Tensor& input, const Tensor& target, const std::string& reduction) {
    return ops::nll_loss(input, target, ops::parse_reduction(reduction, "nll_loss"));
  }, "input"_a, "target"_a, "reduction"_a = "mean");
  m.def("mse_loss", [](const Tensor& input, const Tensor& target, const std::string& reduction) {
    return ops::mse_loss(input, target, ops::parse_reduction(reduction, "mse_loss"));
  }, "input"_a, "target"_a, "reduction"_a = "mean");
  m.def("l1_loss", [](const Tensor& input, const Tensor& target, const std::string& reduction) {
    return ops::l1_loss(input, target, ops::parse_reduction(reduction, "l1_loss"));
  }, "input"_a, "target"_a, "reduction"_a = "mean");
  m.def("binary_cross_entropy_with_logits",
        [](const Tensor& input, const Tensor& target, const std::string& reduction) {
          return ops::binary_cross_entropy_with_logits(
              input, target, ops::parse_reduction(reduction, "binary_cross_entropy_with_logits"));
        }, "input"_a, "target"_a, "reduction"_a = "mean");

  // fused optimizer steps (the Python optimizers check hyperparameters before calling)
  m.def("_sgd_step", [](const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                        const std::vector<py::object>& momentum_buffers, double lr,
                        double momentum, double dampening, double weight_decay, bool nesterov,
                        bool maximize) {
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
  }, "params"_a, "grads"_a, "momentum_buffers"_a, "lr"_a, "momentum"_a, "dampening"_a,
     "weight_decay"_a, "nesterov"_a, "maximize"_a);
  m.def("_adam_step", [](const std::vector<Tensor>& params, const std::vector<Tensor>& grads,
                         const std::vector<Tensor>& exp_avgs, const std::vector<Tensor>& exp_avg_sqs,
                         const std::vector<Tensor>& max_exp_avg_sqs,
                         const std::vector<int64_t>& steps, double lr, double beta1, double beta2,
                         double eps, double weight_decay, bool amsgrad, bool maximize,
                         bool decoupled_weight_decay) {
    py::gil_scoped_release no_gil;
    ops::adam_step(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, steps,
                   {lr, beta1, beta2, eps, weight_decay, amsgrad, maximize, decoupled_weight_decay});
  }, "params"_a, "grads"_a, "exp_avgs"_a, "exp_avg_sqs"_a, "max_exp_avg_sqs"_a, "steps"_a,
     "lr"_a, "beta1"_a, "beta2"_a, "eps"_a, "weight_decay"_a, "amsgrad"_a, "maximize"_a,
     "decoupled_weight_decay"_a);

  // ---- views and layout (issue 13, part A); the op table takes these over ----
  auto int_list = [](const py::object& dims, const char* op) {  // an int or a sequence of ints
    if (py::isinstance<py::int_>(dims)) return std::vector<int64_t>{dims.cast<int64_t>()};
    FG_CHECK(py::isinstance<py::tuple>(dims) || py::isinstance<py::list>(dims), TypeError,
             "[" << op << "] expected an int or a sequence of ints, got " << type_name(dims));
    return dims.cast<std::vector<int64_t>>();
  };
  m.def("contiguous", &ops::contiguous, "input"_a);
  m.def("_permute", &ops::permute, "input"_a, "dims"_a);
  m.def("movedim", [int_list](const Tensor& x, py::object source, py::object destination) {
    return ops::movedim(x, int_list(source, "movedim"), int_list(destination, "movedim"));
  }, "input"_a, "source"_a, "destination"_a);
  m.def("swapaxes", &ops::transpose, "input"_a, "axis0"_a, "axis1"_a);
  m.def("swapdims", &ops::transpose, "input"_a, "dim0"_a, "dim1"_a);
  m.def("_matrix_transpose", &ops::matrix_transpose, "input"_a);
  m.def("_reverse_dims", &ops::reverse_dims, "input"_a);
  m.def("_expand", &ops::expand, "input"_a, "size"_a);
  m.def("broadcast_to", &ops::expand, "input"_a, "size"_a);
  m.def("narrow", &ops::narrow, "input"_a, "dim"_a, "start"_a, "length"_a);
  m.def("select", &ops::select, "input"_a, "dim"_a, "index"_a);
  m.def("unsqueeze", &ops::unsqueeze, "input"_a, "dim"_a);
  m.def("squeeze", [int_list](const Tensor& x, py::object dim) {
    return ops::squeeze(x, dim.is_none() ? std::nullopt
                                         : std::optional(int_list(dim, "squeeze")));
  }, "input"_a, "dim"_a = py::none());
  m.def("unflatten", &ops::unflatten, "input"_a, "dim"_a, "sizes"_a);
  m.def("diagonal", &ops::diagonal, "input"_a, "offset"_a = 0, "dim1"_a = 0, "dim2"_a = 1);
  m.def("_unfold", &ops::unfold, "input"_a, "dimension"_a, "size"_a, "step"_a);
}

}  // namespace fg::python
