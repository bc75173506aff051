// AVX2 + FMA micro-kernel of the CPU GEMM. Compiled with -mavx2 -mfma; gemm.cpp calls it
// only when fg::active_isa() reports AVX2. Partial columns use maskload / maskstore, full
// ones plain loads and stores (a masked store is microcoded and slow on AMD before Zen 4).
#include <immintrin.h>

#include "cpu/gemm_kernels.h"

namespace fg::cpu {
namespace {

constexpr int MR = kAvx2MR, NR = kAvx2NR;

// The 16 columns of a C row (or of the bias): all, or those whose mask lane is on.
struct Columns {
  bool all;
  __m256i mask0, mask1;
  void load(const float* p, __m256& v0, __m256& v1) const {
    v0 = all ? _mm256_loadu_ps(p) : _mm256_maskload_ps(p, mask0);
    v1 = all ? _mm256_loadu_ps(p + 8) : _mm256_maskload_ps(p + 8, mask1);
  }
  void store(float* p, __m256 v0, __m256 v1) const {
    if (all) {
      _mm256_storeu_ps(p, v0);
      _mm256_storeu_ps(p + 8, v1);
    } else {
      _mm256_maskstore_ps(p, mask0, v0);
      _mm256_maskstore_ps(p + 8, mask1, v1);
    }
  }
};

// a_panel (kc, 6), b_panel (kc, 16) -> c tile (ROWS, the given columns of 16)
// Per k: two loads of B, ROWS broadcasts of A, 2 ROWS FMAs into the accumulators; at 6
// rows that is enough independent FMAs to cover their latency on both FMA ports.
template <int ROWS>
void tile(float* c, const float* a_panel, const float* b_panel, const float* bias, bool load_c,
          bool relu, int64_t ldc, int64_t kc, const Columns& columns) {
  // The C rows are needed only after the k loop; fetching them now hides the miss.
  for (int i = 0; i < ROWS; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }

  __m256 acc0[ROWS], acc1[ROWS];  // columns 0..7 and 8..15 of each row
#pragma GCC unroll 6
  for (int i = 0; i < ROWS; ++i) acc0[i] = acc1[i] = _mm256_setzero_ps();

  const float* a = a_panel;
  const float* b = b_panel;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    __m256 b0 = _mm256_load_ps(b);
    __m256 b1 = _mm256_load_ps(b + 8);
#pragma GCC unroll 6
    for (int i = 0; i < ROWS; ++i) {
      __m256 ai = _mm256_broadcast_ss(a + i);
      acc0[i] = _mm256_fmadd_ps(ai, b0, acc0[i]);
      acc1[i] = _mm256_fmadd_ps(ai, b1, acc1[i]);
    }
    a += MR;
    b += NR;
  }

  if (bias) {
    __m256 bias0, bias1;
    columns.load(bias, bias0, bias1);
#pragma GCC unroll 6
    for (int i = 0; i < ROWS; ++i) {
      acc0[i] = _mm256_add_ps(acc0[i], bias0);
      acc1[i] = _mm256_add_ps(acc1[i], bias1);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < ROWS; ++i) {
    float* row = c + i * ldc;
    if (load_c) {
      __m256 c0, c1;
      columns.load(row, c0, c1);
      acc0[i] = _mm256_add_ps(acc0[i], c0);
      acc1[i] = _mm256_add_ps(acc1[i], c1);
    }
    if (relu) {  // max(0, v) is v when v is NaN, as relu_forward
      acc0[i] = _mm256_max_ps(_mm256_setzero_ps(), acc0[i]);
      acc1[i] = _mm256_max_ps(_mm256_setzero_ps(), acc1[i]);
    }
    columns.store(row, acc0[i], acc1[i]);
  }
}

using Tile = void (*)(float*, const float*, const float*, const float*, bool, bool, int64_t,
                      int64_t, const Columns&);
constexpr Tile kTiles[MR] = {tile<1>, tile<2>, tile<3>, tile<4>, tile<5>, tile<6>};

}  // namespace

void gemm_micro_kernel_avx2(float* c, const float* a_panel, const float* b_panel, const float* bias,
                            bool load_c, bool relu, int64_t ldc, int64_t kc, int rows, int cols) {
  // Lane j of the two masks is on (sign bit set) when column j < cols.
  const __m256i lane0 = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const __m256i lane1 = _mm256_setr_epi32(8, 9, 10, 11, 12, 13, 14, 15);
  __m256i limit = _mm256_set1_epi32(cols);
  Columns columns{cols >= NR, _mm256_cmpgt_epi32(limit, lane0), _mm256_cmpgt_epi32(limit, lane1)};
  kTiles[rows - 1](c, a_panel, b_panel, bias, load_c, relu, ldc, kc, columns);
}

}  // namespace fg::cpu
