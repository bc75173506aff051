// The binary math beyond + - * /: rounded division, remainders, extremes, pow with tensor
// exponents, atan2, hypot, the bitwise and logical ops, clamp with tensor bounds, lerp,
// isclose. One broadcast kernel (binary_op_list.h); each op's backward rule sits beside it.
#include <cmath>

#include "core/dtype.h"
#include "core/error.h"
#include "core/promotion.h"
#include "ops/ops.h"

namespace fg::ops {

static Tensor number_like(double value, const Tensor& like) {
  return scalar_tensor(value, like.dtype(), like.device());
}
static Tensor zeros_like(const Tensor& like) {
  return zeros(like.shape(), like.dtype(), like.device());
}

// The operands' result type, checked against what op takes.
enum class Accepts { Numbers, NumbersNotBool, Integers, IntegersNotBool };
static DType checked_result_type(const Tensor& a, const Tensor& b, const char* op,
                                 Accepts accepts) {
  DType result = result_type(a, b);
  bool ok = accepts == Accepts::Numbers || accepts == Accepts::NumbersNotBool
                ? accepts == Accepts::Numbers || result != DType::Bool
                : is_integral(result, accepts == Accepts::Integers);
  FG_CHECK(ok, TypeError,
           "[" << op << "] expected "
               << (accepts == Accepts::NumbersNotBool    ? "number tensors other than bool"
                   : accepts == Accepts::Integers        ? "integer or bool tensors"
                   : accepts == Accepts::IntegersNotBool ? "integer tensors"
                                                         : "number tensors")
               << ", got " << dtype_name(a.dtype()) << " and " << dtype_name(b.dtype()));
  return result;
}

// Integer division by a zero element is refused (PyTorch's ZeroDivisionError); the check
// reads one number back from the device.
static void check_no_zero_divisor(const Tensor& b, const char* op) {
  if (is_floating(b.dtype())) return;
  Tensor zero_count = sum(compare(CompareOp::Eq, b, number_like(0, b)), {}, false);
  Tensor on_host = to_device(zero_count, Device{});
  FG_CHECK(*on_host.data<int64_t>() == 0, RuntimeError,
           "[" << op << "] ZeroDivisionError: integer division by zero");
}

// a op b on operands promoted to `result`, with the rule for (dout, a, b, out) -> {da, db}
// (before undoing broadcasting) where the compute dtype is floating.
using BinaryRule = std::vector<Tensor> (*)(const Tensor& dout, const Tensor& a, const Tensor& b,
                                           const Tensor& out);
static Tensor binary_math(BinaryOp op, const char* name, const Tensor& a_any, const Tensor& b_any,
                          DType result, BinaryRule rule) {
  return in_result_type(a_any, b_any, result, name, [&](const Tensor& a, const Tensor& b) {
    Tensor out = binary_kernel(op, name, a, b);
    if (rule && is_floating(out.dtype()))
      record(out, name, {a, b},
             [a = a.detach(), b = b.detach(), out = out.detach(), rule](const Tensor& dout) {
               std::vector<Tensor> grads = rule(dout, a, b, out);
               return std::vector<Tensor>{sum_to(grads[0], a.shape()), sum_to(grads[1], b.shape())};
             });
    return out;
  });
}

// ---- rounded division and remainders ----------------------------------------------------------

static std::vector<Tensor> zero_gradients(const Tensor& dout, const Tensor&, const Tensor&,
                                          const Tensor&) {
  return {zeros_like(dout), zeros_like(dout)};
}

Tensor div(const Tensor& a, const Tensor& b, const std::string& rounding_mode) {
  FG_CHECK(rounding_mode == "trunc" || rounding_mode == "floor", ValueError,
           "[div] expected rounding_mode None, 'trunc' or 'floor', got '" << rounding_mode << "'");
  bool floor = rounding_mode == "floor";
  const char* name = floor ? "floor_divide" : "div";
  DType result = checked_result_type(a, b, name, Accepts::NumbersNotBool);
  if (!is_floating(result)) check_no_zero_divisor(b, name);
  return binary_math(floor ? BinaryOp::DivFloor : BinaryOp::DivTrunc, name, a, b, result,
                     zero_gradients);
}

Tensor floor_divide(const Tensor& a, const Tensor& b) { return div(a, b, "floor"); }

// a - b * floor(a / b): da = dout, db = -dout floor(a / b)
Tensor remainder(const Tensor& a, const Tensor& b) {
  DType result = checked_result_type(a, b, "remainder", Accepts::NumbersNotBool);
  if (!is_floating(result)) check_no_zero_divisor(b, "remainder");
  return binary_math(BinaryOp::Remainder, "remainder", a, b, result,
                     [](const Tensor& dout, const Tensor& a, const Tensor& b, const Tensor&) {
                       return std::vector<Tensor>{dout, neg(mul(dout, floor_divide(a, b)))};
                     });
}

// a - b * trunc(a / b): da = dout, db = -dout trunc(a / b)
Tensor fmod(const Tensor& a, const Tensor& b) {
  DType result = checked_result_type(a, b, "fmod", Accepts::NumbersNotBool);
  if (!is_floating(result)) check_no_zero_divisor(b, "fmod");
  return binary_math(BinaryOp::Fmod, "fmod", a, b, result,
                     [](const Tensor& dout, const Tensor& a, const Tensor& b, const Tensor&) {
                       return std::vector<Tensor>{dout, neg(mul(dout, div(a, b, "trunc")))};
                     });
}

// ---- extremes ----------------------------------------------------------------------------------

// dout where keep, else 0
static Tensor gradient_where(const Tensor& keep, const Tensor& dout) {
  return where(keep, dout, number_like(0, dout));
}

// maximum and minimum: the winner takes the gradient, ties split it (PyTorch's rule)
static std::vector<Tensor> split_at_ties(const Tensor& dout, const Tensor& a, const Tensor& b,
                                         CompareOp a_loses) {
  Tensor shared = where(compare(CompareOp::Eq, a, b), div(dout, number_like(2, dout)), dout);
  CompareOp b_loses = a_loses == CompareOp::Lt ? CompareOp::Gt : CompareOp::Lt;
  return {where(compare(a_loses, a, b), number_like(0, dout), shared),
          where(compare(b_loses, a, b), number_like(0, dout), shared)};
}

Tensor maximum(const Tensor& a, const Tensor& b) {
  return binary_math(BinaryOp::Maximum, "maximum", a, b, result_type(a, b),
                     [](const Tensor& dout, const Tensor& a, const Tensor& b, const Tensor&) {
                       return split_at_ties(dout, a, b, CompareOp::Lt);
                     });
}

Tensor minimum(const Tensor& a, const Tensor& b) {
  return binary_math(BinaryOp::Minimum, "minimum", a, b, result_type(a, b),
                     [](const Tensor& dout, const Tensor& a, const Tensor& b, const Tensor&) {
                       return split_at_ties(dout, a, b, CompareOp::Gt);
                     });
}

// fmax and fmin: a takes the gradient where it won or b is NaN, b elsewhere
static std::vector<Tensor> to_the_winner(const Tensor& dout, const Tensor& a, const Tensor& b,
                                         CompareOp a_wins) {
  Tensor a_taken = logical_or(compare(a_wins, a, b), isnan(b));
  return {gradient_where(a_taken, dout), gradient_where(logical_not(a_taken), dout)};
}

Tensor fmax(const Tensor& a, const Tensor& b) {
  return binary_math(BinaryOp::Fmax, "fmax", a, b, result_type(a, b),
                     [](const Tensor& dout, const Tensor& a, const Tensor& b, const Tensor&) {
                       return to_the_winner(dout, a, b, CompareOp::Ge);
                     });
}

Tensor fmin(const Tensor& a, const Tensor& b) {
  return binary_math(BinaryOp::Fmin, "fmin", a, b, result_type(a, b),
                     [](const Tensor& dout, const Tensor& a, const Tensor& b, const Tensor&) {
                       return to_the_winner(dout, a, b, CompareOp::Le);
                     });
}

// ---- pow, atan2, hypot -------------------------------------------------------------------------

// da = dout b a^(b-1) (0 where b is 0); db = dout a^b log(a) (0 where a is 0 and b >= 0)
Tensor pow(const Tensor& a, const Tensor& b) {
  return binary_math(BinaryOp::PowTensor, "pow", a, b, result_type(a, b),
                     [](const Tensor& dout, const Tensor& a, const Tensor& b, const Tensor& out) {
                       Tensor zero = number_like(0, dout);
                       Tensor da = mul(mul(dout, b), pow(a, sub(b, number_like(1, b))));
                       Tensor db_where_defined = mul(mul(dout, out), log(a));
                       Tensor no_db = logical_and(compare(CompareOp::Eq, a, zero),
                                                  compare(CompareOp::Ge, b, zero));
                       return std::vector<Tensor>{where(compare(CompareOp::Eq, b, zero), zero, da),
                                                  where(no_db, zero, db_where_defined)};
                     });
}

static DType floating_result(const Tensor& a, const Tensor& b) {
  DType result = result_type(a, b);
  return is_floating(result) ? result : kDefaultFloatDType;
}

// d atan2(a, b) = (b da - a db) / (a^2 + b^2)
Tensor atan2(const Tensor& a, const Tensor& b) {
  return binary_math(BinaryOp::Atan2, "atan2", a, b, floating_result(a, b),
                     [](const Tensor& dout, const Tensor& a, const Tensor& b, const Tensor&) {
                       Tensor scale = div(dout, add(mul(a, a), mul(b, b)));
                       return std::vector<Tensor>{mul(scale, b), neg(mul(scale, a))};
                     });
}

// d hypot(a, b) = (a da + b db) / hypot(a, b)
Tensor hypot(const Tensor& a, const Tensor& b) {
  return binary_math(BinaryOp::Hypot, "hypot", a, b, floating_result(a, b),
                     [](const Tensor& dout, const Tensor& a, const Tensor& b, const Tensor& out) {
                       Tensor scale = div(dout, out);
                       return std::vector<Tensor>{mul(scale, a), mul(scale, b)};
                     });
}

// ---- bitwise and logical -----------------------------------------------------------------------

#define FG_BITWISE_OP(name, Op, accepts)                                                   \
  Tensor name(const Tensor& a, const Tensor& b) {                                          \
    return binary_math(BinaryOp::Op, #name, a, b,                                          \
                       checked_result_type(a, b, #name, Accepts::accepts), nullptr);       \
  }
FG_BITWISE_OP(bitwise_and, BitwiseAnd, Integers)
FG_BITWISE_OP(bitwise_or, BitwiseOr, Integers)
FG_BITWISE_OP(bitwise_xor, BitwiseXor, Integers)
FG_BITWISE_OP(bitwise_left_shift, LeftShift, IntegersNotBool)
FG_BITWISE_OP(bitwise_right_shift, RightShift, IntegersNotBool)
#undef FG_BITWISE_OP

// ~x: x ^ all ones; for bool, not x
Tensor bitwise_not(const Tensor& x) {
  FG_CHECK(is_integral(x.dtype(), true), TypeError,
           "[bitwise_not] expected an integer or bool tensor, got " << dtype_name(x.dtype()));
  if (x.dtype() == DType::Bool) return logical_not(x);
  // all ones: -1, or 255 for uint8 (a cast of -1 would saturate to 0)
  return bitwise_xor(x, number_like(x.dtype() == DType::UInt8 ? 255 : -1, x));
}

static Tensor nonzero_mask(const Tensor& x) {
  return x.dtype() == DType::Bool ? x.detach()
                                  : compare(CompareOp::Ne, x, number_like(0, x.detach()));
}
Tensor logical_and(const Tensor& a, const Tensor& b) {
  return bitwise_and(nonzero_mask(a), nonzero_mask(b));
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
  return bitwise_or(nonzero_mask(a), nonzero_mask(b));
}
Tensor logical_xor(const Tensor& a, const Tensor& b) {
  return bitwise_xor(nonzero_mask(a), nonzero_mask(b));
}
Tensor logical_not(const Tensor& x) {
  return compare(CompareOp::Eq, x.detach(), scalar_tensor(0, x.dtype(), x.device()));
}

// ---- classification ----------------------------------------------------------------------------

Tensor isnan(const Tensor& x) { return compare(CompareOp::Ne, x, x); }
Tensor isinf(const Tensor& x) {
  if (!is_floating(x.dtype())) return zeros(x.shape(), DType::Bool, x.device());
  return compare(CompareOp::Eq, abs(x.detach()), number_like(INFINITY, x));
}
// finite: x - x is 0 (inf - inf and NaN give NaN)
Tensor isfinite(const Tensor& x) {
  if (!is_floating(x.dtype())) return full(x.shape(), 1, DType::Bool, x.device());
  Tensor detached = x.detach();
  return compare(CompareOp::Eq, sub(detached, detached), number_like(0, x));
}

Tensor isclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan) {
  FG_CHECK(rtol >= 0 && atol >= 0, ValueError,
           "[isclose] expected rtol and atol >= 0, got rtol=" << rtol << ", atol=" << atol);
  FG_CHECK(a.dtype() == b.dtype(), TypeError,
           "[isclose] expected tensors of one dtype, got " << dtype_name(a.dtype()) << " and "
                                                           << dtype_name(b.dtype()));
  Tensor x = a.detach(), y = b.detach();
  Tensor close = compare(CompareOp::Eq, x, y);
  if (x.dtype() != DType::Bool) {
    DType math = is_floating(x.dtype()) ? x.dtype() : DType::Float64;
    Tensor xf = to_dtype(x, math), yf = to_dtype(y, math);
    Tensor tolerance = add(scalar_tensor(atol, math, x.device()),
                           mul(scalar_tensor(rtol, math, x.device()), abs(yf)));
    Tensor within =
        logical_and(compare(CompareOp::Le, abs(sub(xf, yf)), tolerance), isfinite(sub(xf, yf)));
    close = logical_or(close, within);
  }
  if (equal_nan) close = logical_or(close, logical_and(isnan(x), isnan(y)));
  return close;
}

// ---- clamp with tensor bounds, lerp ------------------------------------------------------------

Tensor clamp(const Tensor& x_any, const Tensor& lo_any, const Tensor& hi_any) {
  FG_CHECK(lo_any.defined() || hi_any.defined(), ValueError,
           "[clamp] expected at least one of min and max");
  DType result = result_type({x_any, lo_any, hi_any}), dtype = compute_dtype(result);
  // in one dtype (conversions recorded), so each gradient has its input's dtype
  auto converted = [&](const Tensor& t) { return t.defined() ? to_dtype(t, dtype) : t; };
  Tensor x = converted(x_any), lo = converted(lo_any), hi = converted(hi_any);
  Tensor out = x.detach();
  if (lo.defined()) out = maximum(out, lo.detach());
  if (hi.defined()) out = minimum(out, hi.detach());
  record(out, "clamp", {x, lo, hi},
         [x = x.detach(), lo = lo.defined() ? lo.detach() : Tensor(),
          hi = hi.defined() ? hi.detach() : Tensor()](const Tensor& dout) {
           // the bound that won takes the gradient: hi where x is above it, or where it is
           // below lo (min(max(x, lo), hi)); lo where x is below it and hi did not win
           Tensor hi_won, lo_won;
           if (hi.defined()) hi_won = compare(CompareOp::Gt, x, hi);
           if (lo.defined()) lo_won = compare(CompareOp::Lt, x, lo);
           if (hi.defined() && lo.defined()) {
             hi_won = logical_or(hi_won, logical_and(lo_won, compare(CompareOp::Lt, hi, lo)));
             lo_won = logical_and(lo_won, logical_not(hi_won));
           }
           Tensor x_kept = !lo_won.defined()   ? logical_not(hi_won)
                           : !hi_won.defined() ? logical_not(lo_won)
                                               : logical_not(logical_or(lo_won, hi_won));
           auto grad_of = [&](const Tensor& won, const Tensor& input) {
             return won.defined() ? sum_to(gradient_where(won, dout), input.shape()) : Tensor();
           };
           return std::vector<Tensor>{grad_of(x_kept, x), grad_of(lo_won, lo), grad_of(hi_won, hi)};
         });
  return to_dtype(out, result);
}

// start + weight (end - start), written from the nearer end for weight >= 0.5 (PyTorch's
// formula: exact at weight 1)
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight) {
  FG_CHECK(is_floating(start.dtype()) && is_floating(end.dtype()), TypeError,
           "[lerp] expected floating tensors, got " << dtype_name(start.dtype()) << " and "
                                                    << dtype_name(end.dtype()));
  Tensor difference = sub(end, start);
  Tensor from_start = add(start, mul(weight, difference));
  Tensor from_end = sub(end, mul(difference, sub(number_like(1, weight), weight)));
  return where(compare(CompareOp::Lt, abs(weight), number_like(0.5, weight)), from_start, from_end);
}

}  // namespace fg::ops
