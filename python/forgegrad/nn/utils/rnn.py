"""``forgegrad.nn.utils.rnn``, as ``torch.nn.utils.rnn``: the padding and packing of
sequences (their code is nn/_rnn_utils.py). A real module, so that type checkers follow
``from forgegrad.nn.utils.rnn import pad_sequence`` as Python does."""

from .._rnn_utils import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
    pad_sequence,
    unpack_sequence,
)

__all__ = [
    "pad_sequence",
    "PackedSequence",
    "pack_padded_sequence",
    "pad_packed_sequence",
    "pack_sequence",
    "unpack_sequence",
]
