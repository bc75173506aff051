"""F.multi_head_attention_forward: a query attends to key-value pairs in num_heads heads, as
torch.nn.functional's, composed of the op table's linear, matmul and softmax and of
F.scaled_dot_product_attention, so its gradient comes from those.

Masks as PyTorch combines them: a bool mask's True entries become -inf, a float mask is
added as it is, and key_padding_mask (N, S) is added to attn_mask (L, S) or (N * heads, L, S).
need_weights=True forms the attention probabilities explicitly, because they are returned;
need_weights=False runs the fused scaled_dot_product_attention kernel instead, which never
stores the L x S matrix. The heads are split from the projections by views: (N, L, E) or
(L, N, E) -> (N, heads, L, head_dim), so batch_first needs no transposed copy."""

from __future__ import annotations

from typing import TYPE_CHECKING
import math

from .. import _C, _errors, creation
from .._checks import is_int, is_real
from ._padding import pad

if TYPE_CHECKING:
    from .._C import Tensor

__all__ = ["multi_head_attention_forward"]


def _shape(value):
    """What an error message shows of an argument: a Tensor's shape, else its type."""
    if value is None or isinstance(value, _C.Tensor):
        return value if value is None else tuple(value.shape)
    return type(value).__name__


def additive_mask(mask, name, query, op):
    """mask as the float tensor added to the attention scores, in query's dtype: a bool
    mask's True entries become -inf (not attended) and its False ones 0; None stays None."""
    if mask is None:
        return None
    if not isinstance(mask, _C.Tensor):
        raise _errors.TypeError(
            f"[{op}] expected {name} to be a Tensor or None, got {type(mask).__name__}"
        )
    if mask.device != query.device:
        raise _errors.ValueError(
            f"[{op}] expected {name} on the query's device {query.device}, got {mask.device}"
        )
    if mask.dtype == _C.dtype.bool:
        zeros = creation.zeros(*mask.shape, dtype=query.dtype, device=query.device)
        return zeros.masked_fill(mask, -math.inf)
    if not mask.dtype.is_floating_point:
        raise _errors.TypeError(
            f"[{op}] expected {name} of dtype bool or a floating dtype, got {mask.dtype}"
        )
    return mask.to(query.dtype)


def _check_inputs(
    query, key, value, features, key_padding_mask, attn_mask, dropout_p, batch_first, op
):
    """The checks PyTorch's _mha_shape_check and the module make, as "[op] expected" errors."""
    for name, x in (("query", query), ("key", key), ("value", value)):
        if not isinstance(x, _C.Tensor):
            raise _errors.TypeError(
                f"[{op}] expected {name} to be a Tensor, got {type(x).__name__}"
            )
        if not x.dtype.is_floating_point:
            raise _errors.TypeError(f"[{op}] expected {name} of a floating dtype, got {x.dtype}")
    if query.dim() not in (2, 3):
        raise _errors.ValueError(
            f"[{op}] expected query of 2 (unbatched) or 3 (batched) "
            f"dimensions, got shape {_shape(query)}"
        )
    if key.dim() != query.dim() or value.dim() != query.dim():
        raise _errors.ValueError(
            f"[{op}] expected key and value of {query.dim()} dimensions as "
            f"query, got shapes {_shape(key)} and {_shape(value)}"
        )
    for name, x, dim in zip(("query", "key", "value"), (query, key, value), features):
        if x.shape[-1] != dim:
            raise _errors.ValueError(
                f"[{op}] expected {name} with {dim} features in its last "
                f"dimension, got shape {_shape(x)}"
            )
    sequence = 1 if query.dim() == 3 and batch_first else 0
    same_batch = (
        query.dim() == 2
        or key.shape[1 - sequence] == value.shape[1 - sequence] == query.shape[1 - sequence]
    )
    if key.shape[sequence] != value.shape[sequence] or not same_batch:
        raise _errors.ValueError(
            f"[{op}] expected key and value of one sequence length and "
            "the query's batch size, got shapes query "
            f"{_shape(query)}, key {_shape(key)}, value {_shape(value)}"
        )
    if key_padding_mask is not None and (
        not isinstance(key_padding_mask, _C.Tensor) or key_padding_mask.dim() != query.dim() - 1
    ):
        what = "(N, S)" if query.dim() == 3 else "(S,) for unbatched input"
        raise _errors.ValueError(
            f"[{op}] expected key_padding_mask of shape {what}, got {_shape(key_padding_mask)}"
        )
    if attn_mask is not None and (
        not isinstance(attn_mask, _C.Tensor) or attn_mask.dim() not in (2, 3)
    ):
        raise _errors.ValueError(
            f"[{op}] expected a 2-d attn_mask (L, S) or a 3-d one "
            f"(N * num_heads, L, S), got {_shape(attn_mask)}"
        )
    if not is_real(dropout_p) or not 0 <= dropout_p <= 1:
        raise _errors.ValueError(
            f"[{op}] expected dropout_p to be a probability in [0, 1], got {dropout_p!r}"
        )


def _heads(x, count, num_heads, batch_first):
    """The projection x (N, T, count * E), or (T, N, count * E), as `count` tensors
    (N, num_heads, T, head_dim): views, no copy."""
    split = x.unflatten(-1, (count, num_heads, x.shape[-1] // (count * num_heads)))
    return split.permute(*((2, 0, 3, 1, 4) if batch_first else (2, 1, 3, 0, 4))).unbind(0)


def _project(query, key, value, weights, bias, num_heads, batch_first):
    """q, k, v (N, num_heads, T, head_dim). weights: the packed (3E, E) in_proj_weight, or
    the three q/k/v projection weights. Packed self-attention is one GEMM and
    encoder-decoder attention (key is value) two, as in PyTorch."""

    def heads(x, count):
        return _heads(x, count, num_heads, batch_first)

    if isinstance(weights, _C.Tensor) and query is key and key is value:
        return heads(_C.linear(query, weights, bias), 3)
    biases = (None,) * 3 if bias is None else bias.chunk(3)
    if isinstance(weights, _C.Tensor):
        if key is value:
            embed_dim = weights.shape[1]
            kv_bias = None if bias is None else bias.narrow(0, embed_dim, 2 * embed_dim)
            k, v = heads(_C.linear(key, weights.narrow(0, embed_dim, 2 * embed_dim), kv_bias), 2)
            q = _C.linear(query, weights.narrow(0, 0, embed_dim), biases[0])
            return heads(q, 1)[0], k, v
        weights = weights.chunk(3)
    return tuple(
        heads(_C.linear(x, w, b), 1)[0] for x, w, b in zip((query, key, value), weights, biases)
    )


def _static(static, projected, name, bsz, num_heads, op):
    """static_k or static_v (N * num_heads, S, head_dim) in place of the projection."""
    if static is None:
        return projected
    head_dim = projected.shape[-1]
    if (
        not isinstance(static, _C.Tensor)
        or static.dim() != 3
        or static.shape[0] != bsz * num_heads
        or static.shape[2] != head_dim
    ):
        raise _errors.ValueError(
            f"[{op}] expected {name} of shape ({bsz * num_heads}, S, "
            f"{head_dim}), got {_shape(static)}"
        )
    return static.reshape(bsz, num_heads, static.shape[1], head_dim)


def _append_key(k, v, k_row, v_row, masks):
    """One more key-value pair at the end (rows (N, heads, 1, head_dim)): every query may
    attend to it, so each mask gets a 0 column."""
    k, v = _C.cat([k, k_row], 2), _C.cat([v, v_row], 2)
    return k, v, [None if m is None else pad(m, (0, 1)) for m in masks]


def attention(
    query,
    key,
    value,
    num_heads,
    weights,
    in_proj_bias,
    bias_k,
    bias_v,
    add_zero_attn,
    dropout_p,
    out_proj_weight,
    out_proj_bias,
    training,
    key_padding_mask,
    need_weights,
    attn_mask,
    average_attn_weights,
    is_causal,
    batch_first,
    op,
    static_k=None,
    static_v=None,
):
    """multi_head_attention_forward on inputs laid out (N, T, E) when batch_first, else
    (T, N, E); unbatched inputs (T, E). weights as _project takes them."""
    features = (
        (weights.shape[1],) * 3
        if isinstance(weights, _C.Tensor)
        else tuple(w.shape[1] for w in weights)
    )
    _check_inputs(
        query, key, value, features, key_padding_mask, attn_mask, dropout_p, batch_first, op
    )
    batched = query.dim() == 3
    batch = 0 if batch_first else 1
    if not batched:
        # As one batch of one: the identities query is key is value carry over.
        same_kv, same_qk = key is value, query is key
        query = query.unsqueeze(batch)
        key = query if same_qk else key.unsqueeze(batch)
        value = key if same_kv else value.unsqueeze(batch)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)
    bsz, tgt_len, embed_dim = query.shape[batch], query.shape[1 - batch], query.shape[2]
    head_dim = embed_dim // num_heads

    key_padding_mask = additive_mask(key_padding_mask, "key_padding_mask", query, op)
    if is_causal and attn_mask is None:
        raise _errors.ValueError(
            f"[{op}] expected attn_mask, the causal mask, with "
            "is_causal=True, got None (Transformer."
            "generate_square_subsequent_mask makes one)"
        )
    if is_causal and key_padding_mask is None and not need_weights:
        attn_mask = None  # the fused kernel applies the causal mask itself
    else:
        attn_mask = additive_mask(attn_mask, "attn_mask", query, op)
        is_causal = is_causal and key_padding_mask is None

    if (bias_k is None) != (bias_v is None):
        raise _errors.ValueError(
            f"[{op}] expected bias_k and bias_v both or neither, got "
            f"{_shape(bias_k)} and {_shape(bias_v)}"
        )
    if bias_k is not None and (static_k is not None or static_v is not None):
        raise _errors.ValueError(f"[{op}] expected no static_k or static_v with bias_k and bias_v")

    q, k, v = _project(query, key, value, weights, in_proj_bias, num_heads, batch_first)
    k = _static(static_k, k, "static_k", bsz, num_heads, op)
    v = _static(static_v, v, "static_v", bsz, num_heads, op)
    src_len = k.shape[2]
    if v.shape[2] != src_len:
        raise _errors.ValueError(
            f"[{op}] expected static_k and static_v of one sequence "
            f"length, got {src_len} and {v.shape[2]}"
        )
    if attn_mask is not None:
        expected = (
            (tgt_len, src_len) if attn_mask.dim() == 2 else (bsz * num_heads, tgt_len, src_len)
        )
        if tuple(attn_mask.shape) != expected:
            raise _errors.ValueError(
                f"[{op}] expected a {attn_mask.dim()}-d attn_mask of shape "
                f"{expected}, got {_shape(attn_mask)}"
            )
        attn_mask = attn_mask.reshape(
            -1 if attn_mask.dim() == 3 else 1,
            num_heads if attn_mask.dim() == 3 else 1,
            tgt_len,
            src_len,
        )
    if key_padding_mask is not None:
        if tuple(key_padding_mask.shape) != (bsz, src_len):
            raise _errors.ValueError(
                f"[{op}] expected key_padding_mask of shape "
                f"{(bsz, src_len)}, got {_shape(key_padding_mask)}"
            )
        key_padding_mask = key_padding_mask.reshape(bsz, 1, 1, src_len)

    masks = [attn_mask, key_padding_mask]
    if bias_k is not None:
        k, v, masks = _append_key(
            k,
            v,
            *(
                b.reshape(1, num_heads, 1, head_dim).expand(bsz, num_heads, 1, head_dim)
                for b in (bias_k, bias_v)
            ),
            masks,
        )
    if add_zero_attn:
        zeros = creation.zeros(bsz, num_heads, 1, head_dim, dtype=k.dtype, device=k.device)
        k, v, masks = _append_key(k, v, zeros, zeros, masks)
    attn_mask, key_padding_mask = masks
    if key_padding_mask is not None:
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask
    if not training:
        dropout_p = 0.0

    from . import functional as F  # functional imports this module

    if need_weights:
        scores = _C.matmul(q * math.sqrt(1.0 / head_dim), k.transpose(-2, -1))
        if attn_mask is not None:
            scores = scores + attn_mask
        attn_weights = _C.softmax(scores, -1)
        if dropout_p > 0:
            attn_weights = F.dropout(attn_weights, dropout_p, True)
        out = _C.matmul(attn_weights, v)
    else:
        out = F.scaled_dot_product_attention(
            q, k, v, attn_mask=attn_mask, dropout_p=dropout_p, is_causal=is_causal
        )
    # (N, heads, L, head_dim) -> (N, L, E) or (L, N, E)
    out = out.permute(*((0, 2, 1, 3) if batch_first else (2, 0, 1, 3)))
    out = _C.linear(out.reshape(*out.shape[:2], embed_dim), out_proj_weight, out_proj_bias)
    if not batched:
        out = out.squeeze(batch)
    if not need_weights:
        return out, None
    if average_attn_weights:
        attn_weights = attn_weights.mean(1)
    return out, attn_weights if batched else attn_weights.squeeze(0)


def multi_head_attention_forward(
    query: Tensor,
    key: Tensor,
    value: Tensor,
    embed_dim_to_check: int,
    num_heads: int,
    in_proj_weight: Tensor | None,
    in_proj_bias: Tensor | None,
    bias_k: Tensor | None,
    bias_v: Tensor | None,
    add_zero_attn: bool,
    dropout_p: float,
    out_proj_weight: Tensor,
    out_proj_bias: Tensor | None,
    training: bool = True,
    key_padding_mask: Tensor | None = None,
    need_weights: bool = True,
    attn_mask: Tensor | None = None,
    use_separate_proj_weight: bool = False,
    q_proj_weight: Tensor | None = None,
    k_proj_weight: Tensor | None = None,
    v_proj_weight: Tensor | None = None,
    static_k: Tensor | None = None,
    static_v: Tensor | None = None,
    average_attn_weights: bool = True,
    is_causal: bool = False,
) -> tuple[Tensor, Tensor | None]:
    """(attn_output (L, N, E), attn_weights or None): attention of query (L, N, E) over key
    (S, N, kdim) and value (S, N, vdim), or unbatched (L, E), (S, kdim), (S, vdim), in
    num_heads heads; the arguments as torch.nn.functional's (MultiheadAttention's state)."""
    op = "multi_head_attention_forward"
    if not isinstance(query, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected query to be a Tensor, got {type(query).__name__}")
    if not is_int(num_heads) or num_heads <= 0:
        raise _errors.ValueError(
            f"[{op}] expected num_heads to be a positive int, got {num_heads!r}"
        )
    embed_dim = query.shape[-1] if query.dim() else None
    if embed_dim != embed_dim_to_check or embed_dim % num_heads:
        raise _errors.ValueError(
            f"[{op}] expected query with embed_dim_to_check "
            f"({embed_dim_to_check!r}) features, divisible by num_heads "
            f"({num_heads}), got shape {_shape(query)}"
        )
    separate = (q_proj_weight, k_proj_weight, v_proj_weight)
    given = separate if use_separate_proj_weight else (in_proj_weight,)
    if any(not isinstance(w, _C.Tensor) for w in given):
        names = (
            "q_proj_weight, k_proj_weight and v_proj_weight"
            if use_separate_proj_weight
            else "in_proj_weight"
        )
        raise _errors.ValueError(
            f"[{op}] expected {names} as Tensors (use_separate_proj_weight="
            f"{use_separate_proj_weight}), got "
            f"{', '.join(repr(_shape(w)) for w in given)}"
        )
    weights = separate if use_separate_proj_weight else in_proj_weight
    return attention(
        query,
        key,
        value,
        num_heads,
        weights,
        in_proj_bias,
        bias_k,
        bias_v,
        add_zero_attn,
        dropout_p,
        out_proj_weight,
        out_proj_bias,
        training,
        key_padding_mask,
        need_weights,
        attn_mask,
        average_attn_weights,
        is_causal,
        batch_first=False,
        op=op,
        static_k=static_k,
        static_v=static_v,
    )
