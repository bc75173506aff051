// Micro-kernels of the CPU GEMM, private to csrc/cpu/gemm*.cpp. Each one computes one tile
// of C, up to MR x NR, from two packed panels that the driver (gemm.cpp) prepares:
//   a_panel (kc, MR): column i of op(A) rows i0..i0+MR, stored k-major: a_panel[k * MR + i]
//   b_panel (kc, NR): row k of op(B) columns j0..j0+NR, stored k-major: b_panel[k * NR + j]
// Both are 64-byte aligned and zero-padded past the edges of A and B. An edge tile of
// rows < MR runs a kernel instance unrolled for exactly that many rows, so it costs in
// proportion to its rows; columns past `cols` are neither loaded nor stored (masks).
// Each instruction set has a float and a double kernel (T below), with the same register
// block counted in vectors: NR is two vectors of T wide.
//
// Only declarations live here: the AVX2 and AVX-512 kernels are compiled with wider
// instruction-set flags, and an inline function shared through this header could be
// emitted with those flags and picked by the linker for the baseline code. They exist only
// in x86-64 builds: call them under #if FG_X86_64_KERNELS (core/cpu_features.h).
#pragma once
#include <cstdint>

namespace fg::cpu {

// a_panel (kc, MR), b_panel (kc, NR) -> c tile (rows, cols), row stride ldc, with
// 1 <= rows <= MR and 1 <= cols <= NR:
//   c = a_panel^T @ b_panel  [+ c if load_c]  [+ bias (cols) on every row if bias != nullptr]
// then, if relu, c = max(c, 0) with NaN kept (as cpu::relu_forward).
template <class T>
using GemmMicroKernel = void (*)(T* c, const T* a_panel, const T* b_panel, const T* bias,
                                 bool load_c, bool relu, int64_t ldc, int64_t kc, int rows,
                                 int cols);

// AVX2 + FMA (gemm_avx2.cpp): 12 of the 16 ymm registers hold the tile, 6 rows of two
// vectors: 6 x 16 floats or 6 x 8 doubles.
template <class T>
struct Avx2Block {
  static constexpr int MR = 6, NR = 2 * 32 / sizeof(T);
};
void gemm_micro_kernel_avx2(float* c, const float* a_panel, const float* b_panel, const float* bias,
                            bool load_c, bool relu, int64_t ldc, int64_t kc, int rows, int cols);
void gemm_micro_kernel_avx2(double* c, const double* a_panel, const double* b_panel,
                            const double* bias, bool load_c, bool relu, int64_t ldc, int64_t kc,
                            int rows, int cols);

// AVX-512 (gemm_avx512.cpp): 24 of the 32 zmm registers hold the tile, 12 rows of two
// vectors: 12 x 32 floats or 12 x 16 doubles.
template <class T>
struct Avx512Block {
  static constexpr int MR = 12, NR = 2 * 64 / sizeof(T);
};
void gemm_micro_kernel_avx512(float* c, const float* a_panel, const float* b_panel,
                              const float* bias, bool load_c, bool relu, int64_t ldc, int64_t kc,
                              int rows, int cols);
void gemm_micro_kernel_avx512(double* c, const double* a_panel, const double* b_panel,
                              const double* bias, bool load_c, bool relu, int64_t ldc, int64_t kc,
                              int rows, int cols);

}  // namespace fg::cpu
