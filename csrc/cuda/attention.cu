// Fused attention on the GPU (csrc/kernel_list.h), FlashAttention-2's scheme: a block per
// (head, 64 query rows), a thread per row, whose scores for a tile of 32 keys stay in
// registers; the block stages the tile's keys and values in shared memory, 32 of the head
// dimension at a time, so any E and Ev fit a fixed tile. Each row keeps its running maximum
// and sum (csrc/attention_math.h) and its output in its own row of `out`. Backward: dq the
// same way (a thread per query row), dk and dv a thread per key over its heads' query rows,
// so that every gradient element has one writer and a fixed order of terms (no atomics).
#include "attention_math.h"
#include "cuda/launch.cuh"
#include "kernels.h"

namespace fg::cuda {
namespace {

constexpr int kRows = 64, kTile = 32, kDepth = 32;

// tile[c][e] = rows[c * stride + first_column + e] for c < count, e < kDepth within width; 0
// elsewhere. Every thread of the block calls it: it synchronizes before and after.
template <typename T>
__device__ void stage(T (&tile)[kTile][kDepth], const T* rows, int64_t count, int64_t width,
                      int64_t stride, int64_t first_column) {
  __syncthreads();
  for (int x = threadIdx.x; x < kTile * kDepth; x += blockDim.x) {
    const int c = x / kDepth, e = x % kDepth;
    tile[c][e] = c < count && first_column + e < width ? rows[c * stride + first_column + e] : T(0);
  }
  __syncthreads();
}

// sums[c] += sum_e row[e] tile_rows[c][e] over the whole width, staged kDepth at a time;
// tile_rows `stride` apart
template <typename T>
__device__ void add_products(T (&sums)[kTile], T (&tile)[kTile][kDepth], const T* row,
                             const T* tile_rows, int64_t count, int64_t width, int64_t stride,
                             bool active) {
  for (int64_t first = 0; first < width; first += kDepth) {
    stage(tile, tile_rows, count, width, stride, first);
    if (!active) continue;
    const int depth = static_cast<int>(width - first < kDepth ? width - first : kDepth);
    for (int e = 0; e < depth; ++e) {
      const T x = row[first + e];
#pragma unroll
      for (int c = 0; c < kTile; ++c) sums[c] += x * tile[c][e];
    }
  }
}

// row[e] = row[e] rescale + sum_c weights[c] tile_rows[c][e] over the whole width; tile_rows
// `stride` apart
template <typename T>
__device__ void add_weighted_rows(T* row, T (&tile)[kTile][kDepth], const T (&weights)[kTile],
                                  const T* tile_rows, int64_t count, int64_t width, int64_t stride,
                                  T rescale, bool active) {
  for (int64_t first = 0; first < width; first += kDepth) {
    stage(tile, tile_rows, count, width, stride, first);
    if (!active) continue;
    const int depth = static_cast<int>(width - first < kDepth ? width - first : kDepth);
    for (int e = 0; e < depth; ++e) {
      T x = row[first + e] * rescale;
#pragma unroll
      for (int c = 0; c < kTile; ++c) x += weights[c] * tile[c][e];
      row[first + e] = x;
    }
  }
}

template <typename T>
__device__ T masked_score(const AttentionGeometry& g, const bool* keep, const T* bias,
                          int64_t mask_start, T score, int64_t i, int64_t j) {
  return score * static_cast<T>(g.scale) + attention::score_bias(g, keep, bias, mask_start, i, j);
}

template <typename T>
__global__ void __launch_bounds__(kRows)
    attention_forward_kernel(T* out, T* lse, const T* q, const T* k, const T* v, const bool* keep,
                             const T* bias, AttentionGeometry g) {
  __shared__ T tile[kTile][kDepth];
  const int64_t blocks = ceil_div(g.L, kRows), bh = blockIdx.x / blocks;
  const int64_t first_row = blockIdx.x % blocks * kRows, i = first_row + threadIdx.x;
  const bool active = i < g.L;
  const int64_t mask_start = keep || bias ? g.mask_start(bh) : 0;
  const T* q_row = g.row_of(q, g.q, bh, active ? i : 0);
  T* out_row = g.row_of(out, g.o, bh, active ? i : 0);
  if (active)
    for (int64_t e = 0; e < g.Ev; ++e) out_row[e] = T(0);
  T row_max = attention::minus_infinity<T>(), row_sum = T(0);
  const int64_t end = g.causal && first_row + kRows < g.S ? first_row + kRows : g.S;
  for (int64_t first_key = 0; first_key < end; first_key += kTile) {
    const int64_t count = end - first_key < kTile ? end - first_key : kTile;
    T s[kTile] = {};
    add_products(s, tile, q_row, g.row_of(k, g.k, bh, first_key, g.kv_group), count, g.E,
                 g.k.row_stride, active);
    T tile_max = attention::minus_infinity<T>();
#pragma unroll
    for (int c = 0; c < kTile; ++c) {
      s[c] = active && c < count ? masked_score(g, keep, bias, mask_start, s[c], i, first_key + c)
                                 : attention::minus_infinity<T>();
      tile_max = s[c] > tile_max ? s[c] : tile_max;
    }
    const T new_max = row_max > tile_max ? row_max : tile_max;
    const T rescale = attention::rescale_factor(row_max, new_max);
    T total = T(0);
#pragma unroll
    for (int c = 0; c < kTile; ++c) {
      s[c] = attention::running_weight(s[c], new_max);
      total += s[c];
      if (g.dropout_p > 0 && c < count)
        s[c] *= attention::dropout_factor<T>(g, bh, i, first_key + c);
    }
    row_sum = row_sum * rescale + total;
    row_max = new_max;
    add_weighted_rows(out_row, tile, s, g.row_of(v, g.v, bh, first_key, g.kv_group), count, g.Ev,
                      g.v.row_stride, rescale, active);
  }
  if (!active) return;
  const T inverse = attention::inverse_sum(row_sum);
  for (int64_t e = 0; e < g.Ev; ++e) out_row[e] *= inverse;
  lse[bh * g.L + i] = attention::log_sum_exp(row_max, row_sum);
}

// dq: a thread per query row, as the forward
template <typename T>
__global__ void __launch_bounds__(kRows)
    attention_backward_query_kernel(T* dq, const T* dout, const T* delta, const T* q, const T* k,
                                    const T* v, const T* lse, const bool* keep, const T* bias,
                                    AttentionGeometry g) {
  __shared__ T tile[kTile][kDepth];
  const int64_t blocks = ceil_div(g.L, kRows), bh = blockIdx.x / blocks;
  const int64_t first_row = blockIdx.x % blocks * kRows, i = first_row + threadIdx.x;
  const bool active = i < g.L;
  const int64_t mask_start = keep || bias ? g.mask_start(bh) : 0;
  const int64_t row = bh * g.L + (active ? i : 0);
  T* dq_row = dq + row * g.E;
  if (active)
    for (int64_t e = 0; e < g.E; ++e) dq_row[e] = T(0);
  const T row_lse = lse[row], row_delta = delta[row], scale = static_cast<T>(g.scale);
  const int64_t end = g.causal && first_row + kRows < g.S ? first_row + kRows : g.S;
  for (int64_t first_key = 0; first_key < end; first_key += kTile) {
    const int64_t count = end - first_key < kTile ? end - first_key : kTile;
    const T* keys = g.row_of(k, g.k, bh, first_key, g.kv_group);
    T s[kTile] = {}, dweights[kTile] = {};
    add_products(s, tile, g.row_of(q, g.q, bh, active ? i : 0), keys, count, g.E, g.k.row_stride,
                 active);
    add_products(dweights, tile, g.row_of(dout, g.o, bh, active ? i : 0),
                 g.row_of(v, g.v, bh, first_key, g.kv_group), count, g.Ev, g.v.row_stride, active);
#pragma unroll
    for (int c = 0; c < kTile; ++c) {
      T ds = T(0);
      if (active && c < count) {
        const T weight =
            exp_of(masked_score(g, keep, bias, mask_start, s[c], i, first_key + c) - row_lse);
        const T factor = attention::dropout_factor<T>(g, bh, i, first_key + c);
        ds = attention::score_gradient(weight, dweights[c] * factor, row_delta, scale);
      }
      s[c] = ds;
    }
    add_weighted_rows(dq_row, tile, s, keys, count, g.E, g.k.row_stride, T(1), active);
  }
}

// dk, dv: a thread per key, over the query rows of each head that reads its key/value head
template <typename T>
__global__ void __launch_bounds__(kRows)
    attention_backward_key_kernel(T* dk, T* dv, const T* dout, const T* delta, const T* q,
                                  const T* k, const T* v, const T* lse, const bool* keep,
                                  const T* bias, AttentionGeometry g) {
  __shared__ T tile[kTile][kDepth];
  __shared__ T column_lse[kTile], column_delta[kTile];
  const int64_t blocks = ceil_div(g.S, kRows), head = blockIdx.x / blocks;
  const int64_t first_key = blockIdx.x % blocks * kRows, j = first_key + threadIdx.x;
  const bool active = j < g.S;
  const int64_t key = head * g.S + (active ? j : 0);
  T *dk_row = dk + key * g.E, *dv_row = dv + key * g.Ev;
  const T* k_row = g.row_of(k, g.k, head * g.kv_group, active ? j : 0, g.kv_group);
  const T* v_row = g.row_of(v, g.v, head * g.kv_group, active ? j : 0, g.kv_group);
  if (active) {
    for (int64_t e = 0; e < g.E; ++e) dk_row[e] = T(0);
    for (int64_t e = 0; e < g.Ev; ++e) dv_row[e] = T(0);
  }
  const T scale = static_cast<T>(g.scale);
  for (int64_t bh = head * g.kv_group; bh < (head + 1) * g.kv_group; ++bh) {
    const int64_t mask_start = keep || bias ? g.mask_start(bh) : 0;
    for (int64_t first_row = g.causal ? first_key - first_key % kTile : 0; first_row < g.L;
         first_row += kTile) {
      const int64_t count = g.L - first_row < kTile ? g.L - first_row : kTile;
      const int64_t row = bh * g.L + first_row;
      __syncthreads();  // the previous tile's columns are read by all
      for (int c = threadIdx.x; c < kTile; c += blockDim.x) {
        column_lse[c] = c < count ? lse[row + c] : static_cast<T>(INFINITY);
        column_delta[c] = c < count ? delta[row + c] : T(0);
      }
      T s[kTile] = {}, dweights[kTile] = {};
      const T* queries = g.row_of(q, g.q, bh, first_row);
      const T* douts = g.row_of(dout, g.o, bh, first_row);
      add_products(s, tile, k_row, queries, count, g.E, g.q.row_stride, active);
      add_products(dweights, tile, v_row, douts, count, g.Ev, g.o.row_stride, active);
#pragma unroll
      for (int c = 0; c < kTile; ++c) {
        T kept = T(0), ds = T(0);
        if (active && c < count) {
          const T weight = exp_of(masked_score(g, keep, bias, mask_start, s[c], first_row + c, j) -
                                  column_lse[c]);
          const T factor = attention::dropout_factor<T>(g, bh, first_row + c, j);
          kept = weight * factor;
          ds = attention::score_gradient(weight, dweights[c] * factor, column_delta[c], scale);
        }
        s[c] = kept;
        dweights[c] = ds;
      }
      add_weighted_rows(dv_row, tile, s, douts, count, g.Ev, g.o.row_stride, T(1), active);
      add_weighted_rows(dk_row, tile, dweights, queries, count, g.E, g.q.row_stride, T(1), active);
    }
  }
}

}  // namespace

template <typename T>
void attention_forward(T* out, T* lse, const T* q, const T* k, const T* v, const bool* keep,
                       const T* bias, const AttentionGeometry& geometry) {
  const AttentionGeometry g = geometry;
  const int64_t blocks = g.batch_heads * ceil_div(g.L, kRows);
  if (blocks <= 0) return;
  auto kernel = attention_forward_kernel<T>;
  FG_LAUNCH_KERNEL(kernel, static_cast<unsigned>(blocks), kRows, out, lse, q, k, v, keep, bias, g);
  FG_CUDA_CHECK_LAUNCH("attention_forward");
}

template <typename T>
void attention_backward(T* dq, T* dk, T* dv, const T* dout, const T* delta, const T* q, const T* k,
                        const T* v, const T* lse, const bool* keep, const T* bias,
                        const AttentionGeometry& geometry) {
  const AttentionGeometry g = geometry;
  const int64_t query_blocks = g.batch_heads * ceil_div(g.L, kRows);
  if (query_blocks > 0) {
    auto kernel = attention_backward_query_kernel<T>;
    FG_LAUNCH_KERNEL(kernel, static_cast<unsigned>(query_blocks), kRows, dq, dout, delta, q, k, v,
                     lse, keep, bias, g);
    FG_CUDA_CHECK_LAUNCH("attention_backward");
  }
  const int64_t key_blocks = g.batch_heads / g.kv_group * ceil_div(g.S, kRows);
  if (key_blocks > 0) {
    auto kernel = attention_backward_key_kernel<T>;
    FG_LAUNCH_KERNEL(kernel, static_cast<unsigned>(key_blocks), kRows, dk, dv, dout, delta, q, k, v,
                     lse, keep, bias, g);
    FG_CUDA_CHECK_LAUNCH("attention_backward");
  }
}

FG_INSTANTIATE_ATTENTION()

}  // namespace fg::cuda
