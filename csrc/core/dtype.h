// Element types: PyTorch's set. float32 and float64 do math; float16 and bfloat16 are
// storage (fg::Half, fg::BFloat16, converted through float); int64 holds class labels and
// indices; the other integers and bool hold data and masks. Sizes come from the table, never
// from an assumption of 4 bytes. CppType<DType::X>::type is the C++ element type of X and
// dtype_of<T>() the way back; core/dispatch.h turns a run-time dtype into one of them.
#pragma once
#include <cstddef>
#include <cstdint>

#include "core/half.h"

namespace fg {

// The values of the first four are kept as they were (nothing may depend on them, but
// nothing needs to change either).
enum class DType : uint8_t {
  Float32 = 0,
  Int64 = 1,
  Bool = 2,
  UInt8 = 3,
  Float64 = 4,
  Float16 = 5,
  BFloat16 = 6,
  Int32 = 7,
  Int16 = 8,
  Int8 = 9,
};
constexpr int kDTypeCount = 10;

// name, C++ type, in DType order: one table for the size, name and type lookups below.
#define FG_FOR_EACH_DTYPE(X)                                                               \
  X(Float32, float, "float32") X(Int64, int64_t, "int64") X(Bool, bool, "bool")             \
  X(UInt8, uint8_t, "uint8") X(Float64, double, "float64") X(Float16, ::fg::Half, "float16") \
  X(BFloat16, ::fg::BFloat16, "bfloat16") X(Int32, int32_t, "int32")                         \
  X(Int16, int16_t, "int16") X(Int8, int8_t, "int8")

template <DType D>
struct CppType;
#define FG_CPP_TYPE(name, T, text) \
  template <>                      \
  struct CppType<DType::name> {    \
    using type = T;                \
  };
FG_FOR_EACH_DTYPE(FG_CPP_TYPE)
#undef FG_CPP_TYPE

template <typename T>
constexpr DType dtype_of();
#define FG_DTYPE_OF(name, T, text) \
  template <>                      \
  constexpr DType dtype_of<T>() {  \
    return DType::name;            \
  }
FG_FOR_EACH_DTYPE(FG_DTYPE_OF)
#undef FG_DTYPE_OF

inline size_t dtype_size(DType dtype) {
#define FG_DTYPE_SIZE(name, T, text) sizeof(T),
  static constexpr size_t sizes[] = { FG_FOR_EACH_DTYPE(FG_DTYPE_SIZE) };
#undef FG_DTYPE_SIZE
  return sizes[static_cast<int>(dtype)];
}

inline const char* dtype_name(DType dtype) {
#define FG_DTYPE_NAME(name, T, text) text,
  static constexpr const char* names[] = { FG_FOR_EACH_DTYPE(FG_DTYPE_NAME) };
#undef FG_DTYPE_NAME
  return names[static_cast<int>(dtype)];
}

inline bool is_floating(DType dtype) {
  return dtype == DType::Float32 || dtype == DType::Float64 || dtype == DType::Float16 ||
         dtype == DType::BFloat16;
}

inline bool is_integral(DType dtype, bool include_bool) {
  return dtype == DType::Bool ? include_bool : !is_floating(dtype);
}

}  // namespace fg
