"""Losses: mse_loss, l1_loss, cross_entropy (label_smoothing), nll_loss,
binary_cross_entropy_with_logits, with reduction mean/sum/none; forward vs float64 numpy,
backward vs float64 central differences; stability for huge logits."""
import numpy as np
import pytest

import forgegrad.nn.functional as F

from helpers import (SHAPES, as_tensor, assert_close, check_backward, check_forward,
                     make_input, np_bce_logits, np_cross_entropy, np_l1, np_log_softmax,
                     np_mse, np_nll, to_numpy)

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
    check_backward(F.cross_entropy, np_cross_entropy, inputs=[x, t], device=device,
                   max_checks=20)


@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_huge_logits(reduction, device):
    # Logits of 1e4: a naive exp overflows to inf/NaN; log-sum-exp must not.
    x = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, 5e3], [1e4, 1e4 - 2.0, 1e4 - 30.0],
                  [-1e4, -1e4, -1e4]], dtype=np.float32)
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
    assert_close(to_numpy(x.grad), [[0.0, -0.5, 0.5],
                                    [1 / (1 + np.e), 0.0, -1 / (1 + np.e)]])


def test_cross_entropy_matches_log_softmax_nll(device, rng):
    x, t = make_input((33, 129)), _targets(33, 129, rng)
    tx, tt = as_tensor(x, device), as_tensor(t, device)
    a = to_numpy(F.cross_entropy(tx, tt))
    b = to_numpy(F.nll_loss(F.log_softmax(tx, dim=1), tt))
    assert_close(a, b)




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
    check_forward(F.binary_cross_entropy_with_logits, np_bce_logits, inputs=[x, y],
                  device=device)
    check_backward(F.binary_cross_entropy_with_logits, np_bce_logits, inputs=[x, y],
                   device=device, wrt=[0])


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
    assert_close(to_numpy(F.cross_entropy(tx[5:25], tt[5:25])),
                 np_cross_entropy(x[5:25].astype(np.float64), t[5:25]))
    assert_close(to_numpy(F.mse_loss(tx[1:3], tx[10:12])),
                 np_mse(x[1:3].astype(np.float64), x[10:12].astype(np.float64)))
    xt = as_tensor(x, device, requires_grad=True)
    F.cross_entropy(xt[5:25], tt[5:25], reduction="sum").backward()
    p = np.exp(np_log_softmax(x[5:25].astype(np.float64), 1))
    p[np.arange(20), t[5:25]] -= 1.0
    expected = np.zeros((40, 7))
    expected[5:25] = p
    assert_close(to_numpy(xt.grad), expected)
