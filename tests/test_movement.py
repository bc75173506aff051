"""Data movement composed in Python (forgegrad/_movement.py): flip, roll, repeat, tile, tril,
triu, hstack, vstack, against numpy; gradients through the ops they are made of."""
import numpy as np
import pytest

import forgegrad as fg
from helpers import as_tensor, gradcheck, make_input, to_numpy

X = make_input((3, 4, 5))

CASES = [
    ("flip", lambda t: fg.flip(t, (0, 2)), lambda a: np.flip(a, (0, 2))),
    ("flip_method", lambda t: t.flip(-1), lambda a: np.flip(a, -1)),
    ("fliplr", fg.fliplr, np.fliplr),
    ("flipud", fg.flipud, np.flipud),
    ("roll", lambda t: fg.roll(t, (1, -2), (0, 2)), lambda a: np.roll(a, (1, -2), (0, 2))),
    ("roll_flat", lambda t: t.roll(7), lambda a: np.roll(a, 7)),
    ("repeat", lambda t: t.repeat(2, 1, 3, 1), lambda a: np.tile(a, (2, 1, 3, 1))),
    ("tile", lambda t: fg.tile(t, (2, 1)), lambda a: np.tile(a, (2, 1))),
    ("tril", lambda t: fg.tril(t, -1), lambda a: np.tril(a, -1)),
    ("triu", lambda t: t.triu(2), lambda a: np.triu(a, 2)),
    ("hstack", lambda t: fg.hstack([t, t[:, :2]]), lambda a: np.hstack([a, a[:, :2]])),
    ("vstack", lambda t: fg.vstack([t[0], t[1, 0]]), lambda a: np.vstack([a[0], a[1, 0]])),
]


@pytest.mark.parametrize("name, op, ref", CASES, ids=[c[0] for c in CASES])
def test_movement_matches_numpy(name, op, ref, device):
    np.testing.assert_array_equal(to_numpy(op(as_tensor(X, device))), ref(X))


@pytest.mark.parametrize("name, op, ref", CASES, ids=[c[0] for c in CASES])
def test_movement_gradients(name, op, ref):
    gradcheck(op, X[:2, :3, :4].astype(np.float64))


def test_movement_errors():
    with pytest.raises(ValueError, match=r"\[fliplr\] expected at least 2 dimensions"):
        fg.fliplr(fg.ones(3))
    with pytest.raises(IndexError, match=r"\[flip\] dimension 3 is out of range"):
        fg.flip(fg.ones(2, 2), (3,))
    with pytest.raises(ValueError, match=r"\[repeat\] expected at least 2 sizes"):
        fg.ones(2, 2).repeat(2)
    with pytest.raises(ValueError, match=r"\[roll\] expected as many shifts as dims"):
        fg.roll(fg.ones(2, 2), (1, 2), 0)


def test_tril_in_place_and_integers():
    x = fg.ones(3, 3, dtype=fg.int64)
    x.triu_()
    assert x.tolist() == [[1, 1, 1], [0, 1, 1], [0, 0, 1]]
    assert fg.roll(fg.tensor([]), 3).tolist() == []
