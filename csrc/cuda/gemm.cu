// SGEMM on the GPU: C (M, N) = relu?(op(A) @ op(B) [+ C] [+ bias]), the CPU's gemm
// (csrc/cpu/gemm.cpp) being the reference; batched GEMM is the same kernel with the batch
// index on the grid's z axis. Each block computes a 128 x 128 tile of C with
// 256 threads, 8 x 8 outputs a thread in registers (two 4 x 4 quadrants 64 apart, so the
// shared-memory reads are float4s without bank conflicts). The k loop walks 8-deep slices:
// op(A) and op(B) slices are staged in shared memory, k-major, and double buffered (the next
// slice is fetched into registers while the current one is multiplied). Global loads are
// 16-byte float4s along whichever axis the operand is contiguous in, wherever four
// elements are in bounds and aligned; the transposes are template arguments.
#include <algorithm>
#include <cstdint>

#include "cuda/launch.cuh"
#include "kernels.h"

namespace fg::cuda {
namespace {

constexpr int BM = 128, BN = 128, BK = 8, kGemmThreads = 256;

// Four consecutive elements data[row * ld + col .. col + 3] of a (rows, cols) matrix, zero
// past its edges.
__device__ float4 load4(const float* data, int64_t row, int64_t col, int64_t rows, int64_t cols,
                        int64_t ld) {
  float4 v = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
  if (row >= rows) return v;
  const float* p = data + row * ld + col;
  if (col + 3 < cols && (reinterpret_cast<uintptr_t>(p) & 15) == 0)
    return *reinterpret_cast<const float4*>(p);
  if (col + 0 < cols) v.x = p[0];
  if (col + 1 < cols) v.y = p[1];
  if (col + 2 < cols) v.z = p[2];
  if (col + 3 < cols) v.w = p[3];
  return v;
}

// One operand's slice for a block: 128 rows (of op(A), or columns of op(B)) from r0, BK deep
// from k0, fetched by the block's 256 threads, a float4 each, and stored k-major to
// S[BK][128]. Element (r, k) of the operand is data[r * K + k] when it is contiguous along
// k (kAlongK: A as is, B transposed), else data[k * R + r] (A transposed, B as is).
template <bool kAlongK>
struct Slice {
  __device__ static float4 load(const float* data, int64_t r0, int64_t k0, int64_t R,
                                int64_t K, int t) {
    if (kAlongK)  // row r0 + t / 2, depths k0 + 4 (t % 2) ..
      return load4(data, r0 + t / 2, k0 + (t % 2) * 4, R, K, K);
    return load4(data, k0 + t / 32, r0 + (t % 32) * 4, K, R, R);  // depth k0 + t / 32
  }
  __device__ static void store(float (*S)[BM], float4 v, int t) {
    if (kAlongK) {
      int r = t / 2, k = (t % 2) * 4;
      S[k][r] = v.x, S[k + 1][r] = v.y, S[k + 2][r] = v.z, S[k + 3][r] = v.w;
    } else {
      int k = t / 32, r = (t % 32) * 4;
      S[k][r] = v.x, S[k][r + 1] = v.y, S[k][r + 2] = v.z, S[k][r + 3] = v.w;
    }
  }
};

// The epilogue's options: what is added to the product, and whether ReLU follows.
struct Epilogue {
  const float* bias;  // (N) or null
  bool accumulate, relu;
};

// A[z] (M, K) or (K, M), B[z] (K, N) or (N, K), bias (N) or null -> C[z] (M, N), one 128 x 128
// tile a block; matrix z of each operand starts z * stride elements in (a stride of 0 reuses
// one matrix), z = z0 + blockIdx.z.
template <bool kTransA, bool kTransB>
__global__ void __launch_bounds__(kGemmThreads)
    gemm_kernel(float* C, const float* A, const float* B, Epilogue epilogue, int64_t z0,
                int64_t stride_c, int64_t stride_a, int64_t stride_b, int64_t M, int64_t N,
                int64_t K) {
  __shared__ __align__(16) float As[2][BK][BM];
  __shared__ __align__(16) float Bs[2][BK][BN];  // BN == BM: both slices are 128 wide
  const int t = threadIdx.x, tx = t % 16, ty = t / 16;
  const int64_t m0 = int64_t(blockIdx.x) * BM, n0 = int64_t(blockIdx.y) * BN;
  const int64_t z = z0 + blockIdx.z;
  C += z * stride_c, A += z * stride_a, B += z * stride_b;

  using ASlice = Slice<!kTransA>;
  using BSlice = Slice<kTransB>;
  float acc[8][8] = {};
  float4 a_next = ASlice::load(A, m0, 0, M, K, t);
  float4 b_next = BSlice::load(B, n0, 0, N, K, t);
  ASlice::store(As[0], a_next, t);
  BSlice::store(Bs[0], b_next, t);
  __syncthreads();

  int buffer = 0;
  for (int64_t k0 = 0; k0 < K; k0 += BK) {
    bool more = k0 + BK < K;
    if (more) {  // fetch the next slice while this one is multiplied
      a_next = ASlice::load(A, m0, k0 + BK, M, K, t);
      b_next = BSlice::load(B, n0, k0 + BK, N, K, t);
    }
#pragma unroll
    for (int k = 0; k < BK; ++k) {
      float a[8], b[8];
      float4 a0 = *reinterpret_cast<const float4*>(&As[buffer][k][ty * 4]);
      float4 a1 = *reinterpret_cast<const float4*>(&As[buffer][k][64 + ty * 4]);
      float4 b0 = *reinterpret_cast<const float4*>(&Bs[buffer][k][tx * 4]);
      float4 b1 = *reinterpret_cast<const float4*>(&Bs[buffer][k][64 + tx * 4]);
      a[0] = a0.x, a[1] = a0.y, a[2] = a0.z, a[3] = a0.w;
      a[4] = a1.x, a[5] = a1.y, a[6] = a1.z, a[7] = a1.w;
      b[0] = b0.x, b[1] = b0.y, b[2] = b0.z, b[3] = b0.w;
      b[4] = b1.x, b[5] = b1.y, b[6] = b1.z, b[7] = b1.w;
#pragma unroll
      for (int i = 0; i < 8; ++i)
#pragma unroll
        for (int j = 0; j < 8; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
    if (more) {
      // The other buffer was last read before the previous barrier: safe to overwrite.
      ASlice::store(As[buffer ^ 1], a_next, t);
      BSlice::store(Bs[buffer ^ 1], b_next, t);
      __syncthreads();
      buffer ^= 1;
    }
  }

  // Epilogue: rows ty*4 + {0..3} and 64 + ty*4 + {0..3}, columns likewise with tx.
#pragma unroll
  for (int i = 0; i < 8; ++i) {
    int64_t m = m0 + (i < 4 ? ty * 4 + i : 64 + ty * 4 + i - 4);
    if (m >= M) continue;
#pragma unroll
    for (int j = 0; j < 8; ++j) {
      int64_t n = n0 + (j < 4 ? tx * 4 + j : 64 + tx * 4 + j - 4);
      if (n >= N) continue;
      float v = acc[i][j] + (epilogue.bias ? epilogue.bias[n] : 0.0f);
      float* c = C + m * N + n;
      if (epilogue.accumulate) v += *c;
      *c = epilogue.relu && v < 0.0f ? 0.0f : v;  // NaN kept, as relu_forward
    }
  }
}

constexpr int64_t kMaxGridYZ = 65535;

template <bool kTransA, bool kTransB>
void launch_gemm(float* C, const float* A, const float* B, Epilogue epilogue, int64_t batch,
                 int64_t stride_c, int64_t stride_a, int64_t stride_b, int64_t M, int64_t N,
                 int64_t K) {
  // Row tiles along x (up to 2^31 - 1 of them): M is the dimension that grows with the batch.
  // The batch goes along z, in launches of at most 65535 matrices.
  for (int64_t z0 = 0; z0 < batch; z0 += kMaxGridYZ) {
    dim3 grid(static_cast<unsigned>((M + BM - 1) / BM), static_cast<unsigned>((N + BN - 1) / BN),
              static_cast<unsigned>(std::min(kMaxGridYZ, batch - z0)));
    gemm_kernel<kTransA, kTransB>
        <<<grid, kGemmThreads>>>(C, A, B, epilogue, z0, stride_c, stride_a, stride_b, M, N, K);
    FG_CUDA_CHECK_LAUNCH("gemm");
  }
}

void launch_gemm(float* C, const float* A, const float* B, Epilogue epilogue, bool trans_a,
                 bool trans_b, int64_t batch, int64_t stride_c, int64_t stride_a, int64_t stride_b,
                 int64_t M, int64_t N, int64_t K) {
  if (M <= 0 || N <= 0 || batch <= 0) return;
  FG_CHECK((N + BN - 1) / BN <= kMaxGridYZ, ValueError,
           "[gemm] the CUDA kernel takes at most " << kMaxGridYZ * BN << " columns, got " << N);
  auto launch = trans_a ? (trans_b ? launch_gemm<true, true> : launch_gemm<true, false>)
                        : (trans_b ? launch_gemm<false, true> : launch_gemm<false, false>);
  launch(C, A, B, epilogue, batch, stride_c, stride_a, stride_b, M, N, K);
}

}  // namespace

// A (M, K) or (K, M) if trans_a, B (K, N) or (N, K) if trans_b, bias (N) or null -> C (M, N)
void gemm(float* C, const float* A, const float* B, const float* bias, bool relu, bool trans_a,
          bool trans_b, bool accumulate, int64_t M, int64_t N, int64_t K) {
  launch_gemm(C, A, B, Epilogue{bias, accumulate, relu}, trans_a, trans_b, 1, 0, 0, 0, M, N, K);
}

// A[i] (M, K) or (K, M), B[i] (K, N) or (N, K) -> C[i] (M, N), for i < batch
void gemm_batched(float* C, const float* A, const float* B, bool trans_a, bool trans_b,
                  int64_t batch, int64_t stride_c, int64_t stride_a, int64_t stride_b, int64_t M,
                  int64_t N, int64_t K) {
  launch_gemm(C, A, B, Epilogue{nullptr, false, false}, trans_a, trans_b, batch, stride_c, stride_a,
              stride_b, M, N, K);
}

}  // namespace fg::cuda
