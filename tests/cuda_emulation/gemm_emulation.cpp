// Runs the CUDA SGEMM kernels (csrc/cuda/gemm_kernel.cuh) on the host, through the emulation
// in cuda_runtime.h, and checks them against a float64 product: gemm.cu's two tiles with
// every transpose, edge sizes, split K, batches (with a reused operand), the epilogues, and
// misaligned operands (the scalar loads); the candidate tiles of bench/gemm_tiles.h with
// every transpose at edge sizes and with the epilogues. Outputs start as NaN, so an element never
// written fails; a guard after C catches writes past it. Prints one line per failure and exits 1 if
// any.
#include <cstdio>
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

std::vector<float> random_values(int64_t n) {
  std::uniform_real_distribution<float> uniform(-1.0f, 1.0f);
  std::vector<float> v(n);
  for (float& x : v) x = uniform(rng);
  return v;
}

template <class Tile>
void launch(const GemmArgs& args, bool trans_a, bool trans_b, unsigned grid_z) {
  auto kernel = fg::cuda::gemm_kernel_for<Tile>(trans_a, trans_b);
  emulation::launch(Tile::grid(args.M, args.N, grid_z), {fg::cuda::kGemmThreads, 1, 1},
                    [&] { kernel(args); });
}

struct TileEntry {
  int bm, bn, bk, min_blocks, warp_rows;
  void (*launch)(const GemmArgs&, bool trans_a, bool trans_b, unsigned grid_z);
  int64_t (*slice_depth)(int64_t K, int64_t slices);
};
#define FG_TILE_ENTRY(BM, BN, BK, BLOCKS, WARP_ROWS)                    \
  TileEntry{BM,                                                         \
            BN,                                                         \
            BK,                                                         \
            BLOCKS,                                                     \
            WARP_ROWS,                                                  \
            launch<fg::cuda::TileShape<BM, BN, BK, BLOCKS, WARP_ROWS>>, \
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
  int64_t misalign = 0;  // floats by which A and B start past an aligned address

  std::string name() const {
    char text[200];
    std::snprintf(
        text, sizeof text,
        "tile %dx%dx%d/%dw%d %c%c M=%lld N=%lld K=%lld batch=%lld slices=%lld bias=%d acc=%d "
        "relu=%d reuse_a=%d misalign=%lld",
        tile.bm, tile.bn, tile.bk, tile.min_blocks, tile.warp_rows, trans_a ? 'T' : 'N',
        trans_b ? 'T' : 'N', (long long)M, (long long)N, (long long)K, (long long)batch,
        (long long)slices, bias, accumulate, relu, reuse_a, (long long)misalign);
    return text;
  }
};

// Runs the case as csrc/cuda/gemm.cu would launch it; returns the number of bad elements.
int64_t run(const Case& c) {
  const int64_t M = c.M, N = c.N, K = c.K, mn = M * N, guard = 37;
  int64_t a_size = M * K, b_size = K * N;
  std::vector<float> a_store = random_values(c.misalign + (c.reuse_a ? 1 : c.batch) * a_size);
  std::vector<float> b_store = random_values(c.misalign + c.batch * b_size);
  const float* A = a_store.data() + c.misalign;
  const float* B = b_store.data() + c.misalign;
  std::vector<float> bias = random_values(N);
  std::vector<float> start = random_values(c.batch * mn);
  std::vector<float> C(c.batch * mn + guard, NAN);
  for (int64_t i = 0; i < guard; ++i) C[c.batch * mn + i] = 12345.0f;
  if (c.accumulate) std::copy(start.begin(), start.end(), C.begin());

  Epilogue epilogue{c.bias ? bias.data() : nullptr, c.accumulate, c.relu};
  GemmArgs args{C.data(), A, B, epilogue, nullptr, K, 0, mn, c.reuse_a ? 0 : a_size,
                b_size,   M, N, K};
  std::vector<float> partials;
  if (c.slices > 1) {
    args.k_per_slice = c.tile.slice_depth(K, c.slices);
    int64_t slices = (K + args.k_per_slice - 1) / args.k_per_slice;
    partials.assign(slices * mn, NAN);
    args.partials = partials.data();
    c.tile.launch(args, c.trans_a, c.trans_b, unsigned(slices));
    // A small grid, so that the grid-stride loop takes several turns.
    emulation::launch({3, 1, 1}, {64, 1, 1}, [&] {
      fg::cuda::gemm_add_slices(C.data(), partials.data(), epilogue, slices, M, N);
    });
  } else {
    c.tile.launch(args, c.trans_a, c.trans_b, unsigned(c.batch));
  }

  int64_t bad = 0;
  for (int64_t z = 0; z < c.batch; ++z) {
    const float* a = A + (c.reuse_a ? 0 : z * a_size);
    const float* b = B + z * b_size;
    for (int64_t m = 0; m < M; ++m)
      for (int64_t n = 0; n < N; ++n) {
        double sum = 0, magnitude = 0;
        for (int64_t k = 0; k < K; ++k) {
          double x = c.trans_a ? a[k * M + m] : a[m * K + k];
          double y = c.trans_b ? b[n * K + k] : b[k * N + n];
          sum += x * y, magnitude += std::fabs(x * y);
        }
        if (c.bias) sum += bias[n];
        if (c.accumulate) sum += start[z * mn + m * N + n];
        if (c.relu && sum < 0) sum = 0;
        double got = C[z * mn + m * N + n];
        if (!(std::fabs(got - sum) <= 1e-5 * (magnitude + 1.0))) {
          if (bad < 3)
            std::printf("FAIL %s: C[%lld][%lld][%lld] = %g, expected %g\n", c.name().c_str(),
                        (long long)z, (long long)m, (long long)n, got, sum);
          ++bad;
        }
      }
  }
  for (int64_t i = 0; i < guard; ++i)
    if (C[c.batch * mn + i] != 12345.0f) {
      std::printf("FAIL %s: wrote past C\n", c.name().c_str());
      ++bad;
      break;
    }
  return bad;
}

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
