// The value of one element cast to another dtype, written once for both devices
// (csrc/cpu/cast.cpp, csrc/cuda/cast.cu).
//
// Rules (PyTorch leaves the out-of-range ones implementation-defined; these never hit
// undefined behaviour, and are what CUDA's cvt.rzi.sat conversions do, so the CPU and the
// GPU agree):
//   floating -> integer: truncated toward zero; NaN -> 0; beyond the integer's range ->
//     its minimum or maximum (saturation: 1e10 -> int32 2147483647, -1.0 -> uint8 0).
//   anything -> bool: x != 0 (NaN -> true).
//   integer -> integer: modulo 2**bits (300 -> uint8 44), as PyTorch and numpy.
//   -> float16 / bfloat16: rounded to nearest even from the exact value (a float64 source
//     is not rounded twice: core/half.h), overflow -> +-inf.
//   float16 / bfloat16 -> anything: through float32, which holds them exactly.
#pragma once
#include <cstdint>
#include <type_traits>

#include "core/half.h"
#include "core/host_device.h"

namespace fg {

template <typename T>
constexpr bool is_storage_float_v = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

// x truncated toward zero to the integer type Int; NaN -> 0, out of range saturates.
template <typename Int>
FG_HOST_DEVICE inline Int float_to_integer(double x) {
  constexpr bool is_signed = Int(-1) < Int(0);
  constexpr int value_bits = 8 * int(sizeof(Int)) - (is_signed ? 1 : 0);  // at most 63
  // The first value past the top, and the bottom: powers of two, exact in a double.
  constexpr double above = double(uint64_t(1) << value_bits);
  constexpr double bottom = is_signed ? -above : 0.0;
  if (x != x) return Int(0);
  if (x >= above) return Int((uint64_t(1) << value_bits) - 1);
  if (x <= bottom) return Int(bottom);
  return static_cast<Int>(x);
}

template <typename Dst, typename Src>
FG_HOST_DEVICE inline Dst cast_value(Src x) {
  if constexpr (is_storage_float_v<Src>)
    return cast_value<Dst>(static_cast<float>(x));
  else if constexpr (std::is_same_v<Dst, bool>)
    return x != Src(0);
  else if constexpr (is_storage_float_v<Dst> && std::is_floating_point_v<Src>)
    return Dst(x);
  else if constexpr (is_storage_float_v<Dst>)
    return Dst(static_cast<double>(x));
  else if constexpr (std::is_floating_point_v<Src> && std::is_integral_v<Dst>)
    return float_to_integer<Dst>(static_cast<double>(x));
  else
    return static_cast<Dst>(x);
}

}  // namespace fg
