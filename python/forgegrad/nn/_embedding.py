"""F.embedding: rows of a weight matrix looked up by integer indices. The lookup is the
row gather that indexing uses (csrc/ops/shape.cpp's index_select); its backward adds the
output gradient's rows into the weight gradient one index after another, in index order,
so the sum is deterministic on the CPU. padding_idx and scale_grad_by_freq change only the
gradient, through detached copies of the looked-up rows."""

from __future__ import annotations

from typing import TYPE_CHECKING
from .. import _C, _errors
from ..autograd import no_grad
from .._checks import is_int, is_real

if TYPE_CHECKING:
    from .._C import Tensor

__all__ = ["embedding"]

_INDEX_DTYPES = (_C.dtype.int64, _C.dtype.int32)


def _check_indices(input, weight, op):
    if not isinstance(input, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected a Tensor of indices, got {type(input).__name__}")
    if input.dtype not in _INDEX_DTYPES:
        raise _errors.TypeError(
            f"[{op}] expected indices of dtype int64 or int32, got {input.dtype}"
        )
    if input.device != weight.device:
        raise _errors.ValueError(
            f"[{op}] expected indices on the weight's device {weight.device}, got {input.device}"
        )
    if input.numel():
        low, high = input.min().item(), input.max().item()
        bad = low if low < 0 else high
        if low < 0 or high >= weight.shape[0]:
            raise IndexError(
                f"[{op}] index {bad} is out of range for an embedding of {weight.shape[0]} rows"
            )


def _padding_row(padding_idx, num_embeddings, op):
    """padding_idx as a row number in [0, num_embeddings), or None."""
    if padding_idx is None:
        return None
    if not is_int(padding_idx):
        raise _errors.TypeError(
            f"[{op}] expected padding_idx as an int or None, got {padding_idx!r}"
        )
    if not -num_embeddings <= padding_idx < num_embeddings:
        raise _errors.ValueError(
            f"[{op}] padding_idx must be within num_embeddings "
            f"({num_embeddings}), got {padding_idx}"
        )
    return padding_idx % num_embeddings


def _renorm_rows_(weight, flat, max_norm, norm_type) -> None:
    """Scale, in place, each looked-up row whose norm exceeds max_norm to norm max_norm
    (PyTorch's embedding_renorm_, with its 1e-7 guard)."""
    with no_grad():
        rows = flat.unique()
        norms = weight.index_select(0, rows).norm(norm_type, dim=1)
        scale = _C.where(norms > max_norm, max_norm / (norms + 1e-7), 1.0)
        weight.index_copy_(0, rows, weight.index_select(0, rows) * scale.unsqueeze(1))


def embedding(
    input: Tensor,
    weight: Tensor,
    padding_idx: int | None = None,
    max_norm: float | None = None,
    norm_type: float = 2.0,
    scale_grad_by_freq: bool = False,
    sparse: bool = False,
) -> Tensor:
    """weight[input]: shape (*input.shape, embedding_dim). The padding_idx row gets no
    gradient; max_norm renormalizes the looked-up rows of weight in place first;
    scale_grad_by_freq divides each row's gradient by its count in input."""
    op = "embedding"
    if not isinstance(weight, _C.Tensor) or weight.dim() != 2:
        got = tuple(weight.shape) if isinstance(weight, _C.Tensor) else type(weight).__name__
        raise _errors.ValueError(
            f"[{op}] expected a 2-d weight (num_embeddings, embedding_dim), got {got}"
        )
    if sparse:
        raise _errors.ValueError(f"[{op}] sparse gradients are not supported; use sparse=False")
    num_embeddings = weight.shape[0]
    padding_row = _padding_row(padding_idx, num_embeddings, op)
    _check_indices(input, weight, op)
    flat = input.reshape(-1)
    if max_norm is not None:
        if not is_real(max_norm) or not is_real(norm_type):
            raise _errors.TypeError(
                f"[{op}] expected max_norm and norm_type as numbers, got "
                f"{max_norm!r} and {norm_type!r}"
            )
        _renorm_rows_(weight, flat, float(max_norm), float(norm_type))
    rows = weight.index_select(0, flat)
    if scale_grad_by_freq and flat.numel():
        counts = _C.bincount(flat.to(_C.dtype.int64), minlength=num_embeddings)
        scaled = rows / counts.index_select(0, flat).to(rows.dtype).unsqueeze(1)
        rows = rows.detach() + (scaled - scaled.detach())  # rows' values, scaled gradient
    if padding_row is not None:
        rows = _C.where((flat == padding_row).unsqueeze(1), rows.detach(), rows)
    return rows.reshape(*input.shape, weight.shape[1])
