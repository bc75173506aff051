// scaled_dot_product_attention: softmax(q k^T scale + mask) v as one fused kernel per device
// (attention_forward, csrc/kernel_list.h) that never stores a head's (L, S) weights; backward
// recomputes them tile by tile from the saved log-sum-exp of each row. Batch dimensions
// broadcast through expand (whose backward sums the gradients back), grouped key/value heads
// and the mask's broadcasting through the kernel's geometry, so neither is copied per head.
#include <cmath>

#include "core/dispatch.h"
#include "core/error.h"
#include "ops/ops.h"

namespace fg::ops {
namespace {

constexpr const char* kOp = "scaled_dot_product_attention";

void check_inputs(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                  double dropout_p, bool is_causal) {
  FG_CHECK(q.dim() >= 2 && k.dim() >= 2 && v.dim() >= 2, ValueError,
           "[" << kOp << "] expected query, key and value of at least 2 dimensions, got shapes "
               << q.shape() << ", " << k.shape() << ", " << v.shape());
  FG_CHECK((q.dtype() == DType::Float32 || q.dtype() == DType::Float64) && k.dtype() == q.dtype() &&
               v.dtype() == q.dtype(),
           TypeError,
           "[" << kOp << "] expected query, key and value of one dtype, float32 or float64, got "
               << dtype_name(q.dtype()) << ", " << dtype_name(k.dtype()) << ", "
               << dtype_name(v.dtype()));
  check_same_device(q, k, kOp);
  check_same_device(q, v, kOp);
  FG_CHECK(q.shape().back() == k.shape().back() && k.shape()[k.dim() - 2] == v.shape()[v.dim() - 2],
           ValueError,
           "[" << kOp
               << "] expected query (..., L, E), key (..., S, E) and value (..., S, Ev), got "
               << q.shape() << ", " << k.shape() << ", " << v.shape());
  FG_CHECK(dropout_p >= 0.0 && dropout_p <= 1.0, ValueError,
           "[" << kOp << "] expected dropout_p in [0, 1], got " << dropout_p);
  if (!mask.defined()) return;
  FG_CHECK(!is_causal, ValueError,
           "[" << kOp << "] expected attn_mask None when is_causal=True, got a mask");
  check_same_device(q, mask, kOp);
  FG_CHECK(mask.dtype() == DType::Bool || mask.dtype() == q.dtype(), TypeError,
           "[" << kOp << "] expected attn_mask of dtype bool or " << dtype_name(q.dtype())
               << ", got " << dtype_name(mask.dtype()));
}

Shape batch_of(const Tensor& t) { return Shape(t.shape().begin(), t.shape().end() - 2); }

// The heads' batch dimensions (query's and key/value's, which differ in their last with
// grouped heads) and the query heads per key/value head
struct Batches {
  Shape query, key_value;
  int64_t group = 1;
};

Batches broadcast_batches(const Tensor& q, const Tensor& k, const Tensor& v, bool enable_gqa) {
  const Shape kv = broadcast_shapes(batch_of(k), batch_of(v), kOp), qb = batch_of(q);
  if (!enable_gqa || qb.empty() || kv.empty()) {
    Shape all = broadcast_shapes(qb, kv, kOp);
    return {all, all, 1};
  }
  const int64_t heads = qb.back(), kv_heads = kv.back();
  FG_CHECK(kv_heads > 0 && heads % kv_heads == 0, ValueError,
           "[" << kOp
               << "] expected key and value heads (dim -3) dividing the query heads "
                  "with enable_gqa, got "
               << kv_heads << " and " << heads);
  Shape outer =
      broadcast_shapes(Shape(qb.begin(), qb.end() - 1), Shape(kv.begin(), kv.end() - 1), kOp);
  Batches b{outer, outer, heads / kv_heads};
  b.query.push_back(heads);
  b.key_value.push_back(kv_heads);
  return b;
}

Shape with_last_two(Shape batch, int64_t rows, int64_t cols) {
  batch.push_back(rows);
  batch.push_back(cols);
  return batch;
}

// The geometry's mask strides: the contiguous mask's, right-aligned against (batch, L, S),
// 0 along the dimensions it broadcasts over
void set_mask_strides(AttentionGeometry& g, const Tensor& mask, const Shape& batch) {
  const Shape full = with_last_two(batch, g.L, g.S);
  FG_CHECK(
      broadcastable_to(mask.shape(), full), ValueError,
      "[" << kOp << "] expected attn_mask broadcastable to " << full << ", got " << mask.shape());
  Shape strides(full.size(), 0);
  int64_t stride = 1;
  for (int64_t d = mask.dim() - 1, f = full.size() - 1; d >= 0; --d, --f) {
    if (mask.shape()[d] != 1) strides[f] = stride;
    stride *= mask.shape()[d];
  }
  g.mask_row_stride = strides[full.size() - 2];
  g.mask_key_stride = strides[full.size() - 1];
  for (int d = 0; d < g.batch_dims; ++d) g.mask_batch_strides[d] = strides[d];
}

// An operand for the kernels: its strides along the heads' batch dimensions and between rows,
// so that heads viewed out of a projection ([batch, L, heads, E] permuted) are read in place;
// copied only where the elements of a row are not contiguous
AttentionLayout layout_of(Tensor& t, int batch_dims) {
  if (t.shape().back() > 1 && t.strides().back() != 1) t = contiguous(t);
  AttentionLayout layout{};
  for (int d = 0; d < batch_dims; ++d) layout.batch_strides[d] = t.strides()[d];
  layout.row_stride = t.strides()[t.dim() - 2];
  return layout;
}

// The output (batch..., L, Ev) laid out as (batch without its last, L, heads, Ev), as
// PyTorch's CPU kernel does: its transpose(-3, -2), where the heads go back next to their
// rows, is then a view that reshapes to (..., L, heads Ev) without a copy
Tensor empty_output(const Shape& batch, int64_t L, int64_t Ev, const Tensor& like) {
  if (batch.empty()) return empty({L, Ev}, like.dtype(), like.device());
  Shape stored(batch.begin(), batch.end() - 1);
  stored.insert(stored.end(), {L, batch.back(), Ev});
  Shape strides(batch.size() + 2);
  strides[batch.size() + 1] = 1;
  strides[batch.size()] = batch.back() * Ev;
  strides[batch.size() - 1] = Ev;
  int64_t outer = L * batch.back() * Ev;
  for (int64_t d = static_cast<int64_t>(batch.size()) - 2; d >= 0; --d) {
    strides[d] = outer;
    outer *= batch[d];
  }
  return empty(stored, like.dtype(), like.device())
      .as_strided(with_last_two(batch, L, Ev), strides, 0, kOp);
}

// The first element of an operand the kernels walk through its AttentionLayout
template <typename T>
T* strided(const Tensor& t) {
  return static_cast<T*>(t.strided_data());
}

}  // namespace

Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const Tensor& attn_mask, double dropout_p, bool is_causal,
                                    std::optional<double> scale, bool enable_gqa) {
  check_inputs(query, key, value, attn_mask, dropout_p, is_causal);
  const Batches batches = broadcast_batches(query, key, value, enable_gqa);
  const int64_t L = query.shape()[query.dim() - 2], S = key.shape()[key.dim() - 2];
  const int64_t E = query.shape().back(), Ev = value.shape().back();
  FG_CHECK(batches.query.size() <= size_t(kAttentionMaxBatchDims), ValueError,
           "[" << kOp << "] expected at most " << kAttentionMaxBatchDims
               << " batch dimensions, got " << batches.query.size());
  // expand is a view (strides 0 where it broadcasts), read in place as layout_of says
  Tensor q = expand(query, with_last_two(batches.query, L, E));
  Tensor k = expand(key, with_last_two(batches.key_value, S, E));
  Tensor v = expand(value, with_last_two(batches.key_value, S, Ev));
  AttentionGeometry g{};
  g.batch_heads = shape_numel(batches.query, kOp);
  g.L = L, g.S = S, g.E = E, g.Ev = Ev, g.kv_group = batches.group;
  g.scale = scale ? *scale : 1.0 / std::sqrt(static_cast<double>(E));
  g.causal = is_causal;
  g.batch_dims = static_cast<int>(batches.query.size());
  for (int d = 0; d < g.batch_dims; ++d) g.batch_sizes[d] = batches.query[d];
  g.q = layout_of(q, g.batch_dims);
  g.k = layout_of(k, g.batch_dims);
  g.v = layout_of(v, g.batch_dims);
  Tensor mask;
  if (attn_mask.defined()) {
    mask = contiguous(attn_mask.detach());
    set_mask_strides(g, mask, batches.query);
  }
  if (dropout_p > 0) {
    g.dropout_p = dropout_p;
    std::tie(g.seed, g.offset) = reserve_random_blocks(g.batch_heads * L * S);
  }
  Tensor out = empty_output(batches.query, L, Ev, q);
  g.o = layout_of(out, g.batch_dims);
  Tensor lse = empty(with_last_two(batches.query, L, 1), q.dtype(), q.device());
  const bool bool_mask = mask.defined() && mask.dtype() == DType::Bool;
  const bool* keep = bool_mask ? mask.data<bool>() : nullptr;
  dispatch_floating(q.dtype(), kOp, [&](auto tag) {
    using T = typename decltype(tag)::type;
    const T* bias = mask.defined() && !bool_mask ? mask.data<T>() : nullptr;
    if (out.numel() > 0)
      FG_LAUNCH(attention_forward, q.device(), strided<T>(out), lse.data<T>(), strided<T>(q),
                strided<T>(k), strided<T>(v), keep, bias, g);
  });
  record(out, kOp, {q, k, v},
         [q = q.detach(), k = k.detach(), v = v.detach(), out = out.detach(), lse, mask, g,
          bool_mask](const Tensor& dout_any) mutable {
           Tensor dout = dout_any;
           g.o = layout_of(dout, g.batch_dims);
           Tensor delta = contiguous(sum(mul(dout, out), {-1}, true));
           // the kernel writes every element of the gradients; without it, they are 0
           auto gradient_like = [&](const Tensor& x) {
             return dout.numel() > 0 ? empty(x.shape(), x.dtype(), x.device())
                                     : zeros(x.shape(), x.dtype(), x.device());
           };
           Tensor dq = gradient_like(q), dk = gradient_like(k), dv = gradient_like(v);
           const bool* keep = bool_mask ? mask.data<bool>() : nullptr;
           dispatch_floating(q.dtype(), kOp, [&](auto tag) {
             using T = typename decltype(tag)::type;
             const T* bias = mask.defined() && !bool_mask ? mask.data<T>() : nullptr;
             if (dout.numel() > 0)
               FG_LAUNCH(attention_backward, q.device(), dq.data<T>(), dk.data<T>(), dv.data<T>(),
                         strided<T>(dout), delta.data<T>(), strided<T>(q), strided<T>(k),
                         strided<T>(v), lse.data<T>(), keep, bias, g);
           });
           return std::vector<Tensor>{dq, dk, dv};
         });
  return out;
}

}  // namespace fg::ops
