"""``nn.utils.rnn``: sequences of different lengths padded into one batch, as PyTorch's
pad_sequence; each sequence is joined to a block of padding_value with cat and the results
stacked, so the gradient reaches every sequence through cat and stack."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Self
import collections
import collections.abc

import numpy as np

from .. import _C, _errors, creation
from .._checks import is_int, is_real

if TYPE_CHECKING:
    from .._C import Tensor

__all__ = [
    "pad_sequence",
    "PackedSequence",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pack_sequence",
    "unpack_sequence",
]


def _check_sequences(sequences, op):
    if isinstance(sequences, _C.Tensor):
        sequences = list(sequences.unbind(0))  # PyTorch iterates a Tensor along dim 0
    if not isinstance(sequences, collections.abc.Iterable):
        raise _errors.TypeError(
            f"[{op}] expected a list of Tensors, got {type(sequences).__name__}"
        )
    sequences = list(sequences)
    if not sequences:
        raise _errors.ValueError(f"[{op}] received an empty list of sequences")
    first = sequences[0]
    for i, seq in enumerate(sequences):
        if not isinstance(seq, _C.Tensor):
            raise _errors.TypeError(
                f"[{op}] expected Tensors, got {type(seq).__name__} at position {i}"
            )
        if seq.dim() == 0:
            raise _errors.ValueError(
                f"[{op}] expected sequences of at least 1 dimension "
                f"(L, *), got a 0-d Tensor at position {i}"
            )
        if tuple(seq.shape[1:]) != tuple(first.shape[1:]):
            raise _errors.ValueError(
                f"[{op}] expected every sequence to have trailing "
                f"dimensions {tuple(first.shape[1:])}, got "
                f"{tuple(seq.shape[1:])} at position {i}"
            )
        if seq.dtype != first.dtype or seq.device != first.device:
            raise _errors.TypeError(
                f"[{op}] expected every sequence of dtype {first.dtype} "
                f"on {first.device}, got {seq.dtype} on {seq.device} at "
                f"position {i}"
            )
    return sequences


def pad_sequence(
    sequences: Tensor | Iterable[Tensor],
    batch_first: bool = False,
    padding_value: float = 0.0,
    padding_side: str = "right",
) -> Tensor:
    """sequences (L_i, *) -> (max L, B, *), or (B, max L, *) when batch_first; the missing
    steps are padding_value, after each sequence (padding_side "right") or before ("left")."""
    op = "pad_sequence"
    checked = _check_sequences(sequences, op)
    if padding_side not in ("right", "left"):
        raise _errors.ValueError(
            f"[{op}] expected padding_side 'right' or 'left', got {padding_side!r}"
        )
    if not is_real(padding_value) and not isinstance(padding_value, bool):
        raise _errors.TypeError(f"[{op}] expected padding_value as a number, got {padding_value!r}")
    longest = max(seq.shape[0] for seq in checked)
    trailing = list(checked[0].shape[1:])
    padded = []
    for seq in checked:
        missing = longest - seq.shape[0]
        if missing == 0:
            padded.append(seq)
            continue
        block = _C.full([missing] + trailing, padding_value, seq.dtype, seq.device)
        padded.append(_C.cat([seq, block] if padding_side == "right" else [block, seq]))
    return _C.stack(padded, 0 if batch_first else 1)


# ---- packed sequences: PackedSequence, pack_padded_sequence, pad_packed_sequence ----------
# A packed batch holds the steps of B sequences sorted by decreasing length, time-major:
# the rows of step t are the first batch_sizes[t] sorted sequences. Packing and unpacking are
# index_select over the padded (T * B, *) rows, so gradients flow through both.


class PackedSequence(
    collections.namedtuple(
        "PackedSequence", ["data", "batch_sizes", "sorted_indices", "unsorted_indices"]
    )
):
    """As torch.nn.utils.rnn.PackedSequence: data (sum of lengths, *), batch_sizes (int64 on
    the CPU), sorted_indices / unsorted_indices (int64 on data's device, or None when the
    batch came sorted). Build it with pack_padded_sequence or pack_sequence."""

    def __new__(
        cls,
        data: Tensor,
        batch_sizes: Tensor,
        sorted_indices: Tensor | None = None,
        unsorted_indices: Tensor | None = None,
    ) -> Self:
        if unsorted_indices is None and sorted_indices is not None:
            unsorted_indices = _inverse_permutation(sorted_indices)
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    @property
    def is_cuda(self) -> bool:
        """Whether the packed values live on a GPU."""
        return self.data.is_cuda

    def to(self, *args: Any, **kwargs: Any) -> Self:
        """The same batch with data (and the indices) moved or cast as Tensor.to does."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self

        def move(t):
            return None if t is None else t.to(data.device)

        return type(self)(
            data, self.batch_sizes, move(self.sorted_indices), move(self.unsorted_indices)
        )


def _inverse_permutation(permutation):
    inverse = np.empty(permutation.shape[0], dtype=np.int64)
    inverse[permutation.cpu().numpy()] = np.arange(permutation.shape[0])
    return creation.tensor(inverse, device=permutation.device)


def _lengths_array(lengths, op):
    if isinstance(lengths, _C.Tensor):
        if lengths.dim() != 1 or lengths.dtype not in (_C.dtype.int64, _C.dtype.int32):
            raise _errors.ValueError(
                f"[{op}] expected lengths as a 1-D int64 Tensor, got "
                f"{lengths.dtype} of shape {tuple(lengths.shape)}"
            )
        return lengths.cpu().numpy().astype(np.int64)
    values = list(lengths)
    if not all(is_int(v) for v in values):
        raise _errors.TypeError(f"[{op}] expected lengths as ints, got {values!r}")
    return np.asarray(values, dtype=np.int64).reshape(-1)


def _packed_rows(batch_sizes, batch):
    """The padded (T * batch) row of each packed row, in packed order."""
    return np.concatenate([t * batch + np.arange(n) for t, n in enumerate(batch_sizes)])


def pack_padded_sequence(
    input: Tensor,
    lengths: Tensor | Iterable[int],
    batch_first: bool = False,
    enforce_sorted: bool = True,
) -> PackedSequence:
    """input (T, B, *) (or (B, T, *) when batch_first) padded past each sequence's length ->
    PackedSequence. With enforce_sorted, lengths must decrease; otherwise the batch is sorted
    here and the permutation kept in sorted_indices."""
    op = "pack_padded_sequence"
    if not isinstance(input, _C.Tensor) or input.dim() < 2:
        raise _errors.ValueError(f"[{op}] expected input of at least 2 dimensions (T, B, *)")
    seq_lengths = _lengths_array(lengths, op)
    if batch_first:
        input = input.transpose(0, 1)
    steps, batch = input.shape[0], input.shape[1]
    if seq_lengths.shape[0] != batch:
        raise _errors.ValueError(
            f"[{op}] expected {batch} lengths (the batch size), got {seq_lengths.shape[0]}"
        )
    if batch == 0 or seq_lengths.min() <= 0 or seq_lengths.max() > steps:
        raise _errors.ValueError(
            f"[{op}] expected every length in [1, {steps}], got {seq_lengths.tolist()}"
        )
    sorted_indices = None
    if enforce_sorted:
        if np.any(np.diff(seq_lengths) > 0):
            raise _errors.ValueError(
                f"[{op}] expected lengths sorted in decreasing order when enforce_sorted is "
                f"True, got {seq_lengths.tolist()}; pass enforce_sorted=False to sort them here"
            )
    else:
        order = np.argsort(-seq_lengths, kind="stable")
        seq_lengths = seq_lengths[order]
        sorted_indices = creation.tensor(order, device=input.device)
        input = input.index_select(1, sorted_indices)
    batch_sizes = np.array([(seq_lengths > t).sum() for t in range(seq_lengths[0])], dtype=np.int64)
    rows = creation.tensor(_packed_rows(batch_sizes, batch), device=input.device)
    data = input.reshape([steps * batch] + list(input.shape[2:])).index_select(0, rows)
    return PackedSequence(data, creation.tensor(batch_sizes), sorted_indices)


def pad_packed_sequence(
    sequence: PackedSequence,
    batch_first: bool = False,
    padding_value: float = 0.0,
    total_length: int | None = None,
) -> tuple[Tensor, Tensor]:
    """PackedSequence -> (padded (T, B, *) or (B, T, *) when batch_first, lengths (B) int64 on
    the CPU), in the batch's original order; padding_value past each length, T the longest
    length or total_length."""
    op = "pad_packed_sequence"
    if not isinstance(sequence, PackedSequence):
        raise _errors.TypeError(f"[{op}] expected a PackedSequence, got {type(sequence).__name__}")
    padded, lengths = _padded_sorted(sequence, padding_value, total_length, op)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths[sequence.sorted_indices.cpu().numpy().argsort()]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, creation.tensor(lengths)


def _padded_sorted(sequence, padding_value, total_length, op):
    """A PackedSequence as (T, B, *) in its sorted order, and its lengths (numpy)."""
    batch_sizes = sequence.batch_sizes.cpu().numpy().astype(np.int64)
    data = sequence.data
    steps, batch = batch_sizes.shape[0], int(batch_sizes[0])
    if total_length is not None:
        if not is_int(total_length) or total_length < steps:
            raise _errors.ValueError(
                f"[{op}] expected total_length of at least the longest "
                f"sequence's {steps} steps, got {total_length!r}"
            )
        steps = total_length
    trailing = list(data.shape[1:])
    # each padded row takes its packed row, or the padding row appended after the data
    source = np.full(steps * batch, data.shape[0], dtype=np.int64)
    source[_packed_rows(batch_sizes, batch)] = np.arange(data.shape[0])
    padding = _C.full([1] + trailing, padding_value, data.dtype, data.device)
    rows = _C.cat([data, padding]).index_select(0, creation.tensor(source, device=data.device))
    lengths = np.array([(batch_sizes > b).sum() for b in range(batch)], dtype=np.int64)
    return rows.reshape([steps, batch] + trailing), lengths


def pack_sequence(
    sequences: Tensor | Iterable[Tensor], enforce_sorted: bool = True
) -> PackedSequence:
    """sequences (L_i, *) -> PackedSequence, as pack_padded_sequence of their padding."""
    sequences = _check_sequences(sequences, "pack_sequence")
    lengths = [seq.shape[0] for seq in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list[Tensor]:
    """PackedSequence -> the list of its sequences (L_i, *), in the batch's original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return [padded[i, : int(n)] for i, n in enumerate(lengths.tolist())]
