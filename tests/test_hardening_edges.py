"""Edge behaviour at NaN, infinities, denormals, extremes and empty inputs (issue 12), decided
against PyTorch 2.x: the values below are what PyTorch gives unless a test says why not."""

import math

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn.functional as F

from helpers import as_tensor, to_numpy

nan, inf = math.nan, math.inf


def grad_of(fn, values, device):
    """(fn(x) values, d sum(fn(x)) / dx) as numpy arrays."""
    x = as_tensor(values, device, requires_grad=True)
    y = fn(x)
    y.sum().backward()
    return to_numpy(y), to_numpy(x.grad)


def assert_same(got, want):
    """Equal, NaN where NaN (assert_array_equal treats NaN as equal to NaN)."""
    np.testing.assert_array_equal(np.asarray(got, np.float32), np.asarray(want, np.float32))


# ---- NaN gradients -----------------------------------------------------------------------


def test_relu_gradient_passes_at_nan(device):
    # PyTorch zeroes the gradient where x <= 0; NaN <= 0 is false, so it passes.
    y, dx = grad_of(F.relu, [nan, -1.0, 0.0, -0.0, 2.0], device)
    assert_same(y, [nan, 0.0, 0.0, 0.0, 2.0])
    assert_same(dx, [1.0, 0.0, 0.0, 0.0, 1.0])


def test_fused_linear_relu_gradient_passes_at_nan(device):
    x = as_tensor([[nan, 1.0]], device)
    w = as_tensor([[1.0, 0.0], [-1.0, 0.0]], device, requires_grad=True)
    y = F.linear(x, w, activation="relu")
    y.sum().backward()
    assert_same(to_numpy(w.grad), [[nan, 1.0], [nan, 1.0]])  # dy = 1 reached both rows


def test_leaky_relu_gradient_at_nan_is_the_slope(device):
    _, dx = grad_of(lambda t: F.leaky_relu(t, 0.25), [nan, -1.0, 0.0, 2.0], device)
    assert_same(dx, [0.25, 0.25, 0.25, 1.0])


def test_abs_gradient_is_zero_at_nan(device):
    # d|x| = sign(x), and PyTorch's sign(NaN) is 0: no NaN gradient from a NaN input.
    y, dx = grad_of(fg.abs, [nan, -2.0, 0.0, -0.0, 3.0], device)
    assert_same(y, [nan, 2.0, 0.0, 0.0, 3.0])
    assert_same(dx, [0.0, -1.0, 0.0, 0.0, 1.0])


@pytest.mark.parametrize("nan_in", ["input", "target"])
def test_l1_loss_gradient_is_zero_at_nan(device, nan_in):
    values, target = [1.0, 2.0, 3.0], [0.0, 2.0, 1.0]
    (values if nan_in == "input" else target)[0] = nan
    x = as_tensor(values, device, requires_grad=True)
    loss = F.l1_loss(x, as_tensor(target, device))
    loss.backward()
    assert math.isnan(loss.item())
    assert_same(to_numpy(x.grad), [0.0, 0.0, 1.0 / 3.0])


def test_gelu_tanh_gradient_at_huge_inputs_is_not_nan(device):
    # x^3 overflows float32 past |x| = 6e12 while sigmoid has long saturated: the gradient
    # is 1 and 0 there (PyTorch gives NaN: 0 * inf; the float64 answer is taken instead).
    _, dx = grad_of(
        lambda t: F.gelu(t, approximate="tanh"),
        [-3e38, -1e20, -1e13, 1e13, 1e20, 3e38, inf, -inf],
        device,
    )
    assert_same(dx, [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0, 0.0])


# ---- infinite logits ---------------------------------------------------------------------

# row, log_softmax row, d sum(log_softmax) (PyTorch's values)
LOG_SOFTMAX_ROWS = [
    ([-inf, 0.0, 1.0], [-inf, -1.3132616, -0.31326169], [1.0, 0.19317580, -1.1931758]),
    ([-inf, -inf, 1.0], [-inf, -inf, 0.0], [1.0, 1.0, -2.0]),
    ([inf, 0.0, 1.0], [nan, nan, nan], [nan, nan, nan]),
    ([-inf, -inf, -inf], [nan, nan, nan], [nan, nan, nan]),
    ([nan, 0.0, 1.0], [nan, nan, nan], [nan, nan, nan]),
]


@pytest.mark.parametrize("row, want, want_grad", LOG_SOFTMAX_ROWS)
@pytest.mark.parametrize("layout", ["last", "middle"])  # the contiguous and the strided kernel
def test_log_softmax_with_infinite_logits(device, row, want, want_grad, layout):
    values = [row] if layout == "last" else [[[v] for v in row]]
    dim = -1 if layout == "last" else 1
    y, dx = grad_of(lambda t: F.log_softmax(t, dim), values, device)
    np.testing.assert_allclose(y.reshape(-1), want, rtol=1e-6)
    np.testing.assert_allclose(dx.reshape(-1), want_grad, rtol=1e-5, atol=1e-7)


def test_softmax_with_a_minus_inf_logit_gives_probability_zero(device):
    y, dx = grad_of(
        lambda t: F.softmax(t, -1) * as_tensor([1.0, 2.0, 3.0], device), [[-inf, 0.0, 1.0]], device
    )
    np.testing.assert_allclose(
        to_numpy(F.softmax(as_tensor([[-inf, 0.0, 1.0]], device), -1)),
        [[0.0, 0.26894142, 0.73105858]],
        rtol=1e-6,
    )
    np.testing.assert_allclose(dx, [[0.0, -0.19661193, 0.19661193]], rtol=1e-5)


# target, label_smoothing -> loss, d loss / d logits for the logits [-inf, 0, 1] (PyTorch's)
CE_CASES = [
    (2, 0.0, 0.31326169, [0.0, 0.26894142, -0.26894142]),
    (0, 0.0, inf, [-1.0, 0.26894142, 0.73105858]),
    (2, 0.1, inf, [-0.033333335, 0.23560810, -0.20227474]),
]


@pytest.mark.parametrize("target, smoothing, want, want_grad", CE_CASES)
def test_cross_entropy_with_a_minus_inf_logit(device, target, smoothing, want, want_grad):
    x = as_tensor([[-inf, 0.0, 1.0]], device, requires_grad=True)
    loss = F.cross_entropy(x, as_tensor([target], device), label_smoothing=smoothing)
    loss.backward()
    np.testing.assert_allclose(loss.item(), want, rtol=1e-6)
    np.testing.assert_allclose(to_numpy(x.grad), [want_grad], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("row", [[inf, 0.0, 1.0], [-inf, -inf, -inf], [nan, 0.0, 1.0]])
def test_cross_entropy_with_no_finite_answer_is_nan(device, row):
    x = as_tensor([row], device, requires_grad=True)
    loss = F.cross_entropy(x, as_tensor([1], device))
    loss.backward()
    assert math.isnan(loss.item())
    assert np.isnan(to_numpy(x.grad)).all()


def test_cross_entropy_smoothing_at_float32_extremes_keeps_the_float64_answer(device):
    # PyTorch gives inf (its log_softmax rounds -6e38 to -inf before smoothing sums it); the
    # loss is 3e38 exactly in float64, and forgegrad's lse - x[t] form keeps it.
    x = as_tensor([[3e38, -3e38, 0.0]], device, requires_grad=True)
    loss = F.cross_entropy(x, as_tensor([2], device), label_smoothing=0.1)
    loss.backward()
    np.testing.assert_allclose(loss.item(), 3e38, rtol=1e-6)
    np.testing.assert_allclose(
        to_numpy(x.grad), [[0.96666664, -0.033333335, -0.93333334]], rtol=1e-6
    )


# ---- denormals ---------------------------------------------------------------------------


def test_division_by_a_denormal_is_the_true_quotient(device):
    # A kernel multiplying by 1/b would overflow 1/1e-40 to inf; the true quotient is finite.
    a = np.array([3e-39, 1e-45, 1.0, -2e-40, 0.0], np.float32)
    b = np.float32(1e-40)
    with np.errstate(over="ignore"):  # 1 / 1e-40 overflows to inf, as it should
        want = (a.astype(np.float64) / np.float64(b)).astype(np.float32)  # correctly rounded
    got = to_numpy(as_tensor(a, device) / as_tensor(b, device))
    np.testing.assert_array_equal(got, want)
    assert (
        np.isfinite(got[0])
        and got[2] == inf
        and math.isnan(to_numpy(as_tensor([0.0], device) / as_tensor([0.0], device))[0])
    )


def test_gradient_of_zero_divided_by_a_denormal(device):
    # d(a/b)/db = -(a/b)/b: 0 for a = 0 (PyTorch gives -0); (1/b) * (a/b) was inf * 0 = NaN
    a = as_tensor(np.float32(0.0), device, requires_grad=True)
    b = as_tensor(np.float32(1.4e-44), device, requires_grad=True)
    (a / b).backward()
    assert to_numpy(a.grad) == inf
    assert to_numpy(b.grad) == 0 and np.signbit(to_numpy(b.grad))


def test_adam_first_moment_with_beta1_zero_is_the_gradient_exactly(device):
    # m = lerp(m, g, 1 - beta1) in PyTorch's form: exact at weight 1, where m + 1 * (g - m)
    # cancelled (m came out 1.0004e-5 for g = 1e-5, and p moved by 0.10004 instead of 0.0999)
    p = as_tensor(np.zeros(1, np.float32), device, requires_grad=True)
    optimizer = fg.optim.Adam([p], lr=0.1, betas=(0.0, 0.0), eps=1e-8)
    for g in (1.0, 1e-5):
        p.grad = as_tensor(np.array([g], np.float32), device)
        optimizer.step()
    assert to_numpy(optimizer.state[p]["exp_avg"])[0] == np.float32(1e-5)
    np.testing.assert_allclose(to_numpy(p), [-0.1 - 0.1 * 1e-5 / (1e-5 + 1e-8)], rtol=1e-6)


def test_denormals_pass_through_arithmetic(device):
    a = np.array([1e-40, -1e-42, 1.4e-45], np.float32)
    np.testing.assert_array_equal(to_numpy(as_tensor(a, device) * as_tensor(1.0, device)), a)
    np.testing.assert_array_equal(to_numpy(as_tensor(a, device) + as_tensor(a, device)), 2 * a)


# ---- empty inputs ------------------------------------------------------------------------


def test_reductions_of_empty_tensors(device):
    empty = as_tensor(np.zeros((0, 3), np.float32), device)
    assert fg.sum(empty).item() == 0.0
    assert math.isnan(fg.mean(empty).item())
    assert np.isnan(to_numpy(fg.mean(empty, dim=0))).all() and fg.mean(empty, dim=0).shape == (3,)
    assert fg.mean(empty, dim=1).shape == (0,)
    with pytest.raises(ValueError, match=r"^\[max\]"):
        fg.max(empty)
    with pytest.raises(ValueError, match=r"^\[max\]"):
        fg.max(empty, 0)
    with pytest.raises(ValueError, match=r"^\[argmax\]"):
        fg.argmax(empty)
    values, indices = fg.max(empty, 1)
    assert values.shape == (0,) and indices.shape == (0,)


def test_gradient_of_an_empty_mean(device):
    x = as_tensor(np.zeros((0, 3), np.float32), device, requires_grad=True)
    fg.mean(x).backward()
    assert x.grad.shape == (0, 3)


@pytest.mark.parametrize("shape, dim", [((0,), -1), ((0, 3), -1), ((3, 0), -1), ((3, 0), 0)])
@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
def test_softmax_over_empty_inputs(device, shape, dim, op):
    x = as_tensor(np.zeros(shape, np.float32), device, requires_grad=True)
    y = getattr(F, op)(x, dim)
    assert y.shape == shape
    y.sum().backward()
    assert x.grad.shape == shape


@pytest.mark.parametrize(
    "loss", ["mse_loss", "l1_loss", "binary_cross_entropy_with_logits", "cross_entropy", "nll_loss"]
)
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_losses_on_an_empty_batch(device, loss, reduction):
    # PyTorch: mean is NaN (0 / 0), sum is 0, none is empty; backward gives an empty gradient.
    classes = loss in ("cross_entropy", "nll_loss")
    x = as_tensor(np.zeros((0, 3) if classes else (0,), np.float32), device, requires_grad=True)
    target = as_tensor(np.zeros(0, np.int64 if classes else np.float32), device)
    out = getattr(F, loss)(x, target, reduction=reduction)
    if reduction == "mean":
        assert math.isnan(out.item())
    elif reduction == "sum":
        assert out.item() == 0.0
    else:
        assert out.shape == (0,)
    out.sum().backward()
    assert x.grad.shape == x.shape


def test_cross_entropy_with_no_classes_refuses_its_targets(device):
    with pytest.raises((ValueError, IndexError), match=r"^\[cross_entropy\]"):
        F.cross_entropy(as_tensor(np.zeros((2, 0), np.float32), device), as_tensor([0, 0], device))


# ---- dims of a 0-d tensor ----------------------------------------------------------------


def test_flatten_of_a_0d_tensor_checks_its_dims():
    x = fg.tensor(2.0)
    assert fg.flatten(x, 0, -1).shape == (1,)
    for dims in [(0, 1), (1, 0), (-2, 0)]:
        with pytest.raises(IndexError, match=r"^\[flatten\]"):
            fg.flatten(x, *dims)
