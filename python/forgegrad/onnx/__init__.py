"""``export``: a model as an ONNX file, for onnxruntime and other ONNX runtimes.

The model runs once on ``example_input`` (in eval mode, without gradients) with each module
call and each op on the values flowing from the input recorded as ONNX nodes; parameters and
buffers become initializers under their ``state_dict`` names (a recurrent layer's are repacked
in ONNX's gate order). Needs the ``onnx`` package (``pip install "forgegrad[onnx]"``);
forgegrad itself imports without it.

Supported: ``Linear``, ``Conv1d/2d/3d`` (zero padding), ``MaxPool1d/2d``,
``AvgPool1d/2d``, ``AdaptiveAvgPool1d/2d`` (to size 1, or dividing the input evenly),
``BatchNorm1d/2d`` (running statistics), ``LayerNorm``, ``LocalResponseNorm`` (odd sizes, on
(N, C, H, W)), ``Embedding``, ``Flatten``,
``Dropout`` and ``Identity`` (identities in eval), the activations ``ReLU, LeakyReLU, GELU,
Tanh, Sigmoid, SiLU, ELU, Softplus, Softmax, LogSoftmax``;
``MultiheadAttention`` (bool or float ``attn_mask`` and ``key_padding_mask``, graph inputs or
constants; not ``add_bias_kv``/``add_zero_attn``), ``TransformerEncoderLayer``,
``TransformerDecoderLayer``, ``TransformerEncoder``, ``TransformerDecoder`` and
``Transformer`` (relu, gelu or a supported module as the activation), forgegrad.charlm's
``GPT`` (without a KV cache; the sequence length may be a dynamic axis);
``RNN`` (tanh, relu), ``LSTM`` (not ``proj_size``: ONNX's LSTM has no projection) and ``GRU``,
stacked, bidirectional, ``batch_first``, with or without initial states (not packed
sequences), their outputs (``output, h_n`` or ``output, (h_n, c_n)``) all exported;
containers and your own modules whose ``forward`` combines these with ``+ - * /``, ``@``,
``relu``/``sigmoid``/``tanh``/``gelu``, ``softmax``/``log_softmax``,
``F.scaled_dot_product_attention`` (``attn_mask``, ``is_causal``, ``scale``), ``flatten``,
``reshape``/``view``, ``transpose``/``permute``, ``unsqueeze``/``squeeze``, ``narrow``,
``chunk`` and ``unbind``. Nested tuples of outputs are flattened (``output_0``,
``output_1``, ...), ``None`` outputs dropped. Anything else raises ``[onnx.export] ...``
naming the module or op.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
import os

from .. import _C, _errors
from ..autograd import no_grad
from ..nn import functional as F
from ..nn.module import Module
from . import _attention, _layers, _recurrent
from ._recorder import FUNCTIONS, _any_traced, _Traced, _Tracer

if TYPE_CHECKING:
    from .._C import Tensor

__all__ = ["export", "DEFAULT_OPSET"]

DEFAULT_OPSET = 17  # LayerNormalization is an ONNX op from 17 on
_OPSETS = range(17, 22)


def _onnx():
    try:
        import onnx
    except ImportError as error:
        raise ImportError(
            "[onnx.export] needs the onnx package: pip install onnx "
            '(or pip install "forgegrad[onnx]")'
        ) from error
    return onnx


_CONVERTERS: dict[type, Callable[..., Any]] = {}


def _flat(result):
    """The model's outputs as a flat list: nested tuples and lists flattened, None dropped."""
    if isinstance(result, (tuple, list)):
        return [r for item in result for r in _flat(item)]
    return [] if result is None else [result]


def _patched(namespace, name):
    original = getattr(namespace, name)

    def route(x, *args, **kwargs):
        if isinstance(x, _Traced):
            return FUNCTIONS[name](x, *args, **kwargs)
        return original(x, *args, **kwargs)

    return original, route


def _axes(spec, name, rank):
    """dynamic_axes[name] ({axis: label} or [axes]) as {axis: label}, checked."""
    spec = spec if isinstance(spec, dict) else {axis: f"{name}_dim{axis}" for axis in spec}
    for axis in spec:
        if not isinstance(axis, int) or not -rank <= axis < rank:
            raise _errors.ValueError(
                f"[onnx.export] dynamic_axes['{name}'] names axis {axis!r}, "
                f"expected an int in [{-rank}, {rank})"
            )
    return {axis % rank: str(label) for axis, label in spec.items()}


def export(
    model: Module,
    example_input: Tensor | Sequence[Tensor],
    path: str | os.PathLike[str],
    input_names: Iterable[str] | None = None,
    output_names: Iterable[str] | None = None,
    dynamic_axes: Mapping[str, Mapping[int, str] | Iterable[int]] | None = None,
    opset_version: int = DEFAULT_OPSET,
) -> None:
    """Writes `model` as an ONNX file at `path`, traced on `example_input` (a Tensor or a
    tuple of Tensors) in eval mode.

    input_names / output_names: the graph's names (``input``, ``output``, or ``input_0``, ...
    by default). dynamic_axes: ``{name: {axis: label}}`` or ``{name: [axes]}`` for sizes left
    free (the batch, usually); other sizes are those of the example. Returns None.
    """
    onnx = _onnx()
    if not isinstance(model, Module):
        raise _errors.TypeError(
            f"[onnx.export] expected a forgegrad nn.Module, got {type(model).__name__}"
        )
    inputs = example_input if isinstance(example_input, (tuple, list)) else (example_input,)
    if not inputs or not all(isinstance(x, _C.Tensor) for x in inputs):
        raise _errors.TypeError(
            "[onnx.export] expected example_input as a Tensor or a tuple of "
            f"Tensors, got {type(example_input).__name__}"
        )
    if opset_version not in _OPSETS:
        raise _errors.ValueError(
            f"[onnx.export] expected opset_version in "
            f"{_OPSETS.start}..{_OPSETS.stop - 1}, got {opset_version!r}"
        )
    input_names = (
        list(input_names)
        if input_names is not None
        else (["input"] if len(inputs) == 1 else [f"input_{i}" for i in range(len(inputs))])
    )
    if len(input_names) != len(inputs):
        raise _errors.ValueError(
            f"[onnx.export] {len(input_names)} input_names for {len(inputs)} inputs"
        )
    if not _CONVERTERS:
        for part in (_layers, _attention, _recurrent):
            _CONVERTERS.update(part.converters())

    names = {
        id(t): name for name, t in list(model.named_parameters()) + list(model.named_buffers())
    }
    tracer = _Tracer(onnx, opset_version, names, _CONVERTERS)
    traced = [_Traced(tracer, name, x) for name, x in zip(input_names, inputs)]
    modes = {m: m.training for m in model.modules()}
    original_call = Module.__call__
    import forgegrad

    patches = [
        (ns, name) + _patched(ns, name)
        for ns in (F, forgegrad)
        for name in FUNCTIONS
        if hasattr(ns, name)
    ]
    try:
        model.eval()
        # setattr: the checker forbids assigning to a method, which this patch must do
        setattr(
            Module,
            "__call__",
            lambda module, *a, **k: (
                tracer.call(original_call, module, a, k)
                if _any_traced((a, k))
                else original_call(module, *a, **k)
            ),
        )
        for ns, name, _, route in patches:
            setattr(ns, name, route)
        with no_grad():
            result = model(*traced)
    except _C.TypeError as error:
        if str(error).startswith("[onnx.export]"):
            raise
        raise _errors.TypeError(f"[onnx.export] cannot trace {tracer.where()}: {error}") from error
    finally:
        setattr(Module, "__call__", original_call)
        for ns, name, original, _ in patches:
            setattr(ns, name, original)
        for m, mode in modes.items():
            m.train(mode)

    results = _flat(result)
    if not all(isinstance(r, _Traced) for r in results):
        raise _errors.TypeError(
            "[onnx.export] the model's outputs must be Tensors computed from its input"
        )
    output_names = (
        list(output_names)
        if output_names is not None
        else (["output"] if len(results) == 1 else [f"output_{i}" for i in range(len(results))])
    )
    if len(output_names) != len(results):
        raise _errors.ValueError(
            f"[onnx.export] {len(output_names)} output_names for {len(results)} outputs"
        )
    dynamic_axes = dict(dynamic_axes or {})
    for name in dynamic_axes:
        if name not in input_names + output_names:
            raise _errors.ValueError(
                f"[onnx.export] dynamic_axes names '{name}', which is not "
                f"among the inputs {input_names} or outputs {output_names}"
            )
    for r, name in zip(results, output_names):
        tracer.nodes.append(onnx.helper.make_node("Identity", [r.name], [name]))

    def info(name, value, free_by_default):
        rank = value.dim()
        axes = _axes(dynamic_axes[name], name, rank) if name in dynamic_axes else {}
        shape = [
            axes.get(i, None if free_by_default else size) for i, size in enumerate(value.shape)
        ]
        elem = onnx.helper.np_dtype_to_tensor_dtype(value.to("cpu").numpy().dtype)
        return onnx.helper.make_tensor_value_info(name, elem, shape)

    any_dynamic = any(name in dynamic_axes for name in input_names)
    graph = onnx.helper.make_graph(
        tracer.nodes,
        type(model).__name__,
        [info(n, x, False) for n, x in zip(input_names, inputs)],
        [
            info(n, r.value, any_dynamic and n not in dynamic_axes)
            for n, r in zip(output_names, results)
        ],
        list(tracer.initializers.values()),
    )
    proto = onnx.helper.make_model(
        graph,
        producer_name="forgegrad",
        opset_imports=[onnx.helper.make_opsetid("", opset_version)],
    )
    proto.ir_version = min(proto.ir_version, 10)  # what onnxruntime releases read
    onnx.checker.check_model(proto)
    onnx.save(proto, str(path))
