// The parametrized activations, as X(Name): the Activation enum (kernels.h), the kernel
// cases (activation_kernels.h) and the ops (ops/activation.cpp) are generated from this
// list; each functor math::Name (elementwise_math.h) holds its forward and its backward side
// by side, reading its parameters from ActivationParams {a, b, c}.
#pragma once

#define FG_FOR_EACH_ACTIVATION(X)                                                         \
  X(Softplus) X(Elu) X(Mish) X(Hardtanh) X(Hardsigmoid) X(Hardswish) X(Logsigmoid)        \
  X(Softsign) X(Tanhshrink) X(Threshold) X(Softshrink) X(Hardshrink)
