// The real-valued unary math of csrc/unary_math_list.h (sin, erf, floor, ...): one kernel,
// each op's backward rule composed from other ops right beside it.
#include <cmath>
#include <cstdlib>
#include <functional>
#include <limits>

#include "core/dispatch.h"
#include "core/error.h"
#include "kernels.h"
#include "ops/ops.h"

namespace fg::ops {

// rule(dout, x, y) -> dx
using UnaryRule = std::function<Tensor(const Tensor& dout, const Tensor& x, const Tensor& y)>;

// y = f(x) by launch(y, x, n) on the elements: integers and bool become float32, float16 and
// bfloat16 compute in float32.
template <typename Launch>
static Tensor real_unary(const char* name, const Tensor& x_any, Launch&& launch, UnaryRule rule) {
  return floating_math(x_any, [&](const Tensor& x_in) {
    Tensor x = contiguous(x_in);
    Tensor y = empty(x.shape(), x.dtype(), x.device());
    dispatch_floating(x.dtype(), name, [&](auto tag) {
      using T = typename decltype(tag)::type;
      launch(x.device(), y.data<T>(), x.data<T>(), x.numel());
    });
    record(y, name, {x}, [x = x.detach(), y = y.detach(), rule](const Tensor& dout) {
      return std::vector<Tensor>{rule(dout, x, y)};
    });
    return y;
  });
}

static Tensor unary_math(UnaryMath op, const char* name, const Tensor& x, UnaryRule rule) {
  auto launch = [op](Device device, auto* y, const auto* x_data, int64_t n) {
    FG_LAUNCH(unary_math, device, op, y, x_data, n);
  };
  return real_unary(name, x, launch, std::move(rule));
}

static Tensor number(double value, const Tensor& like) {
  return scalar_tensor(value, like.dtype(), like.device());
}
static Tensor no_gradient(const Tensor& dout, const Tensor&, const Tensor&) {
  return zeros(dout.shape(), dout.dtype(), dout.device());
}
// 1 - x^2 and x^2 + s, the inverse trigonometric and hyperbolic derivatives' parts
static Tensor one_minus_square(const Tensor& x) { return sub(number(1, x), mul(x, x)); }
static Tensor square_plus(const Tensor& x, double s) { return add(mul(x, x), number(s, x)); }
static Tensor erf_slope(const Tensor& x) {  // 2 / sqrt(pi) * exp(-x^2)
  return mul(number(1.1283791670955126, x), exp(neg(mul(x, x))));
}

#define FG_UNARY_MATH_OP(name, Name, rule)                                            \
  Tensor name(const Tensor& x) {                                                      \
    return unary_math(UnaryMath::Name, #name, x,                                      \
                      [](const Tensor& dout, const Tensor& x, const Tensor& y) {      \
                        (void)x;                                                      \
                        (void)y;                                                      \
                        return rule;                                                  \
                      });                                                             \
  }

FG_UNARY_MATH_OP(sin, Sin, mul(dout, cos(x)))
FG_UNARY_MATH_OP(cos, Cos, neg(mul(dout, sin(x))))
FG_UNARY_MATH_OP(tan, Tan, mul(dout, square_plus(y, 1)))
FG_UNARY_MATH_OP(asin, Asin, div(dout, sqrt(one_minus_square(x))))
FG_UNARY_MATH_OP(acos, Acos, neg(div(dout, sqrt(one_minus_square(x)))))
FG_UNARY_MATH_OP(atan, Atan, div(dout, square_plus(x, 1)))
FG_UNARY_MATH_OP(sinh, Sinh, mul(dout, cosh(x)))
FG_UNARY_MATH_OP(cosh, Cosh, mul(dout, sinh(x)))
FG_UNARY_MATH_OP(asinh, Asinh, div(dout, sqrt(square_plus(x, 1))))
FG_UNARY_MATH_OP(acosh, Acosh, div(dout, sqrt(square_plus(x, -1))))
FG_UNARY_MATH_OP(atanh, Atanh, div(dout, one_minus_square(x)))
FG_UNARY_MATH_OP(exp2, Exp2, mul(dout, mul(y, number(M_LN2, y))))
FG_UNARY_MATH_OP(expm1, Expm1, mul(dout, add(y, number(1, y))))
FG_UNARY_MATH_OP(log2, Log2, div(dout, mul(x, number(M_LN2, x))))
FG_UNARY_MATH_OP(log10, Log10, div(dout, mul(x, number(M_LN10, x))))
FG_UNARY_MATH_OP(rsqrt, Rsqrt, mul(dout, mul(mul(y, y), mul(y, number(-0.5, y)))))
FG_UNARY_MATH_OP(reciprocal, Reciprocal, neg(mul(dout, mul(y, y))))
FG_UNARY_MATH_OP(erf, Erf, mul(dout, erf_slope(x)))
FG_UNARY_MATH_OP(erfc, Erfc, neg(mul(dout, erf_slope(x))))
FG_UNARY_MATH_OP(lgamma, Lgamma, mul(dout, digamma(x)))
FG_UNARY_MATH_OP(digamma, Digamma, mul(dout, polygamma(1, x)))
// d erfinv(x) = sqrt(pi) / 2 * exp(erfinv(x)^2)
FG_UNARY_MATH_OP(erfinv, Erfinv, mul(dout, mul(number(0.88622692545275801, y), exp(mul(y, y)))))
#undef FG_UNARY_MATH_OP

// Rounding and sign: integer input keeps its dtype and values (sign: -1, 0, 1), as in
// PyTorch; the gradient is zero.
#define FG_ROUNDING_OP(name, Name)                                         \
  Tensor name(const Tensor& x) {                                           \
    if (!is_floating(x.dtype())) return clone(x);                          \
    return unary_math(UnaryMath::Name, #name, x, no_gradient);             \
  }
FG_ROUNDING_OP(floor, Floor)
FG_ROUNDING_OP(ceil, Ceil)
FG_ROUNDING_OP(round, Round)
FG_ROUNDING_OP(trunc, Trunc)
#undef FG_ROUNDING_OP

Tensor sign(const Tensor& x) {
  if (x.dtype() == DType::Bool) return clone(x);
  if (!is_floating(x.dtype())) {
    Tensor zero = zeros({}, x.dtype(), x.device());
    return sub(to_dtype(compare(CompareOp::Gt, x, zero), x.dtype()),
               to_dtype(compare(CompareOp::Lt, x, zero), x.dtype()));
  }
  return unary_math(UnaryMath::Sign, "sign", x, no_gradient);
}

// x rounded half to even at 10^-decimals (decimals < 0: to tens, hundreds, ...), scaled as
// PyTorch does, so that the same products round: x * 10^d then / 10^d, or x / 10^-d then * 10^-d
Tensor round(const Tensor& x, int64_t decimals) {
  if (decimals == 0) return round(x);
  FG_CHECK(
      is_floating(x.dtype()), TypeError,
      "[round] expected a floating-point tensor with decimals != 0, got " << dtype_name(x.dtype()));
  return with_float32_compute(x, [&](const Tensor& v) {
    Tensor scale = number(std::pow(10.0, static_cast<double>(std::abs(decimals))), v);
    return decimals > 0 ? div(round(mul(v, scale)), scale) : mul(round(div(v, scale)), scale);
  });
}

Tensor polygamma(int64_t n, const Tensor& x) {
  FG_CHECK(n >= 0, ValueError, "[polygamma] expected an order n >= 0, got " << n);
  auto launch = [n](Device device, auto* y, const auto* x_data, int64_t count) {
    FG_LAUNCH(polygamma_forward, device, y, x_data, n, count);
  };
  return real_unary("polygamma", x, launch,
                    [n](const Tensor& dout, const Tensor& x_saved, const Tensor&) {
                      return mul(dout, polygamma(n + 1, x_saved));
                    });
}

// The largest finite value of a floating dtype, nan_to_num's default for +inf
static double largest_finite(DType dtype) {
  switch (dtype) {
    case DType::Float16: return 65504.0;
    case DType::BFloat16: return 3.3895313892515355e38;  // (2 - 2^-7) * 2^127
    case DType::Float32: return std::numeric_limits<float>::max();
    default: return std::numeric_limits<double>::max();
  }
}

// Integers and bool have no NaN or infinity: they come back unchanged, as in PyTorch. The
// gradient passes where x was finite.
Tensor nan_to_num(const Tensor& x, double nan, std::optional<double> posinf,
                  std::optional<double> neginf) {
  if (!is_floating(x.dtype())) return clone(x);
  double largest = largest_finite(x.dtype());
  double to_posinf = posinf.value_or(largest), to_neginf = neginf.value_or(-largest);
  auto launch = [=](Device device, auto* y, const auto* x_data, int64_t n) {
    FG_LAUNCH(nan_to_num_forward, device, y, x_data, nan, to_posinf, to_neginf, n);
  };
  return real_unary("nan_to_num", x, launch,
                    [](const Tensor& dout, const Tensor& x_saved, const Tensor&) {
                      return mul(dout, to_dtype(isfinite(x_saved), dout.dtype()));
                    });
}

Tensor frac(const Tensor& x) {  // x - trunc(x): the gradient passes
  FG_CHECK(is_floating(x.dtype()), TypeError,
           "[frac] expected a floating-point tensor, got " << dtype_name(x.dtype()));
  return sub(x, trunc(x));
}

Tensor square(const Tensor& x) { return mul(x, x); }

}  // namespace fg::ops
