// AVX2 + FMA micro-kernels of the CPU GEMM, float and double. Compiled with -mavx2 -mfma;
// gemm.cpp calls them only when fg::active_isa() reports AVX2. Partial columns use
// maskload / maskstore, full ones plain loads and stores (a masked store is microcoded and
// slow on AMD before Zen 4).
#include <immintrin.h>

#include <iterator>
#include <type_traits>

#include "cpu/gemm_kernels.h"

namespace fg::cpu {
namespace {

// The ymm instructions for one element type: 8 floats or 4 doubles a vector.
struct FloatVectors {
  using Vec = __m256;
  static constexpr int kLanes = 8;
  static Vec zero() { return _mm256_setzero_ps(); }
  static Vec load(const float* p) { return _mm256_load_ps(p); }
  static Vec loadu(const float* p) { return _mm256_loadu_ps(p); }
  static Vec maskload(const float* p, __m256i mask) { return _mm256_maskload_ps(p, mask); }
  static void storeu(float* p, Vec v) { _mm256_storeu_ps(p, v); }
  static void maskstore(float* p, __m256i mask, Vec v) { _mm256_maskstore_ps(p, mask, v); }
  static Vec broadcast(const float* p) { return _mm256_broadcast_ss(p); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
  static Vec add(Vec a, Vec b) { return _mm256_add_ps(a, b); }
  static Vec max(Vec a, Vec b) { return _mm256_max_ps(a, b); }
  // Lane j of the masks of columns 0..7 and 8..15 is on (sign bit set) when j < cols.
  static __m256i mask(int cols, int first) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(cols - first),
                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
};
struct DoubleVectors {
  using Vec = __m256d;
  static constexpr int kLanes = 4;
  static Vec zero() { return _mm256_setzero_pd(); }
  static Vec load(const double* p) { return _mm256_load_pd(p); }
  static Vec loadu(const double* p) { return _mm256_loadu_pd(p); }
  static Vec maskload(const double* p, __m256i mask) { return _mm256_maskload_pd(p, mask); }
  static void storeu(double* p, Vec v) { _mm256_storeu_pd(p, v); }
  static void maskstore(double* p, __m256i mask, Vec v) { _mm256_maskstore_pd(p, mask, v); }
  static Vec broadcast(const double* p) { return _mm256_broadcast_sd(p); }
  static Vec fmadd(Vec a, Vec b, Vec c) { return _mm256_fmadd_pd(a, b, c); }
  static Vec add(Vec a, Vec b) { return _mm256_add_pd(a, b); }
  static Vec max(Vec a, Vec b) { return _mm256_max_pd(a, b); }
  // 64-bit lane j of the masks of columns 0..3 and 4..7 is on when j < cols.
  static __m256i mask(int cols, int first) {
    return _mm256_cmpgt_epi64(_mm256_set1_epi64x(cols - first), _mm256_setr_epi64x(0, 1, 2, 3));
  }
};

template <class T>
using VectorsOf = std::conditional_t<sizeof(T) == 4, FloatVectors, DoubleVectors>;

// The NR columns of a C row (or of the bias), two vectors: all, or those whose mask lane
// is on.
template <class T>
struct Columns {
  using V = VectorsOf<T>;
  using Vec = typename V::Vec;
  bool all;
  __m256i mask0, mask1;
  void load(const T* p, Vec& v0, Vec& v1) const {
    v0 = all ? V::loadu(p) : V::maskload(p, mask0);
    v1 = all ? V::loadu(p + V::kLanes) : V::maskload(p + V::kLanes, mask1);
  }
  void store(T* p, Vec v0, Vec v1) const {
    if (all) {
      V::storeu(p, v0);
      V::storeu(p + V::kLanes, v1);
    } else {
      V::maskstore(p, mask0, v0);
      V::maskstore(p + V::kLanes, mask1, v1);
    }
  }
};

// a_panel (kc, MR), b_panel (kc, NR) -> c tile (ROWS, the given columns of NR)
// Per k: two loads of B, ROWS broadcasts of A, 2 ROWS FMAs into the accumulators; at 6
// rows that is enough independent FMAs to cover their latency on both FMA ports.
template <class T, int ROWS>
void tile(T* c, const T* a_panel, const T* b_panel, const T* bias, bool load_c, bool relu,
          int64_t ldc, int64_t kc, const Columns<T>& columns) {
  using V = VectorsOf<T>;
  constexpr int MR = Avx2Block<T>::MR, NR = Avx2Block<T>::NR;
  // The C rows are needed only after the k loop; fetching them now hides the miss.
  for (int i = 0; i < ROWS; ++i) {
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc), _MM_HINT_T0);
    _mm_prefetch(reinterpret_cast<const char*>(c + i * ldc + NR - 1), _MM_HINT_T0);
  }

  typename V::Vec acc0[ROWS], acc1[ROWS];  // the first and second vector of each row
#pragma GCC unroll 6
  for (int i = 0; i < ROWS; ++i) acc0[i] = acc1[i] = V::zero();

  const T* a = a_panel;
  const T* b = b_panel;
#pragma GCC unroll 4
  for (int64_t k = 0; k < kc; ++k) {
    typename V::Vec b0 = V::load(b);
    typename V::Vec b1 = V::load(b + V::kLanes);
#pragma GCC unroll 6
    for (int i = 0; i < ROWS; ++i) {
      typename V::Vec ai = V::broadcast(a + i);
      acc0[i] = V::fmadd(ai, b0, acc0[i]);
      acc1[i] = V::fmadd(ai, b1, acc1[i]);
    }
    a += MR;
    b += NR;
  }

  if (bias) {
    typename V::Vec bias0, bias1;
    columns.load(bias, bias0, bias1);
#pragma GCC unroll 6
    for (int i = 0; i < ROWS; ++i) {
      acc0[i] = V::add(acc0[i], bias0);
      acc1[i] = V::add(acc1[i], bias1);
    }
  }
#pragma GCC unroll 6
  for (int i = 0; i < ROWS; ++i) {
    T* row = c + i * ldc;
    if (load_c) {
      typename V::Vec c0, c1;
      columns.load(row, c0, c1);
      acc0[i] = V::add(acc0[i], c0);
      acc1[i] = V::add(acc1[i], c1);
    }
    if (relu) {  // max(0, v) is v when v is NaN, as relu_forward
      acc0[i] = V::max(V::zero(), acc0[i]);
      acc1[i] = V::max(V::zero(), acc1[i]);
    }
    columns.store(row, acc0[i], acc1[i]);
  }
}

template <class T>
void micro_kernel(T* c, const T* a_panel, const T* b_panel, const T* bias, bool load_c, bool relu,
                  int64_t ldc, int64_t kc, int rows, int cols) {
  using Tile =
      void (*)(T*, const T*, const T*, const T*, bool, bool, int64_t, int64_t, const Columns<T>&);
  static constexpr Tile kTiles[] = {tile<T, 1>, tile<T, 2>, tile<T, 3>,
                                    tile<T, 4>, tile<T, 5>, tile<T, 6>};
  static_assert(std::size(kTiles) == Avx2Block<T>::MR);
  using V = VectorsOf<T>;
  Columns<T> columns{cols >= Avx2Block<T>::NR, V::mask(cols, 0), V::mask(cols, V::kLanes)};
  kTiles[rows - 1](c, a_panel, b_panel, bias, load_c, relu, ldc, kc, columns);
}

}  // namespace

void gemm_micro_kernel_avx2(float* c, const float* a_panel, const float* b_panel, const float* bias,
                            bool load_c, bool relu, int64_t ldc, int64_t kc, int rows, int cols) {
  micro_kernel(c, a_panel, b_panel, bias, load_c, relu, ldc, kc, rows, cols);
}

void gemm_micro_kernel_avx2(double* c, const double* a_panel, const double* b_panel,
                            const double* bias, bool load_c, bool relu, int64_t ldc, int64_t kc,
                            int rows, int cols) {
  micro_kernel(c, a_panel, b_panel, bias, load_c, relu, ldc, kc, rows, cols);
}

}  // namespace fg::cpu
