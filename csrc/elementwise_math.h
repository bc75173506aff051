// Elementwise math of one element, shared by the CPU kernels (csrc/cpu/elementwise.cpp) and
// the CUDA kernels (csrc/cuda/elementwise.cu), so that both devices compute the same thing.
#pragma once
#include <cmath>

#include "core/host_device.h"

namespace fg {

// x clamped to [lo, hi] as PyTorch's min(max(x, lo), hi): hi wins where lo > hi, and NaN
// stays NaN (every comparison with it is false).
FG_HOST_DEVICE inline float clamp_value(float x, float lo, float hi) {
  float at_least_lo = x < lo ? lo : x;
  return at_least_lo > hi ? hi : at_least_lo;
}

// The gradient passes where lo <= x <= hi (nowhere when lo > hi), as in PyTorch.
FG_HOST_DEVICE inline float clamp_gradient(float dy, float x, float lo, float hi) {
  return x >= lo && x <= hi ? dy : 0.0f;
}

// True where pow may run in float32 (twice as fast as double): the exponent is a float32
// value below 2**24, so an integral one keeps its parity in e and e - 1. Elsewhere pow runs
// in double, since float32 would round the exponent ((-1) ** 2147483647 is -1; as a float32
// the exponent is the even 2**31).
FG_HOST_DEVICE inline bool exponent_fits_float32(double exponent) {
  return static_cast<double>(static_cast<float>(exponent)) == exponent &&
         fabs(exponent) < 16777216.0;
}

FG_HOST_DEVICE inline float pow_value(float x, double exponent) {
  if (exponent_fits_float32(exponent)) return powf(x, static_cast<float>(exponent));
  return static_cast<float>(pow(static_cast<double>(x), exponent));
}

// d(x ** e)/dx = e * x ** (e - 1); 0 where e is 0, as in PyTorch.
FG_HOST_DEVICE inline float pow_gradient(float dy, float x, double exponent) {
  if (exponent == 0.0) return 0.0f;
  if (exponent_fits_float32(exponent)) {
    float e = static_cast<float>(exponent);
    return dy * e * powf(x, e - 1.0f);
  }
  return static_cast<float>(dy * exponent * pow(static_cast<double>(x), exponent - 1.0));
}

}  // namespace fg
