// The kernel catalogue: every cpu:: and cuda:: kernel, with its shapes (kernel_list.h, one
// list declared in both namespaces). Kernels take raw, contiguous, row-major buffers of their
// device: outputs first, const inputs, sizes last. Gradients are named d<name>. CUDA kernels
// launch on the current device's default stream and check every launch.
#pragma once
#include <cstdint>

#include "core/half.h"
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
// writes inside its namespace: cast (csrc/cpu/cast.cpp, csrc/cuda/cast.cu) for every pair of
// the 10 dtypes and fill for each, swap_axes for every element size.
#define FG_INSTANTIATE_CAST(Dst, Src) template void cast<Dst, Src>(Dst*, const Src*, int64_t);
#define FG_INSTANTIATE_CASTS_TO(Dst)                                                       \
  FG_INSTANTIATE_CAST(Dst, float) FG_INSTANTIATE_CAST(Dst, double)                         \
  FG_INSTANTIATE_CAST(Dst, Half) FG_INSTANTIATE_CAST(Dst, BFloat16)                        \
  FG_INSTANTIATE_CAST(Dst, int64_t) FG_INSTANTIATE_CAST(Dst, int32_t)                      \
  FG_INSTANTIATE_CAST(Dst, int16_t) FG_INSTANTIATE_CAST(Dst, int8_t)                       \
  FG_INSTANTIATE_CAST(Dst, uint8_t) FG_INSTANTIATE_CAST(Dst, bool)                         \
  template void fill<Dst>(Dst*, Dst, int64_t);
#define FG_INSTANTIATE_CASTS()                                                             \
  FG_INSTANTIATE_CASTS_TO(float) FG_INSTANTIATE_CASTS_TO(double)                           \
  FG_INSTANTIATE_CASTS_TO(Half) FG_INSTANTIATE_CASTS_TO(BFloat16)                          \
  FG_INSTANTIATE_CASTS_TO(int64_t) FG_INSTANTIATE_CASTS_TO(int32_t)                        \
  FG_INSTANTIATE_CASTS_TO(int16_t) FG_INSTANTIATE_CASTS_TO(int8_t)                         \
  FG_INSTANTIATE_CASTS_TO(uint8_t) FG_INSTANTIATE_CASTS_TO(bool)
#define FG_INSTANTIATE_SWAP_AXES_FOR(T) \
  template void swap_axes<T>(T*, const T*, int64_t, int64_t, int64_t, int64_t, int64_t);
#define FG_INSTANTIATE_SWAP_AXES() \
  FG_INSTANTIATE_SWAP_AXES_FOR(float) FG_INSTANTIATE_SWAP_AXES_FOR(int64_t) \
  FG_INSTANTIATE_SWAP_AXES_FOR(uint16_t) FG_INSTANTIATE_SWAP_AXES_FOR(uint8_t)

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
