// Fused attention on the CPU (csrc/kernel_list.h), FlashAttention-2's tiling: a forward task
// is one head's block of kRows query rows, a backward task one key/value head, whose blocks of
// kRows keys walk its query rows in tiles of kTile. Each product of a tile runs along a
// contiguous row of kTile (the tile's other operand transposed to (width, kTile)), which
// FG_SIMD vectorizes; a task's tiles stay in L1. Workers take tasks round-robin, so the
// unequal blocks of a causal head spread evenly; each task writes its own rows only, so no
// sum depends on the thread count.
#include <algorithm>
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
  std::vector<T> transposed, transposed_other, transposed_gradients, scores, dweights, factors, acc,
      row_max, row_sum, column_lse, column_delta;
  // factors: the dropout factors of a tile, all 1 without dropout
  explicit AttentionTiles(const AttentionGeometry& g)
      : transposed(std::max(g.E, g.Ev) * kTile), transposed_other(g.Ev * kTile),
        transposed_gradients(kTile * kTile), scores(kRows * kTile), dweights(kRows * kTile),
        factors(kRows * kTile, T(1)), acc(kRows * std::max(g.E, g.Ev)), row_max(kRows),
        row_sum(kRows), column_lse(kTile), column_delta(kTile) {}
};

// task(tiles, t) for t in [0, tasks): worker w of n takes t = w, w + n, ...
template <typename T, typename Task>
void for_each_task(const AttentionGeometry& g, int64_t tasks, const Task& task) {
  const int64_t work = g.batch_heads * g.L * g.S * (g.E + g.Ev);
  const int64_t workers =
      std::max<int64_t>(1, std::min<int64_t>({thread_count(), tasks, work / kParallelWork}));
  parallel_for(workers, 1, [&](int64_t begin, int64_t end) {
    AttentionTiles<T> tiles(g);
    for (int64_t w = begin; w < end; ++w)
      for (int64_t t = w; t < tasks; t += workers) task(tiles, t);
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

// acc (R, width) += w (R, kTile; its first `count` columns) @ x (count, width; rows `x_stride`
// apart)
template <int R, typename T>
__attribute__((always_inline)) inline void accumulate_rows(T* __restrict acc, const T* __restrict w,
                                                           const T* __restrict x, int64_t count,
                                                           int64_t width, int64_t x_stride) {
  constexpr int64_t n = kChunk<T>;
  int64_t first = 0;
  for (; first + n <= width; first += n) {
    T sums[R][n];
    for (int i = 0; i < R; ++i)
      for (int64_t e = 0; e < n; ++e) sums[i][e] = acc[i * width + first + e];
    for (int64_t c = 0; c < count; ++c)
      for (int i = 0; i < R; ++i) {
        const T weight = w[i * kTile + c];
        for (int64_t e = 0; e < n; ++e) sums[i][e] += weight * x[c * x_stride + first + e];
      }
    for (int i = 0; i < R; ++i)
      for (int64_t e = 0; e < n; ++e) acc[i * width + first + e] = sums[i][e];
  }
  for (int i = 0; i < R; ++i)
    for (int64_t c = 0; c < count; ++c)
      for (int64_t e = first; e < width; ++e)
        acc[i * width + e] += w[i * kTile + c] * x[c * x_stride + e];
}

// acc (rows, width) += w (rows, kTile; its first `count` columns) @ x (count, width; rows
// `x_stride` apart)
template <typename T>
FG_SIMD void accumulate_tile(T* __restrict acc, const T* __restrict w, const T* __restrict x,
                             int64_t rows, int64_t count, int64_t width, int64_t x_stride) {
  int64_t r = 0;
  for (; r + 3 <= rows; r += 3)
    accumulate_rows<3>(acc + r * width, w + r * kTile, x, count, width, x_stride);
  if (rows - r == 2) accumulate_rows<2>(acc + r * width, w + r * kTile, x, count, width, x_stride);
  if (rows - r == 1) accumulate_rows<1>(acc + r * width, w + r * kTile, x, count, width, x_stride);
}

// scores (rows, kTile) of query rows first_row.. and keys first_key.. (or, rows_are_keys, of
// keys first_key.. by queries first_row..) -> scaled and masked; -inf past `count` columns.
// A mask goes score by score; the causal diagonal, row by row, as runs of -inf.
template <typename T>
FG_SIMD void scale_and_mask(T* __restrict scores, const AttentionGeometry& g, const bool* keep,
                            const T* bias, int64_t mask_start, int64_t first_row, int64_t rows,
                            int64_t first_key, int64_t count, bool rows_are_keys) {
  const T scale = static_cast<T>(g.scale);
  for (int64_t at = 0; at < rows * kTile; ++at) scores[at] *= scale;
  if (keep || bias)
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < count; ++c)
        scores[r * kTile + c] +=
            rows_are_keys
                ? attention::score_bias(g, keep, bias, mask_start, first_row + c, first_key + r)
                : attention::score_bias(g, keep, bias, mask_start, first_row + r, first_key + c);
  const T masked = attention::minus_infinity<T>();
  for (int64_t r = 0; r < rows; ++r) {
    // the columns [begin, end) past the causal diagonal (score_bias's test: key > query)
    int64_t begin = count, end = count;
    if (g.causal && rows_are_keys)
      begin = 0, end = std::clamp<int64_t>(first_key + r - first_row, 0, count);
    else if (g.causal)
      begin = std::clamp<int64_t>(first_row + r - first_key + 1, 0, count);
    for (int64_t c = begin; c < end; ++c) scores[r * kTile + c] = masked;
    for (int64_t c = count; c < kTile; ++c) scores[r * kTile + c] = masked;
  }
}

// The rows [begin, end) of a tile (rows first_row.., columns first_col.. of `count`) that
// the causal diagonal leaves a score in; all without is_causal. A query row sees the keys up to
// itself; with rows_are_keys, a key row is seen by the queries from itself on.
struct RowRange {
  int64_t begin, end;
};
RowRange live_rows(const AttentionGeometry& g, int64_t first_row, int64_t rows, int64_t first_col,
                   int64_t count, bool rows_are_keys) {
  if (!g.causal) return {0, rows};
  if (rows_are_keys) return {0, std::clamp<int64_t>(first_col + count - first_row, 0, rows)};
  return {std::clamp<int64_t>(first_col - first_row, 0, rows), rows};
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

// The dropout factors of a tile whose score (r, c) is that of query row row(r, c) and key
// key(r, c) of head bh; none without dropout (tiles.factors stays all 1)
template <typename T, typename Row, typename Key>
void dropout_tile(AttentionTiles<T>& tiles, const AttentionGeometry& g, int64_t bh, int64_t rows,
                  int64_t count, const Row& row, const Key& key) {
  if (g.dropout_p <= 0) return;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < count; ++c)
      tiles.factors[r * kTile + c] = attention::dropout_factor<T>(g, bh, row(r, c), key(r, c));
}

// One row's online-softmax step over a tile of scores (kTile), which become the tile's
// weights exp(score - new maximum); the row's output so far, acc (width), is rescaled. The
// maximum and the sum run in kLanes interleaved partial results, so that they vectorize.
template <typename T>
FG_SIMD void softmax_step(T* __restrict s, T* __restrict acc, T& row_max, T& row_sum,
                          int64_t width) {
  constexpr int kLanes = 8;
  T lanes[kLanes];
  for (int l = 0; l < kLanes; ++l) lanes[l] = s[l];
  for (int64_t c = kLanes; c < kTile; c += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] = s[c + l] > lanes[l] ? s[c + l] : lanes[l];
  T new_max = row_max;
  for (int l = 0; l < kLanes; ++l) new_max = lanes[l] > new_max ? lanes[l] : new_max;
  const T rescale = attention::rescale_factor(row_max, new_max);
  // attention::running_weight, its test of new_max taken out of the loop so that it vectorizes
  if (new_max == attention::minus_infinity<T>())
    for (int64_t c = 0; c < kTile; ++c) s[c] = T(0);
  else
    for (int64_t c = 0; c < kTile; ++c) s[c] = exp_of(s[c] - new_max);
  for (int l = 0; l < kLanes; ++l) lanes[l] = s[l];
  for (int64_t c = kLanes; c < kTile; c += kLanes)
    for (int l = 0; l < kLanes; ++l) lanes[l] += s[c + l];
  T total = 0;
  for (int l = 0; l < kLanes; ++l) total += lanes[l];
  row_sum = row_sum * rescale + total;
  row_max = new_max;
  if (rescale != T(1))
    for (int64_t e = 0; e < width; ++e) acc[e] *= rescale;
}

// dq (count, E) += ds^T k, ds (keys, kTile) the gradients of the scores of `keys` keys by
// `count` query rows, k (keys, E; rows `k_stride` apart): ds transposed kTile keys at a time
template <typename T>
void add_query_gradients(T* dq, AttentionTiles<T>& tiles, const T* ds, const T* k, int64_t keys,
                         int64_t count, int64_t E, int64_t k_stride) {
  T* transposed = tiles.transposed_gradients.data();
  for (int64_t first = 0; first < keys; first += kTile) {
    const int64_t n = std::min(kTile, keys - first);
    for (int64_t c = 0; c < count; ++c)
      for (int64_t r = 0; r < n; ++r) transposed[c * kTile + r] = ds[(first + r) * kTile + c];
    accumulate_tile(dq, transposed, k + first * k_stride, count, n, E, k_stride);
  }
}

// The keys that rows [first_row, first_row + rows) look at: all, or up to the diagonal
int64_t key_end(const AttentionGeometry& g, int64_t first_row, int64_t rows) {
  return g.causal ? std::min(g.S, first_row + rows) : g.S;
}

}  // namespace

template <typename T>
void attention_forward(T* out, T* lse, const T* q, const T* k, const T* v, const bool* keep,
                       const T* bias, const AttentionGeometry& g) {
  const int64_t blocks = (g.L + kRows - 1) / kRows, Ev = g.Ev, group = g.kv_group;
  const int64_t q_stride = g.q.row_stride, k_stride = g.k.row_stride, v_stride = g.v.row_stride;
  for_each_task<T>(g, g.batch_heads * blocks, [&](AttentionTiles<T>& tiles, int64_t task) {
    const int64_t bh = task / blocks, first_row = task % blocks * kRows;
    const int64_t rows = std::min(kRows, g.L - first_row);
    const int64_t mask_start = keep || bias ? g.mask_start(bh) : 0;
    const T* q_rows = g.row_of(q, g.q, bh, first_row);
    T *acc = tiles.acc.data(), *scores = tiles.scores.data();
    std::fill(acc, acc + rows * Ev, T(0));
    std::fill(tiles.row_max.begin(), tiles.row_max.end(), attention::minus_infinity<T>());
    std::fill(tiles.row_sum.begin(), tiles.row_sum.end(), T(0));
    const int64_t end = key_end(g, first_row, rows);
    for (int64_t first_key = 0; first_key < end; first_key += kTile) {
      const int64_t count = std::min(kTile, end - first_key);
      // the rows [live, rows) that see a key of the tile; the others' sums stay as they are
      const int64_t live = live_rows(g, first_row, rows, first_key, count, false).begin;
      const int64_t n = rows - live, first = first_row + live;
      T* s = scores + live * kTile;
      transpose_tile(tiles.transposed.data(), g.row_of(k, g.k, bh, first_key, group), count, g.E,
                     k_stride);
      tile_products(s, q_rows + live * q_stride, tiles.transposed.data(), n, g.E, q_stride);
      scale_and_mask(s, g, keep, bias, mask_start, first, n, first_key, count, false);
      for (int64_t r = live; r < rows; ++r)
        softmax_step(scores + r * kTile, acc + r * Ev, tiles.row_max[r], tiles.row_sum[r], Ev);
      if (g.dropout_p > 0) {
        dropout_tile(
            tiles, g, bh, n, count, [&](int64_t r, int64_t) { return first + r; },
            [&](int64_t, int64_t c) { return first_key + c; });
        for (int64_t at = 0; at < n * kTile; ++at) s[at] *= tiles.factors[at];
      }
      accumulate_tile(acc + live * Ev, s, g.row_of(v, g.v, bh, first_key, group), n, count, Ev,
                      v_stride);
    }
    for (int64_t r = 0; r < rows; ++r) {
      const T inverse = attention::inverse_sum(tiles.row_sum[r]);
      T* out_row = g.row_of(out, g.o, bh, first_row + r);
      for (int64_t e = 0; e < Ev; ++e) out_row[e] = acc[r * Ev + e] * inverse;
      lse[bh * g.L + first_row + r] = attention::log_sum_exp(tiles.row_max[r], tiles.row_sum[r]);
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
          const int64_t n = live_rows(g, first_key, keys, first_row, count, true).end;
          const T* queries = g.row_of(q, g.q, bh, first_row);
          const T* douts = g.row_of(dout, g.o, bh, first_row);
          transpose_tile(tiles.transposed.data(), queries, count, E, q_stride);
          transpose_tile(tiles.transposed_other.data(), douts, count, Ev, dout_stride);
          tile_products(scores, k_rows, tiles.transposed.data(), n, E, k_stride);
          scale_and_mask(scores, g, keep, bias, mask_start, first_row, n, first_key, count, true);
          tile_products(dweights, v_rows, tiles.transposed_other.data(), n, Ev, v_stride);
          dropout_tile(
              tiles, g, bh, n, count, [&](int64_t, int64_t c) { return first_row + c; },
              [&](int64_t r, int64_t) { return first_key + r; });
          recompute_tile(scores, dweights, tiles.factors.data(), tiles.column_lse.data(),
                         tiles.column_delta.data(), n, scale);
          accumulate_tile(dv_rows, scores, douts, n, count, Ev, dout_stride);
          accumulate_tile(dk_rows, dweights, queries, n, count, E, q_stride);
          add_query_gradients(dq + row * E, tiles, dweights, k_rows, n, count, E, k_stride);
        }
      }
    }
  });
}

FG_INSTANTIATE_ATTENTION()

}  // namespace fg::cpu
