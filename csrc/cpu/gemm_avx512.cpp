// AVX-512 micro-kernels of the CPU GEMM, float and double. Compiled with the AVX-512
// F/BW/DQ/VL and FMA flags; gemm.cpp calls them only when fg::active_isa() reports AVX-512.
// They mirror the AVX2 kernels with vectors twice as wide and twice as many rows; partial
// columns use lane masks.
#include <immintrin.h>

#include <iterator>
#include <type_traits>

#include "cpu/gemm_kernels.h"

namespace fg::cpu {
namespace {

// The zmm instructions for one element type: 16 floats or 8 doubles a vector, a lane mask
// of as many bits.
struct FloatVectors {
  using Vec = __m512;
  using Mask = __mmask16;
  static constexpr int kLanes = 16;
  static Vec zero() { return _mm512_setzero_ps(); }
  static Vec load(const float* p) { return _mm512_load_ps(p); }
  static Vec maskz_loadu(Mask m, const float* p) { return _mm512_maskz_loadu_ps(m, p); }
  static void mask_storeu(float* p, Mask m, Vec v) { _mm512_mask_storeu_ps(p, m, v); }
  static Vec broadcast(const float* p) { return _mm512_set1_ps(*p); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
  static Vec add(Vec a, Vec b) { return _mm512_add_ps(a, b); }
  static Vec max(Vec a, Vec b) { return _mm512_max_ps(a, b); }
};
struct DoubleVectors {
  using Vec = __m512d;
  using Mask = __mmask8;
  static constexpr int kLanes = 8;
  static Vec zero() { return _mm512_setzero_pd(); }
  static Vec load(const double* p) { return _mm512_load_pd(p); }
  static Vec maskz_loadu(Mask m, const double* p) { return _mm512_maskz_loadu_pd(m, p); }
  static void mask_storeu(double* p, Mask m, Vec v) { _mm512_mask_storeu_pd(p, m, v); }
  static Vec broadcast(const double* p) { return _mm512_set1_pd(*p); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm512_fmadd_pd(a, b, c); }
  static Vec add(Vec a, Vec b) { return _mm512_add_pd(a, b); }
  static Vec max(Vec a, Vec b) { return _mm512_max_pd(a, b); }
};

template <class T>
using VectorsOf = std::conditional_t<sizeof(T) == 4, FloatVectors, DoubleVectors>;

// a_panel (kc, MR), b_panel (kc, NR) -> c tile (ROWS, NR masked by mask0 | mask1 << kLanes)
// Per k: two loads of B, ROWS broadcasts of A, 2 ROWS FMAs into the accumulators; at 12
// rows, 24 accumulators + 2 B vectors + 1 broadcast fit in the 32 zmm registers.
template <class T, int ROWS>
void tile(T* c, const T* a_panel, const T* b_panel, const T* bias, bool load_c, bool relu,
          int64_t ldc, int64_t kc, typename VectorsOf<T>::Mask mask0,
          typename VectorsOf<T>::Mask mask1) {
  using V = VectorsOf<T>;
  constexpr int MR = Avx512Block<T>::MR, NR = Avx512Block<T>::NR, L = V::kLanes;
  // The C rows are needed only after the k loop; fetching them now hides the miss.
  for (int i = 0; i < ROWS; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }

  typename V::Vec acc0[ROWS], acc1[ROWS];  // the first and second vector of each row
#pragma GCC unroll 12
  for (int i = 0; i < ROWS; ++i) acc0[i] = acc1[i] = V::zero();

  const T* a = a_panel;
  const T* b = b_panel;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    typename V::Vec b0 = V::load(b);
    typename V::Vec b1 = V::load(b + L);
#pragma GCC unroll 12
    for (int i = 0; i < ROWS; ++i) {
      typename V::Vec ai = V::broadcast(a + i);
      acc0[i] = V::fmadd(ai, b0, acc0[i]);
      acc1[i] = V::fmadd(ai, b1, acc1[i]);
    }
    a += MR;
    b += NR;
  }

  if (bias) {
    typename V::Vec bias0 = V::maskz_loadu(mask0, bias);
    typename V::Vec bias1 = V::maskz_loadu(mask1, bias + L);
#pragma GCC unroll 12
    for (int i = 0; i < ROWS; ++i) {
      acc0[i] = V::add(acc0[i], bias0);
      acc1[i] = V::add(acc1[i], bias1);
    }
  }
#pragma GCC unroll 12
  for (int i = 0; i < ROWS; ++i) {
    T* row = c + i * ldc;
    if (load_c) {
      acc0[i] = V::add(acc0[i], V::maskz_loadu(mask0, row));
      acc1[i] = V::add(acc1[i], V::maskz_loadu(mask1, row + L));
    }
    if (relu) {  // max(0, v) is v when v is NaN, as relu_forward
      acc0[i] = V::max(V::zero(), acc0[i]);
      acc1[i] = V::max(V::zero(), acc1[i]);
    }
    V::mask_storeu(row, mask0, acc0[i]);
    V::mask_storeu(row + L, mask1, acc1[i]);
  }
}

template <class T>
void micro_kernel(T* c, const T* a_panel, const T* b_panel, const T* bias, bool load_c, bool relu,
                  int64_t ldc, int64_t kc, int rows, int cols) {
  using V = VectorsOf<T>;
  using Mask = typename V::Mask;
  using Tile = void (*)(T*, const T*, const T*, const T*, bool, bool, int64_t, int64_t, Mask, Mask);
  static constexpr Tile kTiles[] = {tile<T, 1>, tile<T, 2>,  tile<T, 3>,  tile<T, 4>,
                                    tile<T, 5>, tile<T, 6>,  tile<T, 7>,  tile<T, 8>,
                                    tile<T, 9>, tile<T, 10>, tile<T, 11>, tile<T, 12>};
  static_assert(std::size(kTiles) == Avx512Block<T>::MR);
  uint32_t lanes = cols >= 32 ? 0xFFFFFFFFu : (1u << cols) - 1;  // cols <= NR <= 32
  kTiles[rows - 1](c, a_panel, b_panel, bias, load_c, relu, ldc, kc, static_cast<Mask>(lanes),
                   static_cast<Mask>(lanes >> V::kLanes));
}

}  // namespace

void gemm_micro_kernel_avx512(float* c, const float* a_panel, const float* b_panel,
                              const float* bias, bool load_c, bool relu, int64_t ldc, int64_t kc,
                              int rows, int cols) {
  micro_kernel(c, a_panel, b_panel, bias, load_c, relu, ldc, kc, rows, cols);
}

void gemm_micro_kernel_avx512(double* c, const double* a_panel, const double* b_panel,
                              const double* bias, bool load_c, bool relu, int64_t ldc, int64_t kc,
                              int rows, int cols) {
  micro_kernel(c, a_panel, b_panel, bias, load_c, relu, ldc, kc, rows, cols);
}

}  // namespace fg::cpu
