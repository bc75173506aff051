// The GEMM kernels' device code, float and double (templated on the element type T);
// csrc/cuda/gemm.cu launches them. They use nothing of CUDA but the built-in indices,
// __syncthreads, float4 and fmaf / fma, so that tests/cuda_emulation can compile them for
// the host, run their threads there and check them without a GPU.
//
// The double kernel is the float one with 8-byte elements: a plain tiled kernel on the CUDA
// cores, correct but not tuned (Hopper's double tensor cores, DMMA, are left unused), with
// a 32-byte Vec4 in place of float4 and one block a multiprocessor's register budget.
//
// A block of 256 threads computes a BM x BN tile of C: thread (tx, ty) of a 16 x 16 grid
// holds (BM / 16) x (BN / 16) outputs in registers, in quadrants of 4 x 4 that lie 64 apart
// (rows q * 64 + ty * 4 + i), so that its shared-memory reads are float4s without bank
// conflicts. A warp's 32 threads are warp_rows x (32 / warp_rows) of that grid: 2 x 16
// (thread t at (t % 16, t / 16)) or 4 x 8, which reads 4 distinct float4s of the A slice
// and 8 of B at a depth where 2 x 16 reads 2 and 16, one shared-memory pass for B instead
// of two. The k loop walks BK-deep slices: the op(A) and op(B) slices are staged in shared
// memory, k-major, and double buffered (the next slice is fetched into registers while the
// current one is multiplied). Global loads are 16-byte float4s along whichever axis the
// operand is contiguous in, wherever four elements are in bounds and aligned. gemm.cu uses
// two tiles (bench/gemm_tiles.py times others):
//   128 x 128, BK 8  (8 x 8 outputs a thread): large products;
//   64 x 64,  BK 16  (4 x 4 outputs a thread): small ones, four times the blocks.
// A product too small to fill the GPU even so splits K: each block multiplies one slice of
// K into its own partial C, and gemm_add_slices adds the partials in order (no atomics, so
// the result does not depend on timing).
#pragma once
#include <cuda_runtime.h>

#include <cstdint>

namespace fg::cuda {

constexpr int kGemmThreads = 256;

// Four consecutive elements, loaded and stored as one vector where aligned.
struct alignas(32) Double4 {
  double x, y, z, w;
};
template <class T>
struct Vec4Of;
template <>
struct Vec4Of<float> {
  using type = float4;
};
template <>
struct Vec4Of<double> {
  using type = Double4;
};
template <class T>
using Vec4 = typename Vec4Of<T>::type;

__device__ inline float multiply_add(float a, float b, float c) { return fmaf(a, b, c); }
__device__ inline double multiply_add(double a, double b, double c) { return fma(a, b, c); }

// A block's tile: BM x BN outputs, BK deep slices, the blocks a multiprocessor should hold
// at once (the register budget __launch_bounds__ gives a thread follows from it), and the
// rows of the 16 x 16 thread grid a warp spans.
template <int kBM, int kBN, int kBK, int kMinBlocks, int kWarpRows = 2>
struct TileShape {
  static constexpr int BM = kBM, BN = kBN, BK = kBK, min_blocks = kMinBlocks;
  static constexpr int warp_rows = kWarpRows, warp_columns = 32 / kWarpRows;
  static_assert(warp_rows >= 2 && warp_rows <= 16 && 32 % warp_rows == 0,
                "a warp spans whole rows of the 16 x 16 thread grid");
  static_assert(BM % 64 == 0 && BN % 64 == 0, "quadrants of 4 x 4 outputs, 64 apart");
  static_assert(BK % 4 == 0 && BM * BK % (4 * kGemmThreads) == 0 &&
                    BN * BK % (4 * kGemmThreads) == 0,
                "whole vectors of 4 a thread for each operand's slice");
  // The depth of each slice when K is split into about `slices`: whole BK-deep steps.
  static int64_t slice_depth(int64_t K, int64_t slices) {
    return ((K + slices - 1) / slices + BK - 1) / BK * BK;
  }
  // The blocks that cover an (M, N) product, z launches deep.
  static dim3 grid(int64_t M, int64_t N, int64_t z) {
    return dim3(static_cast<unsigned>((M + BM - 1) / BM), static_cast<unsigned>((N + BN - 1) / BN),
                static_cast<unsigned>(z));
  }
};
using LargeTile = TileShape<128, 128, 8, 2>;
using SmallTile = TileShape<64, 64, 16, 2>;

// What is done to the product before it is stored.
template <class T>
struct Epilogue {
  const T* bias;    // (N) or null
  bool accumulate;  // add what C holds
  bool relu;        // then ReLU, NaN kept (as relu_forward)
};

template <class T>
__device__ inline void store_output(const Epilogue<T>& e, T* C, T v, int64_t m, int64_t n,
                                    int64_t N) {
  T* c = C + m * N + n;
  if (e.bias) v += e.bias[n];
  if (e.accumulate) v += *c;
  *c = e.relu && v < T(0) ? T(0) : v;
}

// The operands and what one launch covers. Launch z (blockIdx.z) is a matrix of the batch
// (z0 + blockIdx.z, each operand stride elements apart; a stride of 0 reuses one matrix) or,
// when partials is set, a slice of K: depths [z * k_per_slice, (z + 1) * k_per_slice) into
// partials (slices, M, N), the epilogue left to gemm_add_slices.
template <class T>
struct GemmArgs {
  T* C;
  const T* A;  // (M, K), or (K, M) when transposed
  const T* B;  // (K, N), or (N, K) when transposed
  Epilogue<T> epilogue;
  T* partials;
  int64_t k_per_slice;
  int64_t z0, stride_c, stride_a, stride_b;
  int64_t M, N, K;
};

// Four consecutive elements data[row * ld + col .. col + 3] of a (rows, cols) matrix, zero
// past its edges.
template <class T>
__device__ inline Vec4<T> load4(const T* data, int64_t row, int64_t col, int64_t rows, int64_t cols,
                                int64_t ld) {
  Vec4<T> v{T(0), T(0), T(0), T(0)};
  if (row >= rows) return v;
  const T* p = data + row * ld + col;
  if (col + 3 < cols && (reinterpret_cast<uintptr_t>(p) & (sizeof(Vec4<T>) - 1)) == 0)
    return *reinterpret_cast<const Vec4<T>*>(p);
  if (col + 0 < cols) v.x = p[0];
  if (col + 1 < cols) v.y = p[1];
  if (col + 2 < cols) v.z = p[2];
  if (col + 3 < cols) v.w = p[3];
  return v;
}

// One operand's slice for a block: R rows (of op(A), or columns of op(B)) from r0, BK deep
// from k0, fetched by the 256 threads in vectors of 4, kVectors a thread, and stored k-major to
// S[BK][R]. Element (r, k) of the operand is data[r * K + k] when it is contiguous along k
// (kAlongK: A as is, B transposed), else data[k * R + r] (A transposed, B as is); depths
// from k_end on read as zeros. Vector v = t + i * 256 of the slice covers four elements
// along the contiguous axis.
template <class T, int R, int BK, bool kAlongK>
struct Slice {
  static constexpr int kVectors = R * BK / (4 * kGemmThreads);
  static constexpr int kAlongKVectors = BK / 4;  // vectors along k in one row
  static constexpr int kAcrossKVectors = R / 4;  // vectors along r at one depth
  struct Fetched {
    Vec4<T> v[kVectors];
  };

  __device__ static Fetched load(const T* data, int64_t r0, int64_t k0, int64_t rows, int64_t k_end,
                                 int64_t K, int t) {
    Fetched f;
#pragma unroll
    for (int i = 0; i < kVectors; ++i) {
      int v = t + i * kGemmThreads;
      f.v[i] = kAlongK ? load4(data, r0 + v / kAlongKVectors, k0 + (v % kAlongKVectors) * 4, rows,
                               k_end, K)
                       : load4(data, k0 + v / kAcrossKVectors, r0 + (v % kAcrossKVectors) * 4,
                               k_end, rows, rows);
    }
    return f;
  }
  __device__ static void store(T (*S)[R], const Fetched& f, int t) {
#pragma unroll
    for (int i = 0; i < kVectors; ++i) {
      int v = t + i * kGemmThreads;
      Vec4<T> x = f.v[i];
      if (kAlongK) {
        int r = v / kAlongKVectors, k = (v % kAlongKVectors) * 4;
        S[k][r] = x.x, S[k + 1][r] = x.y, S[k + 2][r] = x.z, S[k + 3][r] = x.w;
      } else {
        int k = v / kAcrossKVectors, r = (v % kAcrossKVectors) * 4;
        S[k][r] = x.x, S[k][r + 1] = x.y, S[k][r + 2] = x.z, S[k][r + 3] = x.w;
      }
    }
  }
};

// A[z] (M, K) or (K, M), B[z] (K, N) or (N, K) -> C[z] (M, N) (or one slice of K into
// partials), one Tile::BM x Tile::BN tile a block: blockIdx.x along M, blockIdx.y along N.
// At most 65536 / (256 * Tile::min_blocks) registers a thread, so that min_blocks blocks fit
// a multiprocessor; in double one block, as its outputs take twice the registers.
template <class T, class Tile, bool kTransA, bool kTransB>
__global__ void __launch_bounds__(kGemmThreads, sizeof(T) == 4 ? Tile::min_blocks : 1)
    gemm_kernel(GemmArgs<T> args) {
  constexpr int BM = Tile::BM, BN = Tile::BN, BK = Tile::BK;
  constexpr int QM = BM / 64, QN = BN / 64, TM = 4 * QM, TN = 4 * QN;  // quadrants, outputs
  __shared__ __align__(32) T As[2][BK][BM];
  __shared__ __align__(32) T Bs[2][BK][BN];
  constexpr int kWarpsARow = 16 / Tile::warp_columns;
  const int t = threadIdx.x, warp = t / 32, lane = t % 32;
  const int ty = warp / kWarpsARow * Tile::warp_rows + lane / Tile::warp_columns;
  const int tx = warp % kWarpsARow * Tile::warp_columns + lane % Tile::warp_columns;
  const int64_t M = args.M, N = args.N, K = args.K;
  const int64_t m0 = int64_t(blockIdx.x) * BM, n0 = int64_t(blockIdx.y) * BN;
  const T* A = args.A;
  const T* B = args.B;
  T* C = args.C;
  int64_t k_begin = 0, k_end = K;
  if (args.partials) {
    k_begin = blockIdx.z * args.k_per_slice;
    k_end = k_begin + args.k_per_slice < K ? k_begin + args.k_per_slice : K;
  } else {
    int64_t z = args.z0 + blockIdx.z;
    C += z * args.stride_c, A += z * args.stride_a, B += z * args.stride_b;
  }

  using ASlice = Slice<T, BM, BK, !kTransA>;
  using BSlice = Slice<T, BN, BK, kTransB>;
  T acc[TM][TN] = {};
  typename ASlice::Fetched a_next = ASlice::load(A, m0, k_begin, M, k_end, K, t);
  typename BSlice::Fetched b_next = BSlice::load(B, n0, k_begin, N, k_end, K, t);
  ASlice::store(As[0], a_next, t);
  BSlice::store(Bs[0], b_next, t);
  __syncthreads();

  int buffer = 0;
  for (int64_t k0 = k_begin; k0 < k_end; k0 += BK) {
    bool more = k0 + BK < k_end;
    if (more) {  // fetch the next slice while this one is multiplied
      a_next = ASlice::load(A, m0, k0 + BK, M, k_end, K, t);
      b_next = BSlice::load(B, n0, k0 + BK, N, k_end, K, t);
    }
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      T a[TM], b[TN];
#pragma unroll
      for (int q = 0; q < QM; ++q) {
        Vec4<T> v = *reinterpret_cast<const Vec4<T>*>(&As[buffer][k][q * 64 + ty * 4]);
        a[4 * q] = v.x, a[4 * q + 1] = v.y, a[4 * q + 2] = v.z, a[4 * q + 3] = v.w;
      }
#pragma unroll
      for (int q = 0; q < QN; ++q) {
        Vec4<T> v = *reinterpret_cast<const Vec4<T>*>(&Bs[buffer][k][q * 64 + tx * 4]);
        b[4 * q] = v.x, b[4 * q + 1] = v.y, b[4 * q + 2] = v.z, b[4 * q + 3] = v.w;
      }
#pragma unroll
      for (int i = 0; i < TM; ++i)
#pragma unroll
        for (int j = 0; j < TN; ++j) acc[i][j] = multiply_add(a[i], b[j], acc[i][j]);
    }
    if (more) {
      // The other buffer was last read before the previous barrier: safe to overwrite.
      ASlice::store(As[buffer ^ 1], a_next, t);
      BSlice::store(Bs[buffer ^ 1], b_next, t);
      __syncthreads();
      buffer ^= 1;
    }
  }

  // Output (i, j) of the thread: row (i / 4) * 64 + ty * 4 + i % 4, column likewise with tx.
  T* partial = args.partials ? args.partials + int64_t(blockIdx.z) * M * N : nullptr;
#pragma unroll
  for (int i = 0; i < TM; ++i) {
    int64_t m = m0 + (i / 4) * 64 + ty * 4 + i % 4;
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < TN; ++j) {
      int64_t n = n0 + (j / 4) * 64 + tx * 4 + j % 4;
      if (n >= N) continue;
      if (partial)
        partial[m * N + n] = acc[i][j];
      else
        store_output(args.epilogue, C, acc[i][j], m, n, N);
    }
  }
}

// The kernel for the operands' layouts.
template <class T, class Tile>
auto gemm_kernel_for(bool trans_a, bool trans_b) {
  return trans_a
             ? (trans_b ? gemm_kernel<T, Tile, true, true> : gemm_kernel<T, Tile, true, false>)
             : (trans_b ? gemm_kernel<T, Tile, false, true> : gemm_kernel<T, Tile, false, false>);
}

// partials (slices, M, N) -> C (M, N): the slices' sum, added in order, through the epilogue
template <class T>
__global__ void gemm_add_slices(T* C, const T* partials, Epilogue<T> epilogue, int64_t slices,
                                int64_t M, int64_t N) {
  for (int64_t i = blockIdx.x * int64_t(blockDim.x) + threadIdx.x; i < M * N;
       i += int64_t(gridDim.x) * blockDim.x) {
    T v = partials[i];
    for (int64_t s = 1; s < slices; ++s) v += partials[s * M * N + i];
    store_output(epilogue, C, v, i / N, i % N, N);
  }
}

}  // namespace fg::cuda
