"""Grad mode (``no_grad`` and friends, as context managers and decorators), and
``backward`` / ``grad`` over several tensors at once, as in ``torch.autograd``."""

import functools
from collections.abc import Callable, Sequence
from typing import Any, Literal, TypeVar

from . import _C, _errors

_F = TypeVar("_F", bound=Callable[..., Any])


class set_grad_enabled:
    """Turns gradient recording on or off: at once, or for a ``with`` block."""

    def __init__(self, mode: bool) -> None:
        self.mode = bool(mode)
        self.previous = _C.is_grad_enabled()
        _C._set_grad_enabled(self.mode)  # like torch: takes effect on construction

    def __enter__(self) -> "set_grad_enabled":
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        _C._set_grad_enabled(self.previous)
        return False


class _GradModeContext:
    mode = True

    def __enter__(self) -> "_GradModeContext":
        self.previous = _C.is_grad_enabled()
        _C._set_grad_enabled(self.mode)
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        _C._set_grad_enabled(self.previous)
        return False

    def __call__(self, fn: _F) -> _F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with type(self)():
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # wraps keeps fn's signature


class no_grad(_GradModeContext):
    """Ops inside record no graph: ``with fg.no_grad(): ...`` or ``@fg.no_grad()``."""

    mode = False


class enable_grad(_GradModeContext):
    """Turns recording back on inside a ``no_grad`` region."""

    mode = True


class inference_mode(_GradModeContext):
    """``no_grad`` under PyTorch's other name: ``with fg.inference_mode(): ...``,
    ``@fg.inference_mode()`` or ``@fg.inference_mode``. ``inference_mode(False)`` records.
    (PyTorch's inference tensors, which refuse autograd later, have no counterpart: a tensor
    made here is an ordinary one without a graph.)"""

    def __new__(cls, mode: Any = True) -> Any:
        if callable(mode):  # @fg.inference_mode, without parentheses: the decorated function
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.mode = not bool(mode)

    def __call__(self, fn: _F) -> _F:
        recording = self.mode

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with inference_mode(not recording):
                return fn(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # wraps keeps fn's signature


class RemovableHandle:
    """What ``Tensor.register_post_accumulate_grad_hook`` returns: ``remove()`` unregisters
    the hook (again: nothing happens); as a context manager, it removes it on exit."""

    def __init__(self, remove: Callable[[], None] | None) -> None:
        self._remove = remove

    def remove(self) -> None:
        """Unregisters the hook; a second call does nothing."""
        if self._remove is not None:
            self._remove()
            self._remove = None

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: object) -> Literal[False]:
        self.remove()
        return False


def _tensors(value: Any, op: str, name: str) -> list[_C.Tensor]:
    """A tensor, or a sequence of tensors, as a list."""
    items = [value] if isinstance(value, _C.Tensor) else value
    if not isinstance(items, Sequence) or not all(isinstance(t, _C.Tensor) for t in items):
        raise _errors.TypeError(
            f"[{op}] expected a Tensor or a sequence of Tensors for {name}, got "
            f"{type(value).__name__}"
        )
    return list(items)


def _gradients(value: Any, count: int, op: str) -> list[_C.Tensor | None]:
    """One gradient (or None: ones, for a one-element tensor) per tensor."""
    if value is None:
        return [None] * count
    items = [value] if isinstance(value, _C.Tensor) else value
    if not isinstance(items, Sequence) or not all(
        g is None or isinstance(g, _C.Tensor) for g in items
    ):
        raise _errors.TypeError(
            f"[{op}] expected a Tensor, None or a sequence of them for the gradients, got "
            f"{type(value).__name__}"
        )
    if len(items) != count:
        raise _errors.ValueError(
            f"[{op}] expected {count} gradients, one per tensor, got {len(items)}"
        )
    return list(items)


def backward(
    tensors: Any,
    grad_tensors: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    inputs: Any = None,
) -> None:
    """Accumulates into the leaves' ``.grad`` the gradient of the sum of ``tensors`` (each
    weighted by its ``grad_tensors`` entry; None means ones, for a one-element tensor),
    with one pass over their graph: shared parts run once.

    ``inputs``: accumulate into these tensors' ``.grad`` only (a non-leaf keeps its
    gradient there as after ``retain_grad()``), every other ``.grad`` left as it was.
    ``create_graph`` (gradients that are graphs themselves, for higher derivatives) is not
    supported."""
    if create_graph:
        raise NotImplementedError(
            "[backward] create_graph=True (higher-order gradients) is not supported"
        )
    roots = _tensors(tensors, "backward", "tensors")
    seeds = _gradients(grad_tensors, len(roots), "backward")
    keep = bool(retain_graph)
    if inputs is None:
        _C._backward(roots, seeds, keep)
        return
    targets = _tensors(inputs, "backward", "inputs")
    if not targets:
        raise _errors.ValueError("[backward] inputs, when given, must not be empty")
    for target, g in zip(targets, _C._grad(roots, seeds, targets, keep, "backward")):
        if g is None:
            continue
        with no_grad():
            target.grad = g.clone() if target.grad is None else target.grad + g


def grad(
    outputs: Any,
    inputs: Any,
    grad_outputs: Any = None,
    retain_graph: bool | None = None,
    create_graph: bool = False,
    allow_unused: bool | None = None,
    is_grads_batched: bool = False,
    materialize_grads: bool = False,
) -> tuple[_C.Tensor | None, ...]:
    """The gradients of the sum of ``outputs`` (each weighted by its ``grad_outputs``
    entry; None means ones, for a one-element output) with respect to each of ``inputs``,
    leaves or not, as a tuple; no ``.grad`` changes. An input the outputs do not depend on
    is an error, unless ``allow_unused`` (then None, or zeros with ``materialize_grads``).
    The graph is freed unless ``retain_graph``. ``create_graph`` and ``is_grads_batched``
    are not supported."""
    if create_graph:
        raise NotImplementedError(
            "[grad] create_graph=True (higher-order gradients) is not supported"
        )
    if is_grads_batched:
        raise NotImplementedError("[grad] is_grads_batched=True is not supported")
    roots = _tensors(outputs, "grad", "outputs")
    targets = _tensors(inputs, "grad", "inputs")
    if not targets:
        raise _errors.ValueError("[grad] expected at least one input")
    if allow_unused is None:
        allow_unused = materialize_grads
    if materialize_grads and not allow_unused:
        raise _errors.ValueError("[grad] materialize_grads=True needs allow_unused=True or None")
    seeds = _gradients(grad_outputs, len(roots), "grad")
    found = _C._grad(roots, seeds, targets, bool(retain_graph), "grad")
    result: list[_C.Tensor | None] = []
    for i, (target, g) in enumerate(zip(targets, found)):
        if g is None and not allow_unused:
            raise RuntimeError(
                f"[grad] input {i} was not used in the graph of the outputs; pass "
                "allow_unused=True to get None for it"
            )
        if g is None and materialize_grads:
            from .creation import zeros_like  # creation imports this module

            g = zeros_like(target)
        result.append(g)
    return tuple(result)


class FunctionCtx:
    """What ``Function.forward`` and ``backward`` share: ``save_for_backward`` and
    ``saved_tensors``, ``needs_input_grad``, ``mark_non_differentiable``,
    ``set_materialize_grads``, and any attribute set on it."""

    needs_input_grad: tuple[bool, ...]

    def __init__(self) -> None:
        self._saved: tuple[Any, ...] = ()
        self._non_differentiable: set[int] = set()
        self._materialize_grads = True

    def save_for_backward(self, *tensors: Any) -> None:
        """Keeps tensors (or None) for ``backward``, as ``saved_tensors``."""
        for t in tensors:
            if t is not None and not isinstance(t, _C.Tensor):
                raise _errors.TypeError(
                    f"[save_for_backward] expected Tensors or None, got {type(t).__name__}"
                )
        self._saved = tensors

    @property
    def saved_tensors(self) -> tuple[Any, ...]:
        """The tensors ``save_for_backward`` kept."""
        return self._saved

    def mark_non_differentiable(self, *tensors: _C.Tensor) -> None:
        """Outputs of ``forward`` that get no gradient (indices, masks)."""
        self._non_differentiable.update(id(t) for t in tensors)

    def set_materialize_grads(self, value: bool) -> None:
        """Whether ``backward`` gets zeros (True, the default) or None for an output whose
        gradient is not needed."""
        self._materialize_grads = bool(value)


class Function:
    """A differentiable op written in Python, as ``torch.autograd.Function``: subclass it
    with static ``forward(ctx, *args)`` (run without recording, returns a Tensor or a tuple)
    and ``backward(ctx, *grad_outputs)`` (one gradient, or None, per argument of
    ``forward``), and call ``apply(*args)``.

    With several outputs, ``backward`` is called once for each output whose gradient
    arrives, the others' gradients zero (or None, after ``ctx.set_materialize_grads(False)``);
    a gradient being linear in the outputs' gradients, the sum is the same."""

    @staticmethod
    def forward(ctx: FunctionCtx, *args: Any, **kwargs: Any) -> Any:
        raise NotImplementedError("[Function] subclasses define forward(ctx, *args)")

    @staticmethod
    def backward(ctx: FunctionCtx, *grad_outputs: Any) -> Any:
        raise NotImplementedError("[Function] subclasses define backward(ctx, *grad_outputs)")

    @classmethod
    def apply(cls, *args: Any, **kwargs: Any) -> Any:
        name = cls.__name__
        ctx = FunctionCtx()
        ctx.needs_input_grad = tuple(isinstance(a, _C.Tensor) and a.requires_grad for a in args)
        with no_grad():
            result = cls.forward(ctx, *args, **kwargs)
        single = isinstance(result, _C.Tensor)
        outputs = (result,) if single else result
        if not isinstance(outputs, tuple) or not all(
            o is None or isinstance(o, _C.Tensor) for o in outputs
        ):
            raise _errors.TypeError(
                f"[{name}] forward must return a Tensor or a tuple of Tensors (or None), got "
                f"{type(result).__name__}"
            )
        # an input returned as it is becomes a new tensor of its values, which the graph
        # can make the result of this op
        inputs = {id(a) for a in args if isinstance(a, _C.Tensor)}
        outputs = tuple(o.detach() if o is not None and id(o) in inputs else o for o in outputs)
        differentiable = [
            i
            for i, o in enumerate(outputs)
            if o is not None and id(o) not in ctx._non_differentiable and o.is_floating_point()
        ]
        tensor_args = [(k, a) for k, a in enumerate(args) if isinstance(a, _C.Tensor)]
        if _C.is_grad_enabled() and differentiable and any(a.requires_grad for _, a in tensor_args):
            _record(cls, ctx, args, outputs, differentiable, tensor_args)
        return outputs[0] if single else outputs


def _record(
    cls: type[Function],
    ctx: FunctionCtx,
    args: tuple[Any, ...],
    outputs: tuple[Any, ...],
    differentiable: list[int],
    tensor_args: list[tuple[int, _C.Tensor]],
) -> None:
    """Makes outputs[i], i in differentiable, results of a node whose rule calls
    cls.backward and checks what it returns."""
    name = cls.__name__
    # what zeros for the outputs take: not the outputs, whose node would then hold them
    specs = [None if o is None else (tuple(o.shape), o.dtype, o.device) for o in outputs]

    def rule(i: int, dout: _C.Tensor) -> list[_C.Tensor | None]:
        grads: list[_C.Tensor | None] = []
        for j, spec in enumerate(specs):
            if j == differentiable[i]:
                grads.append(dout)
            elif spec is None or not ctx._materialize_grads:
                grads.append(None)
            else:
                from .creation import zeros  # creation imports this module

                grads.append(zeros(spec[0], dtype=spec[1], device=spec[2]))
        result = cls.backward(ctx, *grads)
        result = result if isinstance(result, tuple) else (result,)
        if len(result) != len(args):
            raise RuntimeError(
                f"[{name}] backward returned {len(result)} gradients, expected {len(args)} "
                "(one per argument of forward, None for those without)"
            )
        found: list[_C.Tensor | None] = []
        for k, arg in tensor_args:
            g = result[k]
            if g is not None and not isinstance(g, _C.Tensor):
                raise _errors.TypeError(
                    f"[{name}] backward returned a {type(g).__name__} as the gradient of "
                    f"argument {k}, expected a Tensor or None"
                )
            if g is not None and g.shape != arg.shape:
                raise RuntimeError(
                    f"[{name}] backward returned a gradient of shape {tuple(g.shape)} for "
                    f"argument {k}, of shape {tuple(arg.shape)}"
                )
            found.append(None if g is None or not arg.requires_grad else g.to(arg.dtype))
        return found

    _C._record_function(
        [outputs[i] for i in differentiable], [a for _, a in tensor_args], rule, name
    )
