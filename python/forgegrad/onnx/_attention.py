"""Converters of attention and the models built on it: MultiheadAttention, the Transformer
layers and stacks, and forgegrad.charlm's GPT. Attention is written as MatMul, Softmax and
Where (every opset from 17 runs it); a causal mask is built from the run-time lengths, so the
sequence length may be a dynamic axis."""

import math

from .. import _C
from ..nn import functional as F
from ..nn.module import Module
from ._recorder import arange, where

# The functions Transformer layers hold as their activation (caught before export patches F).
_RELU, _GELU = F.relu, F.gelu


def _masked(scores, mask, true_masks):
    """scores with `mask` applied: a bool mask sets -inf where it is True (true_masks) or where
    it is False (not true_masks); a float mask is added."""
    if mask is None:
        return scores
    if mask.dtype != _C.dtype.bool:
        return scores + mask
    minus_inf = -math.inf
    return where(mask, minus_inf, scores) if true_masks else where(mask, scores, minus_inf)


def attend(q, k, v, masks, is_causal, scale=None):
    """softmax(q k^T * scale + masks) v for q (..., L, E), k (..., S, E), v (..., S, Ev);
    masks: (mask, true_masks) pairs as _masked takes them. Returns (output, probabilities)."""
    scale = 1.0 / math.sqrt(q.shape[-1]) if scale is None else scale
    scores = (q @ k.transpose(-2, -1)) * float(scale)
    if is_causal:  # query i sees keys 0..i: column <= row, from the run-time L and S
        rows, columns = arange(q, -2).unsqueeze(1), arange(k, -2)
        keep = q.tracer.op("GreaterOrEqual", [rows.name, columns.name], rows.value >= columns.value)
        scores = _masked(scores, keep, False)
    for mask, true_masks in masks:
        scores = _masked(scores, mask, true_masks)
    probabilities = scores.softmax(-1)
    return probabilities @ v, probabilities


def _multihead_attention(
    t,
    m,
    result,
    query,
    key,
    value,
    key_padding_mask=None,
    need_weights=True,
    attn_mask=None,
    average_attn_weights=True,
    is_causal=False,
):
    """Projections, heads (N, heads, T, head_dim), attention with both masks (True: not
    attended), the output projection; returns (output, weights or None) as the module."""
    if m.bias_k is not None or m.add_zero_attn:
        t.fail("MultiheadAttention with add_bias_kv or add_zero_attn")
    query, key, value = (t.wrap(x) for x in (query, key, value))
    batched = query.dim() == 3
    heads, head_dim = m.num_heads, m.head_dim

    def batch_major(x):  # (T, N, E), (N, T, E) or unbatched (T, E) -> (N, T, E)
        if not batched:
            return x.unsqueeze(0)
        return x if m.batch_first else x.transpose(0, 1)

    if m._qkv_same_embed_dim:
        weights = t.wrap(m.in_proj_weight).chunk(3, 0)
    else:
        weights = [t.wrap(w) for w in (m.q_proj_weight, m.k_proj_weight, m.v_proj_weight)]
    biases = t.wrap(m.in_proj_bias).chunk(3, 0) if m.in_proj_bias is not None else [None] * 3
    q, k, v = [], [], []
    for x, w, b, out in zip((query, key, value), weights, biases, (q, k, v)):
        projected = batch_major(x) @ w.transpose(0, 1)
        projected = projected if b is None else projected + b
        batch, length = projected.shape[:2]
        out.append(projected.reshape(batch, length, heads, head_dim).transpose(1, 2))
    masks = []
    if attn_mask is not None:
        attn_mask = t.wrap(attn_mask)
        if attn_mask.dim() == 3:  # (N * heads, L, S) -> (N, heads, L, S)
            attn_mask = attn_mask.unsqueeze(1).reshape_to(
                attn_mask.value.reshape(-1, heads, *attn_mask.shape[1:]), [-1, heads, 0, 0]
            )
        masks.append((attn_mask, True))
    if key_padding_mask is not None:  # (N, S) -> (N, 1, 1, S)
        padding = t.wrap(key_padding_mask)
        padding = padding.unsqueeze(0) if not batched else padding
        masks.append((padding.unsqueeze(1).unsqueeze(1), True))
    out, probabilities = attend(q[0], k[0], v[0], masks, False)
    batch, _, length, _ = out.shape
    out = m.out_proj(out.transpose(1, 2).reshape(batch, length, m.embed_dim))
    if not batched:
        out = out.squeeze(0)
    elif not m.batch_first:
        out = out.transpose(0, 1)
    out.value = result[0]
    if not need_weights:
        return out, None
    weights = probabilities.mean(1) if average_attn_weights else probabilities
    weights = weights if batched else weights.squeeze(0)
    weights.value = result[1]
    return out, weights


def _activation(t, m, x):
    if m.activation is _RELU:
        return x.relu()
    if m.activation is _GELU:
        return x.gelu()
    if isinstance(m.activation, Module):  # through its converter
        return m.activation(x)
    return t.fail(f"the activation {m.activation!r} of {type(m).__name__}")


def _blocks(t, m, x, *blocks):
    """As _Layer._residual_blocks (dropout is the identity in eval)."""
    for i, block in enumerate(blocks, 1):
        norm = getattr(m, f"norm{i}")
        x = x + block(norm(x)) if m.norm_first else norm(x + block(x))
    return x


def _feed_forward(t, m):
    return lambda x: m.linear2(_activation(t, m, m.linear1(x)))


def _self_attention(m, attn_mask, key_padding_mask, is_causal):
    return lambda x: m.self_attn(
        x,
        x,
        x,
        attn_mask=attn_mask,
        key_padding_mask=key_padding_mask,
        need_weights=False,
        is_causal=bool(is_causal),
    )[0]


def _encoder_layer(t, m, result, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
    return _blocks(
        t,
        m,
        t.wrap(src),
        _self_attention(m, src_mask, src_key_padding_mask, is_causal),
        _feed_forward(t, m),
    )


def _decoder_layer(
    t,
    m,
    result,
    tgt,
    memory,
    tgt_mask=None,
    memory_mask=None,
    tgt_key_padding_mask=None,
    memory_key_padding_mask=None,
    tgt_is_causal=False,
    memory_is_causal=False,
):
    memory = t.wrap(memory)

    def cross_attention(x):
        return m.multihead_attn(
            x,
            memory,
            memory,
            attn_mask=memory_mask,
            key_padding_mask=memory_key_padding_mask,
            need_weights=False,
            is_causal=bool(memory_is_causal),
        )[0]

    return _blocks(
        t,
        m,
        t.wrap(tgt),
        _self_attention(m, tgt_mask, tgt_key_padding_mask, tgt_is_causal),
        cross_attention,
        _feed_forward(t, m),
    )


def _encoder(t, m, result, src, mask=None, src_key_padding_mask=None, is_causal=None):
    x = t.wrap(src)
    for layer in m.layers:
        x = layer(
            x, src_mask=mask, src_key_padding_mask=src_key_padding_mask, is_causal=bool(is_causal)
        )
    return x if m.norm is None else m.norm(x)


def _decoder(
    t,
    m,
    result,
    tgt,
    memory,
    tgt_mask=None,
    memory_mask=None,
    tgt_key_padding_mask=None,
    memory_key_padding_mask=None,
    tgt_is_causal=None,
    memory_is_causal=False,
):
    x = t.wrap(tgt)
    for layer in m.layers:
        x = layer(
            x,
            memory,
            tgt_mask=tgt_mask,
            memory_mask=memory_mask,
            tgt_key_padding_mask=tgt_key_padding_mask,
            memory_key_padding_mask=memory_key_padding_mask,
            tgt_is_causal=bool(tgt_is_causal),
            memory_is_causal=memory_is_causal,
        )
    return x if m.norm is None else m.norm(x)


def _transformer(
    t,
    m,
    result,
    src,
    tgt,
    src_mask=None,
    tgt_mask=None,
    memory_mask=None,
    src_key_padding_mask=None,
    tgt_key_padding_mask=None,
    memory_key_padding_mask=None,
    src_is_causal=None,
    tgt_is_causal=None,
    memory_is_causal=False,
):
    memory = m.encoder(
        t.wrap(src),
        mask=src_mask,
        src_key_padding_mask=src_key_padding_mask,
        is_causal=src_is_causal,
    )
    return m.decoder(
        t.wrap(tgt),
        memory,
        tgt_mask=tgt_mask,
        memory_mask=memory_mask,
        tgt_key_padding_mask=tgt_key_padding_mask,
        memory_key_padding_mask=memory_key_padding_mask,
        tgt_is_causal=tgt_is_causal,
        memory_is_causal=memory_is_causal,
    )


def _gpt(t, m, result, ids, cache=None):
    """charlm.GPT without a KVCache: positions 0..T-1 from the run-time length T."""
    if cache is not None:
        t.fail("GPT with a KVCache (export the model, then decode step by step)")
    x = m.wte(ids) + m.wpe(arange(ids, 1))
    for block in m.blocks:
        x = block(x)
    out = m.head(m.ln_f(x))
    out.value = result
    return out


def converters():
    from .. import nn
    from ..charlm.model import GPT

    return {
        nn.MultiheadAttention: _multihead_attention,
        nn.TransformerEncoderLayer: _encoder_layer,
        nn.TransformerDecoderLayer: _decoder_layer,
        nn.TransformerEncoder: _encoder,
        nn.TransformerDecoder: _decoder,
        nn.Transformer: _transformer,
        GPT: _gpt,
    }
