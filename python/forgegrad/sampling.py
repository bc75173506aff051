"""Choosing the next token from a language model's logits: temperature, top-k and top-p
(nucleus) filtering, and a draw from what is left. (forgegrad.multinomial and the other
draws from distributions are in forgegrad._sampling; this module builds on them.)

    next_ids = sample_next(logits[:, -1], temperature=0.8, top_k=40, top_p=0.9)

Every function takes logits of shape (..., vocabulary) on any device and works with forgegrad
ops on that device (topk, sort, softmax, cumsum, scatter, multinomial); nothing goes through
numpy. Filters set the logits they drop to -inf and leave the others as they were."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from . import _C, _errors
from ._checks import is_int, is_real
from ._sampling import multinomial
from .creation import empty_like, full_like
from .autograd import no_grad

if TYPE_CHECKING:
    from ._C import Tensor
    from .random import Generator

__all__ = ["top_k_logits", "top_p_logits", "sample_next"]


def _check_logits(logits: Tensor, op: str) -> None:
    if not isinstance(logits, _C.Tensor):
        raise _errors.TypeError(f"[{op}] expected logits as a Tensor, got {type(logits).__name__}")
    if not logits.dtype.is_floating_point:
        raise _errors.TypeError(f"[{op}] expected floating-point logits, got {logits.dtype}")
    if logits.dim() == 0 or logits.shape[-1] == 0:
        raise _errors.ValueError(
            f"[{op}] expected logits of shape (..., vocabulary) with a "
            f"vocabulary of at least one, got {tuple(logits.shape)}"
        )


def top_k_logits(logits: Tensor, k: int) -> Tensor:
    """Keep the k largest logits of each row (the last dimension), the rest -inf. Exactly k
    survive, ties broken as topk breaks them; k at least the row's length keeps them all."""
    _check_logits(logits, "top_k_logits")
    if not is_int(k) or isinstance(k, bool) or k < 1:
        raise _errors.ValueError(f"[top_k_logits] expected k to be an int >= 1, got {k!r}")
    if k >= logits.shape[-1]:
        return logits
    with no_grad():
        values, indices = logits.topk(int(k), dim=-1)
        return full_like(logits, -math.inf).scatter(-1, indices, values)


def top_p_logits(logits: Tensor, p: float) -> Tensor:
    """Keep each row's nucleus: its largest logits, in order, until their probabilities
    (softmax of the row) add up to at least p; the rest -inf. The most likely token always
    stays; p = 1 keeps every token whose probability is not zero."""
    _check_logits(logits, "top_p_logits")
    if not is_real(p) or not 0.0 < p <= 1.0:
        raise _errors.ValueError(f"[top_p_logits] expected p in (0, 1], got {p!r}")
    with no_grad():
        ordered, indices = logits.sort(dim=-1, descending=True)
        probabilities = ordered.softmax(dim=-1)
        mass_before = probabilities.cumsum(dim=-1) - probabilities
        # A token goes when the ones before it already hold p; the first has 0 before it.
        kept = ordered.masked_fill(mass_before >= p, -math.inf)
        return empty_like(logits).scatter(-1, indices, kept)


def sample_next(
    logits: Tensor,
    temperature: float = 1.0,
    top_k: int | None = None,
    top_p: float | None = None,
    generator: Generator | None = None,
) -> Tensor:
    """One token id per row of `logits` (..., vocabulary) -> int64 (...): the logits divided by
    `temperature`, filtered by top_k then top_p (None: no filter), and drawn by multinomial
    from their softmax with `generator` (a forgegrad.Generator; None: the global stream).
    temperature 0 takes the argmax (greedy decoding) and draws nothing."""
    _check_logits(logits, "sample_next")
    if not is_real(temperature) or not temperature >= 0.0 or math.isinf(temperature):
        raise _errors.ValueError(
            f"[sample_next] expected a finite temperature >= 0, got {temperature!r}"
        )
    with no_grad():
        logits = logits.detach()
        if temperature == 0:
            return logits.argmax(dim=-1)
        logits = logits / float(temperature)
        if top_k is not None:
            logits = top_k_logits(logits, top_k)
        if top_p is not None:
            logits = top_p_logits(logits, top_p)
        probabilities = logits.softmax(dim=-1)
        rows = probabilities.reshape(-1, probabilities.shape[-1])
        ids = multinomial(rows, 1, generator=generator)
        return ids.reshape(tuple(logits.shape[:-1]))
