// Arithmetic with numpy broadcasting, unary math and comparisons.
#include <cmath>
#include <limits>

#include "core/dispatch.h"
#include "core/error.h"
#include "core/promotion.h"
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

bool broadcastable_to(const Shape& from, const Shape& to) {
  if (from.size() > to.size()) return false;
  for (size_t k = 0; k < from.size(); ++k) {
    int64_t size = from[from.size() - 1 - k];
    if (size != 1 && size != to[to.size() - 1 - k]) return false;
  }
  return true;
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

// ---- type promotion -------------------------------------------------------------------------

static OperandKind promotion_kind(const Tensor& t) {
  if (t.is_wrapped_number()) return OperandKind::Number;
  return t.dim() == 0 ? OperandKind::ZeroDim : OperandKind::Dimensioned;
}

DType result_type(const Tensor& a, const Tensor& b) { return result_type({a, b}); }

DType result_type(const std::vector<Tensor>& operands) {
  std::vector<PromotionOperand> kinds;
  for (const Tensor& t : operands)
    if (t.defined()) kinds.push_back({t.dtype(), promotion_kind(t)});
  return fg::result_type(kinds);
}

DType compute_dtype(DType result) {
  if (result == DType::Float16 || result == DType::BFloat16) return DType::Float32;
  return result == DType::Bool ? DType::UInt8 : result;
}

Tensor in_result_type(const Tensor& a, const Tensor& b, DType result, const char* op,
                      const std::function<Tensor(const Tensor&, const Tensor&)>& compute) {
  check_same_device(a, b, op);
  DType dtype = compute_dtype(result);
  return to_dtype(compute(to_dtype(a, dtype), to_dtype(b, dtype)), result);
}

Tensor binary_kernel(BinaryOp op, const char* name, const Tensor& a, const Tensor& b) {
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), name), a.dtype(), a.device());
  dispatch_arithmetic(a.dtype(), name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    run_broadcast(out.shape(), a, b,
                  [&](const int64_t* shape, const int64_t* as, const int64_t* bs, int ndim) {
                    FG_LAUNCH(binary, out.device(), op, out.data<T>(),
                              static_cast<const T*>(a.strided_data()),
                              static_cast<const T*>(b.strided_data()), shape, as, bs, ndim);
                  });
  });
  return out;
}

Tensor add(const Tensor& a_any, const Tensor& b_any) {
  return in_result_type(
      a_any, b_any, result_type(a_any, b_any), "add", [](const Tensor& a, const Tensor& b) {
        Tensor out = binary_kernel(BinaryOp::Add, "add", a, b);
        record(out, "add", {a, b}, [sa = a.shape(), sb = b.shape()](const Tensor& dout) {
          return std::vector<Tensor>{sum_to(dout, sa), sum_to(dout, sb)};
        });
        return out;
      });
}

Tensor sub(const Tensor& a_any, const Tensor& b_any) {
  DType result = result_type(a_any, b_any);
  FG_CHECK(result != DType::Bool, TypeError,
           "[sub] subtracting bool tensors is not supported; use ^ (logical_xor) instead");
  return in_result_type(a_any, b_any, result, "sub", [](const Tensor& a, const Tensor& b) {
    Tensor out = binary_kernel(BinaryOp::Sub, "sub", a, b);
    bool grad_b = b.requires_grad();
    record(out, "sub", {a, b}, [sa = a.shape(), sb = b.shape(), grad_b](const Tensor& dout) {
      return std::vector<Tensor>{sum_to(dout, sa), grad_b ? sum_to(neg(dout), sb) : Tensor()};
    });
    return out;
  });
}

Tensor mul(const Tensor& a_any, const Tensor& b_any) {
  return in_result_type(
      a_any, b_any, result_type(a_any, b_any), "mul", [](const Tensor& a, const Tensor& b) {
        Tensor out = binary_kernel(BinaryOp::Mul, "mul", a, b);
        bool grad_a = a.requires_grad(), grad_b = b.requires_grad();
        record(out, "mul", {a, b},
               [a = a.detach(), b = b.detach(), grad_a, grad_b](const Tensor& dout) {
                 return std::vector<Tensor>{grad_a ? sum_to(mul(dout, b), a.shape()) : Tensor(),
                                            grad_b ? sum_to(mul(dout, a), b.shape()) : Tensor()};
               });
        return out;
      });
}

// True division: integers and bool divide in the default float dtype, float32.
Tensor div(const Tensor& a_any, const Tensor& b_any) {
  DType result = result_type(a_any, b_any);
  if (!is_floating(result)) result = kDefaultFloatDType;
  return in_result_type(a_any, b_any, result, "div", [](const Tensor& a, const Tensor& b) {
    Tensor out = binary_kernel(BinaryOp::Div, "div", a, b);
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
  });
}

// ---- unary math ------------------------------------------------------------------------------

#define FG_FLOATING_UNARY(kernel, op_name, out, x)                                         \
  dispatch_floating((x).dtype(), op_name, [&](auto tag) {                                  \
    using T = typename decltype(tag)::type;                                                \
    FG_LAUNCH(kernel, (out).device(), (out).template data<T>(), (x).template data<T>(),    \
              (x).numel());                                                                \
  })

Tensor neg(const Tensor& x_any) {
  FG_CHECK(x_any.dtype() != DType::Bool, TypeError,
           "[neg] negation of a bool tensor is not supported; use ~ (logical_not) instead");
  return with_float32_compute(x_any, [](const Tensor& x_in) {
    Tensor x = contiguous(x_in);
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    dispatch_arithmetic(x.dtype(), "neg", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(neg_forward, out.device(), out.data<T>(), x.data<T>(), x.numel());
    });
    record(out, "neg", {x}, [](const Tensor& dout) { return std::vector<Tensor>{neg(dout)}; });
    return out;
  });
}

// Integer x to the power of a whole exponent >= 0 keeps its dtype (bool becomes int64); a
// fractional exponent gives float32, a negative whole one is refused (as in PyTorch).
Tensor pow(const Tensor& x_any, double exponent) {
  FG_CHECK(!std::isnan(exponent), ValueError, "[pow] expected a number as exponent, got nan");
  if (!is_floating(x_any.dtype())) {
    bool whole = exponent == std::floor(exponent) && std::fabs(exponent) < 9.2e18;
    FG_CHECK(!whole || exponent >= 0, ValueError,
             "[pow] integers to negative integer powers are not allowed, got exponent "
                 << exponent << " for a " << dtype_name(x_any.dtype()) << " tensor");
    Tensor x = to_dtype(
        contiguous(x_any),
        whole ? (x_any.dtype() == DType::Bool ? DType::Int64 : x_any.dtype()) : kDefaultFloatDType);
    if (!whole) return pow(x, exponent);
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    dispatch_arithmetic(x.dtype(), "pow", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(pow_forward, out.device(), out.data<T>(), x.data<T>(), exponent, x.numel());
    });
    return out;
  }
  return with_float32_compute(x_any, [exponent](const Tensor& x_in) {
    Tensor x = contiguous(x_in);
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    dispatch_floating(x.dtype(), "pow", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(pow_forward, out.device(), out.data<T>(), x.data<T>(), exponent, x.numel());
    });
    record(out, "pow", {x}, [x = x.detach(), exponent](const Tensor& dout) {
      Tensor dx = empty(x.shape(), x.dtype(), x.device());
      dispatch_floating(x.dtype(), "pow", [&](auto tag) {
        using T = typename decltype(tag)::type;
        FG_LAUNCH(pow_backward, dx.device(), dx.data<T>(), dout.data<T>(), x.data<T>(), exponent,
                  x.numel());
      });
      return std::vector<Tensor>{dx};
    });
    return out;
  });
}

Tensor exp(const Tensor& x_any) {
  return floating_math(x_any, [](const Tensor& x_in) {
    Tensor x = contiguous(x_in);
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    FG_FLOATING_UNARY(exp_forward, "exp", out, x);
    record(out, "exp", {x}, [out = out.detach()](const Tensor& dout) {
      return std::vector<Tensor>{mul(dout, out)};
    });
    return out;
  });
}

Tensor log(const Tensor& x_any) {
  return floating_math(x_any, [](const Tensor& x_in) {
    Tensor x = contiguous(x_in);
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    FG_FLOATING_UNARY(log_forward, "log", out, x);
    record(out, "log", {x},
           [x = x.detach()](const Tensor& dout) { return std::vector<Tensor>{div(dout, x)}; });
    return out;
  });
}

Tensor log1p(const Tensor& x_any) {
  return floating_math(x_any, [](const Tensor& x_in) {
    Tensor x = contiguous(x_in);
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    FG_FLOATING_UNARY(log1p_forward, "log1p", out, x);
    record(out, "log1p", {x}, [x = x.detach()](const Tensor& dout) {
      return std::vector<Tensor>{div(dout, add(x, scalar_tensor(1.0, x.dtype(), x.device())))};
    });
    return out;
  });
}

Tensor sqrt(const Tensor& x_any) {
  return floating_math(x_any, [](const Tensor& x_in) {
    Tensor x = contiguous(x_in);
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    FG_FLOATING_UNARY(sqrt_forward, "sqrt", out, x);
    record(out, "sqrt", {x}, [out = out.detach()](const Tensor& dout) {
      return std::vector<Tensor>{
          div(dout, mul(out, scalar_tensor(2.0, out.dtype(), out.device())))};
    });
    return out;
  });
}

Tensor abs(const Tensor& x_any) {
  return with_float32_compute(x_any, [](const Tensor& x_in) {
    Tensor x = contiguous(x_in);
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    dispatch_arithmetic(x.dtype(), "abs", [&](auto tag) {
      using T = typename decltype(tag)::type;
      FG_LAUNCH(abs_forward, out.device(), out.data<T>(), x.data<T>(), x.numel());
    });
    record(out, "abs", {x}, [x = x.detach()](const Tensor& dout) {
      Tensor dx = empty(x.shape(), x.dtype(), x.device());
      dispatch_floating(x.dtype(), "abs", [&](auto tag) {
        using T = typename decltype(tag)::type;
        FG_LAUNCH(abs_backward, dx.device(), dx.data<T>(), dout.data<T>(), x.data<T>(), x.numel());
      });
      return std::vector<Tensor>{dx};
    });
    return out;
  });
}

// Bounds for an integer tensor of type T: rounded inward (x >= 1.5 is x >= 2) and saturated to
// T's range, so converting them to T is exact.
template <typename T>
static double integer_bound(double bound, bool lower) {
  double rounded = lower ? std::ceil(bound) : std::floor(bound);
  double low = static_cast<double>(std::numeric_limits<T>::min());
  // the largest double <= max: 2^63 - 1 itself rounds up to 2^63, past int64
  double high = std::nextafter(static_cast<double>(std::numeric_limits<T>::max()), 0.0);
  if (std::numeric_limits<T>::max() < (int64_t(1) << 53))
    high = static_cast<double>(std::numeric_limits<T>::max());
  return std::min(std::max(rounded, low), high);
}

Tensor clamp(const Tensor& x_any, std::optional<double> min, std::optional<double> max) {
  FG_CHECK(min || max, ValueError, "[clamp] expected at least one of min and max");
  FG_CHECK(!(min && std::isnan(*min)) && !(max && std::isnan(*max)), ValueError,
           "[clamp] expected numbers as bounds, got nan");
  return with_float32_compute(x_any, [&](const Tensor& x_in) {
    Tensor x = contiguous(x_in);
    Tensor out = empty(x.shape(), x.dtype(), x.device());
    double lo = min ? *min : -INFINITY, hi = max ? *max : INFINITY;
    dispatch_arithmetic(x.dtype(), "clamp", [&](auto tag) {
      using T = typename decltype(tag)::type;
      if constexpr (std::is_integral_v<T>) {
        FG_LAUNCH(clamp_forward, out.device(), out.data<T>(), x.data<T>(),
                  integer_bound<T>(lo, true), integer_bound<T>(hi, false), x.numel());
      } else {
        FG_LAUNCH(clamp_forward, out.device(), out.data<T>(), x.data<T>(), lo, hi, x.numel());
      }
    });
    record(out, "clamp", {x}, [x = x.detach(), lo, hi](const Tensor& dout) {
      Tensor dx = empty(x.shape(), x.dtype(), x.device());
      dispatch_floating(x.dtype(), "clamp", [&](auto tag) {
        using T = typename decltype(tag)::type;
        FG_LAUNCH(clamp_backward, dx.device(), dx.data<T>(), dout.data<T>(), x.data<T>(), lo, hi,
                  x.numel());
      });
      return std::vector<Tensor>{dx};
    });
    return out;
  });
}

// ---- comparisons: in the operands' result type, -> bool --------------------------------------

Tensor compare(CompareOp op, const Tensor& a_any, const Tensor& b_any) {
  static const char* names[] = {"eq", "ne", "lt", "le", "gt", "ge"};
  const char* name = names[static_cast<int>(op)];
  check_same_device(a_any, b_any, name);
  DType result = result_type(a_any, b_any);
  DType dtype = result == DType::Bool ? DType::Bool : compute_dtype(result);
  Tensor a = to_dtype(a_any.detach(), dtype), b = to_dtype(b_any.detach(), dtype);
  Tensor out = empty(broadcast_shapes(a.shape(), b.shape(), name), DType::Bool, a.device());
  dispatch_dtype(dtype, name, [&](auto tag) {
    using T = typename decltype(tag)::type;
    if constexpr (std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>) {
      throw RuntimeError(std::string("[") + name + "] float16 and bfloat16 compare in float32");
    } else {
      run_broadcast(out.shape(), a, b,
                    [&](const int64_t* shape, const int64_t* as, const int64_t* bs, int ndim) {
                      FG_LAUNCH(compare, a.device(), op, out.data<bool>(),
                                static_cast<const T*>(a.strided_data()),
                                static_cast<const T*>(b.strided_data()), shape, as, bs, ndim);
                    });
    }
  });
  return out;
}

}  // namespace fg::ops
