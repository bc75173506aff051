// Arithmetic with numpy broadcasting, unary math and comparisons.
#include <cmath>

#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
  size_t ndim = std::max(a.size(), b.size());
  Shape out(ndim);
  for (size_t i = 0; i < ndim; ++i) {
    int64_t da = i < ndim - a.size() ? 1 : a[i - (ndim - a.size())];
    int64_t db = i < ndim - b.size() ? 1 : b[i - (ndim - b.size())];
    FG_CHECK(da == db || da == 1 || db == 1, ValueError,
             "[" << op << "] shapes " << a << " and " << b << " cannot be broadcast together");
    out[i] = da == 1 ? db : da;
  }
  shape_numel(out, op);  // (1, 2**40) and (2**40, 1) are countable apart, not together
  return out;
}

// x's strides read as `out`'s shape, right-aligned: 0 where x is broadcast.
static Shape broadcast_strides(const Tensor& x, const Shape& out) {
  Shape strides(out.size(), 0);
  for (size_t k = 0; k < x.shape().size(); ++k) {
    size_t i = x.shape().size() - 1 - k, o = out.size() - 1 - k;
    strides[o] = x.shape()[i] == 1 ? 0 : x.strides()[i];
  }
  return strides;
}

// Runs a broadcast kernel(out, a, b, shape, a_strides, b_strides, ndim) on a and b at their
// own strides (views need no copy), after merging neighbouring dimensions that both step
// through alike (the output is row-major) so the inner loop is as long as possible.
template <typename Kernel>
static void run_broadcast(const Shape& out_shape, const Tensor& a, const Tensor& b,
                          const Kernel& kernel) {
  Shape a_strides = broadcast_strides(a, out_shape), b_strides = broadcast_strides(b, out_shape);
  Shape shape = merge_dims(out_shape, {&a_strides, &b_strides});
  kernel(shape.data(), a_strides.data(), b_strides.data(), static_cast<int>(shape.size()));
}

Tensor sum_to(const Tensor& x, const Shape& shape) {
  if (x.shape() == shape) return x;
  std::vector<int64_t> dims;
  size_t lead = x.shape().size() - shape.size();
  for (size_t d = 0; d < x.shape().size(); ++d)
    if (d < lead || (shape[d - lead] == 1 && x.shape()[d] != 1)) dims.push_back(d);
  return reshape(sum(x, dims, true), shape);
}

static Tensor binary_op(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  check_float32(a, name, "the first operand");
  check_float32(b, name, "the second operand");
  check_same_device(a, b, name);
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), name), DType::Float32, a.device());
  run_broadcast(out.shape(), a, b,
                [&](const int64_t* shape, const int64_t* as, const int64_t* bs, int ndim) {
                  FG_LAUNCH(binary, out.device(), op, out.data<float>(),
                            static_cast<const float*>(a.strided_data()),
                            static_cast<const float*>(b.strided_data()), shape, as, bs, ndim);
                });
  return out;
}

Tensor add(const Tensor& a, const Tensor& b) {
  Tensor out = binary_op(BinaryOp::Add, "add", a, b);
  record(out, "add", {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& dout) {
    return std::vector<Tensor>{sum_to(dout, sa), sum_to(dout, sb)};
  });
  return out;
}

Tensor sub(const Tensor& a, const Tensor& b) {
  Tensor out = binary_op(BinaryOp::Sub, "sub", a, b);
  bool grad_b = b.requires_grad();
  record(out, "sub", {a, b}, [sa = a.shape(), sb = b.shape(), grad_b](const Tensor& dout) {
    return std::vector<Tensor>{sum_to(dout, sa), grad_b ? sum_to(neg(dout), sb) : Tensor()};
  });
  return out;
}

Tensor mul(const Tensor& a, const Tensor& b) {
  Tensor out = binary_op(BinaryOp::Mul, "mul", a, b);
  bool grad_a = a.requires_grad(), grad_b = b.requires_grad();
  record(out, "mul", {a, b}, [a = a.detach(), b = b.detach(), grad_a, grad_b](const Tensor& dout) {
    return std::vector<Tensor>{grad_a ? sum_to(mul(dout, b), a.shape()) : Tensor(),
                               grad_b ? sum_to(mul(dout, a), b.shape()) : Tensor()};
  });
  return out;
}

Tensor div(const Tensor& a, const Tensor& b) {
  Tensor out = binary_op(BinaryOp::Div, "div", a, b);
  bool grad_b = b.requires_grad();
  record(out, "div", {a, b},
         [sa = a.shape(), b = b.detach(), out = out.detach(), grad_b](const Tensor& dout) {
           // d(a/b)/da = 1/b; d(a/b)/db = -(a/b)/b, as -(dout * out) / b: (dout / b) * out
           // is inf * 0 = NaN where b is denormal and a is 0 (PyTorch gives -0).
           Tensor db = grad_b ? neg(div(mul(dout, out), b)) : Tensor();
           return std::vector<Tensor>{sum_to(div(dout, b), sa),
                                      grad_b ? sum_to(db, b.shape()) : Tensor()};
         });
  return out;
}

// Unary float32 op: validates x and allocates the output.
static Tensor unary_output(const Tensor& x, const char* op) {
  check_float32(x, op, "the input");
  return empty(x.shape(), DType::Float32, x.device());
}

Tensor neg(const Tensor& x_any) {
  Tensor x = contiguous(x_any);
  Tensor out = unary_output(x, "neg");
  FG_LAUNCH(neg_forward, out.device(), out.data<float>(), x.data<float>(), x.numel());
  record(out, "neg", {x}, [](const Tensor& dout) { return std::vector<Tensor>{neg(dout)}; });
  return out;
}

Tensor pow(const Tensor& x_any, double exponent) {
  Tensor x = contiguous(x_any);
  FG_CHECK(!std::isnan(exponent), ValueError, "[pow] expected a number as exponent, got nan");
  Tensor out = unary_output(x, "pow");
  FG_LAUNCH(pow_forward, out.device(), out.data<float>(), x.data<float>(), exponent, x.numel());
  record(out, "pow", {x}, [x = x.detach(), exponent](const Tensor& dout) {
    Tensor dx = empty(x.shape(), DType::Float32, x.device());
    FG_LAUNCH(pow_backward, dx.device(), dx.data<float>(), dout.data<float>(), x.data<float>(),
              exponent, x.numel());
    return std::vector<Tensor>{dx};
  });
  return out;
}

Tensor exp(const Tensor& x_any) {
  Tensor x = contiguous(x_any);
  Tensor out = unary_output(x, "exp");
  FG_LAUNCH(exp_forward, out.device(), out.data<float>(), x.data<float>(), x.numel());
  record(out, "exp", {x}, [out = out.detach()](const Tensor& dout) {
    return std::vector<Tensor>{mul(dout, out)};
  });
  return out;
}

Tensor log(const Tensor& x_any) {
  Tensor x = contiguous(x_any);
  Tensor out = unary_output(x, "log");
  FG_LAUNCH(log_forward, out.device(), out.data<float>(), x.data<float>(), x.numel());
  record(out, "log", {x}, [x = x.detach()](const Tensor& dout) {
    return std::vector<Tensor>{div(dout, x)};
  });
  return out;
}

Tensor log1p(const Tensor& x_any) {
  Tensor x = contiguous(x_any);
  Tensor out = unary_output(x, "log1p");
  FG_LAUNCH(log1p_forward, out.device(), out.data<float>(), x.data<float>(), x.numel());
  record(out, "log1p", {x}, [x = x.detach()](const Tensor& dout) {
    return std::vector<Tensor>{div(dout, add(x, scalar_tensor(1.0, DType::Float32, x.device())))};
  });
  return out;
}

Tensor sqrt(const Tensor& x_any) {
  Tensor x = contiguous(x_any);
  Tensor out = unary_output(x, "sqrt");
  FG_LAUNCH(sqrt_forward, out.device(), out.data<float>(), x.data<float>(), x.numel());
  record(out, "sqrt", {x}, [out = out.detach()](const Tensor& dout) {
    return std::vector<Tensor>{div(dout, mul(out, scalar_tensor(2.0, DType::Float32, out.device())))};
  });
  return out;
}

Tensor abs(const Tensor& x_any) {
  Tensor x = contiguous(x_any);
  Tensor out = unary_output(x, "abs");
  FG_LAUNCH(abs_forward, out.device(), out.data<float>(), x.data<float>(), x.numel());
  record(out, "abs", {x}, [x = x.detach()](const Tensor& dout) {
    Tensor dx = empty(x.shape(), DType::Float32, x.device());
    FG_LAUNCH(abs_backward, dx.device(), dx.data<float>(), dout.data<float>(), x.data<float>(),
              x.numel());
    return std::vector<Tensor>{dx};
  });
  return out;
}

Tensor clamp(const Tensor& x_any, std::optional<double> min, std::optional<double> max) {
  Tensor x = contiguous(x_any);
  FG_CHECK(min || max, ValueError, "[clamp] expected at least one of min and max");
  FG_CHECK(!(min && std::isnan(*min)) && !(max && std::isnan(*max)), ValueError,
           "[clamp] expected numbers as bounds, got nan");
  Tensor out = unary_output(x, "clamp");
  float lo = min ? static_cast<float>(*min) : -INFINITY;
  float hi = max ? static_cast<float>(*max) : INFINITY;
  FG_LAUNCH(clamp_forward, out.device(), out.data<float>(), x.data<float>(), lo, hi, x.numel());
  record(out, "clamp", {x}, [x = x.detach(), lo, hi](const Tensor& dout) {
    Tensor dx = empty(x.shape(), DType::Float32, x.device());
    FG_LAUNCH(clamp_backward, dx.device(), dx.data<float>(), dout.data<float>(), x.data<float>(),
              lo, hi, x.numel());
    return std::vector<Tensor>{dx};
  });
  return out;
}

Tensor compare(CompareOp op, const Tensor& a, const Tensor& b) {
  static const char* names[] = {"eq", "ne", "lt", "le", "gt", "ge"};
  const char* name = names[static_cast<int>(op)];
  FG_CHECK(a.dtype() == b.dtype(), TypeError,
           "[" << name << "] expected operands of one dtype, got " << dtype_name(a.dtype())
               << " and " << dtype_name(b.dtype()));
  FG_CHECK(a.dtype() == DType::Float32 || a.dtype() == DType::Int64, TypeError,
           "[" << name << "] expected float32 or int64 operands, got " << dtype_name(a.dtype()));
  check_same_device(a, b, name);
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), name), DType::Bool, a.device());
  run_broadcast(
      out.shape(), a, b, [&](const int64_t* shape, const int64_t* as, const int64_t* bs, int ndim) {
        auto run = [&](const auto* a_data, const auto* b_data) {
          FG_LAUNCH(compare, a.device(), op, out.data<bool>(), a_data, b_data, shape, as, bs,
                    ndim);
        };
        if (a.dtype() == DType::Float32)
          run(static_cast<const float*>(a.strided_data()), static_cast<const float*>(b.strided_data()));
        else
          run(static_cast<const int64_t*>(a.strided_data()),
              static_cast<const int64_t*>(b.strided_data()));
      });
  return out;
}

}  // namespace fg::ops
