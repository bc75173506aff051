"""Converters of the feed-forward layers: Linear, convolutions, pooling, normalization,
Embedding and the activations. Each takes (tracer, module, its real output, its inputs)."""

import numpy as np

from .. import _errors


def _ints(value, n):
    return list(value) if isinstance(value, (tuple, list)) else [value] * n


def _linear(t, m, value, x):
    if x.dim() == 2:
        inputs = [x.name, t.constant(m.weight)] + (
            [t.constant(m.bias)] if m.bias is not None else []
        )
        return t.op("Gemm", inputs, value, transB=1)
    # the weight stays the named initializer (a head tied to an embedding shares it)
    out = x @ t.wrap(m.weight).transpose(0, 1)
    return out if m.bias is None else out + m.bias


def _conv(t, m, value, x):
    if m.padding_mode != "zeros":
        raise _errors.TypeError(
            f"[onnx.export] {type(m).__name__} with padding_mode "
            f"{m.padding_mode!r} is not supported (zeros only)"
        )
    pads = [before for before, _ in m._padding_sides] + [after for _, after in m._padding_sides]
    inputs = [x.name, t.constant(m.weight)] + ([t.constant(m.bias)] if m.bias is not None else [])
    return t.op(
        "Conv",
        inputs,
        value,
        kernel_shape=list(m.kernel_size),
        strides=list(m.stride),
        dilations=list(m.dilation),
        pads=pads,
        group=m.groups,
    )


def _pool_window(m, x):
    n = x.dim() - 2
    if n < 1:
        raise _errors.ValueError(
            f"[onnx.export] {type(m).__name__} needs a batch dimension "
            f"(N, C, ...) in the exported graph, got {tuple(x.shape)}"
        )
    padding = _ints(m.padding, n)
    return dict(
        kernel_shape=_ints(m.kernel_size, n),
        strides=_ints(m.stride, n),
        pads=padding + padding,
        ceil_mode=int(m.ceil_mode),
    )


def _max_pool(t, m, value, x):
    if m.return_indices:
        raise _errors.TypeError(
            f"[onnx.export] {type(m).__name__}(return_indices=True) is not supported"
        )
    return t.op(
        "MaxPool", [x.name], value, dilations=_ints(m.dilation, x.dim() - 2), **_pool_window(m, x)
    )


def _avg_pool(t, m, value, x):
    if getattr(m, "divisor_override", None) is not None:
        raise _errors.TypeError("[onnx.export] AvgPool2d(divisor_override=...) is not supported")
    return t.op(
        "AveragePool",
        [x.name],
        value,
        count_include_pad=int(m.count_include_pad),
        **_pool_window(m, x),
    )


def _adaptive_avg_pool(t, m, value, x):
    inner = list(x.shape[2:])
    out = [o if o is not None else i for o, i in zip(_ints(m.output_size, len(inner)), inner)]
    if all(o == 1 for o in out):
        return t.op("GlobalAveragePool", [x.name], value)
    if x.dim() < 3 or any(i % o for i, o in zip(inner, out)):
        raise _errors.TypeError(
            f"[onnx.export] {type(m).__name__}({m.output_size}) on input "
            f"{tuple(x.shape)} is supported only where the output size "
            "divides the input's"
        )
    kernel = [i // o for i, o in zip(inner, out)]
    return t.op("AveragePool", [x.name], value, kernel_shape=kernel, strides=kernel)


def _ones_or(t, tensor, count, fill):
    return t.constant(tensor if tensor is not None else np.full(count, fill, np.float32))


def _batch_norm(t, m, value, x):
    if m.running_mean is None:
        raise _errors.TypeError(
            f"[onnx.export] {type(m).__name__}(track_running_stats=False) "
            "normalizes with the batch's statistics, not supported"
        )
    inputs = [
        x.name,
        _ones_or(t, m.weight, m.num_features, 1.0),
        _ones_or(t, m.bias, m.num_features, 0.0),
        t.constant(m.running_mean),
        t.constant(m.running_var),
    ]
    return t.op("BatchNormalization", inputs, value, epsilon=float(m.eps))


def _layer_norm(t, m, value, x):
    shape = tuple(m.normalized_shape)
    scale = m.weight if m.weight is not None else np.ones(shape, np.float32)
    bias = m.bias if m.bias is not None else np.zeros(shape, np.float32)
    return t.op(
        "LayerNormalization",
        [x.name, t.constant(scale), t.constant(bias)],
        value,
        axis=-len(shape),
        epsilon=float(m.eps),
    )


def _embedding(t, m, value, x):
    if m.max_norm is not None:
        raise _errors.TypeError(
            "[onnx.export] Embedding(max_norm=...) rewrites its weight while it runs, not supported"
        )
    return t.op("Gather", [t.constant(m.weight), x.name], value)


def _local_response_norm(t, m, value, x):
    # ONNX puts the extra channel of an even size after, PyTorch before
    if m.size % 2 == 0:
        raise _errors.TypeError(
            f"[onnx.export] LocalResponseNorm({m.size}): an even size "
            "sums other channels in ONNX's LRN than in PyTorch's"
        )
    if x.dim() != 4:
        raise _errors.TypeError(
            f"[onnx.export] LocalResponseNorm on {x.dim()}-d input: "
            "onnxruntime's LRN takes (N, C, H, W) only"
        )
    return t.op(
        "LRN",
        [x.name],
        value,
        size=int(m.size),
        alpha=float(m.alpha),
        beta=float(m.beta),
        bias=float(m.k),
    )


def _softplus(t, m, value, x):
    if m.beta != 1:
        scaled = t.op("Mul", [x.name, t.constant(float(m.beta))], value)
        soft = t.op("Softplus", [scaled.name], value)
        return t.op("Div", [soft.name, t.constant(float(m.beta))], value)
    return t.op("Softplus", [x.name], value)


def _softmax_dim(m, x):
    return m.dim if m.dim is not None else (0 if x.dim() in (0, 1, 3) else 1)


def _unary(op_type, **attributes):
    return lambda t, m, value, x: t.op(
        op_type, [x.name], value, **{k: v(m) for k, v in attributes.items()}
    )


def converters():
    from .. import nn

    return {
        nn.Linear: _linear,
        nn.Conv1d: _conv,
        nn.Conv2d: _conv,
        nn.Conv3d: _conv,
        nn.MaxPool1d: _max_pool,
        nn.MaxPool2d: _max_pool,
        nn.AvgPool1d: _avg_pool,
        nn.AvgPool2d: _avg_pool,
        nn.AdaptiveAvgPool1d: _adaptive_avg_pool,
        nn.AdaptiveAvgPool2d: _adaptive_avg_pool,
        nn.BatchNorm1d: _batch_norm,
        nn.BatchNorm2d: _batch_norm,
        nn.LayerNorm: _layer_norm,
        nn.LocalResponseNorm: _local_response_norm,
        nn.Embedding: _embedding,
        nn.Softplus: _softplus,
        nn.GELU: lambda t, m, value, x: x.gelu(m.approximate),
        nn.ReLU: _unary("Relu"),
        nn.Tanh: _unary("Tanh"),
        nn.Sigmoid: _unary("Sigmoid"),
        nn.LeakyReLU: _unary("LeakyRelu", alpha=lambda m: float(m.negative_slope)),
        nn.ELU: _unary("Elu", alpha=lambda m: float(m.alpha)),
        nn.Dropout: _unary("Identity"),
        nn.Identity: _unary("Identity"),
        nn.Flatten: lambda t, m, value, x: x.flatten(m.start_dim, m.end_dim),
        nn.SiLU: lambda t, m, value, x: x * x.sigmoid(),
        nn.Softmax: lambda t, m, value, x: t.op(
            "Softmax", [x.name], value, axis=_softmax_dim(m, x)
        ),
        nn.LogSoftmax: lambda t, m, value, x: t.op(
            "LogSoftmax", [x.name], value, axis=_softmax_dim(m, x)
        ),
    }
