// fg::Half (IEEE 754 binary16) and fg::BFloat16 (the top half of a float32): 2-byte storage
// types for host and device code. Math on them happens in float: each converts implicitly to
// float, and from float (or double) rounding to nearest, ties to even, with NaN kept (as a
// quiet NaN), infinities kept, overflow to infinity and subnormals exact. The conversions are
// integer bit manipulation, so they do not depend on the FPU's rounding or flush-to-zero mode.
#pragma once
#include <cstdint>
#include <cstring>

#include "core/host_device.h"

namespace fg {

FG_HOST_DEVICE inline uint32_t float_bits(float x) {
#if defined(__CUDA_ARCH__)
  return __float_as_uint(x);
#else
  uint32_t bits;
  std::memcpy(&bits, &x, sizeof bits);
  return bits;
#endif
}

FG_HOST_DEVICE inline float float_from_bits(uint32_t bits) {
#if defined(__CUDA_ARCH__)
  return __uint_as_float(bits);
#else
  float x;
  std::memcpy(&x, &bits, sizeof x);
  return x;
#endif
}

// d rounded to a float with round-to-odd: inexact results get an odd last bit, so a second
// rounding to a narrower format (11 or 8 significant bits against float's 24) rounds as if
// from d itself, with no double-rounding error.
FG_HOST_DEVICE inline float float_round_to_odd(double d) {
  float f = static_cast<float>(d);  // out of range: +-inf, as IEEE 754 says
  if (d != d || static_cast<double>(f) == d) return f;
  uint32_t bits = float_bits(f);
  if (bits & 1u) return f;
  bool too_big = (f < 0 ? -static_cast<double>(f) : static_cast<double>(f)) > (d < 0 ? -d : d);
  return float_from_bits(too_big ? bits - 1u : bits + 1u);
}

FG_HOST_DEVICE inline uint16_t float_to_half_bits(float value) {
  uint32_t x = float_bits(value);
  uint16_t sign = static_cast<uint16_t>((x >> 16) & 0x8000u);
  x &= 0x7fffffffu;
  if (x > 0x7f800000u)  // NaN: quiet, top payload bits kept
    return static_cast<uint16_t>(sign | 0x7e00u | ((x >> 13) & 0x3ffu));
  if (x >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520: inf
  if (x < 0x38800000u) {                // below 2**-14: a half subnormal, or zero
    if (x <= 0x33000000u) return sign;  // at most 2**-25: ties to the even zero
    uint32_t exponent = x >> 23, mantissa = (x & 0x7fffffu) | 0x800000u;
    uint32_t shift = 126 - exponent;  // 14..24
    uint32_t h = mantissa >> shift, rest = mantissa & ((1u << shift) - 1), half = 1u << (shift - 1);
    if (rest > half || (rest == half && (h & 1u))) ++h;
    return static_cast<uint16_t>(sign | h);
  }
  uint32_t h = (x - 0x38000000u) >> 13, rest = x & 0x1fffu;  // exponent rebiased 127 -> 15
  if (rest > 0x1000u || (rest == 0x1000u && (h & 1u))) ++h;  // a carry moves the exponent up
  return static_cast<uint16_t>(sign | h);
}

FG_HOST_DEVICE inline float half_bits_to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  uint32_t exponent = (h >> 10) & 0x1fu, mantissa = h & 0x3ffu;
  if (exponent == 0x1f) return float_from_bits(sign | 0x7f800000u | (mantissa << 13));
  if (exponent == 0) {
    if (mantissa == 0) return float_from_bits(sign);
    exponent = 113;  // a subnormal: normalized for float, which holds it exactly
    while (!(mantissa & 0x400u)) mantissa <<= 1, --exponent;
    return float_from_bits(sign | (exponent << 23) | ((mantissa & 0x3ffu) << 13));
  }
  return float_from_bits(sign | ((exponent + 112) << 23) | (mantissa << 13));
}

FG_HOST_DEVICE inline uint16_t float_to_bfloat16_bits(float value) {
  uint32_t x = float_bits(value);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x40u);  // NaN
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);  // overflow: inf
}

FG_HOST_DEVICE inline float bfloat16_bits_to_float(uint16_t b) {
  return float_from_bits(static_cast<uint32_t>(b) << 16);
}

struct Half {
  uint16_t bits;
  Half() = default;
  FG_HOST_DEVICE Half(float value) : bits(float_to_half_bits(value)) {}
  FG_HOST_DEVICE Half(double value) : bits(float_to_half_bits(float_round_to_odd(value))) {}
  FG_HOST_DEVICE operator float() const { return half_bits_to_float(bits); }
  FG_HOST_DEVICE static Half from_bits(uint16_t b) {
    Half h;
    h.bits = b;
    return h;
  }
};

struct BFloat16 {
  uint16_t bits;
  BFloat16() = default;
  FG_HOST_DEVICE BFloat16(float value) : bits(float_to_bfloat16_bits(value)) {}
  FG_HOST_DEVICE BFloat16(double value) : bits(float_to_bfloat16_bits(float_round_to_odd(value))) {}
  FG_HOST_DEVICE operator float() const { return bfloat16_bits_to_float(bits); }
  FG_HOST_DEVICE static BFloat16 from_bits(uint16_t b) {
    BFloat16 h;
    h.bits = b;
    return h;
  }
};

static_assert(sizeof(Half) == 2 && sizeof(BFloat16) == 2, "2-byte storage types");

}  // namespace fg
