#include "core/promotion.h"

#include <optional>

#include "core/error.h"

namespace fg {

static bool is_unsigned(DType d) { return d == DType::UInt8; }

DType promote_types(DType a, DType b) {
  if (a == b) return a;
  if (a == DType::Bool) return b;
  if (b == DType::Bool) return a;
  bool a_float = is_floating(a), b_float = is_floating(b);
  if (a_float != b_float) return a_float ? a : b;
  if (a_float) {
    bool both_16_bit = dtype_size(a) == 2 && dtype_size(b) == 2;  // float16 and bfloat16
    if (both_16_bit) return DType::Float32;
    return dtype_size(a) > dtype_size(b) ? a : b;
  }
  if (is_unsigned(a) != is_unsigned(b)) {  // uint8 and a signed integer
    DType signed_type = is_unsigned(a) ? b : a;
    return signed_type == DType::Int8 ? DType::Int16 : signed_type;
  }
  return dtype_size(a) > dtype_size(b) ? a : b;
}

bool can_cast(DType from, DType to) {
  if (is_floating(from) && !is_floating(to)) return false;
  return !(from != DType::Bool && to == DType::Bool);
}

static std::optional<DType> promote(std::optional<DType> a, std::optional<DType> b) {
  if (!a) return b;
  if (!b) return a;
  return promote_types(*a, *b);
}

// PyTorch's combine_categories: the higher-ranked group's dtype, unless the lower group is of
// a higher category (bool below integral below floating).
static std::optional<DType> combine_categories(std::optional<DType> higher,
                                               std::optional<DType> lower) {
  if (higher && is_floating(*higher)) return higher;
  if ((higher && *higher == DType::Bool) || (lower && is_floating(*lower)))
    return promote(higher, lower);
  return higher ? higher : lower;
}

DType result_type(const std::vector<PromotionOperand>& operands) {
  FG_CHECK(!operands.empty(), ValueError, "[result_type] expected at least one operand");
  std::optional<DType> dimensioned, zero_dim, number;
  for (const PromotionOperand& operand : operands) {
    switch (operand.kind) {
      case OperandKind::Dimensioned: dimensioned = promote(dimensioned, operand.dtype); break;
      case OperandKind::ZeroDim: zero_dim = promote(zero_dim, operand.dtype); break;
      case OperandKind::Number:
        number = promote(number, is_floating(operand.dtype) ? kDefaultFloatDType : operand.dtype);
        break;
    }
  }
  return *combine_categories(dimensioned, combine_categories(zero_dim, number));
}

}  // namespace fg
