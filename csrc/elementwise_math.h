// Elementwise math written once: functors of one element, templated on the element type,
// that both devices apply (fg::cpu::map_elements in csrc/cpu/parallel.h, fg::cuda's in
// csrc/cuda/launch.cuh; the kernels that apply them are csrc/*_kernels.h), so that the CPU
// and CUDA versions cannot drift. Forward functors take x; backward ones take (dy, x) or
// (dy, y) where the gradient comes from the output. Floating functors serve float and
// double; integer arithmetic wraps around (two's complement, as in PyTorch) without UB.
#pragma once
#include <cmath>
#include <cstdint>
#include <type_traits>

#include "core/host_device.h"
#include "cpu/vec_math.h"
#include "kernels.h"
#include "unary_math_list.h"

namespace fg {

// ---- math of one value, per floating type ----------------------------------------------

// exp and tanh: on the CPU, float goes through the branch-free vexp / vtanh, which the
// FG_SIMD loops vectorize (libm's expf does not); the GPU and float64 use the math library.
FG_HOST_DEVICE inline float exp_of(float x) {
#ifdef __CUDA_ARCH__
  return expf(x);
#else
  return cpu::vexp(x);
#endif
}
FG_HOST_DEVICE inline double exp_of(double x) { return exp(x); }
FG_HOST_DEVICE inline float tanh_of(float x) {
#ifdef __CUDA_ARCH__
  return tanhf(x);
#else
  return cpu::vtanh(x);
#endif
}
FG_HOST_DEVICE inline double tanh_of(double x) { return tanh(x); }
// exp(-x^2 / 2) and Phi(x) = erfc(-x / sqrt 2) / 2, GELU's parts: float on the CPU through
// vgaussian / vnormal_cdf, which vectorize (erfcf does not).
FG_HOST_DEVICE inline float gaussian_of(float x) {
#ifdef __CUDA_ARCH__
  return expf(-0.5f * x * x);
#else
  return cpu::vgaussian(x);
#endif
}
FG_HOST_DEVICE inline double gaussian_of(double x) { return exp(-0.5 * x * x); }
FG_HOST_DEVICE inline float normal_cdf_of(float x) {
#ifdef __CUDA_ARCH__
  return 0.5f * erfcf(-x * 0.70710678f);
#else
  return cpu::vnormal_cdf(x);
#endif
}
FG_HOST_DEVICE inline double normal_cdf_of(double x) { return 0.5 * erfc(-x * 0.7071067811865476); }
// Phi(x) given gaussian_of(x): on the CPU, float's tail reuses it instead of computing its own
FG_HOST_DEVICE inline float normal_cdf_of(float x, float gaussian) {
#ifdef __CUDA_ARCH__
  return normal_cdf_of(x);
#else
  return cpu::vnormal_cdf(x, gaussian);
#endif
}
FG_HOST_DEVICE inline double normal_cdf_of(double x, double) { return normal_cdf_of(x); }

#define FG_MATH_OF(name, float_fn, double_fn)                               \
  FG_HOST_DEVICE inline float name(float x) { return float_fn(x); }       \
  FG_HOST_DEVICE inline double name(double x) { return double_fn(x); }
FG_MATH_OF(log_of, logf, log)
FG_MATH_OF(sqrt_of, sqrtf, sqrt)
FG_MATH_OF(abs_of, fabsf, fabs)
FG_MATH_OF(log1p_of, log1pf, log1p)
#undef FG_MATH_OF

template <typename T>
FG_HOST_DEVICE T sigmoid_of(T x) {
  return T(1) / (T(1) + exp_of(-x));
}

// ---- integer wrap-around -----------------------------------------------------------------

// Integers (not bool) whose + - * wrap around: computed in the unsigned type of their
// promotion (unsigned int for the narrow ones, so that 65535 * 65535 cannot overflow an int),
// and converted back modulo 2^bits, as PyTorch's two's complement results.
template <typename T>
inline constexpr bool kWrapsAround = std::is_integral_v<T> && !std::is_same_v<T, bool>;
template <typename T>
using WrapUnsigned = std::make_unsigned_t<decltype(+T())>;

// What a sum accumulates in, on both devices: float64 for float and double (a float
// accumulator loses digits once the sum dwarfs each term), uint64 for bool and the integers,
// whose int64 sum wraps around.
template <typename T>
using SumAccumulator = std::conditional_t<std::is_floating_point_v<T>, double, uint64_t>;

namespace math {

// ---- binary ops and comparisons: (a, b) -> out ----------------------------------------------

#define FG_WRAPPING_BINARY(Name, op)                                         \
  template <typename T>                                                      \
  struct Name {                                                              \
    FG_HOST_DEVICE T operator()(T a, T b) const {                            \
      if constexpr (kWrapsAround<T>)                                         \
        return static_cast<T>(WrapUnsigned<T>(a) op WrapUnsigned<T>(b));     \
      else                                                                   \
        return a op b;                                                       \
    }                                                                        \
  };
FG_WRAPPING_BINARY(Add, +)
FG_WRAPPING_BINARY(Sub, -)
FG_WRAPPING_BINARY(Mul, *)
#undef FG_WRAPPING_BINARY

template <typename T>
struct Div {
  static_assert(std::is_floating_point_v<T>, "true division: integers promote to float first");
  FG_HOST_DEVICE T operator()(T a, T b) const { return a / b; }
};

#define FG_COMPARE(Name, op) \
  template <typename T>      \
  struct Name {              \
    FG_HOST_DEVICE bool operator()(T a, T b) const { return a op b; } \
  };
FG_COMPARE(Eq, ==)
FG_COMPARE(Ne, !=)
FG_COMPARE(Lt, <)
FG_COMPARE(Le, <=)
FG_COMPARE(Gt, >)
FG_COMPARE(Ge, >=)
#undef FG_COMPARE

// 0, for zeroing a gradient before scattering into it
template <typename T>
struct Zero {
  FG_HOST_DEVICE T operator()() const { return T(0); }
};

// ---- unary math -----------------------------------------------------------------------------

template <typename T>
struct Neg {
  FG_HOST_DEVICE T operator()(T x) const {
    if constexpr (kWrapsAround<T>)
      return static_cast<T>(WrapUnsigned<T>(0) - WrapUnsigned<T>(x));
    else
      return -x;
  }
};

// |x|; the most negative integer stays itself, as in PyTorch
template <typename T>
struct Abs {
  FG_HOST_DEVICE T operator()(T x) const {
    if constexpr (std::is_floating_point_v<T>)
      return abs_of(x);
    else if constexpr (std::is_signed_v<T>)
      return x < 0 ? Neg<T>{}(x) : x;
    else
      return x;
  }
};
// d|x| = sign(x), 0 at 0 and at NaN: PyTorch's sign(NaN) is 0, so abs and l1_loss pass no
// NaN gradient back from a NaN input.
template <typename T>
struct AbsBackward {
  FG_HOST_DEVICE T operator()(T dy, T x) const {
    return dy * (x > 0 ? T(1) : (x < 0 ? T(-1) : T(0)));
  }
};

template <typename T>
struct Exp {
  FG_HOST_DEVICE T operator()(T x) const { return exp_of(x); }
};
template <typename T>
struct Log {
  FG_HOST_DEVICE T operator()(T x) const { return log_of(x); }
};
// The unary math of FG_FOR_EACH_UNARY_MATH: the math library's function of the type's
// precision (sinf for float, sin for double), or a short formula.
FG_HOST_DEVICE inline float rsqrt_value(float x) { return 1.0f / sqrtf(x); }
FG_HOST_DEVICE inline double rsqrt_value(double x) { return 1.0 / sqrt(x); }
template <typename T>
FG_HOST_DEVICE T reciprocal_value(T x) {
  return T(1) / x;
}
template <typename T>
FG_HOST_DEVICE T sign_value(T x) {
  return x > T(0) ? T(1) : x < T(0) ? T(-1) : x;
}  // NaN: NaN
// round half to even, as PyTorch and numpy (rint under the default rounding mode)
FG_HOST_DEVICE inline float round_value(float x) { return rintf(x); }
FG_HOST_DEVICE inline double round_value(double x) { return rint(x); }
#define FG_LIBM_OF(name)                                                      \
  FG_HOST_DEVICE inline float name##_value(float x) { return name##f(x); }  \
  FG_HOST_DEVICE inline double name##_value(double x) { return name(x); }
FG_LIBM_OF(sin)
FG_LIBM_OF(cos)
FG_LIBM_OF(tan)
FG_LIBM_OF(asin)
FG_LIBM_OF(acos)
FG_LIBM_OF(atan)
FG_LIBM_OF(sinh)
FG_LIBM_OF(cosh)
FG_LIBM_OF(asinh)
FG_LIBM_OF(acosh)
FG_LIBM_OF(atanh)
FG_LIBM_OF(exp2)
FG_LIBM_OF(expm1)
FG_LIBM_OF(log2)
FG_LIBM_OF(log10)
FG_LIBM_OF(floor)
FG_LIBM_OF(ceil)
FG_LIBM_OF(trunc)
FG_LIBM_OF(erf)
FG_LIBM_OF(erfc)
FG_LIBM_OF(lgamma)
#undef FG_LIBM_OF
#define FG_LIBM2_OF(name)                                                                 \
  FG_HOST_DEVICE inline float name##_value(float a, float b) { return name##f(a, b); }   \
  FG_HOST_DEVICE inline double name##_value(double a, double b) { return name(a, b); }
FG_LIBM2_OF(fmod)
FG_LIBM2_OF(copysign)
FG_LIBM2_OF(pow)
FG_LIBM2_OF(atan2)
FG_LIBM2_OF(hypot)
#undef FG_LIBM2_OF

// ---- the gamma family and erfinv: series and expansions of our own, so that both devices
// compute the same values (float64 within ~1e-13 relative away from poles and zeros) ----
template <typename T>
inline constexpr T kPi = T(3.14159265358979323846);

// digamma (psi), lgamma's derivative: negative x reflected (psi(x) = psi(1 - x) -
// pi / tan(pi x)), then shifted up to 10 by psi(x) = psi(x + 1) - 1/x, where the asymptotic
// series log x - 1/(2x) - sum B_2k / (2k x^2k) is exact to double precision. As PyTorch:
// psi(+-0) = -+inf, NaN at the negative integers and -inf.
template <typename T>
FG_HOST_DEVICE T digamma_value(T x) {
  if (x == T(0)) return copysign_value(T(INFINITY), -x);
  T result = 0;
  if (x < T(0)) {
    if (x == floor_value(x)) return T(NAN);
    // tan(pi x) from x's distance to the nearest whole number (exact, and at most 1/2), so
    // that pi times it is small, with all its digits, near a pole
    result = -kPi<T> / tan_value(kPi<T> * (x - floor_value(x + T(0.5))));
    x = T(1) - x;
  }
  for (; x < T(10); x += T(1)) result -= T(1) / x;
  T z = T(1) / (x * x);
  T series =
      z * (T(1. / 12) +
           z * (T(-1. / 120) +
                z * (T(1. / 252) + z * (T(-1. / 240) + z * (T(1. / 132) + z * (T(-691. / 32760) +
                                                                               z * T(1. / 12)))))));
  return result + log_of(x) - T(0.5) / x - series;
}

// Hurwitz zeta(s, q) = sum over k >= 0 of (q + k)^-s for q > 0 and a whole s >= 2: the first
// terms summed until q passes 10 + s, then the Euler-Maclaurin tail, whose terms B_2j / (2j)!
// s (s+1) ... (s+2j-2) q^(1-s-2j) shrink at least 30-fold each there.
template <typename T>
FG_HOST_DEVICE T hurwitz_zeta_of_positive(T s, T q) {
  constexpr double kBernoulliOverFactorial[] = {
      // B_2j / (2j)!, j = 1 .. 12
      8.333333333333333e-02,  -1.388888888888889e-03,  3.306878306878307e-05,
      -8.267195767195768e-07, 2.08767569878681e-08,    -5.284190138687493e-10,
      1.3382536530684679e-11, -3.3896802963225827e-13, 8.586062056277845e-15,
      -2.174868698558062e-16, 5.5090028283602295e-18,  -1.3954464685812522e-19};
  T sum = 0;
  for (; q < T(10) + s; q += T(1)) sum += pow_value(q, -s);
  T power = pow_value(q, -s);  // q^-s
  sum += q * power / (s - T(1)) + T(0.5) * power;
  T rising = s, tail_power = power / q;  // s (s+1) ... (s+2j-2) and q^(1-s-2j)
  for (int j = 0; j < 12; ++j) {
    sum += T(kBernoulliOverFactorial[j]) * rising * tail_power;
    rising *= (s + T(2 * j + 1)) * (s + T(2 * j + 2));
    tail_power /= q * q;
  }
  return sum;
}
// Any q: a whole q <= 0 (and -inf) is a pole, +inf. For other negative q, with f its fraction,
// the terms below 0 are (-1)^s (1 - f + j)^-s for j = 0 .. -floor(q) - 1, a difference of
// two zetas of positive arguments, so no sum runs over |q| terms.
template <typename T>
FG_HOST_DEVICE T hurwitz_zeta(int64_t s, T q) {
  if (!(q <= T(0))) return hurwitz_zeta_of_positive(T(s), q);  // NaN too
  T whole = floor_value(q);
  if (q == whole) return T(INFINITY);
  T fraction = q - whole, sign = s % 2 ? T(-1) : T(1);
  return hurwitz_zeta_of_positive(T(s), fraction) +
         sign * (hurwitz_zeta_of_positive(T(s), T(1) - fraction) -
                 hurwitz_zeta_of_positive(T(s), T(1) - q));
}

// The n-th derivative of digamma: digamma itself for n = 0, else (-1)^(n+1) n! zeta(n+1, x).
template <typename T>
struct Polygamma {
  int64_t order;
  T signed_factorial;  // (-1)^(n+1) n!
  FG_HOST_DEVICE T operator()(T x) const {
    if (order == 0) return digamma_value(x);
    if (x == T(INFINITY)) return T(0);
    return signed_factorial * hurwitz_zeta(order + 1, x);
  }
};

// erfinv: Winitzki's closed form (2e-3 relative) refined by two Halley steps on erf(y) = |x|
// (through erfc past 0.5, where 1 - |x| is exact and erf(y) - |x| would cancel). As PyTorch:
// +-1 give +-inf, |x| > 1 NaN.
template <typename T>
FG_HOST_DEVICE T erfinv_value(T x) {
  T a = abs_of(x);
  if (a >= T(1)) return a == T(1) ? copysign_value(T(INFINITY), x) : T(NAN);
  constexpr double kWinitzki = 0.147;
  T log_term = log_of((T(1) - a) * (T(1) + a));  // log(1 - x^2), exact near |x| = 1
  T c = T(2 / (3.14159265358979323846 * kWinitzki)) + T(0.5) * log_term;
  T inner = sqrt_of(c * c - log_term / T(kWinitzki)) - c;  // may round below 0 near x = 0
  T y = inner > T(0) ? sqrt_of(inner) : T(0);
  for (int step = 0; step < 2; ++step) {
    T residual = a <= T(0.5) ? erf_value(y) - a : (T(1) - a) - erfc_value(y);
    T ratio = residual / (T(1.1283791670955126) * exp_of(-y * y));  // over erf'(y)
    y -= ratio / (T(1) + y * ratio);
  }
  return copysign_value(y, x);
}

#define FG_UNARY_MATH_FUNCTOR(Name, name)                                  \
  template <typename T>                                                    \
  struct Name {                                                            \
    FG_HOST_DEVICE T operator()(T x) const { return name##_value(x); }    \
  };
FG_FOR_EACH_UNARY_MATH(FG_UNARY_MATH_FUNCTOR)
#undef FG_UNARY_MATH_FUNCTOR

// ---- the binary math of binary_op_list.h beyond + - * / --------------------------------------

// Integer division guards: a zero divisor gives 0 (the ops refuse it first; the guard keeps a
// write they could not see from trapping), and a signed -1 divisor negates (INT_MIN / -1 traps).
template <typename T>
FG_HOST_DEVICE bool divides_trivially(T b) {
  if constexpr (std::is_signed_v<T>) return b == T(0) || b == T(-1);
  return b == T(0);
}
// true division rounded toward zero
template <typename T>
struct DivTrunc {
  FG_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      return trunc_value(a / b);
    } else {
      if (divides_trivially(b)) return b == T(0) ? T(0) : Neg<T>{}(a);
      return static_cast<T>(a / b);
    }
  }
};
// true division rounded down; for floats PyTorch's formula through fmod, which is exact
// where floor(a / b) would round a / b first
template <typename T>
struct DivFloor {
  FG_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      if (b == T(0)) return a / b;
      T mod = fmod_value(a, b);
      T div = (a - mod) / b;
      if (mod != T(0) && (b < T(0)) != (mod < T(0))) div -= T(1);
      if (div == T(0)) return copysign_value(T(0), a / b);
      T floored = floor_value(div);
      return div - floored > T(0.5) ? floored + T(1) : floored;
    } else {
      if (divides_trivially(b)) return b == T(0) ? T(0) : Neg<T>{}(a);
      T quotient = static_cast<T>(a / b);
      if constexpr (std::is_signed_v<T>)
        if (static_cast<T>(a % b) != T(0) && ((a < T(0)) != (b < T(0)))) --quotient;
      return quotient;
    }
  }
};
// Python's a % b: the sign of b
template <typename T>
struct Remainder {
  FG_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      T mod = fmod_value(a, b);
      return mod != T(0) && (b < T(0)) != (mod < T(0)) ? mod + b : mod;
    } else {
      if (divides_trivially(b)) return T(0);
      T mod = static_cast<T>(a % b);
      if constexpr (std::is_signed_v<T>)
        if (mod != T(0) && (b < T(0)) != (mod < T(0))) mod = static_cast<T>(mod + b);
      return mod;
    }
  }
};
// C's fmod: the sign of a
template <typename T>
struct Fmod {
  FG_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>)
      return fmod_value(a, b);
    else
      return divides_trivially(b) ? T(0) : static_cast<T>(a % b);
  }
};
// maximum/minimum propagate NaN; fmax/fmin return the other operand where one is NaN
template <typename T>
struct Maximum {
  FG_HOST_DEVICE T operator()(T a, T b) const { return a != a ? a : (b != b || b > a) ? b : a; }
};
template <typename T>
struct Minimum {
  FG_HOST_DEVICE T operator()(T a, T b) const { return a != a ? a : (b != b || b < a) ? b : a; }
};
template <typename T>
struct Fmax {
  FG_HOST_DEVICE T operator()(T a, T b) const { return b != b || a > b ? a : b; }
};
template <typename T>
struct Fmin {
  FG_HOST_DEVICE T operator()(T a, T b) const { return b != b || a < b ? a : b; }
};
// a ** b elementwise. Integers: squaring with wrap-around; a negative exponent gives
// 1 / a ** |b| truncated (0 unless a is 1 or -1), as PyTorch.
template <typename T>
struct PowTensor {
  FG_HOST_DEVICE T operator()(T a, T b) const {
    if constexpr (std::is_floating_point_v<T>) {
      return pow_value(a, b);
    } else {
      if constexpr (std::is_signed_v<T>) {
        if (b < T(0)) return a == T(1) ? T(1) : a == T(-1) ? ((b & 1) ? T(-1) : T(1)) : T(0);
      }
      WrapUnsigned<T> result = 1, base = WrapUnsigned<T>(a);
      for (uint64_t e = static_cast<uint64_t>(b); e != 0; e >>= 1) {
        if (e & 1) result = static_cast<WrapUnsigned<T>>(result * base);
        base = static_cast<WrapUnsigned<T>>(base * base);
      }
      return static_cast<T>(result);
    }
  }
};
template <typename T>
struct Atan2 {
  FG_HOST_DEVICE T operator()(T a, T b) const { return atan2_value(a, b); }
};
template <typename T>
struct Hypot {
  FG_HOST_DEVICE T operator()(T a, T b) const { return hypot_value(a, b); }
};
#define FG_BITWISE(Name, op)                                                              \
  template <typename T>                                                                   \
  struct Name {                                                                           \
    FG_HOST_DEVICE T operator()(T a, T b) const { return static_cast<T>(a op b); }        \
  };
FG_BITWISE(BitwiseAnd, &)
FG_BITWISE(BitwiseOr, |)
FG_BITWISE(BitwiseXor, ^)
#undef FG_BITWISE
template <typename T>
FG_HOST_DEVICE bool is_negative(T x) {
  if constexpr (std::is_signed_v<T>) return x < T(0);
  return false;
}
// Shifts by a count outside [0, bits) shift everything out, as PyTorch: << gives 0, >> the
// sign (0 or -1). << wraps (computed unsigned).
template <typename T>
struct LeftShift {
  FG_HOST_DEVICE T operator()(T a, T b) const {
    constexpr int bits = 8 * sizeof(T);
    if (is_negative(b) || static_cast<int64_t>(b) >= bits) return T(0);
    return static_cast<T>(WrapUnsigned<T>(a) << static_cast<int>(b));
  }
};
template <typename T>
struct RightShift {
  FG_HOST_DEVICE T operator()(T a, T b) const {
    constexpr int bits = 8 * sizeof(T);
    if (is_negative(b) || static_cast<int64_t>(b) >= bits) return is_negative(a) ? T(-1) : T(0);
    return static_cast<T>(a >> static_cast<int>(b));
  }
};

template <typename T>
struct Log1p {
  FG_HOST_DEVICE T operator()(T x) const { return log1p_of(x); }
};
template <typename T>
struct Sqrt {
  FG_HOST_DEVICE T operator()(T x) const { return sqrt_of(x); }
};

// True where a float32 pow may run in float32 (twice as fast as double): the exponent is a
// float32 value below 2**24, so an integral one keeps its parity in e and e - 1. Elsewhere
// pow runs in double, since float32 would round the exponent ((-1) ** 2147483647 is -1; as a
// float32 the exponent is the even 2**31).
FG_HOST_DEVICE inline bool exponent_fits_float32(double exponent) {
  return static_cast<double>(static_cast<float>(exponent)) == exponent &&
         fabs(exponent) < 16777216.0;
}

template <typename T>
struct Pow {
  double exponent;  // on integers a whole number >= 0 (the op checks): squaring, wrapping
  FG_HOST_DEVICE T operator()(T x) const {
    if constexpr (kWrapsAround<T>) {
      WrapUnsigned<T> result = 1, base = WrapUnsigned<T>(x);
      for (uint64_t e = static_cast<uint64_t>(exponent); e != 0; e >>= 1) {
        if (e & 1) result = static_cast<WrapUnsigned<T>>(result * base);
        base = static_cast<WrapUnsigned<T>>(base * base);
      }
      return static_cast<T>(result);
    } else {
      if constexpr (std::is_same_v<T, float>)
        if (exponent_fits_float32(exponent)) return powf(x, static_cast<float>(exponent));
      return static_cast<T>(pow(static_cast<double>(x), exponent));
    }
  }
};
// d(x ** e)/dx = e * x ** (e - 1); 0 where e is 0, as in PyTorch.
template <typename T>
struct PowBackward {
  double exponent;
  FG_HOST_DEVICE T operator()(T dy, T x) const {
    if (exponent == 0.0) return T(0);
    if constexpr (std::is_same_v<T, float>) {
      if (exponent_fits_float32(exponent)) {
        float e = static_cast<float>(exponent);
        return dy * e * powf(x, e - 1.0f);
      }
    }
    return static_cast<T>(dy * exponent * pow(static_cast<double>(x), exponent - 1.0));
  }
};

// x clamped to [lo, hi] as PyTorch's min(max(x, lo), hi): hi wins where lo > hi, and NaN
// stays NaN (every comparison with it is false).
template <typename T>
struct Clamp {
  T lo, hi;
  FG_HOST_DEVICE T operator()(T x) const {
    T at_least_lo = x < lo ? lo : x;
    return at_least_lo > hi ? hi : at_least_lo;
  }
};
// NaN, +inf and -inf replaced by the given values (converted to T)
template <typename T>
struct NanToNum {
  T nan, posinf, neginf;
  FG_HOST_DEVICE T operator()(T x) const {
    if (x != x) return nan;
    if (x == T(INFINITY)) return posinf;
    return x == -T(INFINITY) ? neginf : x;
  }
};
// The gradient passes where lo <= x <= hi (nowhere when lo > hi), as in PyTorch.
template <typename T>
struct ClampBackward {
  T lo, hi;
  FG_HOST_DEVICE T operator()(T dy, T x) const { return x >= lo && x <= hi ? dy : T(0); }
};

// ---- activations ----------------------------------------------------------------------------

// NaN passes through (NaN < 0 is false, so it keeps x).
template <typename T>
struct Relu {
  FG_HOST_DEVICE T operator()(T x) const { return x < T(0) ? T(0) : x; }
};
// Zero where x <= 0, so a NaN input passes its gradient on, as in PyTorch.
template <typename T>
struct ReluBackward {
  FG_HOST_DEVICE T operator()(T dy, T x) const { return x <= T(0) ? T(0) : dy; }
};

template <typename T>
struct LeakyRelu {
  T slope;
  FG_HOST_DEVICE T operator()(T x) const { return x < T(0) ? x * slope : x; }
};
template <typename T>
struct LeakyReluBackward {
  T slope;
  FG_HOST_DEVICE T operator()(T dy, T x) const { return x > T(0) ? dy : dy * slope; }
};

template <typename T>
struct Tanh {
  FG_HOST_DEVICE T operator()(T x) const { return tanh_of(x); }
};
// from the output: dtanh = 1 - y^2
template <typename T>
struct TanhBackward {
  FG_HOST_DEVICE T operator()(T dy, T y) const { return dy * (T(1) - y * y); }
};

template <typename T>
struct Sigmoid {
  FG_HOST_DEVICE T operator()(T x) const { return sigmoid_of(x); }
};
// from the output: dsigmoid = y (1 - y)
template <typename T>
struct SigmoidBackward {
  FG_HOST_DEVICE T operator()(T dy, T y) const { return dy * y * (T(1) - y); }
};

template <typename T>
struct Silu {
  FG_HOST_DEVICE T operator()(T x) const { return x * sigmoid_of(x); }
};
// dsilu = s (1 + x (1 - s)), s = sigmoid(x)
template <typename T>
struct SiluBackward {
  FG_HOST_DEVICE T operator()(T dy, T x) const {
    T s = sigmoid_of(x);
    return dy * s * (T(1) + x * (T(1) - s));
  }
};

// GELU. Exact: x Phi(x), Phi(x) = erfc(-x / sqrt 2) / 2 (erfc keeps precision for x << 0).
// Tanh form: x (1 + tanh u) / 2 with u = sqrt(2/pi) (x + 0.044715 x^3), computed as
// x sigmoid(2u), the same value without the cancellation of 1 + tanh u for x << 0.
constexpr double kSqrt2OverPi = 0.7978845608028654, kGeluCubic = 0.044715;
constexpr double kInvSqrt2Pi = 0.3989422804014327;

template <typename T>
struct GeluExact {
  FG_HOST_DEVICE T operator()(T x) const { return x * normal_cdf_of(x); }
};
template <typename T>
struct GeluExactBackward {
  FG_HOST_DEVICE T operator()(T dy, T x) const {
    T gaussian = gaussian_of(x);
    return dy * (normal_cdf_of(x, gaussian) + x * T(kInvSqrt2Pi) * gaussian);
  }
};
template <typename T>
struct GeluTanh {
  FG_HOST_DEVICE T operator()(T x) const {
    T u = T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x);
    return x * sigmoid_of(T(2) * u);
  }
};
// d/dx [x s] = s + x * 2 s (1 - s) * du/dx, s = sigmoid(2u). Where s saturates, s (1 - s) is
// 0 and x du/dx may be inf (|x| > 6e12 overflows x^3 in float32): the term is 0 there, not
// 0 * inf = NaN.
template <typename T>
struct GeluTanhBackward {
  FG_HOST_DEVICE T operator()(T dy, T x) const {
    T u = T(kSqrt2OverPi) * (x + T(kGeluCubic) * x * x * x);
    T s = sigmoid_of(T(2) * u);
    T ds = T(2) * s * (T(1) - s);
    T du = T(kSqrt2OverPi) * (T(1) + T(3) * T(kGeluCubic) * x * x);
    return dy * (s + (ds == T(0) ? T(0) : x * ds * du));
  }
};

// ---- the parametrized activations (activation_list.h): forward and backward side by side --

// Applies F's forward, or its backward, as the one-element functor map_elements takes.
template <typename F, typename T>
struct ForwardOf {
  F f;
  FG_HOST_DEVICE T operator()(T x) const { return f.forward(x); }
};
template <typename F, typename T>
struct BackwardOf {
  F f;
  FG_HOST_DEVICE T operator()(T dy, T x) const { return f.backward(dy, x); }
};

// log(1 + exp(beta x)) / beta; x itself past beta x > threshold. a = beta, b = threshold
template <typename T>
struct Softplus {
  ActivationParams p;
  FG_HOST_DEVICE T forward(T x) const {
    T z = T(p.a) * x;
    return z > T(p.b) ? x : log1p_of(exp_of(z)) / T(p.a);
  }
  FG_HOST_DEVICE T backward(T dy, T x) const {
    T z = T(p.a) * x;
    return z > T(p.b) ? dy : dy * sigmoid_of(z);
  }
};
// The ELU family: scale (x > 0 ? x : alpha (exp(x input_scale) - 1)); elu (alpha, 1, 1), selu
// (its alpha and scale, 1), celu (alpha, 1, 1 / alpha). a = alpha, b = scale, c = input_scale
template <typename T>
struct Elu {
  ActivationParams p;
  FG_HOST_DEVICE T forward(T x) const {
    return x > T(0) ? T(p.b) * x : T(p.b) * T(p.a) * expm1_value(x * T(p.c));
  }
  FG_HOST_DEVICE T backward(T dy, T x) const {
    return x > T(0) ? dy * T(p.b) : dy * T(p.b) * T(p.a) * T(p.c) * exp_of(x * T(p.c));
  }
};
// x tanh(softplus(x))
template <typename T>
struct Mish {
  ActivationParams p;
  FG_HOST_DEVICE T forward(T x) const { return x * tanh_of(log1p_of(exp_of(x))); }
  FG_HOST_DEVICE T backward(T dy, T x) const {
    T t = tanh_of(log1p_of(exp_of(x)));
    return dy * (t + x * sigmoid_of(x) * (T(1) - t * t));
  }
};
// x clamped to [min_val, max_val] (NaN passes); the gradient passes strictly inside.
// a = min_val, b = max_val
template <typename T>
struct Hardtanh {
  ActivationParams p;
  FG_HOST_DEVICE T forward(T x) const { return x < T(p.a) ? T(p.a) : x > T(p.b) ? T(p.b) : x; }
  FG_HOST_DEVICE T backward(T dy, T x) const { return x <= T(p.a) || x >= T(p.b) ? T(0) : dy; }
};
// relu6(x + 3) / 6
template <typename T>
struct Hardsigmoid {
  ActivationParams p;
  FG_HOST_DEVICE T forward(T x) const {
    return x <= T(-3) ? T(0) : x >= T(3) ? T(1) : x / T(6) + T(0.5);
  }
  FG_HOST_DEVICE T backward(T dy, T x) const { return x > T(-3) && x < T(3) ? dy / T(6) : T(0); }
};
// x relu6(x + 3) / 6
template <typename T>
struct Hardswish {
  ActivationParams p;
  FG_HOST_DEVICE T forward(T x) const {
    return x <= T(-3) ? T(0) : x >= T(3) ? x : x * (x + T(3)) / T(6);
  }
  FG_HOST_DEVICE T backward(T dy, T x) const {
    return x < T(-3) ? T(0) : x <= T(3) ? dy * (x / T(3) + T(0.5)) : dy;
  }
};
// log sigmoid(x) = min(x, 0) - log(1 + exp(-|x|)), which never overflows; its derivative
// sigmoid(-x) from the same exp(-|x|)
template <typename T>
struct Logsigmoid {
  ActivationParams p;
  FG_HOST_DEVICE T forward(T x) const {
    return (x < T(0) ? x : T(0)) - log1p_of(exp_of(-abs_of(x)));
  }
  FG_HOST_DEVICE T backward(T dy, T x) const {
    T z = exp_of(-abs_of(x));
    return dy * (x >= T(0) ? z : T(1)) / (T(1) + z);
  }
};
// x / (1 + |x|)
template <typename T>
struct Softsign {
  ActivationParams p;
  FG_HOST_DEVICE T forward(T x) const { return x / (T(1) + abs_of(x)); }
  FG_HOST_DEVICE T backward(T dy, T x) const {
    T d = T(1) + abs_of(x);
    return dy / (d * d);
  }
};
// x - tanh(x)
template <typename T>
struct Tanhshrink {
  ActivationParams p;
  FG_HOST_DEVICE T forward(T x) const { return x - tanh_of(x); }
  FG_HOST_DEVICE T backward(T dy, T x) const {
    T t = tanh_of(x);
    return dy * t * t;
  }
};
// x where x > threshold, else value (NaN stays NaN). a = threshold, b = value
template <typename T>
struct Threshold {
  ActivationParams p;
  FG_HOST_DEVICE T forward(T x) const { return x <= T(p.a) ? T(p.b) : x; }
  FG_HOST_DEVICE T backward(T dy, T x) const { return x <= T(p.a) ? T(0) : dy; }
};
// x moved toward 0 by lambd, 0 within [-lambd, lambd]. a = lambd
template <typename T>
struct Softshrink {
  ActivationParams p;
  FG_HOST_DEVICE T forward(T x) const {
    return x > T(p.a) ? x - T(p.a) : x < -T(p.a) ? x + T(p.a) : T(0);
  }
  FG_HOST_DEVICE T backward(T dy, T x) const { return x > T(p.a) || x < -T(p.a) ? dy : T(0); }
};
// x, 0 within [-lambd, lambd]. a = lambd
template <typename T>
struct Hardshrink {
  ActivationParams p;
  FG_HOST_DEVICE T forward(T x) const { return x >= -T(p.a) && x <= T(p.a) ? T(0) : x; }
  FG_HOST_DEVICE T backward(T dy, T x) const { return x >= -T(p.a) && x <= T(p.a) ? T(0) : dy; }
};

// ---- binary cross-entropy of probabilities ----------------------------------------------------

// log v clamped below at -100, as PyTorch's binary_cross_entropy: a probability of exactly 0
// or 1 costs 100, not inf. NaN stays NaN.
template <typename T>
FG_HOST_DEVICE T clamped_log(T log_v) {
  return log_v < T(-100) ? T(-100) : log_v;
}
// x, t -> -(t log x + (1 - t) log(1 - x)), both logs clamped
template <typename T>
struct BinaryCrossEntropy {
  FG_HOST_DEVICE T operator()(T x, T t) const {
    return (t - T(1)) * clamped_log(log1p_of(-x)) - t * clamped_log(log_of(x));
  }
};
// dx = dloss (x - t) / max(x (1 - x), 1e-12): PyTorch's bound keeps x = 0 or 1 finite
template <typename T>
struct BinaryCrossEntropyBackwardX {
  FG_HOST_DEVICE T operator()(T dloss, T x, T t) const {
    T denominator = x * (T(1) - x);
    return dloss * (x - t) / (denominator < T(1e-12) ? T(1e-12) : denominator);
  }
};
// dt = dloss (log(1 - x) - log x), the logs not clamped, as PyTorch's (inf at x = 0 or 1)
template <typename T>
struct BinaryCrossEntropyBackwardT {
  FG_HOST_DEVICE T operator()(T dloss, T x) const { return dloss * (log1p_of(-x) - log_of(x)); }
};

// ---- binary cross-entropy with logits -------------------------------------------------------

// x, t -> max(x, 0) - x t + log(1 + exp(-|x|)); the log1p(exp(-|x|)) form never overflows.
template <typename T>
struct BceWithLogits {
  FG_HOST_DEVICE T operator()(T x, T t) const {
    return (x > T(0) ? x : T(0)) - x * t + log1p_of(exp_of(-abs_of(x)));
  }
};
// dx = dloss (sigmoid(x) - t)
template <typename T>
struct BceWithLogitsBackwardX {
  FG_HOST_DEVICE T operator()(T dloss, T x, T t) const { return dloss * (sigmoid_of(x) - t); }
};
// dt = -dloss x
template <typename T>
struct BceWithLogitsBackwardT {
  FG_HOST_DEVICE T operator()(T dloss, T x) const { return -dloss * x; }
};

}  // namespace math

// Which element types each binary op's kernel takes (binary_op_list.h).
enum class BinaryTypes { Arithmetic, Floating, Integer };
template <typename T>
constexpr bool binary_takes(BinaryTypes types) {
  if (types == BinaryTypes::Floating) return std::is_floating_point_v<T>;
  if (types == BinaryTypes::Integer) return std::is_integral_v<T>;
  return true;
}

// Calls apply(name, functor) with op's functor of T, for the binary kernel of a device;
// false when op's kernel does not take T.
template <typename T, typename Apply>
bool visit_binary(BinaryOp op, const Apply& apply) {
  switch (op) {
#define FG_BINARY_CASE(Name, types)                                  \
  case BinaryOp::Name:                                               \
    if constexpr (binary_takes<T>(BinaryTypes::types)) {             \
      apply(#Name, math::Name<T>{});                                 \
      return true;                                                   \
    }                                                                \
    return false;
    FG_FOR_EACH_BINARY_OP(FG_BINARY_CASE)
#undef FG_BINARY_CASE
  }
  return false;
}

}  // namespace fg
