"""Float64 numpy references for multi-head attention and the Transformer layers, written as
loops over batch entries, heads and query rows (the definition, not the library's
algorithm): tests/test_multihead_attention.py, tests/test_transformer.py and the
multi_head_attention_forward entry of tests/op_db.py compare against them."""

import math

import numpy as np


def additive(mask):
    """A bool mask as -inf where True, 0 elsewhere; a float mask as it is."""
    if mask is None:
        return None
    mask = np.asarray(mask)
    return np.where(mask, -np.inf, 0.0) if mask.dtype == bool else mask.astype(np.float64)


def linear(x, weight, bias=None):
    y = x @ weight.T
    return y if bias is None else y + bias


def softmax_row(scores):
    top = max(scores)
    exps = [math.exp(s - top) for s in scores]
    total = sum(exps)
    return [e / total for e in exps]


def multi_head_attention(
    query,
    key,
    value,
    num_heads,
    out_proj_weight,
    out_proj_bias=None,
    in_proj_weight=None,
    in_proj_bias=None,
    q_proj_weight=None,
    k_proj_weight=None,
    v_proj_weight=None,
    bias_k=None,
    bias_v=None,
    add_zero_attn=False,
    key_padding_mask=None,
    attn_mask=None,
    batch_first=False,
    average_attn_weights=True,
):
    """(output, weights): output like query; weights (N, L, S') averaged over heads, or
    (N, heads, L, S') (S' counts the bias_k and zero-attention keys); unbatched inputs
    (T, E) give unbatched results."""
    batched = query.ndim == 3
    if not batched:
        query, key, value = query[None], key[None], value[None]
        if key_padding_mask is not None:
            key_padding_mask = np.asarray(key_padding_mask)[None]
    elif not batch_first:
        query, key, value = (x.transpose(1, 0, 2) for x in (query, key, value))
    n_batch, tgt_len, embed_dim = query.shape
    head_dim = embed_dim // num_heads
    if in_proj_weight is not None:
        q_proj_weight, k_proj_weight, v_proj_weight = np.split(in_proj_weight, 3)
    biases = np.split(in_proj_bias, 3) if in_proj_bias is not None else (None,) * 3
    attn_mask, key_padding_mask = additive(attn_mask), additive(key_padding_mask)

    out = np.zeros((n_batch, tgt_len, embed_dim))
    weights = None
    for n in range(n_batch):
        q = linear(query[n], q_proj_weight, biases[0])
        k = linear(key[n], k_proj_weight, biases[1])
        v = linear(value[n], v_proj_weight, biases[2])
        if bias_k is not None:
            k = np.concatenate([k, bias_k.reshape(1, embed_dim)])
            v = np.concatenate([v, bias_v.reshape(1, embed_dim)])
        if add_zero_attn:
            k = np.concatenate([k, np.zeros((1, embed_dim))])
            v = np.concatenate([v, np.zeros((1, embed_dim))])
        src_len = k.shape[0]
        if weights is None:
            weights = np.zeros((n_batch, num_heads, tgt_len, src_len))
        heads_out = np.zeros((tgt_len, embed_dim))
        for h in range(num_heads):
            cols = slice(h * head_dim, (h + 1) * head_dim)
            for i in range(tgt_len):
                scores = []
                for j in range(src_len):
                    s = float(np.dot(q[i, cols], k[j, cols])) / math.sqrt(head_dim)
                    # the appended keys have no mask entry: every query may attend to them
                    if attn_mask is not None and j < attn_mask.shape[-1]:
                        s += (
                            attn_mask[i, j]
                            if attn_mask.ndim == 2
                            else attn_mask[n * num_heads + h, i, j]
                        )
                    if key_padding_mask is not None and j < key_padding_mask.shape[-1]:
                        s += key_padding_mask[n, j]
                    scores.append(s)
                p = softmax_row(scores)
                weights[n, h, i] = p
                heads_out[i, cols] = sum(p[j] * v[j, cols] for j in range(src_len))
        out[n] = linear(heads_out, out_proj_weight, out_proj_bias)
    if average_attn_weights:
        weights = weights.mean(axis=1)
    if not batched:
        return out[0], weights[0]
    return (out if batch_first else out.transpose(1, 0, 2)), weights


def layer_norm(x, weight, bias, eps):
    mean = x.mean(axis=-1, keepdims=True)
    var = ((x - mean) ** 2).mean(axis=-1, keepdims=True)
    y = (x - mean) / np.sqrt(var + eps)
    y = y * weight if weight is not None else y
    return y + bias if bias is not None else y


def gelu(x):
    return 0.5 * x * (1.0 + np.vectorize(math.erf)(x / math.sqrt(2.0)))


ACTIVATIONS = {"relu": lambda x: np.maximum(x, 0.0), "gelu": gelu}


def _attention_of(params, prefix, nhead, query, memory, attn_mask, key_padding_mask, batch_first):
    return multi_head_attention(
        query,
        memory,
        memory,
        nhead,
        params[prefix + "out_proj.weight"],
        params.get(prefix + "out_proj.bias"),
        in_proj_weight=params[prefix + "in_proj_weight"],
        in_proj_bias=params.get(prefix + "in_proj_bias"),
        attn_mask=attn_mask,
        key_padding_mask=key_padding_mask,
        batch_first=batch_first,
    )[0]


def _residual_blocks(params, prefix, x, blocks, eps, norm_first):
    """x through each block with its LayerNorm norm1, norm2, ...: x + block(norm(x)) when
    norm_first (pre-norm), else norm(x + block(x)) (post-norm)."""
    for i, block in enumerate(blocks, 1):
        weight, bias = params[f"{prefix}norm{i}.weight"], params.get(f"{prefix}norm{i}.bias")
        if norm_first:
            x = x + block(layer_norm(x, weight, bias, eps))
        else:
            x = layer_norm(x + block(x), weight, bias, eps)
    return x


def _feed_forward(params, prefix, activation):
    def block(x):
        hidden = ACTIVATIONS[activation](
            linear(x, params[prefix + "linear1.weight"], params.get(prefix + "linear1.bias"))
        )
        return linear(
            hidden, params[prefix + "linear2.weight"], params.get(prefix + "linear2.bias")
        )

    return block


def encoder_layer(
    params,
    src,
    nhead,
    prefix="",
    src_mask=None,
    src_key_padding_mask=None,
    activation="relu",
    eps=1e-5,
    batch_first=False,
    norm_first=False,
):
    """TransformerEncoderLayer from its state dict `params` (numpy arrays by name)."""

    def attend(x):
        return _attention_of(
            params, prefix + "self_attn.", nhead, x, x, src_mask, src_key_padding_mask, batch_first
        )

    return _residual_blocks(
        params, prefix, src, [attend, _feed_forward(params, prefix, activation)], eps, norm_first
    )


def decoder_layer(
    params,
    tgt,
    memory,
    nhead,
    prefix="",
    tgt_mask=None,
    memory_mask=None,
    tgt_key_padding_mask=None,
    memory_key_padding_mask=None,
    activation="relu",
    eps=1e-5,
    batch_first=False,
    norm_first=False,
):
    """TransformerDecoderLayer from its state dict `params`."""

    def self_attend(x):
        return _attention_of(
            params, prefix + "self_attn.", nhead, x, x, tgt_mask, tgt_key_padding_mask, batch_first
        )

    def cross_attend(x):
        return _attention_of(
            params,
            prefix + "multihead_attn.",
            nhead,
            x,
            memory,
            memory_mask,
            memory_key_padding_mask,
            batch_first,
        )

    return _residual_blocks(
        params,
        prefix,
        tgt,
        [self_attend, cross_attend, _feed_forward(params, prefix, activation)],
        eps,
        norm_first,
    )
