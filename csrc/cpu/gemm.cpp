// CPU GEMM in float and double (one driver, templated on the element type T), BLIS/Goto
// style. One thread's share of C is computed as
//   for each column block (nc) of B:          packed B block (kc, nc) lives in L3
//     for each depth block (kc):              pack op(B) block into NR-column panels
//       for each row block (mc) of A:         pack op(A) block into MR-row panels (L2)
//         for each NR panel of B:             B panel (kc, NR) stays in L1 ...
//           for each MR panel of A:           ... while the A panels stream past it
//             micro-kernel: C tile (MR, NR) += A panel^T @ B panel
// Packing reads A and B in whatever layout they are stored, so transposes cost nothing past
// the packing and the micro-kernels see one layout. Threads split C into a grid of
// rectangles of whole tiles, each packing its own panels, so no thread waits on another.
#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <limits>

#include "core/cpu_features.h"
#include "core/error.h"
#include "cpu/gemm_kernels.h"
#include "cpu/gemm_packed.h"
#include "cpu/parallel.h"
#include "kernels.h"

#ifdef __SSE2__
#include <xmmintrin.h>
#endif

namespace fg::cpu {
namespace {

// op(X) element (r, c) is data[r * row_stride + c * col_stride]: the same view serves a
// matrix stored as is (row_stride = columns, col_stride = 1) and a transposed one.
template <class T>
struct MatrixView {
  const T* data;
  int64_t row_stride, col_stride;
  MatrixView offset(int64_t r, int64_t c) const {
    return {data + r * row_stride + c * col_stride, row_stride, col_stride};
  }
};

// A micro-kernel with the block sizes of the three cache levels that suit the CPUs that run
// it: the B panel (kc, NR) fits in L1 beside a streaming A panel, the packed A block (mc, kc)
// in half of L2, the packed B block (kc, nc) in a share of L3. mc is a multiple of MR and nc
// of NR.
template <class T>
struct GemmConfig {
  GemmMicroKernel<T> kernel;
  int64_t mc, kc, nc;
};

// The portable micro-kernel: plain C++ that the compiler vectorizes for the target's
// baseline (SSE2 on x86-64, NEON on aarch64: 4 floats or 2 doubles a register), 4 rows of
// two 16-byte vectors' columns. The only one where FG_X86_64_KERNELS is 0.
template <class T>
struct ScalarBlock {
  static constexpr int MR = 4, NR = 2 * 16 / sizeof(T);
};

// a_panel (kc, MR), b_panel (kc, NR) -> c tile (rows, cols) of (MR, NR), row stride ldc
template <class T>
void gemm_micro_kernel_scalar(T* c, const T* a_panel, const T* b_panel, const T* bias, bool load_c,
                              bool relu, int64_t ldc, int64_t kc, int rows, int cols) {
  constexpr int MR = ScalarBlock<T>::MR, NR = ScalarBlock<T>::NR;
  T acc[MR][NR] = {};
  for (int64_t k = 0; k < kc; ++k) {
    const T* a = a_panel + k * MR;
    const T* b = b_panel + k * NR;
    for (int i = 0; i < MR; ++i)
      for (int j = 0; j < NR; ++j) acc[i][j] += a[i] * b[j];
  }
  for (int i = 0; i < rows; ++i) {
    T* row = c + i * ldc;
    for (int j = 0; j < cols; ++j) {
      T v = acc[i][j] + (bias ? bias[j] : T(0)) + (load_c ? row[j] : T(0));
      row[j] = relu && v < T(0) ? T(0) : v;
    }
  }
}

// The block sizes of each instruction set, in elements. The double blocks take the bytes of
// the float ones, so that they fit the same caches: the same kc (a double kernel's NR is half
// the float one's, the same bytes a row of the B panel) and half the mc and nc.
// Scalar: L1 32 KiB, L2 >= 256 KiB.
template <class T>
constexpr GemmConfig<T> kScalarConfig{gemm_micro_kernel_scalar<T>, 128 * 4 / sizeof(T), 256,
                                      4096 * 4 / sizeof(T)};
#if FG_X86_64_KERNELS
// Zen / Haswell class: 32 KiB L1d, >= 256 KiB L2. B panel 16 KiB, A block 144 KiB. Larger kc
// (384, 512) measured the same on Zen 3 (float).
template <class T>
constexpr GemmConfig<T> kAvx2Config{gemm_micro_kernel_avx2, 144 * 4 / sizeof(T), 256,
                                    4080 * 4 / sizeof(T)};
// Skylake-SP and Zen 4/5 class: 32-48 KiB L1d, 1-2 MiB L2. B panel 32 KiB (streams from L2
// at worst, which its bandwidth covers at 24 FMAs per 128 bytes), A block 144 KiB. On Zen 5
// mc 240 or kc 320-384 measured the same or slower (float).
template <class T>
constexpr GemmConfig<T> kAvx512Config{gemm_micro_kernel_avx512, 144 * 4 / sizeof(T), 256,
                                      4096 * 4 / sizeof(T)};
#endif

int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }
int64_t round_up(int64_t a, int64_t multiple) { return ceil_div(a, multiple) * multiple; }

// The block size that splits `total` into the fewest blocks of at most `max_block`, all of
// nearly equal size (a multiple of `multiple`), rather than full blocks and a thin rest.
int64_t even_block(int64_t total, int64_t max_block, int64_t multiple) {
  int64_t blocks = ceil_div(total, max_block);
  return round_up(ceil_div(total, blocks), multiple);
}

// A thread's packing buffer (64-byte aligned) of each element type, grown on demand and
// kept for the thread's life, so that calls in steady state allocate nothing.
enum PackSlot { kPackA = 0, kPackB = 1 };
template <class T>
T* thread_pack_buffer(PackSlot slot, int64_t elements) {
  struct Buffer {
    T* data = nullptr;
    int64_t capacity = 0;
    ~Buffer() { std::free(data); }
  };
  thread_local Buffer buffers[2];
  Buffer& buffer = buffers[slot];
  if (buffer.capacity < elements) {
    std::free(buffer.data);
    size_t bytes = static_cast<size_t>(round_up(elements * int64_t(sizeof(T)), 64));
    buffer.data = static_cast<T*>(std::aligned_alloc(64, bytes));
    buffer.capacity = buffer.data ? elements : 0;
    FG_CHECK(buffer.data, MemoryError,
             "[gemm] could not allocate a " << bytes << "-byte packing buffer");
  }
  return buffer.data;
}

// lines (kLanes, kc) with unit stride along k -> panel (kc, kLanes): a transpose, done in
// 4 x 4 blocks (floats) or 2 x 2 blocks (doubles) in SSE registers, which every x86-64 CPU
// has.
template <int kLanes>
void pack_transposed_lines(double* panel, const double* src, int64_t lane_stride, int64_t kc) {
  static_assert(kLanes % 2 == 0, "lanes are transposed two at a time");
  int64_t k = 0;
#ifdef __SSE2__
  for (; k + 2 <= kc; k += 2) {
    double* out = panel + k * kLanes;
    const double* in = src + k;
    for (int l = 0; l < kLanes; l += 2) {
      __m128d r0 = _mm_loadu_pd(in + (l + 0) * lane_stride);
      __m128d r1 = _mm_loadu_pd(in + (l + 1) * lane_stride);
      _mm_storeu_pd(out + 0 * kLanes + l, _mm_unpacklo_pd(r0, r1));
      _mm_storeu_pd(out + 1 * kLanes + l, _mm_unpackhi_pd(r0, r1));
    }
  }
#endif
  for (; k < kc; ++k)
    for (int l = 0; l < kLanes; ++l) panel[k * kLanes + l] = src[l * lane_stride + k];
}

template <int kLanes>
void pack_transposed_lines(float* panel, const float* src, int64_t lane_stride, int64_t kc) {
  static_assert(kLanes % 2 == 0, "lanes are transposed four or two at a time");
  int64_t k = 0;
#ifdef __SSE2__
  for (; k + 4 <= kc; k += 4) {
    float* out = panel + k * kLanes;
    const float* in = src + k;
    int l = 0;
    for (; l + 4 <= kLanes; l += 4) {
      __m128 r0 = _mm_loadu_ps(in + (l + 0) * lane_stride);
      __m128 r1 = _mm_loadu_ps(in + (l + 1) * lane_stride);
      __m128 r2 = _mm_loadu_ps(in + (l + 2) * lane_stride);
      __m128 r3 = _mm_loadu_ps(in + (l + 3) * lane_stride);
      _MM_TRANSPOSE4_PS(r0, r1, r2, r3);
      _mm_storeu_ps(out + 0 * kLanes + l, r0);
      _mm_storeu_ps(out + 1 * kLanes + l, r1);
      _mm_storeu_ps(out + 2 * kLanes + l, r2);
      _mm_storeu_ps(out + 3 * kLanes + l, r3);
    }
    if (l < kLanes) {  // two lanes left, when kLanes % 4 == 2
      __m128 r0 = _mm_loadu_ps(in + (l + 0) * lane_stride);
      __m128 r1 = _mm_loadu_ps(in + (l + 1) * lane_stride);
      __m128 k01 = _mm_unpacklo_ps(r0, r1), k23 = _mm_unpackhi_ps(r0, r1);
      _mm_storel_pi(reinterpret_cast<__m64*>(out + 0 * kLanes + l), k01);
      _mm_storeh_pi(reinterpret_cast<__m64*>(out + 1 * kLanes + l), k01);
      _mm_storel_pi(reinterpret_cast<__m64*>(out + 2 * kLanes + l), k23);
      _mm_storeh_pi(reinterpret_cast<__m64*>(out + 3 * kLanes + l), k23);
    }
  }
#endif
  for (; k < kc; ++k)
    for (int l = 0; l < kLanes; ++l) panel[k * kLanes + l] = src[l * lane_stride + k];
}

// Packs a block of op(A) (its rows are the lanes) or of op(B) (its columns are the lanes):
// block (lanes, kc) -> ceil(lanes / kLanes) panels (kc, kLanes), k-major, zero past `lanes`.
// Element (lane l, depth k) of the block is src[l * lane_stride + k * depth_stride], and one
// of the two strides is 1, as the operand is stored as is or transposed.
template <int kLanes, class T>
void pack_block(T* packed, const T* src, int64_t lane_stride, int64_t depth_stride, int64_t lanes,
                int64_t kc) {
  int64_t full_lanes = lanes / kLanes * kLanes;
  if (lane_stride == 1) {
    // Lanes contiguous (A transposed, B as is): read the block in memory order, one line of
    // depth k at a time, dealing kLanes-wide pieces to the panels, so that the hardware
    // prefetcher sees sequential streams instead of a column walk across rows.
    for (int64_t k = 0; k < kc; ++k)
      for (int64_t l0 = 0; l0 < full_lanes; l0 += kLanes)
        std::memcpy(packed + l0 * kc + k * kLanes, src + k * depth_stride + l0, kLanes * sizeof(T));
  } else {
    // Each lane contiguous along k (A as is, B transposed).
    for (int64_t l0 = 0; l0 < full_lanes; l0 += kLanes)
      pack_transposed_lines<kLanes>(packed + l0 * kc, src + l0 * lane_stride, lane_stride, kc);
  }
  if (full_lanes == lanes) return;
  T* panel = packed + full_lanes * kc;
  const T* edge = src + full_lanes * lane_stride;
  int64_t edge_lanes = lanes - full_lanes;
  for (int64_t k = 0; k < kc; ++k)
    for (int64_t l = 0; l < kLanes; ++l)
      panel[k * kLanes + l] = l < edge_lanes ? edge[l * lane_stride + k * depth_stride] : T(0);
}

// op(A) block (mc, kc) -> ceil(mc / MR) panels (kc, MR); rows past mc are zero.
template <int MR, class T>
void pack_a_block(T* packed, MatrixView<T> a, int64_t mc, int64_t kc) {
  pack_block<MR>(packed, a.data, a.row_stride, a.col_stride, mc, kc);
}

// op(B) block (kc, nc) -> ceil(nc / NR) panels (kc, NR); columns past nc are zero.
template <int NR, class T>
void pack_b_block(T* packed, MatrixView<T> b, int64_t kc, int64_t nc) {
  pack_block<NR>(packed, b.data, b.col_stride, b.row_stride, nc, kc);
}

// op(A) (m, k), op(B) (k, n), bias (n) or null -> c (m, n), row stride ldc
// One thread's rectangle of C, computed serially by the loop nest described at the top.
template <int MR, int NR, class T>
void gemm_rectangle(T* c, MatrixView<T> a, MatrixView<T> b, const T* bias, bool accumulate,
                    bool relu, const GemmConfig<T>& config, int64_t ldc, int64_t m, int64_t n,
                    int64_t k) {
  int64_t mc_max = even_block(m, config.mc, MR);
  int64_t kc_max = even_block(k, config.kc, 1);
  int64_t nc_max = even_block(n, config.nc, NR);
  T* packed_a = thread_pack_buffer<T>(kPackA, mc_max * kc_max);
  T* packed_b = thread_pack_buffer<T>(kPackB, nc_max * kc_max);

  for (int64_t jc = 0; jc < n; jc += nc_max) {
    int64_t nc = std::min(nc_max, n - jc);
    for (int64_t pc = 0; pc < k; pc += kc_max) {
      int64_t kc = std::min(kc_max, k - pc);
      // The first depth block overwrites C unless accumulating, and adds the bias once.
      // Later depth blocks add to what the first stored; the last applies the ReLU.
      bool load_c = accumulate || pc > 0;
      const T* bias_block = (pc == 0 && bias) ? bias + jc : nullptr;
      bool relu_block = relu && pc + kc == k;
      pack_b_block<NR>(packed_b, b.offset(pc, jc), kc, nc);

      for (int64_t ic = 0; ic < m; ic += mc_max) {
        int64_t mc = std::min(mc_max, m - ic);
        pack_a_block<MR>(packed_a, a.offset(ic, pc), mc, kc);

        for (int64_t jr = 0; jr < nc; jr += NR) {
          const T* b_panel = packed_b + jr * kc;
          const T* bias_tile = bias_block ? bias_block + jr : nullptr;
          int cols = static_cast<int>(std::min<int64_t>(NR, nc - jr));
          for (int64_t ir = 0; ir < mc; ir += MR) {
            const T* a_panel = packed_a + ir * kc;
            T* c_tile = c + (ic + ir) * ldc + jc + jr;
            int rows = static_cast<int>(std::min<int64_t>(MR, mc - ir));
            config.kernel(c_tile, a_panel, b_panel, bias_tile, load_c, relu_block, ldc, kc, rows,
                          cols);
          }
        }
      }
    }
  }
}

// How the threads split C: a grid of grid_rows x grid_cols rectangles whose edges fall on
// whole MR x NR tiles.
struct ThreadGrid {
  int64_t grid_rows, grid_cols;
};

// Below this many multiply-adds per thread (about 60 us of work), another thread saves less
// than it risks: on an idle machine waking it costs a few microseconds, but on a loaded one
// the region waits until the scheduler runs it, which small training steps pay per GEMM
// (measured: a digits MLP trained 10x slower with two busy processes beside it).
constexpr int64_t kMinMultiplyAddsPerThread = int64_t(1) << 21;
// Packing one element costs about as much as this many multiply-adds in the micro-kernel.
constexpr int64_t kPackCostInMultiplyAdds = 8;

// The grid that uses the most threads, and among those the least work per thread: each
// thread multiplies (m_t, K) @ (K, n_t) and packs m_t x K + K x n_t elements.
ThreadGrid choose_thread_grid(int MR, int NR, int64_t M, int64_t N, int64_t K) {
  int64_t max_threads = in_parallel_region() ? 1 : thread_count();
  // In double: M * N * K can pass the int64 range before the division.
  double multiply_adds = double(M) * double(N) * double(K);
  int64_t threads = static_cast<int64_t>(
      std::clamp(multiply_adds / kMinMultiplyAddsPerThread, 1.0, double(max_threads)));
  int64_t m_panels = ceil_div(M, MR), n_panels = ceil_div(N, NR);
  for (; threads > 1; --threads) {
    ThreadGrid best{0, 0};
    int64_t best_cost = std::numeric_limits<int64_t>::max();
    for (int64_t grid_rows = 1; grid_rows <= threads; ++grid_rows) {
      int64_t grid_cols = threads / grid_rows;
      if (grid_rows * grid_cols != threads || grid_rows > m_panels || grid_cols > n_panels)
        continue;
      int64_t m_t = ceil_div(m_panels, grid_rows) * MR, n_t = ceil_div(n_panels, grid_cols) * NR;
      int64_t cost = m_t * n_t + kPackCostInMultiplyAdds * (m_t + n_t);
      if (cost < best_cost) best = {grid_rows, grid_cols}, best_cost = cost;
    }
    if (best.grid_rows > 0) return best;
  }
  return {1, 1};
}

// op(A) (M, K), op(B) (K, N), bias (N) or null -> C (M, N), split among the threads
template <int MR, int NR, class T>
void gemm_parallel(T* C, MatrixView<T> a, MatrixView<T> b, const T* bias, bool accumulate,
                   bool relu, const GemmConfig<T>& config, int64_t M, int64_t N, int64_t K) {
  ThreadGrid grid = choose_thread_grid(MR, NR, M, N, K);
  int64_t m_panels = ceil_div(M, MR), n_panels = ceil_div(N, NR);
  int64_t rectangles = grid.grid_rows * grid.grid_cols;

  // rectangle r -> its rows and columns of C (whole tiles, split as evenly as they go)
  auto run_rectangle = [&](int64_t r) {
    int64_t gr = r / grid.grid_cols, gc = r % grid.grid_cols;
    int64_t m0 = m_panels * gr / grid.grid_rows * MR;
    int64_t m1 = std::min(M, m_panels * (gr + 1) / grid.grid_rows * MR);
    int64_t n0 = n_panels * gc / grid.grid_cols * NR;
    int64_t n1 = std::min(N, n_panels * (gc + 1) / grid.grid_cols * NR);
    if (m0 >= m1 || n0 >= n1) return;
    gemm_rectangle<MR, NR>(C + m0 * N + n0, a.offset(m0, 0), b.offset(0, n0),
                           bias ? bias + n0 : nullptr, accumulate, relu, config, N, m1 - m0,
                           n1 - n0, K);
  };

  if (rectangles == 1) return run_rectangle(0);
  // The team may be smaller than asked for; its threads then share out the rectangles.
  parallel_region(static_cast<int>(rectangles), [&](int thread, int team) {
    for (int64_t r = thread; r < rectangles; r += team) run_rectangle(r);
  });
}

// C (M, N) = relu?([C] + bias): the whole product when K == 0
template <class T>
void gemm_empty_product(T* C, const T* bias, bool relu, bool accumulate, int64_t M, int64_t N) {
  for (int64_t i = 0; i < M; ++i)
    for (int64_t j = 0; j < N; ++j) {
      T v = (accumulate ? C[i * N + j] : T(0)) + (bias ? bias[j] : T(0));
      C[i * N + j] = relu && v < T(0) ? T(0) : v;
    }
}

// Calls body(block, config) with the register block (its MR and NR) and the block sizes of
// the active instruction set's micro-kernel.
template <class T, class Body>
void with_active_kernel(const Body& body) {
  switch (active_isa()) {
#if FG_X86_64_KERNELS
    case Isa::AVX512: return body(Avx512Block<T>{}, kAvx512Config<T>);
    case Isa::AVX2: return body(Avx2Block<T>{}, kAvx2Config<T>);
#endif
    default: return body(ScalarBlock<T>{}, kScalarConfig<T>);
  }
}

// A (M, K) or (K, M) if trans_a, B (K, N) or (N, K) if trans_b, bias (N) or null -> C (M, N)
template <class T>
void gemm_any(T* C, const T* A, const T* B, const T* bias, bool relu, bool trans_a, bool trans_b,
              bool accumulate, int64_t M, int64_t N, int64_t K) {
  if (M <= 0 || N <= 0) return;
  if (K <= 0) return gemm_empty_product(C, bias, relu, accumulate, M, N);
  MatrixView<T> a = trans_a ? MatrixView<T>{A, 1, M} : MatrixView<T>{A, K, 1};
  MatrixView<T> b = trans_b ? MatrixView<T>{B, 1, K} : MatrixView<T>{B, N, 1};
  with_active_kernel<T>([&](auto block, const GemmConfig<T>& config) {
    using Block = decltype(block);
    gemm_parallel<Block::MR, Block::NR>(C, a, b, bias, accumulate, relu, config, M, N, K);
  });
}

// A[i] (M, K) or (K, M), B[i] (K, N) or (N, K) -> C[i] (M, N), for i < batch
template <class T>
void gemm_batched_any(T* C, const T* A, const T* B, bool trans_a, bool trans_b, int64_t batch,
                      int64_t stride_c, int64_t stride_a, int64_t stride_b, int64_t M, int64_t N,
                      int64_t K) {
  for (int64_t i = 0; i < batch; ++i)
    gemm_any(C + i * stride_c, A + i * stride_a, B + i * stride_b, static_cast<const T*>(nullptr),
             false, trans_a, trans_b, false, M, N, K);
}

}  // namespace

template <class T>
GemmPanels gemm_panels(int64_t K) {
  GemmPanels panels{};
  with_active_kernel<T>([&](auto block, const GemmConfig<T>& config) {
    panels = {decltype(block)::MR, decltype(block)::NR, even_block(K, config.kc, 1), K};
  });
  return panels;
}

template <class T>
void gemm_pack_a(T* packed, const T* A, int64_t lda, const GemmPanels& panels, int64_t M) {
  with_active_kernel<T>([&](auto block, const GemmConfig<T>&) {
    constexpr int MR = decltype(block)::MR;
    FG_CHECK(panels.mr == MR, RuntimeError, "[gemm] panels packed for another micro-kernel");
    for (int64_t start = 0; start < panels.K; start += panels.kc)
      pack_a_block<MR>(packed + start * round_up(M, MR), MatrixView<T>{A + start, lda, 1}, M,
                       panels.depth(start));
  });
}

// The loop nest of gemm_rectangle inside one depth block, on operands packed by the caller.
template <class T>
void gemm_packed_block(T* C, const T* packed_a, const T* packed_b_block, bool accumulate,
                       const GemmPanels& panels, int64_t start, int64_t ldc, int64_t M, int64_t N) {
  if (M <= 0 || N <= 0 || start >= panels.K) return;
  with_active_kernel<T>([&](auto block, const GemmConfig<T>& config) {
    constexpr int MR = decltype(block)::MR, NR = decltype(block)::NR;
    FG_CHECK(panels.mr == MR && panels.nr == NR, RuntimeError,
             "[gemm] panels packed for another micro-kernel");
    int64_t mc_max = even_block(M, config.mc, MR), nc_max = even_block(N, config.nc, NR);
    int64_t depth = panels.depth(start);
    bool load_c = accumulate || start > 0;
    const T* a_block = packed_a + start * round_up(M, MR);
    for (int64_t jc = 0; jc < N; jc += nc_max) {
      int64_t nc_end = std::min(N, jc + nc_max);
      for (int64_t ic = 0; ic < M; ic += mc_max) {
        int64_t mc_end = std::min(M, ic + mc_max);
        for (int64_t jr = jc; jr < nc_end; jr += NR) {
          int cols = static_cast<int>(std::min<int64_t>(NR, N - jr));
          for (int64_t ir = ic; ir < mc_end; ir += MR) {
            int rows = static_cast<int>(std::min<int64_t>(MR, M - ir));
            config.kernel(C + ir * ldc + jr, a_block + ir * depth, packed_b_block + jr * depth,
                          nullptr, load_c, false, ldc, depth, rows, cols);
          }
        }
      }
    }
  });
}

#define FG_GEMM_PACKED(T)                                                                     \
  template GemmPanels gemm_panels<T>(int64_t);                                                \
  template void gemm_pack_a(T*, const T*, int64_t, const GemmPanels&, int64_t);               \
  template void gemm_packed_block(T*, const T*, const T*, bool, const GemmPanels&, int64_t,    \
                                  int64_t, int64_t, int64_t);
FG_GEMM_PACKED(float)
FG_GEMM_PACKED(double)
#undef FG_GEMM_PACKED

void gemm(float* C, const float* A, const float* B, const float* bias, bool relu, bool trans_a,
          bool trans_b, bool accumulate, int64_t M, int64_t N, int64_t K) {
  gemm_any(C, A, B, bias, relu, trans_a, trans_b, accumulate, M, N, K);
}
void gemm(double* C, const double* A, const double* B, const double* bias, bool relu, bool trans_a,
          bool trans_b, bool accumulate, int64_t M, int64_t N, int64_t K) {
  gemm_any(C, A, B, bias, relu, trans_a, trans_b, accumulate, M, N, K);
}

void gemm_batched(float* C, const float* A, const float* B, bool trans_a, bool trans_b,
                  int64_t batch, int64_t stride_c, int64_t stride_a, int64_t stride_b, int64_t M,
                  int64_t N, int64_t K) {
  gemm_batched_any(C, A, B, trans_a, trans_b, batch, stride_c, stride_a, stride_b, M, N, K);
}
void gemm_batched(double* C, const double* A, const double* B, bool trans_a, bool trans_b,
                  int64_t batch, int64_t stride_c, int64_t stride_a, int64_t stride_b, int64_t M,
                  int64_t N, int64_t K) {
  gemm_batched_any(C, A, B, trans_a, trans_b, batch, stride_c, stride_a, stride_b, M, N, K);
}

}  // namespace fg::cpu
