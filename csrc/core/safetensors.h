// Reading safetensors files (https://github.com/huggingface/safetensors): what
// forgegrad.save writes, and what other tools export. For C++ programs that load a checkpoint
// without Python (docs/cpp.md); Python reads the format with the safetensors package.
#pragma once
#include <map>
#include <string>

#include "core/tensor.h"

namespace fg {

// Every tensor of the file at `path`, by name: CPU tensors in their own dtype (F64, F32, F16,
// BF16, I64, I32, I16, I8, U8, BOOL), not requiring grad. A file that is not safetensors, is
// cut short, or holds another dtype raises ValueError "[load_safetensors] ..." naming the file
// and what is wrong; a file that cannot be read raises RuntimeError.
std::map<std::string, Tensor> load_safetensors(const std::string& path);

}  // namespace fg
