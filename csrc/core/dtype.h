// Element types. Math is float32; int64 holds class labels and indices; bool and uint8
// hold masks. Sizes come from the table, never from an assumption of 4 bytes.
#pragma once
#include <cstddef>
#include <cstdint>

namespace fg {

enum class DType : uint8_t { Float32 = 0, Int64 = 1, Bool = 2, UInt8 = 3 };

inline size_t dtype_size(DType dtype) {
  static constexpr size_t sizes[] = {4, 8, 1, 1};
  return sizes[static_cast<int>(dtype)];
}

inline const char* dtype_name(DType dtype) {
  static constexpr const char* names[] = {"float32", "int64", "bool", "uint8"};
  return names[static_cast<int>(dtype)];
}

}  // namespace fg
