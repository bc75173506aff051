// The real-valued unary math of one element, as X(Name, name): the UnaryMath enum
// (kernels.h), its functors (elementwise_math.h), its kernel (elementwise_kernels.h) and its
// ops (ops/unary_math.cpp) are generated from this one list; so are the op-table lines of
// the ops whose only argument is the input (round also takes decimals: its line is its own).
#pragma once

#define FG_FOR_EACH_UNARY_MATH_OF_INPUT(X)                                                    \
  X(Sin, sin) X(Cos, cos) X(Tan, tan) X(Asin, asin) X(Acos, acos) X(Atan, atan) X(Sinh, sinh)  \
  X(Cosh, cosh) X(Asinh, asinh) X(Acosh, acosh) X(Atanh, atanh) X(Exp2, exp2) X(Expm1, expm1)  \
  X(Log2, log2) X(Log10, log10) X(Rsqrt, rsqrt) X(Reciprocal, reciprocal) X(Floor, floor)      \
  X(Ceil, ceil) X(Trunc, trunc) X(Erf, erf) X(Erfc, erfc) X(Sign, sign) X(Lgamma, lgamma)       \
  X(Digamma, digamma) X(Erfinv, erfinv)

#define FG_FOR_EACH_UNARY_MATH(X) FG_FOR_EACH_UNARY_MATH_OF_INPUT(X) X(Round, round)
