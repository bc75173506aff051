"""nn.utils.rnn.pad_sequence against numpy: both layouts, both padding sides, trailing
dimensions, integer sequences, the gradient of each sequence, errors."""

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn as nn
from forgegrad.nn.utils.rnn import pad_sequence
from helpers import as_tensor, gradcheck, to_numpy

RNG = np.random.default_rng(18)


def np_pad_sequence(arrays, batch_first, value, side):
    longest = max(len(a) for a in arrays)
    out = np.full((len(arrays), longest) + arrays[0].shape[1:], value, dtype=arrays[0].dtype)
    for i, a in enumerate(arrays):
        if side == "right":
            out[i, : len(a)] = a
        else:
            out[i, longest - len(a) :] = a
    return out if batch_first else np.swapaxes(out, 0, 1)


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("trailing", [(), (3,), (2, 2)])
def test_against_numpy(device, batch_first, side, trailing):
    arrays = [RNG.standard_normal((n,) + trailing) for n in (3, 1, 4, 4)]
    out = pad_sequence(
        [as_tensor(a, device) for a in arrays],
        batch_first=batch_first,
        padding_value=-7.5,
        padding_side=side,
    )
    ref = np_pad_sequence(arrays, batch_first, -7.5, side)
    assert tuple(out.shape) == ref.shape and out.device.type == fg.device(device).type
    assert np.array_equal(to_numpy(out), ref)


def test_integer_sequences_and_a_tensor_of_sequences():
    out = nn.utils.rnn.pad_sequence([fg.tensor([1, 2, 3]), fg.tensor([4])], batch_first=True)
    assert out.dtype == fg.int64 and to_numpy(out).tolist() == [[1, 2, 3], [4, 0, 0]]
    same = pad_sequence(fg.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert to_numpy(same).tolist() == [[1.0, 3.0], [2.0, 4.0]]


def test_gradient_reaches_each_sequence(device):
    gradcheck(
        lambda a, b: pad_sequence([a, b], padding_side="left"),
        RNG.standard_normal((2, 3)),
        RNG.standard_normal((4, 3)),
        device=device,
    )


def test_errors_name_the_op():
    with pytest.raises(ValueError, match=r"\[pad_sequence\] received an empty list"):
        pad_sequence([])
    with pytest.raises(
        ValueError,
        match=r"\[pad_sequence\] expected every sequence to have "
        r"trailing dimensions \(2,\)",
    ):
        pad_sequence([fg.ones(3, 2), fg.ones(3, 4)])
    with pytest.raises(TypeError, match=r"\[pad_sequence\] expected every sequence of dtype"):
        pad_sequence([fg.ones(3), fg.tensor([1, 2])])
    with pytest.raises(ValueError, match=r"\[pad_sequence\] expected padding_side"):
        pad_sequence([fg.ones(3)], padding_side="middle")
    with pytest.raises(TypeError, match=r"\[pad_sequence\] expected Tensors"):
        pad_sequence([fg.ones(3), [1.0]])
    with pytest.raises(ValueError, match=r"\[pad_sequence\] expected sequences of at least 1"):
        pad_sequence([fg.ones(())])
