"""``export``: a model as an ONNX file, for onnxruntime and other ONNX runtimes.

The model runs once on ``example_input`` (in eval mode, without gradients) with each module
call and each op on the values flowing from the input recorded as ONNX nodes; parameters and
buffers become initializers under their ``state_dict`` names. Needs the ``onnx`` package
(``pip install "forgegrad[onnx]"``); forgegrad itself imports without it.

Supported: ``Linear``, ``Conv1d``/``Conv2d`` (zero padding), ``MaxPool1d/2d``,
``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d`` (to size 1, or dividing the input evenly),
``BatchNorm1d/2d`` (running statistics), ``LayerNorm``, ``Embedding``, ``Flatten``,
``Dropout`` and ``Identity`` (identities in eval), the activations ``ReLU, LeakyReLU, GELU,
Tanh, Sigmoid, SiLU, ELU, Softplus, Softmax, LogSoftmax``, containers and your own modules
whose ``forward`` combines these with ``+ - * /``, ``@``, ``relu``/``sigmoid``/``tanh``,
``flatten``, ``reshape``/``view`` and ``softmax``. Anything else raises
``[onnx.export] ...`` naming the module or op.
"""
import math
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _C, _errors
from .autograd import no_grad
from .nn import functional as F
from .nn.module import Module

DEFAULT_OPSET = 17  # LayerNormalization is an ONNX op from 17 on
_OPSETS = range(17, 22)


def _onnx():
    try:
        import onnx
    except ImportError as error:
        raise ImportError("[onnx.export] needs the onnx package: pip install onnx "
                          "(or pip install \"forgegrad[onnx]\")") from error
    return onnx


class _Traced:
    """A value of the traced graph: its ONNX name and its real value (for shapes and checks)."""

    def __init__(self, tracer, name, value):
        self.tracer, self.name, self.value = tracer, name, value

    shape = property(lambda self: self.value.shape)
    dtype = property(lambda self: self.value.dtype)
    device = property(lambda self: self.value.device)

    def dim(self):
        return self.value.dim()

    def size(self, dim=None):
        return self.value.shape if dim is None else self.value.shape[dim]

    def _binary(self, other, op_type, compute, reverse=False):
        t = self.tracer
        other_name = other.name if isinstance(other, _Traced) else t.constant(other)
        other_value = other.value if isinstance(other, _Traced) else other
        names = [other_name, self.name] if reverse else [self.name, other_name]
        values = (other_value, self.value) if reverse else (self.value, other_value)
        return t.op(op_type, names, compute(*values))

    def __add__(self, other):
        return self._binary(other, "Add", lambda a, b: a + b)

    def __radd__(self, other):
        return self._binary(other, "Add", lambda a, b: a + b, reverse=True)

    def __sub__(self, other):
        return self._binary(other, "Sub", lambda a, b: a - b)

    def __rsub__(self, other):
        return self._binary(other, "Sub", lambda a, b: a - b, reverse=True)

    def __mul__(self, other):
        return self._binary(other, "Mul", lambda a, b: a * b)

    def __rmul__(self, other):
        return self._binary(other, "Mul", lambda a, b: a * b, reverse=True)

    def __truediv__(self, other):
        return self._binary(other, "Div", lambda a, b: a / b)

    def __matmul__(self, other):
        return self._binary(other, "MatMul", lambda a, b: a @ b)

    def __neg__(self):
        return self.tracer.op("Neg", [self.name], -self.value)

    def relu(self):
        return self.tracer.op("Relu", [self.name], F.relu(self.value))

    def sigmoid(self):
        return self.tracer.op("Sigmoid", [self.name], F.sigmoid(self.value))

    def tanh(self):
        return self.tracer.op("Tanh", [self.name], F.tanh(self.value))

    def softmax(self, dim):
        return self.tracer.op("Softmax", [self.name], F.softmax(self.value, dim), axis=dim)

    def log_softmax(self, dim):
        return self.tracer.op("LogSoftmax", [self.name], F.log_softmax(self.value, dim),
                              axis=dim)

    def contiguous(self):
        return self

    def flatten(self, start_dim=0, end_dim=-1):
        value = self.value.flatten(start_dim, end_dim)
        rank = self.value.dim()
        start, end = start_dim % max(rank, 1), end_dim % max(rank, 1)
        if start == 1 and end == rank - 1:  # Flatten keeps a dynamic batch size
            return self.tracer.op("Flatten", [self.name], value, axis=1)
        return self._reshape(value, [0] * start + [-1] + list(value.shape[start + 1:]))

    def reshape(self, *shape):
        shape = list(shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list))
                     else shape)
        value = self.value.reshape(*shape)
        # leading sizes kept from the input copy them (0), so a dynamic batch size stays so
        for i, size in enumerate(shape):
            if i >= self.value.dim() or size != self.value.shape[i]:
                break
            shape[i] = 0
        return self._reshape(value, shape)

    view = reshape

    def _reshape(self, value, shape):
        return self.tracer.op("Reshape",
                              [self.name, self.tracer.constant(np.array(shape, np.int64))], value)

    def __getattr__(self, name):
        raise _errors.TypeError(f"[onnx.export] Tensor.{name} is not supported in an exported "
                                f"forward (in {self.tracer.where()})")


class _Tracer:
    def __init__(self, onnx, opset, names):
        self.onnx, self.opset, self.names = onnx, opset, names
        self.nodes, self.initializers, self.count = [], {}, 0
        self.modules = []  # the module calls being traced, outermost first

    def where(self):
        return " > ".join(type(m).__name__ for m in self.modules) or "the model's forward"

    def fresh(self, hint):
        self.count += 1
        return f"{hint}_{self.count}"

    def constant(self, value):
        """An initializer of `value` (a number, numpy array or Tensor); weights under their
        state_dict names."""
        if isinstance(value, _C.Tensor):
            name = self.names.get(id(value))
            array = value.detach().to("cpu").numpy()
        else:
            name = None
            array = np.asarray(value, dtype=np.float32 if isinstance(value, float | int)
                               else None)
        name = name or self.fresh("const")
        if name not in self.initializers:
            self.initializers[name] = self.onnx.numpy_helper.from_array(np.ascontiguousarray(
                array), name)
        return name

    def op(self, op_type, inputs, value, **attributes):
        output = self.fresh(op_type)
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, [output], **attributes))
        return _Traced(self, output, value)

    def call(self, original, module, args, kwargs):
        convert = _CONVERTERS.get(type(module))
        self.modules.append(module)
        try:
            if convert is not None:
                value = original(module, *[a.value if isinstance(a, _Traced) else a
                                           for a in args], **kwargs)
                return convert(self, module, value, *args, **kwargs)
            if isinstance(module, _sequential()):  # its forward fuses layers; call them one by one
                (x,) = args
                for child in module:
                    x = child(x)
                return x
            if not module._modules:
                raise _errors.TypeError(f"[onnx.export] {type(module).__name__} is not supported "
                                        f"(in {self.where()})")
            return module.forward(*args, **kwargs)
        finally:
            self.modules.pop()


def _sequential():
    from .nn import Sequential
    return Sequential


def _ints(value, n):
    return list(value) if isinstance(value, (tuple, list)) else [value] * n


def _linear(t, m, value, x):
    if x.dim() == 2:
        inputs = [x.name, t.constant(m.weight)] + ([t.constant(m.bias)] if m.bias is not None
                                                   else [])
        return t.op("Gemm", inputs, value, transB=1)
    out = t.op("MatMul", [x.name, t.constant(m.weight.detach().to("cpu").numpy().T)], value)
    return out if m.bias is None else t.op("Add", [out.name, t.constant(m.bias)], value)


def _conv(t, m, value, x):
    if m.padding_mode != "zeros":
        raise _errors.TypeError(f"[onnx.export] {type(m).__name__} with padding_mode "
                                f"{m.padding_mode!r} is not supported (zeros only)")
    pads = [before for before, _ in m._padding_sides] + [after for _, after in m._padding_sides]
    inputs = [x.name, t.constant(m.weight)] + ([t.constant(m.bias)] if m.bias is not None
                                               else [])
    return t.op("Conv", inputs, value, kernel_shape=list(m.kernel_size), strides=list(m.stride),
                dilations=list(m.dilation), pads=pads, group=m.groups)


def _pool_window(m, x):
    n = x.dim() - 2
    if n < 1:
        raise _errors.ValueError(f"[onnx.export] {type(m).__name__} needs a batch dimension "
                                 f"(N, C, ...) in the exported graph, got {tuple(x.shape)}")
    padding = _ints(m.padding, n)
    return dict(kernel_shape=_ints(m.kernel_size, n), strides=_ints(m.stride, n),
                pads=padding + padding, ceil_mode=int(m.ceil_mode))


def _max_pool(t, m, value, x):
    if m.return_indices:
        raise _errors.TypeError(f"[onnx.export] {type(m).__name__}(return_indices=True) is not "
                                "supported")
    return t.op("MaxPool", [x.name], value, dilations=_ints(m.dilation, x.dim() - 2),
                **_pool_window(m, x))


def _avg_pool(t, m, value, x):
    if getattr(m, "divisor_override", None) is not None:
        raise _errors.TypeError("[onnx.export] AvgPool2d(divisor_override=...) is not supported")
    return t.op("AveragePool", [x.name], value, count_include_pad=int(m.count_include_pad),
                **_pool_window(m, x))


def _adaptive_avg_pool(t, m, value, x):
    inner = list(x.shape[2:])
    out = [o if o is not None else i for o, i in zip(_ints(m.output_size, len(inner)), inner)]
    if all(o == 1 for o in out):
        return t.op("GlobalAveragePool", [x.name], value)
    if x.dim() < 3 or any(i % o for i, o in zip(inner, out)):
        raise _errors.TypeError(f"[onnx.export] {type(m).__name__}({m.output_size}) on input "
                                f"{tuple(x.shape)} is supported only where the output size "
                                "divides the input's")
    kernel = [i // o for i, o in zip(inner, out)]
    return t.op("AveragePool", [x.name], value, kernel_shape=kernel, strides=kernel)


def _ones_or(t, tensor, count, fill):
    return t.constant(tensor if tensor is not None else np.full(count, fill, np.float32))


def _batch_norm(t, m, value, x):
    if m.running_mean is None:
        raise _errors.TypeError(f"[onnx.export] {type(m).__name__}(track_running_stats=False) "
                                "normalizes with the batch's statistics, not supported")
    inputs = [x.name, _ones_or(t, m.weight, m.num_features, 1.0),
              _ones_or(t, m.bias, m.num_features, 0.0), t.constant(m.running_mean),
              t.constant(m.running_var)]
    return t.op("BatchNormalization", inputs, value, epsilon=float(m.eps))


def _layer_norm(t, m, value, x):
    shape = tuple(m.normalized_shape)
    scale = m.weight if m.weight is not None else np.ones(shape, np.float32)
    bias = m.bias if m.bias is not None else np.zeros(shape, np.float32)
    return t.op("LayerNormalization", [x.name, t.constant(scale), t.constant(bias)], value,
                axis=-len(shape), epsilon=float(m.eps))


def _embedding(t, m, value, x):
    if m.max_norm is not None:
        raise _errors.TypeError("[onnx.export] Embedding(max_norm=...) rewrites its weight "
                                "while it runs, not supported")
    return t.op("Gather", [t.constant(m.weight), x.name], value)


def _gelu(t, m, value, x):
    if m.approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
        cube = t.op("Mul", [x.name, t.op("Mul", [x.name, x.name], value).name], value)
        inner = t.op("Add", [x.name, t.op("Mul", [cube.name, t.constant(0.044715)], value).name],
                     value)
        core = t.op("Tanh", [t.op("Mul", [inner.name, t.constant(math.sqrt(2 / math.pi))],
                                  value).name], value)
    else:  # 0.5 x (1 + erf(x / sqrt(2))), the exact form
        core = t.op("Erf", [t.op("Div", [x.name, t.constant(math.sqrt(2.0))], value).name],
                    value)
    half = t.op("Mul", [x.name, t.constant(0.5)], value)
    return t.op("Mul", [half.name, t.op("Add", [core.name, t.constant(1.0)], value).name], value)


def _softplus(t, m, value, x):
    if m.beta != 1:
        scaled = t.op("Mul", [x.name, t.constant(float(m.beta))], value)
        soft = t.op("Softplus", [scaled.name], value)
        return t.op("Div", [soft.name, t.constant(float(m.beta))], value)
    return t.op("Softplus", [x.name], value)


def _softmax_dim(m, x):
    return m.dim if m.dim is not None else (0 if x.dim() in (0, 1, 3) else 1)


def _unary(op_type, **attributes):
    return lambda t, m, value, x: t.op(op_type, [x.name], value, **{
        k: v(m) for k, v in attributes.items()})


def _converters():
    from . import nn
    table = {
        nn.Linear: _linear, nn.Conv1d: _conv, nn.Conv2d: _conv,
        nn.MaxPool1d: _max_pool, nn.MaxPool2d: _max_pool,
        nn.AvgPool1d: _avg_pool, nn.AvgPool2d: _avg_pool,
        nn.AdaptiveAvgPool1d: _adaptive_avg_pool, nn.AdaptiveAvgPool2d: _adaptive_avg_pool,
        nn.BatchNorm1d: _batch_norm, nn.BatchNorm2d: _batch_norm, nn.LayerNorm: _layer_norm,
        nn.Embedding: _embedding, nn.GELU: _gelu, nn.Softplus: _softplus,
        nn.ReLU: _unary("Relu"), nn.Tanh: _unary("Tanh"), nn.Sigmoid: _unary("Sigmoid"),
        nn.LeakyReLU: _unary("LeakyRelu", alpha=lambda m: float(m.negative_slope)),
        nn.ELU: _unary("Elu", alpha=lambda m: float(m.alpha)),
        nn.Dropout: _unary("Identity"), nn.Identity: _unary("Identity"),
        nn.Flatten: lambda t, m, value, x: x.flatten(m.start_dim, m.end_dim),
        nn.SiLU: lambda t, m, value, x: t.op("Mul", [x.name, x.sigmoid().name], value),
    }
    table[nn.Softmax] = lambda t, m, value, x: t.op("Softmax", [x.name], value,
                                                    axis=_softmax_dim(m, x))
    table[nn.LogSoftmax] = lambda t, m, value, x: t.op("LogSoftmax", [x.name], value,
                                                       axis=_softmax_dim(m, x))
    return table


_CONVERTERS: dict[type, Callable[..., Any]] = {}

# The functions a forward may call on a traced value, routed to _Traced's methods.
_FUNCTIONS = ("relu", "sigmoid", "tanh", "softmax", "log_softmax", "flatten", "reshape")


def _patched(namespace, name):
    original = getattr(namespace, name)

    def route(x, *args, **kwargs):
        if isinstance(x, _Traced):
            return getattr(x, name)(*args, **kwargs)
        return original(x, *args, **kwargs)
    return original, route


def _axes(spec, name, rank):
    """dynamic_axes[name] ({axis: label} or [axes]) as {axis: label}, checked."""
    spec = spec if isinstance(spec, dict) else {axis: f"{name}_dim{axis}" for axis in spec}
    for axis in spec:
        if not isinstance(axis, int) or not -rank <= axis < rank:
            raise _errors.ValueError(f"[onnx.export] dynamic_axes['{name}'] names axis {axis!r}, "
                                     f"expected an int in [{-rank}, {rank})")
    return {axis % rank: str(label) for axis, label in spec.items()}


def export(model, example_input, path, input_names=None, output_names=None, dynamic_axes=None,
           opset_version=DEFAULT_OPSET):
    """Writes `model` as an ONNX file at `path`, traced on `example_input` (a Tensor or a
    tuple of Tensors) in eval mode.

    input_names / output_names: the graph's names (``input``, ``output``, or ``input_0``, ...
    by default). dynamic_axes: ``{name: {axis: label}}`` or ``{name: [axes]}`` for sizes left
    free (the batch, usually); other sizes are those of the example. Returns None.
    """
    onnx = _onnx()
    if not isinstance(model, Module):
        raise _errors.TypeError(f"[onnx.export] expected a forgegrad nn.Module, got "
                                f"{type(model).__name__}")
    inputs = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    if not inputs or not all(isinstance(x, _C.Tensor) for x in inputs):
        raise _errors.TypeError("[onnx.export] expected example_input as a Tensor or a tuple of "
                                f"Tensors, got {type(example_input).__name__}")
    if opset_version not in _OPSETS:
        raise _errors.ValueError(f"[onnx.export] expected opset_version in "
                                 f"{_OPSETS.start}..{_OPSETS.stop - 1}, got {opset_version!r}")
    input_names = list(input_names) if input_names is not None else (
        ["input"] if len(inputs) == 1 else [f"input_{i}" for i in range(len(inputs))])
    if len(input_names) != len(inputs):
        raise _errors.ValueError(f"[onnx.export] {len(input_names)} input_names for "
                                 f"{len(inputs)} inputs")
    if not _CONVERTERS:
        _CONVERTERS.update(_converters())

    names = {id(t): name for name, t in list(model.named_parameters()) +
             list(model.named_buffers())}
    tracer = _Tracer(onnx, opset_version, names)
    traced = [_Traced(tracer, name, x) for name, x in zip(input_names, inputs)]
    modes = {m: m.training for m in model.modules()}
    original_call = Module.__call__
    import forgegrad
    patches = [(ns, name) + _patched(ns, name) for ns in (F, forgegrad) for name in _FUNCTIONS
               if hasattr(ns, name)]
    try:
        model.eval()
        Module.__call__ = lambda module, *a, **k: (
            tracer.call(original_call, module, a, k)
            if any(isinstance(x, _Traced) for x in a) else original_call(module, *a, **k))
        for ns, name, _, route in patches:
            setattr(ns, name, route)
        with no_grad():
            result = model(*traced)
    except _C.TypeError as error:
        if str(error).startswith("[onnx.export]"):
            raise
        raise _errors.TypeError(f"[onnx.export] cannot trace {tracer.where()}: {error}") from error
    finally:
        Module.__call__ = original_call
        for ns, name, original, _ in patches:
            setattr(ns, name, original)
        for m, mode in modes.items():
            m.train(mode)

    results = result if isinstance(result, (tuple, list)) else (result,)
    if not all(isinstance(r, _Traced) for r in results):
        raise _errors.TypeError("[onnx.export] the model's outputs must be Tensors computed from "
                                "its input")
    output_names = list(output_names) if output_names is not None else (
        ["output"] if len(results) == 1 else [f"output_{i}" for i in range(len(results))])
    if len(output_names) != len(results):
        raise _errors.ValueError(f"[onnx.export] {len(output_names)} output_names for "
                                 f"{len(results)} outputs")
    dynamic_axes = dict(dynamic_axes or {})
    for name in dynamic_axes:
        if name not in input_names + output_names:
            raise _errors.ValueError(f"[onnx.export] dynamic_axes names '{name}', which is not "
                                     f"among the inputs {input_names} or outputs {output_names}")
    for r, name in zip(results, output_names):
        tracer.nodes.append(onnx.helper.make_node("Identity", [r.name], [name]))

    def info(name, value, free_by_default):
        rank = value.dim()
        axes = _axes(dynamic_axes[name], name, rank) if name in dynamic_axes else {}
        shape = [axes.get(i, None if free_by_default else size)
                 for i, size in enumerate(value.shape)]
        elem = onnx.helper.np_dtype_to_tensor_dtype(value.to("cpu").numpy().dtype)
        return onnx.helper.make_tensor_value_info(name, elem, shape)

    any_dynamic = any(name in dynamic_axes for name in input_names)
    graph = onnx.helper.make_graph(
        tracer.nodes, type(model).__name__,
        [info(n, x, False) for n, x in zip(input_names, inputs)],
        [info(n, r.value, any_dynamic and n not in dynamic_axes)
         for n, r in zip(output_names, results)],
        list(tracer.initializers.values()))
    proto = onnx.helper.make_model(graph, producer_name="forgegrad",
                                   opset_imports=[onnx.helper.make_opsetid("", opset_version)])
    proto.ir_version = min(proto.ir_version, 10)  # what onnxruntime releases read
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
