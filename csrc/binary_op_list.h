// The broadcast binary ops of one element pair, as X(Name, types): the BinaryOp enum
// (kernels.h), the kernel's dispatch to functor math::Name (visit_binary in
// elementwise_math.h) and the dtypes that kernel takes are generated from this one list.
// types: Arithmetic (floating and integer), Floating, or Integer (the ops compute bool in
// uint8). The ops (ops/elementwise.cpp, ops/binary_math.cpp) promote operands before.
#pragma once

#define FG_FOR_EACH_BINARY_OP(X)                                                             \
  X(Add, Arithmetic) X(Sub, Arithmetic) X(Mul, Arithmetic) X(Div, Floating)                  \
  X(DivTrunc, Arithmetic) X(DivFloor, Arithmetic) X(Remainder, Arithmetic) X(Fmod, Arithmetic) \
  X(Maximum, Arithmetic) X(Minimum, Arithmetic) X(Fmax, Arithmetic) X(Fmin, Arithmetic)        \
  X(PowTensor, Arithmetic) X(Atan2, Floating) X(Hypot, Floating) X(BitwiseAnd, Integer)       \
  X(BitwiseOr, Integer) X(BitwiseXor, Integer) X(LeftShift, Integer) X(RightShift, Integer)
