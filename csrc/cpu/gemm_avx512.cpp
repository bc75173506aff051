// AVX-512 micro-kernel of the CPU GEMM. Compiled with the AVX-512 F/BW/DQ/VL and FMA flags;
// gemm.cpp calls it only when fg::active_isa() reports AVX-512. It mirrors the AVX2 kernel
// with vectors twice as wide and twice as many rows.
#include <immintrin.h>

#include "cpu/gemm_kernels.h"

namespace fg::cpu {

// a_panel (kc, 12), b_panel (kc, 32) -> c tile (12, 32), row stride ldc
// Per k: two loads of B, twelve broadcasts of A, twenty-four FMAs into the accumulators;
// 24 accumulators + 2 B vectors + 1 broadcast fit in the 32 zmm registers.
void gemm_micro_kernel_avx512(float* c, const float* a_panel, const float* b_panel,
                              const float* bias, bool load_c, int64_t ldc, int64_t kc) {
  constexpr int MR = kAvx512MR, NR = kAvx512NR;
  // The C rows are needed only after the k loop; fetching them now hides the miss.
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }

  __m512 acc0[MR], acc1[MR];  // columns 0..15 and 16..31 of each row
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) acc0[i] = acc1[i] = _mm512_setzero_ps();

  const float* a = a_panel;
  const float* b = b_panel;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    __m512 b0 = _mm512_load_ps(b);
    __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      __m512 ai = _mm512_set1_ps(a[i]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
    a += MR;
    b += NR;
  }

  if (bias) {
    __m512 bias0 = _mm512_loadu_ps(bias), bias1 = _mm512_loadu_ps(bias + 16);
#pragma GCC unroll 12
    for (int i = 0; i < MR; ++i) {
      acc0[i] = _mm512_add_ps(acc0[i], bias0);
      acc1[i] = _mm512_add_ps(acc1[i], bias1);
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < MR; ++i) {
    float* row = c + i * ldc;
    if (load_c) {
      acc0[i] = _mm512_add_ps(acc0[i], _mm512_loadu_ps(row));
      acc1[i] = _mm512_add_ps(acc1[i], _mm512_loadu_ps(row + 16));
    }
    _mm512_storeu_ps(row, acc0[i]);
    _mm512_storeu_ps(row + 16, acc1[i]);
  }
}

}  // namespace fg::cpu
