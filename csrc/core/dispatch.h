// From a run-time dtype to code typed by its C++ element type. Each helper calls
// fn(TypeTag<T>{}) with T the dtype's type, and returns what fn returns:
//
//   dispatch_dtype(dtype, "op", [&](auto tag) {
//     using T = typename decltype(tag)::type;
//     FG_LAUNCH(fill, x.device(), x.data<T>(), T(1), x.numel());
//   });
//
//   dispatch_dtype       all 10 dtypes (float32, float64, float16, bfloat16, the integers, bool)
//   dispatch_floating    float32, float64: the dtypes with math kernels; TypeError otherwise,
//                        "[op] expected a floating-point tensor, got int64"
//   dispatch_arithmetic  float32, float64 and the integers (int64, int32, int16, int8, uint8);
//                        TypeError for bool, float16 and bfloat16
//
// float16 and bfloat16 are storage: an op that takes them converts to float32 first.
#pragma once
#include "core/dtype.h"
#include "core/error.h"

namespace fg {

template <typename T>
struct TypeTag {
  using type = T;
};

template <typename Fn>
decltype(auto) dispatch_dtype(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
#define FG_DISPATCH_CASE(name, T, text) \
  case DType::name:                     \
    return fn(TypeTag<T>{});
    FG_FOR_EACH_DTYPE(FG_DISPATCH_CASE)
#undef FG_DISPATCH_CASE
  }
  throw TypeError(std::string("[") + op + "] unknown dtype " +
                  std::to_string(static_cast<int>(dtype)));
}

template <typename Fn>
decltype(auto) dispatch_floating(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: return fn(TypeTag<float>{});
    case DType::Float64: return fn(TypeTag<double>{});
    default: break;
  }
  FG_CHECK(!is_floating(dtype), TypeError,
           "[" << op << "] expected a float32 or float64 tensor, got " << dtype_name(dtype)
               << " (a storage type: convert it with .float() first)");
  throw TypeError(std::string("[") + op + "] expected a floating-point tensor, got " +
                  dtype_name(dtype));
}

template <typename Fn>
decltype(auto) dispatch_arithmetic(DType dtype, const char* op, Fn&& fn) {
  switch (dtype) {
    case DType::Float32: return fn(TypeTag<float>{});
    case DType::Float64: return fn(TypeTag<double>{});
    case DType::Int64: return fn(TypeTag<int64_t>{});
    case DType::Int32: return fn(TypeTag<int32_t>{});
    case DType::Int16: return fn(TypeTag<int16_t>{});
    case DType::Int8: return fn(TypeTag<int8_t>{});
    case DType::UInt8: return fn(TypeTag<uint8_t>{});
    default: break;
  }
  throw TypeError(std::string("[") + op + "] expected a float32, float64 or integer tensor, got " +
                  dtype_name(dtype));
}

}  // namespace fg
