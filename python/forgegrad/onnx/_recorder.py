"""The recorder: values flowing from the model's input are ``_Traced`` (an ONNX name and the
real value, for shapes), and each op on them appends an ONNX node to the ``_Tracer``. Module
calls go to the converters (one per module type, in the sibling files); the few functions a
forward may call (``F.relu``, ``F.scaled_dot_product_attention``, ...) are routed here."""

import math

import numpy as np

from .. import _C, _errors, creation
from ..nn import functional as F


def _unwrap(x):
    """x with every _Traced inside (tuples, lists, dict values) replaced by its value."""
    if isinstance(x, _Traced):
        return x.value
    if isinstance(x, (tuple, list)):
        return type(x)(_unwrap(item) for item in x)
    if isinstance(x, dict):
        return {key: _unwrap(item) for key, item in x.items()}
    return x


def _any_traced(x):
    if isinstance(x, (tuple, list)):
        return any(_any_traced(item) for item in x)
    if isinstance(x, dict):
        return any(_any_traced(item) for item in x.values())
    return isinstance(x, _Traced)


def _axis(dim, rank):
    return dim % rank if rank else 0


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
        other = self.tracer.wrap(other)
        a, b = (other, self) if reverse else (self, other)
        return self.tracer.op(op_type, [a.name, b.name], compute(a.value, b.value))

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

    def gelu(self, approximate="none"):
        value = F.gelu(self.value, approximate=approximate)
        if approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2 / pi) (x + 0.044715 x^3)))
            core = ((self + self * self * self * 0.044715) * math.sqrt(2 / math.pi)).tanh()
        else:  # 0.5 x (1 + erf(x / sqrt(2))), the exact form
            core = self.tracer.op("Erf", [(self / math.sqrt(2.0)).name], value)
        out = self * 0.5 * (core + 1.0)
        out.value = value
        return out

    def softmax(self, dim):
        return self.tracer.op("Softmax", [self.name], F.softmax(self.value, dim), axis=dim)

    def log_softmax(self, dim):
        return self.tracer.op("LogSoftmax", [self.name], F.log_softmax(self.value, dim), axis=dim)

    def mean(self, dim):
        """The mean over one axis, dropped (ReduceMean's axes: an attribute before opset 18,
        an input from it on)."""
        axes = [_axis(dim, self.dim())]
        value = self.value.mean(dim)
        if self.tracer.opset < 18:
            return self.tracer.op("ReduceMean", [self.name], value, axes=axes, keepdims=0)
        return self.tracer.op("ReduceMean", [self.name, self.tracer.ints(axes)], value, keepdims=0)

    def contiguous(self):
        return self

    def permute(self, *dims):
        dims = list(dims[0] if len(dims) == 1 and isinstance(dims[0], (tuple, list)) else dims)
        return self.tracer.op(
            "Transpose",
            [self.name],
            self.value.permute(*dims),
            perm=[_axis(d, self.dim()) for d in dims],
        )

    def transpose(self, dim0, dim1):
        perm = list(range(self.dim()))
        a, b = _axis(dim0, self.dim()), _axis(dim1, self.dim())
        perm[a], perm[b] = perm[b], perm[a]
        return self.permute(perm)

    def unsqueeze(self, dim):
        dim = _axis(dim, self.dim() + 1)
        return self.tracer.op(
            "Unsqueeze", [self.name, self.tracer.ints([dim])], self.value.unsqueeze(dim)
        )

    def squeeze(self, dim):
        dim = _axis(dim, self.dim())
        return self.tracer.op(
            "Squeeze", [self.name, self.tracer.ints([dim])], self.value.squeeze(dim)
        )

    def narrow(self, dim, start, length):
        dim = _axis(dim, self.dim())
        t = self.tracer
        return t.op(
            "Slice",
            [self.name, t.ints([start]), t.ints([start + length]), t.ints([dim])],
            self.value.narrow(dim, start, length),
        )

    def chunk(self, chunks, dim=0):
        """Equal pieces along dim (as many as Tensor.chunk makes)."""
        dim = _axis(dim, self.dim())
        values = self.value.chunk(chunks, dim)
        sizes = [v.shape[dim] for v in values]
        return self.tracer.ops("Split", [self.name, self.tracer.ints(sizes)], values, axis=dim)

    def unbind(self, dim=0):
        dim = _axis(dim, self.dim())
        pieces = self.chunk(self.value.shape[dim], dim)
        return tuple(piece.squeeze(dim) for piece in pieces)

    def flatten(self, start_dim=0, end_dim=-1):
        value = self.value.flatten(start_dim, end_dim)
        rank = self.value.dim()
        start, end = _axis(start_dim, rank), _axis(end_dim, rank)
        if start == 1 and end == rank - 1:  # Flatten keeps a dynamic batch size
            return self.tracer.op("Flatten", [self.name], value, axis=1)
        return self.reshape_to(value, [0] * start + [-1] + list(value.shape[start + 1 :]))

    def reshape(self, *shape):
        shape = list(shape[0] if len(shape) == 1 and isinstance(shape[0], (tuple, list)) else shape)
        value = self.value.reshape(*shape)
        # leading sizes kept from the input copy them (0), so a dynamic batch size (or
        # sequence length) stays so
        for i, size in enumerate(shape):
            if i >= self.value.dim() or size != self.value.shape[i]:
                break
            shape[i] = 0
        return self.reshape_to(value, shape)

    view = reshape

    def reshape_to(self, value, shape):
        """Reshape to the ONNX shape `shape` (0 copies the input's size, -1 is inferred)."""
        return self.tracer.op("Reshape", [self.name, self.tracer.ints(shape)], value)

    def size_of(self, axis):
        """The int64 scalar of this value's size along axis, read at run time (Shape)."""
        t = self.tracer
        shape = t.op("Shape", [self.name], creation.tensor(list(self.value.shape)))
        return t.op(
            "Gather",
            [shape.name, t.constant(np.array(_axis(axis, self.dim()), np.int64))],
            creation.tensor(self.value.shape[axis]),
        )

    def __getattr__(self, name):
        raise _errors.TypeError(
            f"[onnx.export] Tensor.{name} is not supported in an exported "
            f"forward (in {self.tracer.where()})"
        )


def where(condition, x, y):
    """x where condition holds, else y (Where); any of them traced or not."""
    t = next(v.tracer for v in (condition, x, y) if isinstance(v, _Traced))
    condition, x, y = (t.wrap(v) for v in (condition, x, y))
    return t.op(
        "Where", [condition.name, x.name, y.name], _C.where(condition.value, x.value, y.value)
    )


def arange(traced, axis):
    """0, 1, ..., size - 1 (int64) for traced's size along axis, at run time (Range)."""
    t = traced.tracer
    size = traced.size_of(axis)
    return t.op(
        "Range",
        [t.constant(np.array(0, np.int64)), size.name, t.constant(np.array(1, np.int64))],
        creation.arange(traced.value.shape[axis]),
    )


class _Tracer:
    def __init__(self, onnx, opset, names, converters):
        self.onnx, self.opset, self.names, self.converters = onnx, opset, names, converters
        self.nodes, self.initializers, self.count = [], {}, 0
        self.modules = []  # the module calls being traced, outermost first

    def where(self):
        return " > ".join(type(m).__name__ for m in self.modules) or "the model's forward"

    def fail(self, what):
        raise _errors.TypeError(f"[onnx.export] {what} is not supported (in {self.where()})")

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
            array = np.asarray(value, dtype=np.float32 if isinstance(value, float | int) else None)
        name = name or self.fresh("const")
        if name not in self.initializers:
            # np.array, not np.ascontiguousarray: that makes a 0-d array 1-d
            self.initializers[name] = self.onnx.numpy_helper.from_array(
                np.array(array, order="C"), name
            )
        return name

    def ints(self, values):
        """An int64 vector initializer (the shapes and axes ONNX ops take as inputs)."""
        return self.constant(np.array(values, np.int64))

    def wrap(self, x):
        """x as a _Traced: itself, or a Tensor or number as an initializer."""
        if isinstance(x, _Traced):
            return x
        value = x if isinstance(x, _C.Tensor) else creation.tensor(float(x))  # as constant()
        return _Traced(self, self.constant(x), value)

    def op(self, op_type, inputs, value, **attributes):
        return self.ops(op_type, inputs, [value], **attributes)[0]

    def ops(self, op_type, inputs, values, **attributes):
        """A node of len(values) outputs; values: what each output holds."""
        outputs = [self.fresh(op_type) for _ in values]
        self.nodes.append(self.onnx.helper.make_node(op_type, inputs, outputs, **attributes))
        return [_Traced(self, name, value) for name, value in zip(outputs, values)]

    def call(self, original, module, args, kwargs):
        convert = self.converters.get(type(module))
        self.modules.append(module)
        try:
            if convert is not None:
                value = original(module, *_unwrap(args), **_unwrap(kwargs))
                return convert(self, module, value, *args, **kwargs)
            if isinstance(module, _sequential()):  # its forward fuses layers; call them one by one
                (x,) = args
                for child in module:
                    x = child(x)
                return x
            if not module._modules and type(module).__module__.startswith("forgegrad."):
                self.fail(type(module).__name__)  # a layer of ours without a converter
            return module.forward(*args, **kwargs)
        finally:
            self.modules.pop()


def _sequential():
    from ..nn import Sequential

    return Sequential


def _method(name):
    return lambda x, *args, **kwargs: getattr(x, name)(*args, **kwargs)


def scaled_dot_product_attention(
    query, key, value, attn_mask=None, dropout_p=0.0, is_causal=False, scale=None, enable_gqa=False
):
    """F.scaled_dot_product_attention as MatMul, Softmax and Where: a bool attn_mask's True
    entries take part (as PyTorch's), a float one is added to the scores. dropout_p is left
    out: the exported graph is for inference."""
    from ._attention import attend  # it imports this module

    t = query.tracer
    if enable_gqa and key.shape[-3] != query.shape[-3]:
        t.fail("scaled_dot_product_attention with grouped query heads (enable_gqa)")
    expected = F.scaled_dot_product_attention(
        *_unwrap((query, key, value)),
        attn_mask=_unwrap(attn_mask),
        is_causal=is_causal,
        scale=scale,
    )
    out, _ = attend(query, t.wrap(key), t.wrap(value), [(attn_mask, False)], is_causal, scale)
    out.value = expected
    return out


# The functions a forward may call on a traced value, in forgegrad and forgegrad.nn.functional.
FUNCTIONS = {
    name: _method(name)
    for name in ("relu", "sigmoid", "tanh", "gelu", "softmax", "log_softmax", "flatten", "reshape")
}
FUNCTIONS["scaled_dot_product_attention"] = scaled_dot_product_attention
