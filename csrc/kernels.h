// The kernel catalogue: every cpu:: and cuda:: kernel, with its shapes (kernel_list.h, one
// list declared in both namespaces). Kernels take raw, contiguous, row-major buffers of their
// device: outputs first, const inputs, sizes last. Gradients are named d<name>. CUDA kernels
// launch on the current device's default stream and check every launch.
#pragma once
#include <cstdint>

#include "core/host_device.h"

namespace fg {

enum class BinaryOp { Add, Sub, Mul, Div };
enum class CompareOp { Eq, Ne, Lt, Le, Gt, Ge };

// Hyperparameters of the fused optimizer updates (the formulas of PyTorch's documentation).
struct SgdOptions {
  double lr, momentum, dampening, weight_decay;
  bool nesterov, maximize;
};
struct AdamOptions {
  double lr, beta1, beta2, eps, weight_decay;
  bool amsgrad, maximize;
  bool decoupled_weight_decay;  // AdamW: p *= 1 - lr * weight_decay, instead of g += wd * p
};

// Whether a loss kernel's target is one of C classes. The ops check targets before each
// kernel, so one outside [0, C) comes from a write they could not see (numpy's into a
// from_numpy target, another thread's): its row's losses and gradients become NaN, and
// nothing outside the row is read or written.
FG_HOST_DEVICE inline bool is_class(int64_t target, int64_t C) { return target >= 0 && target < C; }

}  // namespace fg

// The instantiations of the templated kernels, which each device's file that defines them
// writes inside its namespace: cast and fill for every dtype pair.
#define FG_INSTANTIATE_CAST_TO(Dst)                                \
  template void cast<Dst, float>(Dst*, const float*, int64_t);     \
  template void cast<Dst, int64_t>(Dst*, const int64_t*, int64_t); \
  template void cast<Dst, bool>(Dst*, const bool*, int64_t);       \
  template void cast<Dst, uint8_t>(Dst*, const uint8_t*, int64_t); \
  template void fill<Dst>(Dst*, Dst, int64_t);
#define FG_INSTANTIATE_CASTS() \
  FG_INSTANTIATE_CAST_TO(float)  \
  FG_INSTANTIATE_CAST_TO(int64_t) FG_INSTANTIATE_CAST_TO(bool) FG_INSTANTIATE_CAST_TO(uint8_t)

namespace fg::cpu {

// The FG_SIMD clone that elementwise, activation and optimizer loops run on this CPU:
// "x86-64-v4" (AVX-512), "x86-64-v3" (AVX2 + FMA) or "default" (csrc/cpu/simd_clone.cpp).
const char* simd_clone();

#include "kernel_list.h"

}  // namespace fg::cpu

// Defined only in a build with CUDA (csrc/cuda/*.cu); ops reach them through FG_KERNEL.
namespace fg::cuda {

#include "kernel_list.h"

}  // namespace fg::cuda
