"""forgegrad.einsum against numpy.einsum: values for explicit and implicit outputs, "...",
diagonals, sums, broadcasting and chains of operands; gradients in float64; errors."""

import re

import numpy as np
import pytest

import forgegrad as fg

from helpers import as_tensor, assert_close, gradcheck, make_input, to_numpy

CASES = [
    ("ij,jk->ik", [(3, 4), (4, 5)]),
    ("ij,jk", [(3, 4), (4, 5)]),
    ("ij,kj->ik", [(3, 4), (5, 4)]),
    ("ji,jk->ik", [(4, 3), (4, 5)]),
    ("bij,bjk->bik", [(2, 3, 4), (2, 4, 5)]),
    ("bhtd,bhsd->bhts", [(2, 3, 4, 5), (2, 3, 6, 5)]),
    ("bhts,bhsd->bhtd", [(2, 3, 4, 6), (2, 3, 6, 5)]),
    ("i,i->", [(7,), (7,)]),
    ("i,i", [(7,), (7,)]),
    ("i,j->ij", [(3,), (4,)]),
    ("i,j", [(3,), (4,)]),
    ("ij->ji", [(3, 4)]),
    ("ij", [(3, 4)]),
    ("ji", [(3, 4)]),
    ("ij->", [(3, 4)]),
    ("ij->i", [(3, 4)]),
    ("ij->j", [(3, 4)]),
    ("ii->i", [(4, 4)]),
    ("ii->", [(4, 4)]),
    ("ii", [(4, 4)]),
    ("iij->ij", [(3, 3, 2)]),
    ("ijk->kji", [(2, 3, 4)]),
    ("ij,ij->ij", [(3, 4), (3, 4)]),
    ("ij,ij->", [(3, 4), (3, 4)]),
    ("ij,j->i", [(3, 4), (4,)]),
    ("i,ij->j", [(3,), (3, 4)]),
    ("...ij,...jk->...ik", [(2, 3, 4), (2, 4, 5)]),
    ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)]),
    ("...i,...i->...", [(2, 3, 4), (3, 4)]),
    ("i...->...", [(3, 2, 4)]),
    ("...ii->...i", [(2, 3, 3)]),
    ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
    ("ab,bc,cd", [(2, 3), (3, 4), (4, 2)]),
    ("bij,jk->bik", [(2, 3, 4), (4, 5)]),
    ("ijk,jil->kl", [(3, 4, 5), (4, 3, 2)]),
    ("i,i,i->", [(5,), (5,), (5,)]),
    ("ab,cd->abcd", [(2, 3), (4, 2)]),
    (" i j , j k -> i k ", [(3, 4), (4, 5)]),
    ("ij,jk->ik", [(1, 4), (4, 5)]),
    ("ij,ik->jk", [(1, 3), (4, 5)]),
    ("Ab,bC->AC", [(2, 3), (3, 4)]),
]


@pytest.mark.parametrize("equation,shapes", CASES, ids=[c[0] for c in CASES])
def test_einsum_values(equation, shapes, device):
    if equation == "ij,ik->jk":  # size-1 i broadcasts against 4, as in numpy
        arrays = [make_input((1, 3)), make_input((4, 5))]
    else:
        arrays = [make_input(s) for s in shapes]
    want = np.einsum(equation.replace(" ", ""), *[a.astype(np.float64) for a in arrays])
    got = fg.einsum(equation, *[as_tensor(a, device) for a in arrays])
    assert tuple(got.shape) == want.shape
    assert_close(to_numpy(got), want, atol=1e-5 * max(1, np.abs(want).max()))


def test_einsum_takes_a_list(device):
    a, b = make_input((3, 4)), make_input((4, 5))
    got = fg.einsum("ij,jk->ik", [as_tensor(a, device), as_tensor(b, device)])
    assert_close(to_numpy(got), a.astype(np.float64) @ b, atol=1e-5)


@pytest.mark.parametrize(
    "equation,shapes",
    [
        ("ij,jk->ik", [(3, 4), (4, 5)]),
        ("bhtd,bhsd->bhts", [(2, 3, 4, 5), (2, 3, 6, 5)]),
        ("ii->i", [(4, 4)]),
        ("ij,j->i", [(3, 4), (4,)]),
        ("...ij,...jk", [(2, 1, 3, 4), (5, 4, 2)]),
        ("ij,jk,kl->il", [(2, 3), (3, 4), (4, 5)]),
        ("ijk,jil->kl", [(3, 4, 5), (4, 3, 2)]),
    ],
    ids=str,
)
def test_einsum_gradients(equation, shapes, device):
    gradcheck(
        lambda *t: fg.einsum(equation, *t),
        *[make_input(s) for s in shapes],
        device=device,
        max_checks=20,
    )


@pytest.mark.parametrize(
    "equation,shapes,message",
    [
        ("ij,jk->ik", [(3, 4)], "the equation has 2 operand terms, got 1 operands"),
        ("ijk->i", [(3, 4)], "has 3 subscripts for a tensor of 2 dimensions"),
        ("ij->k", [(3, 4)], "the output's subscript 'k' is in no operand"),
        ("ij->ii", [(3, 4)], "the output repeats subscript 'i'"),
        ("ij,jk->ik", [(3, 4), (5, 6)], "subscript 'j' has sizes 4 and 5"),
        ("ii->i", [(3, 4)], "subscript 'i' is repeated over dimensions of sizes 3 and 4"),
        ("i1->i", [(3, 4)], "has the character '1'"),
        ("...ij->ij", [(2, 3, 4)], "the output must say where the dimensions of '...' go"),
    ],
    ids=str,
)
def test_einsum_errors(equation, shapes, message):
    with pytest.raises(ValueError, match=re.escape(message)) as error:
        fg.einsum(equation, *[fg.zeros(*s) for s in shapes])
    assert str(error.value).startswith("[einsum] ")
