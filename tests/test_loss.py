"""Losses: mse_loss, l1_loss, cross_entropy (weight, ignore_index, probability targets,
label_smoothing), nll_loss (weight, ignore_index), binary_cross_entropy (weight),
binary_cross_entropy_with_logits (weight, pos_weight), the composed losses of nn/_losses.py,
ctc_loss (against every alignment, by brute force), with reduction mean/sum/none;
forward vs float64 numpy, backward vs float64 central differences; stability for huge
logits; the loss modules against their functions."""

import numpy as np
import pytest

import forgegrad.nn as nn
import forgegrad.nn.functional as F

from helpers import (
    SHAPES,
    as_tensor,
    assert_close,
    check_backward,
    check_forward,
    gradcheck,
    make_input,
    np_bce,
    np_bce_logits,
    np_cross_entropy,
    np_l1,
    np_ctc_loss,
    np_log_softmax,
    np_mse,
    np_nll,
    np_reduce,
    to_numpy,
)

REDUCTIONS = ["mean", "sum", "none"]
CLASS_SHAPES = [(1, 1), (1, 7), (7, 1), (7, 33), (33, 129), (129, 7), (129, 2)]


def _targets(n, c, rng):
    return rng.integers(0, c, size=(n,)).astype(np.int64)


# ------------------------------------------------------------------------ regression
@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_mse_loss(reduction, shape, device):
    fn = lambda x, y: F.mse_loss(x, y, reduction=reduction)
    ref = lambda x, y: np_mse(x, y, reduction)
    check_forward(fn, ref, shape, shape, device=device)
    check_backward(fn, ref, shape, shape, device=device)  # grads for input and target


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_l1_loss(reduction, shape, device):
    fn = lambda x, y: F.l1_loss(x, y, reduction=reduction)
    ref = lambda x, y: np_l1(x, y, reduction)
    # Keep |x - y| away from 0 (the kink): x in [0.5, 2]*sign, y in [-0.25, 0.25].
    domains = ["nonzero", (-0.25, 0.25)]
    check_forward(fn, ref, shape, shape, device=device, domains=domains)
    check_backward(fn, ref, shape, shape, device=device, domains=domains)


def test_regression_defaults_are_mean(device):
    check_forward(F.mse_loss, np_mse, (7, 33), (7, 33), device=device)
    check_forward(F.l1_loss, np_l1, (7, 33), (7, 33), device=device)


def test_mse_large(device):
    fn = lambda x, y: F.mse_loss(x, y)
    check_forward(fn, np_mse, (513, 1031), (513, 1031), device=device)
    check_backward(fn, np_mse, (513, 1031), (513, 1031), device=device, max_checks=20)


# ------------------------------------------------------------------- classification
# name: (forgegrad loss, numpy reference, input domain: logits, or log-probabilities)
CLASS_LOSSES = {
    "cross_entropy": (F.cross_entropy, np_cross_entropy, (-4.0, 4.0)),
    "nll_loss": (F.nll_loss, np_nll, (-4.0, 0.0)),
}


@pytest.mark.parametrize("shape", CLASS_SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", list(CLASS_LOSSES))
def test_class_loss(loss, reduction, shape, device, rng):
    fg_loss, np_loss, domain = CLASS_LOSSES[loss]
    x = make_input(shape, domain)
    t = _targets(shape[0], shape[1], rng)
    fn = lambda a, b: fg_loss(a, b, reduction=reduction)
    ref = lambda a, b: np_loss(a, b, reduction)
    check_forward(fn, ref, inputs=[x, t], device=device)
    check_backward(fn, ref, inputs=[x, t], device=device)


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5, 1.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7, 33), (129, 7), (1, 1)], ids=str)
def test_cross_entropy_label_smoothing(shape, reduction, smoothing, device, rng):
    x = make_input(shape, (-4.0, 4.0))
    t = _targets(shape[0], shape[1], rng)
    fn = lambda a, b: F.cross_entropy(a, b, reduction=reduction, label_smoothing=smoothing)
    ref = lambda a, b: np_cross_entropy(a, b, reduction, smoothing)
    check_forward(fn, ref, inputs=[x, t], device=device)
    check_backward(fn, ref, inputs=[x, t], device=device)


def test_cross_entropy_default_mean(device, rng):
    x, t = make_input((33, 7)), _targets(33, 7, rng)
    check_forward(F.cross_entropy, np_cross_entropy, inputs=[x, t], device=device)


@pytest.mark.parametrize("shape", [(1031, 513), (9, 5000)], ids=str)
def test_cross_entropy_large(shape, device, rng):
    # 5000 classes: a block a row on the GPU.
    x, t = make_input(shape, (-6.0, 6.0)), _targets(*shape, rng)
    check_forward(F.cross_entropy, np_cross_entropy, inputs=[x, t], device=device)
    check_backward(F.cross_entropy, np_cross_entropy, inputs=[x, t], device=device, max_checks=20)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_huge_logits(reduction, device):
    # Logits of 1e4: a naive exp overflows to inf/NaN; log-sum-exp must not.
    x = np.array(
        [[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3], [1e4, 1e4 - 2.0, 1e4 - 30.0], [-1e4, -1e4, -1e4]],
        dtype=np.float32,
    )
    t = np.array([0, 0, 1, 2], dtype=np.int64)
    fn = lambda a, b: F.cross_entropy(a, b, reduction=reduction, label_smoothing=0.1)
    ref = lambda a, b: np_cross_entropy(a, b, reduction, 0.1)
    out = check_forward(fn, ref, inputs=[x, t], device=device)
    assert np.isfinite(to_numpy(out)).all()
    # eps=1e-3: see test_activation.test_softmax_stable_for_huge_logits.
    check_backward(fn, ref, inputs=[x, t], device=device, eps=1e-3)


def test_cross_entropy_with_masked_logits(device):
    # A -inf logit (a masked class) has probability 0: the loss stays finite without
    # smoothing (0 * -inf must not turn it into NaN), and its gradient is 0 there.
    x = as_tensor(np.array([[-np.inf, 0.0, 0.0], [1.0, -np.inf, 2.0]], np.float32), device)
    x.requires_grad_()
    t = as_tensor(np.array([1, 2], np.int64), device)
    loss = F.cross_entropy(x, t, reduction="none")
    assert_close(to_numpy(loss), [np.log(2.0), np.log1p(np.exp(-1.0))])
    loss.sum().backward()
    assert_close(to_numpy(x.grad), [[0.0, -0.5, 0.5], [1 / (1 + np.e), 0.0, -1 / (1 + np.e)]])


def test_cross_entropy_matches_log_softmax_nll(device, rng):
    x, t = make_input((33, 129)), _targets(33, 129, rng)
    tx, tt = as_tensor(x, device), as_tensor(t, device)
    a = to_numpy(F.cross_entropy(tx, tt))
    b = to_numpy(F.nll_loss(F.log_softmax(tx, dim=1), tt))
    assert_close(a, b)


# ------------------------------------------- class weights, ignore_index, probabilities
def _class_weights(c, rng):
    return rng.uniform(0.25, 2.0, size=(c,)).astype(np.float32)


def _targets_with_ignored(n, c, ignore_index, rng):
    t = _targets(n, c, rng)
    t[::3] = ignore_index  # every third row adds nothing
    return t


@pytest.mark.parametrize("shape", [(7, 33), (129, 7), (1, 1)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", list(CLASS_LOSSES))
def test_class_loss_weight_and_ignore_index(loss, reduction, shape, device, rng):
    fg_loss, np_loss, domain = CLASS_LOSSES[loss]
    n, c = shape
    x, w = make_input(shape, domain), _class_weights(c, rng)
    t = _targets_with_ignored(n, c, -100, rng)
    t[-1] = c - 1  # a row always counts: an all-ignored mean is 0 / 0
    fn = lambda a, b, weight: fg_loss(a, b, weight, reduction=reduction)
    ref = lambda a, b, weight: np_loss(a, b, reduction, weight=weight)
    check_forward(fn, ref, inputs=[x, t, w], device=device)
    check_backward(fn, ref, inputs=[x, t, w], device=device, wrt=[0])


@pytest.mark.parametrize("loss", list(CLASS_LOSSES))
def test_ignore_index_may_be_a_class(loss, device, rng):
    # ignore_index=2 drops the rows of class 2 from the sum and from the mean's count.
    fg_loss, np_loss, domain = CLASS_LOSSES[loss]
    x, t = make_input((33, 5), domain), _targets(33, 5, rng)
    fn = lambda a, b: fg_loss(a, b, ignore_index=2)
    ref = lambda a, b: np_loss(a, b, ignore_index=2)
    check_forward(fn, ref, inputs=[x, t], device=device)
    check_backward(fn, ref, inputs=[x, t], device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_weight_ignore_and_smoothing(smoothing, reduction, device, rng):
    x, w = make_input((33, 7), (-4.0, 4.0)), _class_weights(7, rng)
    t = _targets_with_ignored(33, 7, -100, rng)
    fn = lambda a, b, weight: F.cross_entropy(
        a, b, weight, reduction=reduction, label_smoothing=smoothing
    )
    ref = lambda a, b, weight: np_cross_entropy(a, b, reduction, smoothing, weight)
    check_forward(fn, ref, inputs=[x, t, w], device=device)
    check_backward(fn, ref, inputs=[x, t, w], device=device, wrt=[0])
    tt, tw = as_tensor(t, device), as_tensor(w.astype(np.float64), device)
    gradcheck(
        lambda a: F.cross_entropy(a, tt, tw, reduction=reduction, label_smoothing=smoothing),
        x,
        device=device,
    )


@pytest.mark.parametrize("loss", list(CLASS_LOSSES))
def test_mean_over_only_ignored_targets_is_nan(loss, device):
    # PyTorch's 0 / 0: no target counts.
    fg_loss = CLASS_LOSSES[loss][0]
    x = as_tensor(make_input((3, 4)), device)
    t = as_tensor(np.full(3, -100, np.int64), device)
    assert np.isnan(fg_loss(x, t).item())
    assert fg_loss(x, t, reduction="sum").item() == 0.0


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("smoothing", [0.0, 0.3])
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7, 5), (5,), (3, 4, 2, 5)], ids=str)
def test_cross_entropy_probability_targets(shape, reduction, smoothing, weighted, device, rng):
    c = shape[0] if len(shape) == 1 else shape[1]
    x = make_input(shape, (-4.0, 4.0))
    p = make_input(shape, (0.0, 1.0))
    p /= p.sum(axis=0 if len(shape) == 1 else 1, keepdims=True)
    w = _class_weights(c, rng) if weighted else None
    fn = lambda a, b: F.cross_entropy(
        a,
        b,
        None if w is None else as_tensor(w, device),
        reduction=reduction,
        label_smoothing=smoothing,
    )
    ref = lambda a, b: np_cross_entropy(a, b, reduction, smoothing, w)
    check_forward(fn, ref, inputs=[x, p], device=device)
    check_backward(fn, ref, inputs=[x, p], device=device)  # a gradient for the target too


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", list(CLASS_LOSSES))
def test_class_loss_extra_dims_and_single_sample(loss, reduction, device, rng):
    # (N, C, d1, d2) with targets (N, d1, d2), and one unbatched sample (C) with a 0-d target.
    fg_loss, np_loss, domain = CLASS_LOSSES[loss]
    x, w = make_input((3, 5, 4, 2), domain), _class_weights(5, rng)
    t = rng.integers(0, 5, size=(3, 4, 2))
    t[0, 1, 1] = -100
    fn = lambda a, b, weight: fg_loss(a, b, weight, reduction=reduction)
    ref = lambda a, b, weight: np_loss(a, b, reduction, weight=weight)
    check_forward(fn, ref, inputs=[x, t, w], device=device)
    check_backward(fn, ref, inputs=[x, t, w], device=device, wrt=[0])
    single = make_input((7,), domain)
    check_forward(
        lambda a, b: fg_loss(a, b, reduction=reduction),
        lambda a, b: np_loss(a, b, reduction),
        inputs=[single, np.array(3)],
        device=device,
    )


def test_class_loss_bad_arguments(device):
    x = as_tensor(make_input((4, 3)), device)
    t = as_tensor(np.array([0, 2, 1, 0]), device)
    with pytest.raises(ValueError, match=r"\[cross_entropy\] expected weight of shape \(3,\)"):
        F.cross_entropy(x, t, as_tensor(np.ones(4, np.float32), device))
    with pytest.raises(TypeError, match=r"\[nll_loss\] expected floating-point class weights"):
        F.nll_loss(x, t, as_tensor(np.ones(3, np.int64), device))
    with pytest.raises(ValueError, match=r"\[nll_loss\] target 3 at position 1 is not a class"):
        F.nll_loss(x, as_tensor(np.array([0, 3, 1, 0]), device))
    with pytest.raises(ValueError, match=r"\[cross_entropy\] target -1 .* ignore_index \(-100\)"):
        F.cross_entropy(x, as_tensor(np.array([0, -1, 1, 0]), device))
    with pytest.raises(ValueError, match=r"\[cross_entropy\] expected target of shape \(4,\)"):
        F.cross_entropy(x, as_tensor(np.array([0, 1]), device))
    with pytest.raises(ValueError, match=r"\[cross_entropy\] expected probability targets"):
        F.cross_entropy(x, as_tensor(np.ones((4, 2), np.float32), device))
    with pytest.raises(ValueError, match=r"\[cross_entropy\] ignore_index is for class-index"):
        F.cross_entropy(x, as_tensor(np.ones((4, 3), np.float32), device), ignore_index=1)
    with pytest.raises(TypeError):  # reduction is keyword-only, PyTorch's 4th is size_average
        F.cross_entropy(x, t, None, "sum")


def test_nll_loss_repeated_targets(device):
    # Every row picks class 1: the gradient lands in one column, scaled by -1/N.
    x = make_input((5, 3))
    t = np.ones(5, dtype=np.int64)
    xt = as_tensor(x, device, requires_grad=True)
    F.nll_loss(xt, as_tensor(t, device)).backward()
    expected = np.zeros((5, 3))
    expected[:, 1] = -1.0 / 5
    assert_close(to_numpy(xt.grad), expected)


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits(reduction, shape, device):
    fn = lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction=reduction)
    ref = lambda x, y: np_bce_logits(x, y, reduction)
    domains = [(-6.0, 6.0), (0.0, 1.0)]
    check_forward(fn, ref, shape, shape, device=device, domains=domains)
    check_backward(fn, ref, shape, shape, device=device, domains=domains, wrt=[0])


def test_bce_with_logits_hard_targets(device, rng):
    x = make_input((129,), (-6.0, 6.0))
    y = rng.integers(0, 2, size=(129,)).astype(np.float32)
    check_forward(F.binary_cross_entropy_with_logits, np_bce_logits, inputs=[x, y], device=device)
    check_backward(
        F.binary_cross_entropy_with_logits, np_bce_logits, inputs=[x, y], device=device, wrt=[0]
    )


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_bce_with_logits_large_logits(reduction, device):
    # log(sigmoid(x)) for |x| = 100 or 1e4: the naive formula gives log(0) = -inf.
    x = np.array([100.0, -100.0, 1e4, -1e4, 30.0, -30.0, 88.0, -88.0], dtype=np.float32)
    y = np.array([0.0, 1.0, 0.0, 1.0, 0.3, 0.7, 1.0, 0.0], dtype=np.float32)
    fn = lambda a, b: F.binary_cross_entropy_with_logits(a, b, reduction=reduction)
    ref = lambda a, b: np_bce_logits(a, b, reduction)
    out = check_forward(fn, ref, inputs=[x, y], device=device)
    assert np.isfinite(to_numpy(out)).all()
    check_backward(fn, ref, inputs=[x, y], device=device, wrt=[0])


@pytest.mark.parametrize("shape", [(1,), (129,), (7, 33), (3, 7, 5)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_binary_cross_entropy(reduction, shape, device, rng):
    fn = lambda x, y: F.binary_cross_entropy(x, y, reduction=reduction)
    ref = lambda x, y: np_bce(x, y, reduction)
    domains = [(0.05, 0.95), (0.0, 1.0)]
    check_forward(fn, ref, shape, shape, device=device, domains=domains)
    check_backward(fn, ref, shape, shape, device=device, domains=domains)  # target too
    w = rng.uniform(0.25, 2.0, size=shape[-1:]).astype(np.float32)
    fn = lambda x, y, weight: F.binary_cross_entropy(x, y, weight, reduction=reduction)
    ref = lambda x, y, weight: np_bce(x, y, reduction, weight)
    xs = [make_input(shape, (0.05, 0.95)), make_input(shape, (0.0, 1.0)), w]
    check_forward(fn, ref, inputs=xs, device=device)
    check_backward(fn, ref, inputs=xs, device=device)


def test_binary_cross_entropy_at_certain_probabilities(device):
    # PyTorch's clamps: log 0 counts as -100, and the input gradient divides by at least 1e-12.
    x = np.array([0.0, 1.0, 0.0, 1.0, 1e-30], np.float32)
    y = np.array([0.0, 1.0, 1.0, 0.0, 1.0], np.float32)
    xt = as_tensor(x, device, requires_grad=True)
    loss = F.binary_cross_entropy(xt, as_tensor(y, device), reduction="none")
    assert_close(to_numpy(loss), [0.0, 0.0, 100.0, 100.0, 30 * np.log(10)])
    loss.sum().backward()
    assert_close(to_numpy(xt.grad), [0.0, 0.0, -1e12, 1e12, -1e12])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_bce_with_logits_pos_weight(weighted, reduction, device, rng):
    x, y = make_input((33, 7), (-6.0, 6.0)), make_input((33, 7), (0.0, 1.0))
    pos_weight = rng.uniform(0.25, 4.0, size=(7,)).astype(np.float32)
    w = rng.uniform(0.25, 2.0, size=(33, 1)).astype(np.float32) if weighted else None
    fn = lambda a, b, p: F.binary_cross_entropy_with_logits(
        a, b, None if w is None else as_tensor(w, device), reduction=reduction, pos_weight=p
    )
    ref = lambda a, b, p: np_bce_logits(a, b, reduction, w, p)
    check_forward(fn, ref, inputs=[x, y, pos_weight], device=device)
    check_backward(fn, ref, inputs=[x, y, pos_weight], device=device, wrt=[0, 1])
    gradcheck(
        lambda a: fn(
            a,
            as_tensor(y.astype(np.float64), device),
            as_tensor(pos_weight.astype(np.float64), device),
        ),
        x,
        device=device,
    )


def test_binary_losses_bad_weights(device):
    x = as_tensor(make_input((4, 3), (0.1, 0.9)), device)
    with pytest.raises(ValueError, match=r"\[binary_cross_entropy\] expected weight broadcastable"):
        F.binary_cross_entropy(x, x, as_tensor(np.ones(2, np.float32), device))
    with pytest.raises(
        TypeError,
        match=r"\[binary_cross_entropy_with_logits\] expected a "
        r"floating-point pos_weight",
    ):
        F.binary_cross_entropy_with_logits(x, x, pos_weight=as_tensor(np.ones(3, np.int64), device))
    with pytest.raises(
        TypeError, match=r"\[binary_cross_entropy\] expected input and target of one dtype"
    ):
        F.binary_cross_entropy(x, as_tensor(np.ones((4, 3)), device))


def test_loss_output_shapes(device, rng):
    x = as_tensor(make_input((7, 33)), device)
    t = as_tensor(_targets(7, 33, rng), device)
    assert F.cross_entropy(x, t).ndim == 0
    assert tuple(F.cross_entropy(x, t, reduction="none").shape) == (7,)
    assert tuple(F.nll_loss(x, t, reduction="none").shape) == (7,)
    assert F.mse_loss(x, x, reduction="sum").ndim == 0
    assert tuple(F.mse_loss(x, x, reduction="none").shape) == (7, 33)
    assert tuple(F.binary_cross_entropy_with_logits(x, x, reduction="none").shape) == (7, 33)


def test_loss_nan_propagates(device, rng):
    x = make_input((7, 5))
    x[3, 2] = np.nan
    t = _targets(7, 5, rng)
    tx, tt = as_tensor(x, device), as_tensor(t, device)
    assert np.isnan(F.cross_entropy(tx, tt).item())
    assert np.isnan(F.mse_loss(tx, tx * 0.5).item())
    assert np.isnan(F.l1_loss(tx, tx * 0.5).item())
    y = as_tensor(make_input((7, 5), (0.0, 1.0)), device)
    assert np.isnan(F.binary_cross_entropy_with_logits(tx, y).item())
    per_row = to_numpy(F.cross_entropy(tx, tt, reduction="none"))
    assert np.isnan(per_row[3]) and not np.isnan(np.delete(per_row, 3)).any()


def test_losses_on_offset_views(device, rng):
    x = make_input((40, 7))
    t = _targets(40, 7, rng)
    tx, tt = as_tensor(x, device), as_tensor(t, device)
    assert_close(
        to_numpy(F.cross_entropy(tx[5:25], tt[5:25])),
        np_cross_entropy(x[5:25].astype(np.float64), t[5:25]),
    )
    assert_close(
        to_numpy(F.mse_loss(tx[1:3], tx[10:12])),
        np_mse(x[1:3].astype(np.float64), x[10:12].astype(np.float64)),
    )
    xt = as_tensor(x, device, requires_grad=True)
    F.cross_entropy(xt[5:25], tt[5:25], reduction="sum").backward()
    p = np.exp(np_log_softmax(x[5:25].astype(np.float64), 1))
    p[np.arange(20), t[5:25]] -= 1.0
    expected = np.zeros((40, 7))
    expected[5:25] = p
    assert_close(to_numpy(xt.grad), expected)


# ----------------------------------------------------------------------------- modules
def test_weighted_class_loss_modules(device, rng):
    # The modules call their functions with the same arguments; weight is a saved buffer.
    x = as_tensor(make_input((33, 7)), device)
    t = as_tensor(_targets_with_ignored(33, 7, 2, rng), device)
    w = as_tensor(_class_weights(7, rng), device)
    ce = nn.CrossEntropyLoss(w, ignore_index=2, reduction="sum", label_smoothing=0.1)
    assert_close(
        to_numpy(ce(x, t)),
        to_numpy(F.cross_entropy(x, t, w, ignore_index=2, reduction="sum", label_smoothing=0.1)),
    )
    nll = nn.NLLLoss(weight=w, ignore_index=2)
    assert_close(to_numpy(nll(x, t)), to_numpy(F.nll_loss(x, t, w, ignore_index=2)))
    assert list(ce.state_dict()) == ["weight"] and list(nn.NLLLoss().state_dict()) == []


def test_binary_loss_modules(device, rng):
    x = as_tensor(make_input((7, 5), (0.1, 0.9)), device)
    y = as_tensor(make_input((7, 5), (0.0, 1.0)), device)
    w, p = as_tensor(_class_weights(5, rng), device), as_tensor(_class_weights(5, rng), device)
    bce = nn.BCELoss(w, reduction="sum")
    assert_close(to_numpy(bce(x, y)), to_numpy(F.binary_cross_entropy(x, y, w, reduction="sum")))
    logits = nn.BCEWithLogitsLoss(pos_weight=p)
    assert_close(
        to_numpy(logits(x, y)), to_numpy(F.binary_cross_entropy_with_logits(x, y, pos_weight=p))
    )
    assert list(logits.state_dict()) == ["pos_weight"] and list(bce.state_dict()) == ["weight"]


# --------------------------------------------------- composed losses: float64 references
def np_smooth_l1(x, y, reduction="mean", beta=1.0):
    d = np.abs(x - y)
    losses = d if beta == 0 else np.where(d < beta, 0.5 * d * d / beta, d - 0.5 * beta)
    return np_reduce(losses, reduction)


def np_huber(x, y, reduction="mean", delta=1.0):
    d = np.abs(x - y)
    return np_reduce(np.where(d < delta, 0.5 * d * d, delta * (d - 0.5 * delta)), reduction)


def np_kl_div(x, y, reduction="mean", log_target=False):
    if log_target:
        losses = np.exp(y) * (y - x)
    else:
        losses = np.where(y > 0, y * (np.log(np.where(y > 0, y, 1.0)) - x), 0.0)
    if reduction == "batchmean":
        return losses.sum() / x.shape[0]
    return np_reduce(losses, reduction)


def np_poisson_nll(x, y, log_input=True, full=False, eps=1e-8, reduction="mean"):
    losses = np.exp(x) - y * x if log_input else x - y * np.log(x + eps)
    if full:
        t = np.where(y > 1, y, 1.0)
        losses = losses + np.where(y > 1, t * np.log(t) - t + 0.5 * np.log(2 * np.pi * t), 0.0)
    return np_reduce(losses, reduction)


def np_cosine_similarity(x1, x2, dim=1, eps=1e-8):
    x1, x2 = np.broadcast_arrays(x1, x2)
    n1 = np.maximum(np.linalg.norm(x1, axis=dim, keepdims=True), eps)
    n2 = np.maximum(np.linalg.norm(x2, axis=dim, keepdims=True), eps)
    return np.sum(x1 / n1 * x2 / n2, axis=dim)


def np_pairwise_distance(x1, x2, p=2.0, eps=1e-6, keepdim=False):
    return np.linalg.norm(x1 - x2 + eps, ord=p, axis=-1, keepdims=keepdim)


def np_cosine_embedding(x1, x2, y, margin=0.0, reduction="mean"):
    dim = x1.ndim - 1
    squared_norms = ((x1 * x1).sum(dim) + 1e-12) * ((x2 * x2).sum(dim) + 1e-12)
    cos = (x1 * x2).sum(dim) / np.sqrt(squared_norms)
    losses = np.where(y == 1, 1 - cos, 0.0) + np.where(y == -1, np.maximum(cos - margin, 0), 0.0)
    return np_reduce(losses, reduction)


def np_margin_ranking(x1, x2, y, margin=0.0, reduction="mean"):
    return np_reduce(np.maximum(-y * (x1 - x2) + margin, 0.0), reduction)


def np_triplet(a, p, n, margin=1.0, norm=2.0, eps=1e-6, swap=False, reduction="mean"):
    d_pos = np_pairwise_distance(a, p, norm, eps)
    d_neg = np_pairwise_distance(a, n, norm, eps)
    if swap:
        d_neg = np.minimum(d_neg, np_pairwise_distance(p, n, norm, eps))
    return np_reduce(np.maximum(d_pos - d_neg + margin, 0.0), reduction)


def np_soft_margin(x, y, reduction="mean"):
    return np_reduce(np.log1p(np.exp(-y * x)), reduction)


def np_multi_margin(x, t, p=1, margin=1.0, weight=None, reduction="mean"):
    scores = x if x.ndim == 2 else x[None]
    t = np.asarray(t).reshape(-1)
    rows = np.arange(len(t))
    hinge = np.maximum(margin - scores[rows, t][:, None] + scores, 0.0) ** p
    if weight is not None:
        hinge = hinge * weight[t][:, None]
    hinge[rows, t] = 0.0
    losses = hinge.sum(1) / scores.shape[1]
    return np_reduce(losses if x.ndim == 2 else losses[0], reduction)


# name: (forgegrad call, numpy reference, input domains) for pointwise losses of (input, target)
POINTWISE = {
    "smooth_l1": (
        lambda x, y, r: F.smooth_l1_loss(x, y, reduction=r, beta=0.5),
        lambda x, y, r: np_smooth_l1(x, y, r, 0.5),
        None,
    ),
    "smooth_l1_beta0": (
        lambda x, y, r: F.smooth_l1_loss(x, y, reduction=r, beta=0.0),
        lambda x, y, r: np_smooth_l1(x, y, r, 0.0),
        None,
    ),
    "huber": (
        lambda x, y, r: F.huber_loss(x, y, reduction=r, delta=0.7),
        lambda x, y, r: np_huber(x, y, r, 0.7),
        None,
    ),
    "kl_div": (
        lambda x, y, r: F.kl_div(x, y, reduction=r),
        lambda x, y, r: np_kl_div(x, y, r),
        [(-3.0, 0.0), (0.05, 1.0)],
    ),
    "kl_div_log_target": (
        lambda x, y, r: F.kl_div(x, y, reduction=r, log_target=True),
        lambda x, y, r: np_kl_div(x, y, r, True),
        [(-3.0, 0.0), (-3.0, 0.0)],
    ),
    "poisson_nll": (
        lambda x, y, r: F.poisson_nll_loss(x, y, reduction=r),
        lambda x, y, r: np_poisson_nll(x, y, reduction=r),
        [(-2.0, 2.0), (0.0, 5.0)],
    ),
    "poisson_nll_rate_full": (
        lambda x, y, r: F.poisson_nll_loss(x, y, log_input=False, full=True, reduction=r),
        lambda x, y, r: np_poisson_nll(x, y, False, True, reduction=r),
        [(0.1, 3.0), (0.0, 5.0)],
    ),
    "soft_margin": (
        lambda x, y, r: F.soft_margin_loss(x, y, reduction=r),
        lambda x, y, r: np_soft_margin(x, y, r),
        [(-3.0, 3.0), "nonzero"],
    ),
}


@pytest.mark.parametrize("shape", [(1,), (7, 33), (3, 7, 5)], ids=str)
@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("loss", list(POINTWISE))
def test_composed_pointwise_loss(loss, reduction, shape, device):
    fg_loss, np_loss, domains = POINTWISE[loss]
    fn = lambda x, y: fg_loss(x, y, reduction)
    ref = lambda x, y: np_loss(x, y, reduction)
    # |x - y| kept off the kinks at 0, beta and delta (the piecewise losses)
    x = make_input(shape, (domains or [(-2.0, 2.0)])[0], avoid=(0.0,))
    y = make_input(shape, domains[1]) if domains else x + make_input(shape, "nonzero")
    if not domains:
        d = np.abs(x - y)
        y = np.where(np.abs(d - 0.5) < 1e-2, y + 0.05, y)
        y = np.where(np.abs(np.abs(x - y) - 0.7) < 1e-2, y + 0.05, y).astype(np.float32)
    check_forward(fn, ref, inputs=[x, y], device=device)
    check_backward(fn, ref, inputs=[x, y], device=device)


def test_kl_div_batchmean_and_zero_targets(device):
    x = make_input((7, 5), (-3.0, 0.0))
    y = make_input((7, 5), (0.0, 1.0))
    y[2, 3] = y[0, 0] = 0.0  # 0 log 0 counts 0, and its gradient stays finite
    fn = lambda a, b: F.kl_div(a, b, reduction="batchmean")
    ref = lambda a, b: np_kl_div(a, b, "batchmean")
    check_forward(fn, ref, inputs=[x, y], device=device)
    check_backward(fn, ref, inputs=[x, y], device=device, wrt=[0])
    y64 = as_tensor(y.astype(np.float64), device)
    gradcheck(lambda a: F.kl_div(a, y64, reduction="batchmean"), x, device=device)


@pytest.mark.parametrize("dim", [1, 0, -1])
def test_cosine_similarity(dim, device):
    fn = lambda a, b: F.cosine_similarity(a, b, dim=dim)
    ref = lambda a, b: np_cosine_similarity(a, b, dim)
    check_forward(fn, ref, (7, 33), (7, 33), device=device)
    check_backward(fn, ref, (7, 33), (7, 33), device=device)
    check_forward(fn, ref, (3, 7, 5), (7, 5), device=device)  # broadcast
    check_backward(fn, ref, (3, 7, 5), (7, 5), device=device)


def test_cosine_similarity_of_a_zero_vector(device):
    # The norm is clamped at eps: the similarity is 0, and the gradient finite.
    x = as_tensor(np.zeros((2, 4), np.float32), device, requires_grad=True)
    y = as_tensor(make_input((2, 4)), device)
    out = F.cosine_similarity(x, y)
    assert_close(to_numpy(out), [0.0, 0.0])
    out.sum().backward()
    assert np.isfinite(to_numpy(x.grad)).all()


@pytest.mark.parametrize("keepdim", [False, True])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0, -1.5, np.inf, -np.inf])
def test_pairwise_distance(p, keepdim, device):
    fn = lambda a, b: F.pairwise_distance(a, b, p=p, keepdim=keepdim)
    ref = lambda a, b: np_pairwise_distance(a, b, p, 1e-6, keepdim)
    # |x - y| distinct and away from 0: a unique largest (smallest) one, off abs's kink
    x = make_input((7, 33))
    y = x + make_input((7, 33), (0.5, 2.0), distinct=True) * np.sign(make_input((7, 33)))
    check_forward(fn, ref, inputs=[x, y.astype(np.float32)], device=device)
    check_backward(fn, ref, inputs=[x, y.astype(np.float32)], device=device)
    check_forward(fn, ref, (3, 7, 5), (5,), device=device)


def test_pairwise_distance_p0_counts_differences(device):
    x = as_tensor(np.array([[1.0, 2.0, 3.0]], np.float32), device)
    y = as_tensor(np.array([[1.0, 2.5, 3.0]], np.float32), device)
    assert_close(to_numpy(F.pairwise_distance(x, y, p=0, eps=0.0)), [1.0])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("shape", [(7, 33), (33,)], ids=str)
def test_cosine_embedding_loss(shape, reduction, device, rng):
    y = np.where(rng.uniform(size=shape[:-1]) < 0.5, 1.0, -1.0).astype(np.float32)
    fn = lambda a, b, t: F.cosine_embedding_loss(a, b, t, margin=0.2, reduction=reduction)
    ref = lambda a, b, t: np_cosine_embedding(a, b, t, 0.2, reduction)
    xs = [make_input(shape), make_input(shape), y]
    check_forward(fn, ref, inputs=xs, device=device)
    check_backward(fn, ref, inputs=xs, device=device, wrt=[0, 1])


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_margin_ranking_loss(reduction, device, rng):
    y = np.where(rng.uniform(size=(129,)) < 0.5, 1.0, -1.0).astype(np.float32)
    x1 = make_input((129,))
    x2 = (x1 + make_input((129,), "nonzero") * 0.5).astype(np.float32)  # off the hinge's kink
    x2 = np.where(np.abs(-y * (x1 - x2) + 0.3) < 1e-2, x2 + 0.1, x2).astype(np.float32)
    fn = lambda a, b, t: F.margin_ranking_loss(a, b, t, margin=0.3, reduction=reduction)
    ref = lambda a, b, t: np_margin_ranking(a, b, t, 0.3, reduction)
    check_forward(fn, ref, inputs=[x1, x2, y], device=device)
    check_backward(fn, ref, inputs=[x1, x2, y], device=device, wrt=[0, 1])


@pytest.mark.parametrize("swap", [False, True])
@pytest.mark.parametrize("p", [1.0, 2.0, 3.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_triplet_margin_loss(reduction, p, swap, device):
    fn = lambda a, b, c: F.triplet_margin_loss(
        a, b, c, margin=0.5, p=p, swap=swap, reduction=reduction
    )
    ref = lambda a, b, c: np_triplet(a, b, c, 0.5, p, 1e-6, swap, reduction)
    xs = [make_input((33, 7)), make_input((33, 7)), make_input((33, 7))]
    check_forward(fn, ref, inputs=xs, device=device)
    check_backward(fn, ref, inputs=xs, device=device)


@pytest.mark.parametrize("weighted", [False, True])
@pytest.mark.parametrize("p", [1, 2])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_multi_margin_loss(reduction, p, weighted, device, rng):
    x, t = make_input((33, 7), distinct=True), _targets(33, 7, rng)
    w = _class_weights(7, rng) if weighted else None
    weight = None if w is None else as_tensor(w, device)
    fn = lambda a, b: F.multi_margin_loss(a, b, p, 0.8, weight, reduction=reduction)
    ref = lambda a, b: np_multi_margin(a, b, p, 0.8, w, reduction)
    check_forward(fn, ref, inputs=[x, t], device=device)
    check_backward(fn, ref, inputs=[x, t], device=device)
    single = make_input((7,), distinct=True)
    check_forward(
        lambda a, b: F.multi_margin_loss(a, b, reduction=reduction),
        lambda a, b: np_multi_margin(a, b, reduction=reduction),
        inputs=[single, np.array(2)],
        device=device,
    )


def test_composed_losses_bad_arguments(device):
    x, y = as_tensor(make_input((4, 3)), device), as_tensor(make_input((4, 3)), device)
    with pytest.raises(ValueError, match=r"\[huber_loss\] expected input and target of one"):
        F.huber_loss(x, y[:2])
    with pytest.raises(ValueError, match=r"\[smooth_l1_loss\] expected beta >= 0, got -1"):
        F.smooth_l1_loss(x, y, beta=-1)
    with pytest.raises(ValueError, match=r"\[kl_div\] expected reduction one of"):
        F.kl_div(x, y, reduction="batch")
    with pytest.raises(ValueError, match=r"\[smooth_l1_loss\] expected reduction one of"):
        F.smooth_l1_loss(x, y, reduction="batchmean")
    with pytest.raises(TypeError, match=r"\[soft_margin_loss\] expected a floating-point target"):
        F.soft_margin_loss(x, as_tensor(np.ones((4, 3), np.int64), device))
    with pytest.raises(ValueError, match=r"\[cosine_embedding_loss\] expected target of shape"):
        F.cosine_embedding_loss(x, y, as_tensor(np.ones(3, np.float32), device))
    with pytest.raises(
        ValueError,
        match=r"\[multi_margin_loss\] expected class indices in "
        r"\[0, 3\), got 3",
    ):
        F.multi_margin_loss(x, as_tensor(np.array([0, 1, 3, 2]), device))
    with pytest.raises(ValueError, match=r"\[multi_margin_loss\] expected p 1 or 2"):
        F.multi_margin_loss(x, as_tensor(np.array([0, 1, 2, 2]), device), p=3)
    with pytest.raises(ValueError, match=r"\[triplet_margin_loss\] expected anchor, positive"):
        F.triplet_margin_loss(x, y, y[:, :2])


def test_composed_loss_modules(device, rng):
    # Each module with non-default arguments gives its function's result.
    x, y, z = (as_tensor(make_input((7, 5)), device) for _ in range(3))
    signs = as_tensor(np.where(rng.uniform(size=7) < 0.5, 1.0, -1.0).astype(np.float32), device)
    t, w = as_tensor(_targets(7, 5, rng), device), as_tensor(_class_weights(5, rng), device)
    counts = as_tensor(rng.poisson(2.0, size=(7, 5)).astype(np.float32), device)
    cases = [
        (
            nn.SmoothL1Loss(reduction="sum", beta=0.5)(x, y),
            F.smooth_l1_loss(x, y, reduction="sum", beta=0.5),
        ),
        (nn.HuberLoss("none", delta=0.3)(x, y), F.huber_loss(x, y, reduction="none", delta=0.3)),
        (
            nn.KLDivLoss(reduction="batchmean", log_target=True)(x, y),
            F.kl_div(x, y, reduction="batchmean", log_target=True),
        ),
        (
            nn.PoissonNLLLoss(True, True, eps=1e-4)(x, counts),
            F.poisson_nll_loss(x, counts, True, True, eps=1e-4),
        ),
        (nn.CosineSimilarity(0, 1e-6)(x, y), F.cosine_similarity(x, y, 0, 1e-6)),
        (nn.PairwiseDistance(3.0, 1e-3, True)(x, y), F.pairwise_distance(x, y, 3.0, 1e-3, True)),
        (
            nn.CosineEmbeddingLoss(0.1, reduction="sum")(x, y, signs),
            F.cosine_embedding_loss(x, y, signs, 0.1, reduction="sum"),
        ),
        (
            nn.MarginRankingLoss(0.2)(x[:, 0], y[:, 0], signs),
            F.margin_ranking_loss(x[:, 0], y[:, 0], signs, 0.2),
        ),
        (
            nn.TripletMarginLoss(0.5, 1.0, 1e-3, True)(x, y, z),
            F.triplet_margin_loss(x, y, z, 0.5, 1.0, 1e-3, True),
        ),
        (nn.SoftMarginLoss(reduction="none")(x, y), F.soft_margin_loss(x, y, reduction="none")),
        (nn.MultiMarginLoss(2, 0.5, w)(x, t), F.multi_margin_loss(x, t, 2, 0.5, w)),
    ]
    for got, want in cases:
        np.testing.assert_array_equal(to_numpy(got), to_numpy(want))
    assert list(nn.MultiMarginLoss(weight=w).state_dict()) == ["weight"]
    with pytest.raises(ValueError, match=r"\[SmoothL1Loss\] reduction must be one of"):
        nn.SmoothL1Loss(reduction="batchmean")


# ----------------------------------------------------------------------------- ctc_loss
def _log_softmax_input(shape):
    return np_log_softmax(make_input(shape, (-2.0, 2.0)).astype(np.float64), -1).astype(np.float32)


# Three sequences of up to 5 frames over 3 classes: a repeated label (needs a blank between),
# a short input, an empty target.
CTC_TARGETS = np.array([[1, 1, 2], [2, 1, 0], [1, 0, 0]])
CTC_INPUT_LENGTHS, CTC_TARGET_LENGTHS = [5, 4, 3], [2, 2, 0]


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("blank", [0, 2])
def test_ctc_loss_against_all_alignments(blank, reduction, device):
    # blank 2: the labels 2 become 1 (a label may not be the blank)
    targets = np.where(CTC_TARGETS == blank, 1, CTC_TARGETS) if blank else CTC_TARGETS
    lengths = dict(input_lengths=CTC_INPUT_LENGTHS, target_lengths=CTC_TARGET_LENGTHS)
    fn = lambda lp, t: F.ctc_loss(lp, t, blank=blank, reduction=reduction, **lengths)
    ref = lambda lp, t: np_ctc_loss(lp, t, CTC_INPUT_LENGTHS, CTC_TARGET_LENGTHS, blank, reduction)
    xs = [_log_softmax_input((5, 3, 3)), targets]
    check_forward(fn, ref, inputs=xs, device=device)
    check_backward(fn, ref, inputs=xs, device=device)  # d/d log_probs itself, frames past ends 0


def test_ctc_loss_concatenated_targets_and_length_tensors(device):
    lp = as_tensor(_log_softmax_input((5, 3, 3)), device)
    padded = F.ctc_loss(
        lp, as_tensor(CTC_TARGETS, device), CTC_INPUT_LENGTHS, CTC_TARGET_LENGTHS, reduction="none"
    )
    concatenated = np.array([1, 1, 2, 1])
    got = F.ctc_loss(
        lp,
        as_tensor(concatenated.astype(np.int32), device),
        as_tensor(np.array(CTC_INPUT_LENGTHS), device),
        as_tensor(np.array(CTC_TARGET_LENGTHS), device),
        reduction="none",
    )
    np.testing.assert_array_equal(to_numpy(got), to_numpy(padded))


def test_ctc_loss_gradcheck_longer_sequences(device, rng):
    # 20 frames, 7 classes: beyond brute force; float64 backward against the op's own
    # central differences.
    lp = _log_softmax_input((20, 3, 7))
    targets = as_tensor(rng.integers(1, 7, size=(3, 6)), device)
    fn = lambda a: F.ctc_loss(a, targets, [20, 17, 9], [6, 4, 3], reduction="sum")
    gradcheck(fn, lp, device=device)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_ctc_loss_zero_infinity(reduction, device):
    # "1 1" needs 3 frames (a blank between the repeats); 2 give probability 0.
    lp = as_tensor(_log_softmax_input((5, 2, 3)), device, requires_grad=True)
    targets = as_tensor(np.array([[1, 1], [2, 1]]), device)
    loss = F.ctc_loss(lp, targets, [2, 5], [2, 2], reduction="none")
    assert np.isinf(to_numpy(loss)[0]) and np.isfinite(to_numpy(loss)[1])
    loss = F.ctc_loss(lp, targets, [2, 5], [2, 2], reduction=reduction, zero_infinity=True)
    ref = np_ctc_loss(
        to_numpy(lp).astype(np.float64),
        np.array([[1, 1], [2, 1]]),
        [2, 5],
        [2, 2],
        reduction=reduction,
        zero_infinity=True,
    )
    assert_close(to_numpy(loss), ref)
    loss.sum().backward()
    grad = to_numpy(lp.grad)
    assert np.isfinite(grad).all() and not grad[:, 0].any() and grad[:, 1].any()


def test_ctc_loss_single_sequence(device):
    lp = _log_softmax_input((5, 3))
    got = F.ctc_loss(
        as_tensor(lp, device), as_tensor(np.array([1, 2]), device), 5, 2, reduction="none"
    )
    assert got.ndim == 0
    assert_close(
        to_numpy(got),
        np_ctc_loss(lp[:, None].astype(np.float64), np.array([[1, 2]]), [5], [2], reduction="none")[
            0
        ],
    )


def test_ctc_loss_bad_arguments(device):
    lp = as_tensor(_log_softmax_input((5, 2, 3)), device)
    targets = as_tensor(np.array([[1, 2], [2, 1]]), device)
    with pytest.raises(
        ValueError,
        match=r"\[ctc_loss\] expected labels in \[0, 3\) other "
        r"than blank \(1\), got 1 in target 0",
    ):
        F.ctc_loss(lp, targets, [5, 5], [2, 2], blank=1)
    with pytest.raises(
        ValueError,
        match=r"\[ctc_loss\] expected input_lengths in \[0, 5\], "
        r"got 6 at 1",
    ):
        F.ctc_loss(lp, targets, [5, 6], [2, 2])
    with pytest.raises(ValueError, match=r"\[ctc_loss\] expected 3 concatenated labels"):
        F.ctc_loss(lp, as_tensor(np.array([1, 2, 1, 2]), device), [5, 5], [2, 1])
    with pytest.raises(ValueError, match=r"\[ctc_loss\] expected 2 target_lengths"):
        F.ctc_loss(lp, targets, [5, 5], [2])
    with pytest.raises(TypeError, match=r"\[ctc_loss\] expected int64 or int32 targets"):
        F.ctc_loss(lp, as_tensor(np.ones((2, 2), np.float32), device), [5, 5], [2, 2])
    with pytest.raises(ValueError, match=r"\[ctc_loss\] expected log_probs of shape"):
        F.ctc_loss(lp[0, 0], targets, [5, 5], [2, 2])


def test_ctc_loss_module(device):
    lp = as_tensor(_log_softmax_input((5, 3, 3)), device)
    t = as_tensor(CTC_TARGETS, device)
    module = nn.CTCLoss(blank=0, reduction="sum", zero_infinity=True)
    np.testing.assert_array_equal(
        to_numpy(module(lp, t, CTC_INPUT_LENGTHS, CTC_TARGET_LENGTHS)),
        to_numpy(
            F.ctc_loss(
                lp, t, CTC_INPUT_LENGTHS, CTC_TARGET_LENGTHS, reduction="sum", zero_infinity=True
            )
        ),
    )


@pytest.mark.parametrize("p,dim", [(2.0, 1), (1.0, 0), (3.0, -1), (np.inf, 1)])
def test_normalize(p, dim, device):
    def ref(x):
        if p == np.inf:
            norm = np.abs(x).max(axis=dim, keepdims=True)
        else:
            norm = (np.abs(x) ** p).sum(axis=dim, keepdims=True) ** (1.0 / p)
        return x / np.maximum(norm, 1e-12)

    fn = lambda x: F.normalize(x, p=p, dim=dim)
    # magnitudes 0.1 apart: the largest |x| of each row stays the largest under the finite
    # differences (p = inf), and no |x| sits on abs's kink
    magnitudes = np.random.default_rng(5).permutation(np.arange(63)).reshape(7, 9) * 0.1 + 0.2
    x = (magnitudes * np.sign(make_input((7, 9)))).astype(np.float32)
    check_forward(fn, ref, inputs=[x], device=device)
    check_backward(fn, ref, inputs=[x], device=device)


def test_normalize_keeps_a_zero_vector_and_checks_arguments(device):
    x = as_tensor(np.array([[3.0, 4.0], [0.0, 0.0]], np.float32), device)
    assert_close(to_numpy(F.normalize(x)), [[0.6, 0.8], [0.0, 0.0]])
    with pytest.raises(IndexError, match=r"\[normalize\] dim 2 is out of range"):
        F.normalize(x, dim=2)
    with pytest.raises(TypeError, match=r"\[normalize\] expected a floating-point input"):
        F.normalize(as_tensor(np.ones(3, np.int64), device))
    with pytest.raises(ValueError, match=r"\[normalize\] expected eps >= 0"):
        F.normalize(x, eps=-1.0)
