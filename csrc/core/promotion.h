// PyTorch's type promotion. promote_types is the lattice on two dtypes
// (bool < the integers < float16, bfloat16 < float32 < float64, with uint8 + int8 -> int16
// and float16 + bfloat16 -> float32). result_type adds PyTorch's category rule over an op's
// operands: among the categories bool < integral < floating, the highest category present
// decides, and inside it dimensioned tensors outrank 0-d tensors, which outrank Python
// numbers; a 0-d tensor or a number only lifts the category. So int64 tensor + 2.5 is
// float32 (a Python float counts as the default dtype, float32), float16 tensor + 0-d
// float64 tensor is float16, int32 tensor + 0-d int64 tensor is int32, bool tensor + 1 is
// int64.
#pragma once
#include <vector>

#include "core/dtype.h"

namespace fg {

constexpr DType kDefaultFloatDType = DType::Float32;

DType promote_types(DType a, DType b);

// Whether PyTorch lets an op's result of dtype `from` be written into a tensor of dtype `to`
// (in-place ops, out=): not floating into integral, not numbers into bool.
bool can_cast(DType from, DType to);

enum class OperandKind { Dimensioned, ZeroDim, Number };
struct PromotionOperand {
  DType dtype;  // a Python number's: bool, int64 or float64
  OperandKind kind;
};

// The dtype of an op's result over its operands (at least one).
DType result_type(const std::vector<PromotionOperand>& operands);

}  // namespace fg
