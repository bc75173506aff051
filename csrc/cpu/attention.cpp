// Fused attention on the CPU (csrc/kernel_list.h), FlashAttention-2's tiling: a forward task
// is one head's tile of kTile query rows, which walks its keys in blocks of kRows; a backward
// task one key/value head, whose blocks of kRows keys walk its query rows in tiles of kTile.
// Both hold a tile's scores keys by queries, (keys, kTile): each product runs along a
// contiguous row of kTile (the query tile transposed to (width, kTile)), and each query's
// softmax runs down a column, lane by lane, which FG_SIMD vectorizes with no reduction across
// lanes; a task's tiles stay in L1. Each worker takes the next task not yet taken, the
// forward's longest (a causal head's last query tiles) first, so that the workers end
// together; each task writes its own rows only, so no sum depends on which worker ran it.
#include <algorithm>
#include <atomic>
#include <vector>

#include "attention_math.h"
#include "cpu/parallel.h"
#include "kernels.h"

namespace fg::cpu {
namespace {

constexpr int64_t kRows = 64, kTile = 32;
// Multiply-adds below which one thread does the whole problem (waking threads costs more)
constexpr int64_t kParallelWork = 1 << 16;

template <typename T>
struct AttentionTiles {
  std::vector<T> transposed, transposed_other, scores, dweights, factors, acc, row_max, row_sum,
      column_lse, column_delta;
  // transposed: the query tile (E, kTile); transposed_other: the backward's dout tile (Ev,
  // kTile); factors: the dropout factors of a tile, all 1 without dropout; acc, row_max,
  // row_sum: the forward's running output and softmax of its query tile
  explicit AttentionTiles(const AttentionGeometry& g)
      : transposed(g.E * kTile), transposed_other(g.Ev * kTile), scores(kRows * kTile),
        dweights(kRows * kTile), factors(kRows * kTile, T(1)), acc(kTile * g.Ev), row_max(kTile),
        row_sum(kTile), column_lse(kTile), column_delta(kTile) {}
};

// task(tiles, t) for t in [0, tasks), in that order, each worker taking the next one
template <typename T, typename Task>
void for_each_task(const AttentionGeometry& g, int64_t tasks, const Task& task) {
  const int64_t work = g.batch_heads * g.L * g.S * (g.E + g.Ev);
  const int64_t workers =
      std::max<int64_t>(1, std::min<int64_t>({thread_count(), tasks, work / kParallelWork}));
  std::atomic<int64_t> next{0};
  parallel_region(static_cast<int>(workers), [&](int, int) {
    AttentionTiles<T> tiles(g);
    for (int64_t t = next++; t < tasks; t = next++) task(tiles, t);
  });
}

// The products below keep R rows' sums in registers, so that each load of the shared
// operand feeds R multiply-adds: the loops run over compile-time widths that FG_SIMD's
// clones vectorize (kTile scores; kChunk<T> output columns, four AVX2 registers)
template <typename T>
constexpr int64_t kChunk = 128 / sizeof(T);

// out (R, kTile) = a (R, width; rows `a_stride` apart) @ bt (width, kTile)
template <int R, typename T>
__attribute__((always_inline)) inline void row_products(T* __restrict out, const T* __restrict a,
                                                        const T* __restrict bt, int64_t width,
                                                        int64_t a_stride) {
  T sums[R][kTile] = {};
  for (int64_t e = 0; e < width; ++e)
    for (int i = 0; i < R; ++i) {
      const T x = a[i * a_stride + e];
      for (int64_t c = 0; c < kTile; ++c) sums[i][c] += x * bt[e * kTile + c];
    }
  for (int i = 0; i < R; ++i)
    for (int64_t c = 0; c < kTile; ++c) out[i * kTile + c] = sums[i][c];
}

// out (rows, kTile) = a (rows, width; rows `a_stride` apart) @ bt (width, kTile)
template <typename T>
FG_SIMD void tile_products(T* __restrict out, const T* __restrict a, const T* __restrict bt,
                           int64_t rows, int64_t width, int64_t a_stride) {
  int64_t r = 0;
  for (; r + 3 <= rows; r += 3)
    row_products<3>(out + r * kTile, a + r * a_stride, bt, width, a_stride);
  if (rows - r == 2) row_products<2>(out + r * kTile, a + r * a_stride, bt, width, a_stride);
  if (rows - r == 1) row_products<1>(out + r * kTile, a + r * a_stride, bt, width, a_stride);
}

// t (width, kTile) = x's first `count` rows (`width` long, `stride` apart) transposed; zeros
// past count
template <typename T>
void transpose_tile(T* t, const T* x, int64_t count, int64_t width, int64_t stride) {
  for (int64_t c = 0; c < kTile; ++c)
    for (int64_t e = 0; e < width; ++e) t[e * kTile + c] = c < count ? x[c * stride + e] : T(0);
}

// acc (R, width) += w (R, count) @ x (count, width; rows `x_stride` apart), weight (i, c) at
// w[i * w_row + c * w_column]
template <int R, typename T>
__attribute__((always_inline)) inline void accumulate_rows(T* __restrict acc, const T* __restrict w,
                                                           const T* __restrict x, int64_t count,
                                                           int64_t width, int64_t x_stride,
                                                           int64_t w_row, int64_t w_column) {
  constexpr int64_t n = kChunk<T>;
  int64_t first = 0;
  for (; first + n <= width; first += n) {
    T sums[R][n];
    for (int i = 0; i < R; ++i)
      for (int64_t e = 0; e < n; ++e) sums[i][e] = acc[i * width + first + e];
    for (int64_t c = 0; c < count; ++c)
      for (int i = 0; i < R; ++i) {
        const T weight = w[i * w_row + c * w_column];
        for (int64_t e = 0; e < n; ++e) sums[i][e] += weight * x[c * x_stride + first + e];
      }
    for (int i = 0; i < R; ++i)
      for (int64_t e = 0; e < n; ++e) acc[i * width + first + e] = sums[i][e];
  }
  for (int i = 0; i < R; ++i)
    for (int64_t c = 0; c < count; ++c)
      for (int64_t e = first; e < width; ++e)
        acc[i * width + e] += w[i * w_row + c * w_column] * x[c * x_stride + e];
}

// acc (rows, width) += w (rows, count) @ x (count, width; rows `x_stride` apart): w a tile
// (rows, kTile), or with w_transposed its transpose (count, kTile)
template <typename T>
FG_SIMD void accumulate_tile(T* __restrict acc, const T* __restrict w, const T* __restrict x,
                             int64_t rows, int64_t count, int64_t width, int64_t x_stride,
                             bool w_transposed = false) {
  const int64_t w_row = w_transposed ? 1 : kTile, w_column = w_transposed ? kTile : 1;
  int64_t r = 0;
  for (; r + 3 <= rows; r += 3)
    accumulate_rows<3>(acc + r * width, w + r * w_row, x, count, width, x_stride, w_row, w_column);
  if (rows - r == 2)
    accumulate_rows<2>(acc + r * width, w + r * w_row, x, count, width, x_stride, w_row, w_column);
  if (rows - r == 1)
    accumulate_rows<1>(acc + r * width, w + r * w_row, x, count, width, x_stride, w_row, w_column);
}

// scores (keys, kTile) of keys first_key.. by the `count` queries first_query.. -> scaled and
// masked; -inf past `count` columns. A mask goes score by score; the causal diagonal, key by
// key, as a run of -inf.
template <typename T>
FG_SIMD void scale_and_mask(T* __restrict scores, const AttentionGeometry& g, const bool* keep,
                            const T* bias, int64_t mask_start, int64_t first_query, int64_t keys,
                            int64_t first_key, int64_t count) {
  const T scale = static_cast<T>(g.scale);
  for (int64_t at = 0; at < keys * kTile; ++at) scores[at] *= scale;
  if (keep || bias)
    for (int64_t r = 0; r < keys; ++r)
      for (int64_t c = 0; c < count; ++c)
        scores[r * kTile + c] +=
            attention::score_bias(g, keep, bias, mask_start, first_query + c, first_key + r);
  const T masked = attention::minus_infinity<T>();
  for (int64_t r = 0; r < keys; ++r) {
    // the queries before the key (score_bias's causal test: key > query)
    const int64_t before =
        g.causal ? std::clamp<int64_t>(first_key + r - first_query, 0, count) : 0;
    for (int64_t c = 0; c < before; ++c) scores[r * kTile + c] = masked;
    for (int64_t c = count; c < kTile; ++c) scores[r * kTile + c] = masked;
  }
}

// The keys [0, n) of a block of `keys` keys from first_key that one of the `count` queries
// from first_query sees: all without is_causal; with it, a key is seen by the queries from
// itself on.
int64_t seen_keys(const AttentionGeometry& g, int64_t first_key, int64_t keys, int64_t first_query,
                  int64_t count) {
  return g.causal ? std::clamp<int64_t>(first_query + count - first_key, 0, keys) : keys;
}

// The backward's recomputation over a tile of keys by query rows: scores (rows, kTile) -> the
// kept weights w f, with w = exp(score - lse) and f the dropout factors (rows, kTile), and
// dweights (rows, kTile) -> the scores' gradients; lse and delta (kTile) are the columns'
template <typename T>
FG_SIMD void recompute_tile(T* __restrict scores, T* __restrict dweights,
                            const T* __restrict factors, const T* __restrict lse,
                            const T* __restrict delta, int64_t rows, T scale) {
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < kTile; ++c) {
      const int64_t at = r * kTile + c;
      const T weight = exp_of(scores[at] - lse[c]);
      scores[at] = weight * factors[at];
      dweights[at] = attention::score_gradient(weight, dweights[at] * factors[at], delta[c], scale);
    }
}

// The dropout factors (keys, kTile) of head bh's scores of keys first_key.. by the `count`
// queries first_query..; none without dropout (tiles.factors stays all 1)
template <typename T>
void dropout_tile(AttentionTiles<T>& tiles, const AttentionGeometry& g, int64_t bh, int64_t keys,
                  int64_t count, int64_t first_query, int64_t first_key) {
  if (g.dropout_p <= 0) return;
  for (int64_t r = 0; r < keys; ++r)
    for (int64_t c = 0; c < count; ++c)
      tiles.factors[r * kTile + c] =
          attention::dropout_factor<T>(g, bh, first_query + c, first_key + r);
}

// The online-softmax step of a tile's kTile query columns over its scores s (keys, kTile),
// which become the weights exp(score - the column's new maximum); each query's output so far,
// acc (kTile, width), is rescaled. Column by column in lanes, so that it vectorizes.
template <typename T>
FG_SIMD void softmax_columns(T* __restrict s, T* __restrict acc, T* __restrict row_max,
                             T* __restrict row_sum, int64_t keys, int64_t width) {
  T new_max[kTile], shift[kTile], rescale[kTile], total[kTile] = {};
  for (int64_t c = 0; c < kTile; ++c) new_max[c] = row_max[c];
  for (int64_t r = 0; r < keys; ++r)
    for (int64_t c = 0; c < kTile; ++c)
      new_max[c] = s[r * kTile + c] > new_max[c] ? s[r * kTile + c] : new_max[c];
  // A column whose scores so far are all -inf shifts by 0 instead, so that its weights are
  // exp(-inf) = 0 (attention::running_weight) without a select that keeps exp out of the
  // vector loop; its sums are 0, so its rescale factor (0 here, not 1) changes nothing
  for (int64_t c = 0; c < kTile; ++c) {
    shift[c] = new_max[c] == attention::minus_infinity<T>() ? T(0) : new_max[c];
    rescale[c] = exp_of(row_max[c] - shift[c]);
  }
  for (int64_t r = 0; r < keys; ++r)
    for (int64_t c = 0; c < kTile; ++c) {
      s[r * kTile + c] = exp_of(s[r * kTile + c] - shift[c]);
      total[c] += s[r * kTile + c];
    }
  for (int64_t c = 0; c < kTile; ++c) {
    row_sum[c] = row_sum[c] * rescale[c] + total[c];
    row_max[c] = new_max[c];
  }
  for (int64_t c = 0; c < kTile; ++c)
    for (int64_t e = 0; e < width; ++e) acc[c * width + e] *= rescale[c];
}

// The keys that rows [first_row, first_row + rows) look at: all, or up to the diagonal
int64_t key_end(const AttentionGeometry& g, int64_t first_row, int64_t rows) {
  return g.causal ? std::min(g.S, first_row + rows) : g.S;
}

}  // namespace

template <typename T>
void attention_forward(T* out, T* lse, const T* q, const T* k, const T* v, const bool* keep,
                       const T* bias, const AttentionGeometry& g) {
  const int64_t tiles_per_head = (g.L + kTile - 1) / kTile, Ev = g.Ev, group = g.kv_group;
  const int64_t k_stride = g.k.row_stride, v_stride = g.v.row_stride;
  for_each_task<T>(g, g.batch_heads * tiles_per_head, [&](AttentionTiles<T>& tiles, int64_t task) {
    // every head's last tile first: with is_causal, the later a tile the more keys it sees
    const int64_t bh = task % g.batch_heads;
    const int64_t first_row = (tiles_per_head - 1 - task / g.batch_heads) * kTile;
    const int64_t count = std::min(kTile, g.L - first_row);
    const int64_t mask_start = keep || bias ? g.mask_start(bh) : 0;
    T *acc = tiles.acc.data(), *scores = tiles.scores.data();
    T *row_max = tiles.row_max.data(), *row_sum = tiles.row_sum.data();
    std::fill(acc, acc + kTile * Ev, T(0));
    std::fill(row_max, row_max + kTile, attention::minus_infinity<T>());
    std::fill(row_sum, row_sum + kTile, T(0));
    transpose_tile(tiles.transposed.data(), g.row_of(q, g.q, bh, first_row), count, g.E,
                   g.q.row_stride);
    const int64_t end = key_end(g, first_row, count);
    for (int64_t first_key = 0; first_key < end; first_key += kRows) {
      // the keys [0, n) of the block that a query of the tile sees
      const int64_t keys = std::min(kRows, end - first_key);
      const int64_t n = seen_keys(g, first_key, keys, first_row, count);
      tile_products(scores, g.row_of(k, g.k, bh, first_key, group), tiles.transposed.data(), n, g.E,
                    k_stride);
      scale_and_mask(scores, g, keep, bias, mask_start, first_row, n, first_key, count);
      softmax_columns(scores, acc, row_max, row_sum, n, Ev);
      if (g.dropout_p > 0) {
        dropout_tile(tiles, g, bh, n, count, first_row, first_key);
        for (int64_t at = 0; at < n * kTile; ++at) scores[at] *= tiles.factors[at];
      }
      accumulate_tile(acc, scores, g.row_of(v, g.v, bh, first_key, group), count, n, Ev, v_stride,
                      true);
    }
    for (int64_t r = 0; r < count; ++r) {
      const T inverse = attention::inverse_sum(row_sum[r]);
      T* out_row = g.row_of(out, g.o, bh, first_row + r);
      for (int64_t e = 0; e < Ev; ++e) out_row[e] = acc[r * Ev + e] * inverse;
      lse[bh * g.L + first_row + r] = attention::log_sum_exp(row_max[r], row_sum[r]);
    }
  });
}

// One pass per key/value head, FlashAttention-2's loop order: for each block of kRows keys,
// over the tiles of kTile query rows of its query heads, each weight and its gradient are
// recomputed once and give the block's dk and dv and the tile's terms of dq. A task owns a
// key/value head, its query heads' dq with it, so no sum needs atomics or depends on the
// thread count (dq's terms add in the order of the key blocks).
template <typename T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* delta, const T* q, const T* k,
                        const T* v, const T* lse, const bool* keep, const T* bias,
                        const AttentionGeometry& g) {
  const int64_t E = g.E, Ev = g.Ev, group = g.kv_group;
  const int64_t q_stride = g.q.row_stride, k_stride = g.k.row_stride, v_stride = g.v.row_stride;
  const int64_t dout_stride = g.o.row_stride;
  const T scale = static_cast<T>(g.scale);
  for_each_task<T>(g, g.batch_heads / group, [&](AttentionTiles<T>& tiles, int64_t head) {
    T *scores = tiles.scores.data(), *dweights = tiles.dweights.data();
    std::fill(dq + head * group * g.L * E, dq + (head + 1) * group * g.L * E, T(0));
    for (int64_t first_key = 0; first_key < g.S; first_key += kRows) {
      const int64_t keys = std::min(kRows, g.S - first_key), key = head * g.S + first_key;
      T *dk_rows = dk + key * E, *dv_rows = dv + key * Ev;
      std::fill(dk_rows, dk_rows + keys * E, T(0));
      std::fill(dv_rows, dv_rows + keys * Ev, T(0));
      const T* k_rows = g.row_of(k, g.k, head * group, first_key, group);
      const T* v_rows = g.row_of(v, g.v, head * group, first_key, group);
      for (int64_t bh = head * group; bh < (head + 1) * group; ++bh) {
        const int64_t mask_start = keep || bias ? g.mask_start(bh) : 0;
        for (int64_t first_row = g.causal ? first_key - first_key % kTile : 0; first_row < g.L;
             first_row += kTile) {
          const int64_t count = std::min(kTile, g.L - first_row), row = bh * g.L + first_row;
          for (int64_t c = 0; c < kTile; ++c) {
            tiles.column_lse[c] = c < count ? lse[row + c] : static_cast<T>(INFINITY);
            tiles.column_delta[c] = c < count ? delta[row + c] : T(0);
          }
          // the keys [0, n) that a query of the tile sees
          const int64_t n = seen_keys(g, first_key, keys, first_row, count);
          const T* queries = g.row_of(q, g.q, bh, first_row);
          const T* douts = g.row_of(dout, g.o, bh, first_row);
          transpose_tile(tiles.transposed.data(), queries, count, E, q_stride);
          transpose_tile(tiles.transposed_other.data(), douts, count, Ev, dout_stride);
          tile_products(scores, k_rows, tiles.transposed.data(), n, E, k_stride);
          scale_and_mask(scores, g, keep, bias, mask_start, first_row, n, first_key, count);
          tile_products(dweights, v_rows, tiles.transposed_other.data(), n, Ev, v_stride);
          dropout_tile(tiles, g, bh, n, count, first_row, first_key);
          recompute_tile(scores, dweights, tiles.factors.data(), tiles.column_lse.data(),
                         tiles.column_delta.data(), n, scale);
          accumulate_tile(dv_rows, scores, douts, n, count, Ev, dout_stride);
          accumulate_tile(dk_rows, dweights, queries, n, count, E, q_stride);
          // dq (count, E) += ds^T k, the gradients ds (n keys, kTile) read transposed
          accumulate_tile(dq + row * E, dweights, k_rows, count, n, E, k_stride, true);
        }
      }
    }
  });
}

FG_INSTANTIATE_ATTENTION()

}  // namespace fg::cpu
