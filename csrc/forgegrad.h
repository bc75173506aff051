// forgegrad's C++ core in one include, for programs that use it without Python
// (find_package(forgegrad), target forgegrad::core; docs/cpp.md): tensors and their dtypes
// and devices, the public ops with autograd (fg::ops, ops/ops.h), and checkpoint loading.
#pragma once
#include "autograd/node.h"
#include "core/error.h"
#include "core/safetensors.h"
#include "core/tensor.h"
#include "ops/ops.h"
