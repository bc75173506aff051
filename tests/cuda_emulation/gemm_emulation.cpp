// Runs the CUDA GEMM kernels (csrc/cuda/gemm_kernel.cuh) on the host, through the emulation
// in cuda_runtime.h, and checks them against a long double product: gemm.cu's two tiles in
// float and in double with every transpose, edge sizes, split K, batches (with a reused
// operand), the epilogues, and misaligned operands (the scalar loads); the candidate tiles of
// bench/gemm_tiles.h (float) with every transpose at edge sizes and with the epilogues.
// Outputs start as NaN, so an element never written fails; a guard after C catches writes
// past it. Prints one line per failure and exits 1 if any.
#include <cstdio>
#include <limits>
#include <random>
#include <string>

#include "cuda_runtime.h"
// The kernels, compiled for the host:
#include "bench/gemm_tiles.h"
#include "cuda/gemm_kernel.cuh"

namespace {

using fg::cuda::Epilogue;
using fg::cuda::GemmArgs;

std::mt19937 rng(7);

template <class T>
std::vector<T> random_values(int64_t n) {
  std::uniform_real_distribution<T> uniform(-1, 1);
  std::vector<T> v(n);
  for (T& x : v) x = uniform(rng);
  return v;
}

template <class T, class Tile>
void launch(const GemmArgs<T>& args, bool trans_a, bool trans_b, unsigned grid_z) {
  auto kernel = fg::cuda::gemm_kernel_for<T, Tile>(trans_a, trans_b);
  emulation::launch(Tile::grid(args.M, args.N, grid_z), {fg::cuda::kGemmThreads, 1, 1},
                    [&] { kernel(args); });
}

template <class T>
using Launch = void (*)(const GemmArgs<T>&, bool trans_a, bool trans_b, unsigned grid_z);

struct TileEntry {
  int bm, bn, bk, min_blocks, warp_rows;
  Launch<float> launch_float;
  Launch<double> launch_double;
  int64_t (*slice_depth)(int64_t K, int64_t slices);
  Launch<float> launcher(float) const { return launch_float; }
  Launch<double> launcher(double) const { return launch_double; }
};
#define FG_TILE_ENTRY(BM, BN, BK, BLOCKS, WARP_ROWS)                            \
  TileEntry{BM,                                                                 \
            BN,                                                                 \
            BK,                                                                 \
            BLOCKS,                                                             \
            WARP_ROWS,                                                          \
            launch<float, fg::cuda::TileShape<BM, BN, BK, BLOCKS, WARP_ROWS>>,  \
            launch<double, fg::cuda::TileShape<BM, BN, BK, BLOCKS, WARP_ROWS>>, \
            fg::cuda::TileShape<BM, BN, BK, BLOCKS, WARP_ROWS>::slice_depth},
const TileEntry kTiles[] = {FG_GEMM_TILES(FG_TILE_ENTRY)};
const TileEntry& kLargeTile = kTiles[0];  // bench/gemm_tiles.h lists gemm.cu's two first
const TileEntry& kSmallTile = kTiles[1];

struct Case {
  TileEntry tile;
  bool trans_a, trans_b;
  int64_t M, N, K;
  int64_t batch = 1, slices = 1;
  bool bias = false, accumulate = false, relu = false, reuse_a = false;
  int64_t misalign = 0;  // elements by which A and B start past an aligned address
  bool in_double = false;

  std::string name() const {
    char text[200];
    std::snprintf(
        text, sizeof text, in_double ? "double" : "float",
        "%s tile %dx%dx%d/%dw%d %c%c M=%lld N=%lld K=%lld batch=%lld slices=%lld bias=%d acc=%d "
        "relu=%d reuse_a=%d misalign=%lld",
        tile.bm, tile.bn, tile.bk, tile.min_blocks, tile.warp_rows, trans_a ? 'T' : 'N',
        trans_b ? 'T' : 'N', (long long)M, (long long)N, (long long)K, (long long)batch,
        (long long)slices, bias, accumulate, relu, reuse_a, (long long)misalign);
    return text;
  }
};

// Runs the case as csrc/cuda/gemm.cu would launch it, in T; returns the number of bad
// elements.
template <class T>
int64_t run_in(const Case& c) {
  const int64_t M = c.M, N = c.N, K = c.K, mn = M * N, guard = 37;
  int64_t a_size = M * K, b_size = K * N;
  std::vector<T> a_store = random_values<T>(c.misalign + (c.reuse_a ? 1 : c.batch) * a_size);
  std::vector<T> b_store = random_values<T>(c.misalign + c.batch * b_size);
  const T* A = a_store.data() + c.misalign;
  const T* B = b_store.data() + c.misalign;
  std::vector<T> bias = random_values<T>(N);
  std::vector<T> start = random_values<T>(c.batch * mn);
  std::vector<T> C(c.batch * mn + guard, NAN);
  for (int64_t i = 0; i < guard; ++i) C[c.batch * mn + i] = T(12345);
  if (c.accumulate) std::copy(start.begin(), start.end(), C.begin());

  Epilogue<T> epilogue{c.bias ? bias.data() : nullptr, c.accumulate, c.relu};
  GemmArgs<T> args{C.data(), A, B, epilogue, nullptr, K, 0, mn, c.reuse_a ? 0 : a_size,
                   b_size,   M, N, K};
  Launch<T> launch = c.tile.launcher(T());
  std::vector<T> partials;
  if (c.slices > 1) {
    args.k_per_slice = c.tile.slice_depth(K, c.slices);
    int64_t slices = (K + args.k_per_slice - 1) / args.k_per_slice;
    partials.assign(slices * mn, NAN);
    args.partials = partials.data();
    launch(args, c.trans_a, c.trans_b, unsigned(slices));
    // A small grid, so that the grid-stride loop takes several turns.
    emulation::launch({3, 1, 1}, {64, 1, 1}, [&] {
      fg::cuda::gemm_add_slices(C.data(), partials.data(), epilogue, slices, M, N);
    });
  } else {
    launch(args, c.trans_a, c.trans_b, unsigned(c.batch));
  }

  // Rounding error of a sum of K products, plus the bias and C: a few units of T's epsilon
  // for each term, of the terms' magnitude.
  const long double tolerance = 4.0L * (K + 2) * std::numeric_limits<T>::epsilon();
  int64_t bad = 0;
  for (int64_t z = 0; z < c.batch; ++z) {
    const T* a = A + (c.reuse_a ? 0 : z * a_size);
    const T* b = B + z * b_size;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        long double sum = 0, magnitude = 0;
        for (int64_t k = 0; k < K; ++k) {
          long double x = c.trans_a ? a[k * M + m] : a[m * K + k];
          long double y = c.trans_b ? b[n * K + k] : b[k * N + n];
          sum += x * y, magnitude += std::fabs(x * y);
        }
        if (c.bias) sum += bias[n];
        if (c.accumulate) sum += start[z * mn + m * N + n];
        if (c.relu && sum < 0) sum = 0;
        long double got = C[z * mn + m * N + n];
        if (!(std::fabs(got - sum) <= tolerance * (magnitude + 1.0L))) {
          if (bad < 3)
            std::printf("FAIL %s: C[%lld][%lld][%lld] = %.17Lg, expected %.17Lg\n",
                        c.name().c_str(), (long long)z, (long long)m, (long long)n, got, sum);
          ++bad;
        }
      }
  }
  for (int64_t i = 0; i < guard; ++i)
    if (C[c.batch * mn + i] != T(12345)) {
      std::printf("FAIL %s: wrote past C\n", c.name().c_str());
      ++bad;
      break;
    }
  return bad;
}

int64_t run(const Case& c) { return c.in_double ? run_in<double>(c) : run_in<float>(c); }

}  // namespace

template <class Shape>
bool is(const TileEntry& tile) {
  return tile.bm == Shape::BM && tile.bn == Shape::BN && tile.bk == Shape::BK &&
         tile.min_blocks == Shape::min_blocks && tile.warp_rows == Shape::warp_rows;
}

int main() {
  if (!is<fg::cuda::LargeTile>(kLargeTile) || !is<fg::cuda::SmallTile>(kSmallTile)) {
    std::printf("FAIL: bench/gemm_tiles.h does not list gemm.cu's LargeTile and SmallTile first\n");
    return 1;
  }
  std::vector<Case> cases;
  for (const TileEntry& tile : {kLargeTile, kSmallTile})
    for (int trans = 0; trans < 4; ++trans) {
      bool ta = trans & 1, tb = trans & 2;
      int64_t side = tile.bm;  // square tiles
      // Edge sizes on both sides of the tiles, odd depths, and an empty one.
      for (auto [M, N, K] : {std::tuple<int64_t, int64_t, int64_t>{1, 1, 1},
                             {7, 5, 3},
                             {side, side, 16},
                             {side + 1, side - 1, 33},
                             {130, 67, 21},
                             {3, 200, 9},
                             {65, 65, 0}})
        cases.push_back({tile, ta, tb, M, N, K});
      Case epilogues{tile, ta, tb, 70, 75, 19};
      epilogues.bias = epilogues.relu = true;
      cases.push_back(epilogues);
      epilogues.accumulate = true;
      cases.push_back(epilogues);
      Case misaligned{tile, ta, tb, 66, 69, 23};
      misaligned.misalign = 1;
      cases.push_back(misaligned);
      Case batched{tile, ta, tb, 9, 70, 12};
      batched.batch = 3;
      cases.push_back(batched);
      batched.reuse_a = true;
      cases.push_back(batched);
    }
  // Split K, as gemm.cu uses it (small tile): slices of BK-multiples with a short last one.
  for (int trans = 0; trans < 4; ++trans) {
    Case split{kSmallTile, bool(trans & 1), bool(trans & 2), 70, 66, 200};
    split.slices = 3;
    cases.push_back(split);
    split.bias = split.relu = split.accumulate = true;
    split.K = 97;
    split.slices = 2;
    cases.push_back(split);
  }
  // gemm.cu's cases again in double.
  for (size_t i = 0, gemm_cu_cases = cases.size(); i < gemm_cu_cases; ++i) {
    Case in_double = cases[i];
    in_double.in_double = true;
    cases.push_back(in_double);
  }
  // The candidates: a tile and a bit in each direction, several slices deep, and an
  // epilogue on a ragged edge.
  for (const TileEntry& tile : kTiles) {
    if (&tile == &kLargeTile || &tile == &kSmallTile) continue;
    for (int trans = 0; trans < 4; ++trans) {
      bool ta = trans & 1, tb = trans & 2;
      cases.push_back({tile, ta, tb, tile.bm + 1, tile.bn - 1, 2 * tile.bk + 3});
      Case epilogues{tile, ta, tb, 70, 75, 19};
      epilogues.bias = epilogues.relu = epilogues.accumulate = true;
      epilogues.misalign = 1;
      cases.push_back(epilogues);
    }
  }

  int64_t failed = 0;
  for (const Case& c : cases) failed += run(c) > 0;
  std::printf("%lld of %zu cases failed\n", (long long)failed, cases.size());
  return failed ? 1 : 0;
}
