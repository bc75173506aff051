// CUDA device queries, callable from C++ without CUDA headers.
#pragma once
#include <string>

namespace fg::cuda {

int device_count();             // 0 when there is no driver or no GPU
std::string device_name(int index);

}  // namespace fg::cuda
