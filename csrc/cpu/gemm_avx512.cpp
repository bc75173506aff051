// AVX-512 micro-kernel of the CPU GEMM. Compiled with the AVX-512 F/BW/DQ/VL and FMA flags;
// gemm.cpp calls it only when fg::active_isa() reports AVX-512. It mirrors the AVX2 kernel
// with vectors twice as wide and twice as many rows; partial columns use lane masks.
#include <immintrin.h>

#include "cpu/gemm_kernels.h"

namespace fg::cpu {
namespace {

constexpr int MR = kAvx512MR, NR = kAvx512NR;

// a_panel (kc, 12), b_panel (kc, 32) -> c tile (ROWS, 32 masked by mask0 | mask1 << 16)
// Per k: two loads of B, ROWS broadcasts of A, 2 ROWS FMAs into the accumulators; at 12
// rows, 24 accumulators + 2 B vectors + 1 broadcast fit in the 32 zmm registers.
template <int ROWS>
void tile(float* c, const float* a_panel, const float* b_panel, const float* bias, bool load_c,
          bool relu, int64_t ldc, int64_t kc, __mmask16 mask0, __mmask16 mask1) {
  // The C rows are needed only after the k loop; fetching them now hides the miss.
  for (int i = 0; i < ROWS; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }

  __m512 acc0[ROWS], acc1[ROWS];  // columns 0..15 and 16..31 of each row
#pragma GCC unroll 12
  for (int i = 0; i < ROWS; ++i) acc0[i] = acc1[i] = _mm512_setzero_ps();

  const float* a = a_panel;
  const float* b = b_panel;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    __m512 b0 = _mm512_load_ps(b);
    __m512 b1 = _mm512_load_ps(b + 16);
#pragma GCC unroll 12
    for (int i = 0; i < ROWS; ++i) {
      __m512 ai = _mm512_set1_ps(a[i]);
      acc0[i] = _mm512_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm512_fmadd_ps(ai, b1, acc1[i]);
    }
    a += MR;
    b += NR;
  }

  if (bias) {
    __m512 bias0 = _mm512_maskz_loadu_ps(mask0, bias);
    __m512 bias1 = _mm512_maskz_loadu_ps(mask1, bias + 16);
#pragma GCC unroll 12
    for (int i = 0; i < ROWS; ++i) {
      acc0[i] = _mm512_add_ps(acc0[i], bias0);
      acc1[i] = _mm512_add_ps(acc1[i], bias1);
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < ROWS; ++i) {
    float* row = c + i * ldc;
    if (load_c) {
      acc0[i] = _mm512_add_ps(acc0[i], _mm512_maskz_loadu_ps(mask0, row));
      acc1[i] = _mm512_add_ps(acc1[i], _mm512_maskz_loadu_ps(mask1, row + 16));
    }
    if (relu) {  // max(0, v) is v when v is NaN, as relu_forward
      acc0[i] = _mm512_max_ps(_mm512_setzero_ps(), acc0[i]);
      acc1[i] = _mm512_max_ps(_mm512_setzero_ps(), acc1[i]);
    }
    _mm512_mask_storeu_ps(row, mask0, acc0[i]);
    _mm512_mask_storeu_ps(row + 16, mask1, acc1[i]);
  }
}

using Tile = void (*)(float*, const float*, const float*, const float*, bool, bool, int64_t,
                      int64_t, __mmask16, __mmask16);
constexpr Tile kTiles[MR] = {tile<1>, tile<2>, tile<3>, tile<4>,  tile<5>,  tile<6>,
                             tile<7>, tile<8>, tile<9>, tile<10>, tile<11>, tile<12>};

}  // namespace

void gemm_micro_kernel_avx512(float* c, const float* a_panel, const float* b_panel,
                              const float* bias, bool load_c, bool relu, int64_t ldc, int64_t kc,
                              int rows, int cols) {
  uint32_t lanes = cols >= NR ? 0xFFFFFFFFu : (1u << cols) - 1;
  kTiles[rows - 1](c, a_panel, b_panel, bias, load_c, relu, ldc, kc,
                   static_cast<__mmask16>(lanes & 0xFFFF), static_cast<__mmask16>(lanes >> 16));
}

}  // namespace fg::cpu
