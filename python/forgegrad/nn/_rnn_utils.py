"""``nn.utils.rnn``: sequences of different lengths padded into one batch, as PyTorch's
pad_sequence; each sequence is joined to a block of padding_value with cat and the results
stacked, so the gradient reaches every sequence through cat and stack."""
import collections.abc

from .. import _C, _errors
from .._checks import is_real

__all__ = ["pad_sequence"]


def _check_sequences(sequences, op):
    if isinstance(sequences, _C.Tensor):
        sequences = list(sequences.unbind(0))  # PyTorch iterates a Tensor along dim 0
    if not isinstance(sequences, collections.abc.Iterable):
        raise _errors.TypeError(f"[{op}] expected a list of Tensors, got "
                                f"{type(sequences).__name__}")
    sequences = list(sequences)
    if not sequences:
        raise _errors.ValueError(f"[{op}] received an empty list of sequences")
    first = sequences[0]
    for i, seq in enumerate(sequences):
        if not isinstance(seq, _C.Tensor):
            raise _errors.TypeError(f"[{op}] expected Tensors, got {type(seq).__name__} at "
                                    f"position {i}")
        if seq.dim() == 0:
            raise _errors.ValueError(f"[{op}] expected sequences of at least 1 dimension "
                                     f"(L, *), got a 0-d Tensor at position {i}")
        if tuple(seq.shape[1:]) != tuple(first.shape[1:]):
            raise _errors.ValueError(f"[{op}] expected every sequence to have trailing "
                                     f"dimensions {tuple(first.shape[1:])}, got "
                                     f"{tuple(seq.shape[1:])} at position {i}")
        if seq.dtype != first.dtype or seq.device != first.device:
            raise _errors.TypeError(f"[{op}] expected every sequence of dtype {first.dtype} "
                                    f"on {first.device}, got {seq.dtype} on {seq.device} at "
                                    f"position {i}")
    return sequences


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """sequences (L_i, *) -> (max L, B, *), or (B, max L, *) when batch_first; the missing
    steps are padding_value, after each sequence (padding_side "right") or before ("left")."""
    op = "pad_sequence"
    sequences = _check_sequences(sequences, op)
    if padding_side not in ("right", "left"):
        raise _errors.ValueError(f"[{op}] expected padding_side 'right' or 'left', got "
                                 f"{padding_side!r}")
    if not is_real(padding_value) and not isinstance(padding_value, bool):
        raise _errors.TypeError(f"[{op}] expected padding_value as a number, got "
                                f"{padding_value!r}")
    longest = max(seq.shape[0] for seq in sequences)
    trailing = list(sequences[0].shape[1:])
    padded = []
    for seq in sequences:
        missing = longest - seq.shape[0]
        if missing == 0:
            padded.append(seq)
            continue
        block = _C.full([missing] + trailing, padding_value, seq.dtype, seq.device)
        padded.append(_C.cat([seq, block] if padding_side == "right" else [block, seq]))
    return _C.stack(padded, 0 if batch_first else 1)
