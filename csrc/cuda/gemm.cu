// GEMM on the GPU, float and double: C (M, N) = relu?(op(A) @ op(B) [+ C] [+ bias]), the CPU's gemm
// (csrc/cpu/gemm.cpp) being the reference; batched GEMM is the same kernel with the batch
// index on the grid's z axis. The kernels are in gemm_kernel.cuh; this file picks the tile
// and the split of K for each product, and launches.
#include <algorithm>
#include <atomic>
#include <cstdint>

#include "cuda/gemm_kernel.cuh"
#include "cuda/launch.cuh"
#include "kernels.h"

namespace fg::cuda {
namespace {

constexpr int64_t kMaxGridYZ = 65535;
// A slice of K at least this deep: 4 of the small tile's BK-deep steps, so that loading the
// first slice and storing the partials stay a small part of a block's work.
constexpr int64_t kMinSliceDepth = 64;

int multiprocessors() {  // of the current device, read once per device
  static std::atomic<int> counts[64];
  int device = 0;
  FG_CUDA_CHECK(cudaGetDevice(&device));
  int count = device < 64 ? counts[device].load() : 0;
  if (count == 0) {
    FG_CUDA_CHECK(cudaDeviceGetAttribute(&count, cudaDevAttrMultiProcessorCount, device));
    if (device < 64) counts[device] = count;
  }
  return count;
}

// How a product is cut into blocks: the tile, and the slices of K (1: no split).
struct GemmPlan {
  bool large_tile;  // LargeTile, else SmallTile
  int64_t slices, k_per_slice;
};

// The large tile while it gives every multiprocessor a block; else the small one, and a
// single product whose small tiles still leave multiprocessors idle splits K among more
// blocks, each slice at least kMinSliceDepth deep.
GemmPlan plan_gemm(int64_t batch, int64_t M, int64_t N, int64_t K) {
  int64_t sms = multiprocessors();
  if (batch * ceil_div(M, LargeTile::BM) * ceil_div(N, LargeTile::BN) >= sms ||
      ceil_div(N, SmallTile::BN) > kMaxGridYZ)
    return {true, 1, K};
  int64_t tiles = ceil_div(M, SmallTile::BM) * ceil_div(N, SmallTile::BN);
  int64_t slices = std::min(ceil_div(sms, tiles), K / kMinSliceDepth);
  if (batch > 1 || slices < 2) return {false, 1, K};
  int64_t k_per_slice = SmallTile::slice_depth(K, slices);
  return {false, ceil_div(K, k_per_slice), k_per_slice};
}

template <class T, class Tile>
void launch_tiles(const GemmArgs<T>& args, bool trans_a, bool trans_b, int64_t grid_z) {
  auto kernel = gemm_kernel_for<T, Tile>(trans_a, trans_b);
  FG_LAUNCH_KERNEL(kernel, Tile::grid(args.M, args.N, grid_z), kGemmThreads, args);
  FG_CUDA_CHECK_LAUNCH("gemm");
}

template <class T>
void launch_gemm(T* C, const T* A, const T* B, Epilogue<T> epilogue, bool trans_a, bool trans_b,
                 int64_t batch, int64_t stride_c, int64_t stride_a, int64_t stride_b, int64_t M,
                 int64_t N, int64_t K) {
  if (M <= 0 || N <= 0 || batch <= 0) return;
  FG_CHECK(ceil_div(N, LargeTile::BN) <= kMaxGridYZ, ValueError,
           "[gemm] the CUDA kernel takes at most " << kMaxGridYZ * LargeTile::BN << " columns, got "
                                                   << N);
  GemmPlan plan = plan_gemm(batch, M, N, K);
  GemmArgs<T> args{C, A, B, epilogue, nullptr, K, 0, stride_c, stride_a, stride_b, M, N, K};
  auto launch = plan.large_tile ? launch_tiles<T, LargeTile> : launch_tiles<T, SmallTile>;
  if (plan.slices > 1) {  // the partial products, then their sum through the epilogue
    DeviceScratch scratch(static_cast<size_t>(plan.slices * M * N) * sizeof(T));
    args.partials = static_cast<T*>(scratch.data());
    args.k_per_slice = plan.k_per_slice;
    launch(args, trans_a, trans_b, plan.slices);
    FG_LAUNCH_KERNEL(gemm_add_slices<T>, blocks_for(M * N), kThreads, C, args.partials, epilogue,
                     plan.slices, M, N);
    FG_CUDA_CHECK_LAUNCH("gemm");
    return;
  }
  // The batch goes along z, in launches of at most 65535 matrices.
  for (int64_t z0 = 0; z0 < batch; z0 += kMaxGridYZ) {
    args.z0 = z0;
    launch(args, trans_a, trans_b, std::min(kMaxGridYZ, batch - z0));
  }
}

}  // namespace

// A (M, K) or (K, M) if trans_a, B (K, N) or (N, K) if trans_b, bias (N) or null -> C (M, N)
void gemm(float* C, const float* A, const float* B, const float* bias, bool relu, bool trans_a,
          bool trans_b, bool accumulate, int64_t M, int64_t N, int64_t K) {
  launch_gemm(C, A, B, Epilogue<float>{bias, accumulate, relu}, trans_a, trans_b, 1, 0, 0, 0, M, N,
              K);
}
void gemm(double* C, const double* A, const double* B, const double* bias, bool relu, bool trans_a,
          bool trans_b, bool accumulate, int64_t M, int64_t N, int64_t K) {
  launch_gemm(C, A, B, Epilogue<double>{bias, accumulate, relu}, trans_a, trans_b, 1, 0, 0, 0, M, N,
              K);
}

// A[i] (M, K) or (K, M), B[i] (K, N) or (N, K) -> C[i] (M, N), for i < batch
void gemm_batched(float* C, const float* A, const float* B, bool trans_a, bool trans_b,
                  int64_t batch, int64_t stride_c, int64_t stride_a, int64_t stride_b, int64_t M,
                  int64_t N, int64_t K) {
  launch_gemm(C, A, B, Epilogue<float>{nullptr, false, false}, trans_a, trans_b, batch, stride_c,
              stride_a, stride_b, M, N, K);
}
void gemm_batched(double* C, const double* A, const double* B, bool trans_a, bool trans_b,
                  int64_t batch, int64_t stride_c, int64_t stride_a, int64_t stride_b, int64_t M,
                  int64_t N, int64_t K) {
  launch_gemm(C, A, B, Epilogue<double>{nullptr, false, false}, trans_a, trans_b, batch, stride_c,
              stride_a, stride_b, M, N, K);
}

}  // namespace fg::cuda
