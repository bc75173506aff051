// AVX2 + FMA micro-kernel of the CPU GEMM. Compiled with -mavx2 -mfma; gemm.cpp calls it
// only when fg::active_isa() reports AVX2.
#include <immintrin.h>

#include "cpu/gemm_kernels.h"

namespace fg::cpu {

// a_panel (kc, 6), b_panel (kc, 16) -> c tile (6, 16), row stride ldc
// Per k: two loads of B, six broadcasts of A, twelve FMAs into the accumulators, which is
// enough independent FMAs to cover their latency on both FMA ports.
void gemm_micro_kernel_avx2(float* c, const float* a_panel, const float* b_panel,
                            const float* bias, bool load_c, int64_t ldc, int64_t kc) {
  constexpr int MR = kAvx2MR, NR = kAvx2NR;
  // The C rows are needed only after the k loop; fetching them now hides the miss.
  for (int i = 0; i < MR; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }

  __m256 acc0[MR], acc1[MR];  // columns 0..7 and 8..15 of each row
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) acc0[i] = acc1[i] = _mm256_setzero_ps();

  const float* a = a_panel;
  const float* b = b_panel;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_load_ps(b);
    __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      __m256 ai = _mm256_broadcast_ss(a + i);
      acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
    }
    a += MR;
    b += NR;
  }

  if (bias) {
    __m256 bias0 = _mm256_loadu_ps(bias), bias1 = _mm256_loadu_ps(bias + 8);
#pragma GCC unroll 6
    for (int i = 0; i < MR; ++i) {
      acc0[i] = _mm256_add_ps(acc0[i], bias0);
      acc1[i] = _mm256_add_ps(acc1[i], bias1);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < MR; ++i) {
    float* row = c + i * ldc;
    if (load_c) {
      acc0[i] = _mm256_add_ps(acc0[i], _mm256_loadu_ps(row));
      acc1[i] = _mm256_add_ps(acc1[i], _mm256_loadu_ps(row + 8));
    }
    _mm256_storeu_ps(row, acc0[i]);
    _mm256_storeu_ps(row + 8, acc1[i]);
  }
}

}  // namespace fg::cpu
