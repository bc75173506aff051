"""forgegrad.einsum: Einstein summation lowered to views, sums and one batched matmul per pair
of operands (left to right), so it costs what the GEMM costs and its gradient comes from
those ops.

    einsum("bij,bjk->bik", a, b)     einsum("ii->i", x)     einsum("...ij,...j", a, v)

Per operand, a repeated letter takes the diagonal and a letter no other operand or the output
has is summed away. Each pair then becomes (batch, rows, K) @ (batch, K, cols): batch letters
are those both keep, K the letters they contract, rows and cols the ones each alone keeps.
"""

import math
from collections.abc import Sequence

from . import _C, _errors

_ELLIPSIS_BASE = 0x2460  # stand-in characters for the dimensions "..." covers


def _fail(message):
    raise _errors.ValueError(f"[einsum] {message}")


def _expand_ellipsis(subscripts, ndim, where):
    """The subscripts of an operand of `ndim` dims with "..." replaced by one stand-in
    character per dimension it covers (right-aligned, so they broadcast as numpy's)."""
    if subscripts.count("...") > 1 or subscripts.replace("...", "").count(".") > 0:
        _fail(f"{where} has a '.' that is not part of one '...'")
    letters = subscripts.replace("...", "")
    for c in letters:
        if not c.isascii() or not c.isalpha():
            _fail(f"{where} has the character {c!r}; subscripts are letters a-z, A-Z")
    if "..." not in subscripts:
        if len(letters) != ndim:
            _fail(f"{where} has {len(letters)} subscripts for a tensor of {ndim} dimensions")
        return letters
    covered = ndim - len(letters)
    if covered < 0:
        _fail(f"{where} has {len(letters)} subscripts for a tensor of {ndim} dimensions")
    head, tail = subscripts.split("...")
    return head + _ellipsis_chars(covered) + tail


def _ellipsis_chars(count):
    """The stand-ins for `count` ellipsis dimensions, right-aligned: the last is always the
    same character whatever the count, as broadcasting pairs dimensions from the right."""
    return "".join(chr(_ELLIPSIS_BASE + k) for k in reversed(range(count)))


def _take_diagonals(x, letters):
    """x with every repeated letter reduced to its diagonal (the dimension moves last)."""
    while True:
        repeated = next((c for c in letters if letters.count(c) > 1), None)
        if repeated is None:
            return x, letters
        first = letters.index(repeated)
        second = letters.index(repeated, first + 1)
        if x.shape[first] != x.shape[second]:
            _fail(
                f"subscript {repeated!r} is repeated over dimensions of sizes "
                f"{x.shape[first]} and {x.shape[second]}"
            )
        x = _C.diagonal(x, 0, first, second)
        letters = letters[:first] + letters[first + 1 : second] + letters[second + 1 :] + repeated


def _sum_away(x, letters, keep):
    """Sums the dimensions whose letters are not in `keep`."""
    dims = [d for d, c in enumerate(letters) if c not in keep]
    if not dims:
        return x, letters
    return _C.sum(x, dims), "".join(c for c in letters if c in keep)


def _broadcast(x, letters, letter, size):
    """x with the size-1 dimension of `letter` expanded to `size` (a view)."""
    shape = list(x.shape)
    shape[letters.index(letter)] = size
    return x.expand(*shape)


def _sizes(x, letters):
    return dict(zip(letters, x.shape))


def _contract(left, lletters, right, rletters, keep):
    """left and right contracted over their shared letters not in `keep`: one matmul."""
    lsize, rsize = _sizes(left, lletters), _sizes(right, rletters)
    batch = [c for c in lletters if c in rletters and c in keep]
    summed = [c for c in lletters if c in rletters and c not in keep]
    rows = [c for c in lletters if c not in rletters]
    cols = [c for c in rletters if c not in lletters]
    for c in batch + summed:
        if lsize[c] != rsize[c] and 1 not in (lsize[c], rsize[c]):
            _fail(f"subscript {c!r} has sizes {lsize[c]} and {rsize[c]}")
    for c in summed:  # a contracted size 1 against n broadcasts (batch sizes: matmul does)
        if lsize[c] != rsize[c]:
            if lsize[c] == 1:
                left, lsize = _broadcast(left, lletters, c, rsize[c]), {**lsize, c: rsize[c]}
            else:
                right, rsize = _broadcast(right, rletters, c, lsize[c]), {**rsize, c: lsize[c]}
    left = _C.permute(left, *[lletters.index(c) for c in batch + rows + summed])
    right = _C.permute(right, *[rletters.index(c) for c in batch + summed + cols])
    nb = len(batch)
    k = math.prod(lsize[c] for c in summed)
    m, n = math.prod(lsize[c] for c in rows), math.prod(rsize[c] for c in cols)
    lb, rb = list(left.shape[:nb]), list(right.shape[:nb])
    product = _C.matmul(_C.reshape(left, *(lb + [m, k])), _C.reshape(right, *(rb + [k, n])))
    out_batch = list(product.shape[:nb])
    shape = out_batch + [lsize[c] for c in rows] + [rsize[c] for c in cols]
    return _C.reshape(product, *shape), "".join(batch + rows + cols)


def einsum(equation: str, *operands: _C.Tensor | Sequence[_C.Tensor]) -> _C.Tensor:
    """Einstein summation over the operands, as torch.einsum: explicit ("ij,jk->ik") or
    implicit ("ij,jk": the letters that appear once, sorted) output, "..." for broadcast
    dimensions, repeated letters for diagonals. The operands may also come as one list."""
    given: Sequence[object] = operands
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        given = tuple(operands[0])
    if not isinstance(equation, str):
        raise _errors.TypeError(
            f"[einsum] expected the equation as a str, got {type(equation).__name__}"
        )
    if not given:
        _fail("expected at least one operand")
    checked: list[_C.Tensor] = []
    for i, x in enumerate(given):
        if not isinstance(x, _C.Tensor):
            raise _errors.TypeError(
                f"[einsum] expected Tensors as operands, got {type(x).__name__} for operand {i}"
            )
        checked.append(x)
    equation = equation.replace(" ", "")
    inputs, arrow, output = equation.partition("->")
    terms = inputs.split(",")
    if len(terms) != len(checked):
        _fail(f"the equation has {len(terms)} operand terms, got {len(checked)} operands")
    letters = [
        _expand_ellipsis(term, x.dim(), f"operand {i}'s term {term!r}")
        for i, (term, x) in enumerate(zip(terms, checked))
    ]
    widest = max(sum(1 for c in ls if ord(c) >= _ELLIPSIS_BASE) for ls in letters)
    if arrow:
        if "..." in output:
            output = output.replace("...", _ellipsis_chars(widest))
        elif "." in output:
            _fail(f"the output {output!r} has a '.' that is not part of '...'")
        elif widest:
            _fail("the output must say where the dimensions of '...' go")
        for c in output:
            if ord(c) < _ELLIPSIS_BASE and (not c.isascii() or not c.isalpha()):
                _fail(f"the output has the character {c!r}; subscripts are letters")
            if output.count(c) > 1:
                _fail(f"the output repeats subscript {c!r}")
            if not any(c in ls for ls in letters):
                _fail(f"the output's subscript {c!r} is in no operand")
    else:
        everything = "".join(letters)
        output = _ellipsis_chars(widest) + "".join(
            sorted(
                c for c in set(everything) if ord(c) < _ELLIPSIS_BASE and everything.count(c) == 1
            )
        )
    tensors = []
    for i, (x, ls) in enumerate(zip(checked, letters)):
        x, ls = _take_diagonals(x, ls)
        others = output + "".join(letters[:i] + letters[i + 1 :])
        x, ls = _sum_away(x, ls, others)
        tensors.append((x, ls))
    result, rletters = tensors[0]
    for i in range(1, len(tensors)):
        x, ls = tensors[i]
        keep = output + "".join(t[1] for t in tensors[i + 1 :])
        result, rletters = _sum_away(result, rletters, keep + ls)
        x, ls = _sum_away(x, ls, keep + rletters)
        result, rletters = _contract(result, rletters, x, ls, keep)
    result, rletters = _sum_away(result, rletters, output)
    if rletters != output:
        result = _C.permute(result, *[rletters.index(c) for c in output])
    return result
