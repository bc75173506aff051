"""The autograd engine: graph bookkeeping (requires_grad, is_leaf, grad_fn), shared
subexpressions, accumulation, no_grad, detach, retain_graph and the errors of backward."""

import threading

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn.functional as F

from helpers import as_tensor, assert_close, check_backward, make_input, to_numpy


def leaf(shape, device, domain=(-2.0, 2.0)):
    x = make_input(shape, domain)
    return x.astype(np.float64), as_tensor(x, device, requires_grad=True)


# ----------------------------------------------------------------- graph structure
def test_leaf_and_grad_fn(device):
    _, x = leaf((7,), device)
    assert x.requires_grad and x.is_leaf and x.grad_fn is None and x.grad is None
    y = x * 2.0
    assert y.requires_grad and not y.is_leaf and y.grad_fn is not None
    c = as_tensor(make_input((7,)), device)
    assert not c.requires_grad and c.is_leaf and c.grad_fn is None
    z = c * 2.0
    assert not z.requires_grad and z.is_leaf and z.grad_fn is None
    w = c + x  # one input needing grad is enough
    assert w.requires_grad and w.grad_fn is not None


def test_requires_grad_setter_and_method(device):
    t = as_tensor(make_input((3,)), device)
    t.requires_grad = True
    assert t.requires_grad
    t.requires_grad = False
    assert not t.requires_grad
    r = t.requires_grad_()
    assert r.requires_grad and t.requires_grad
    t.requires_grad_(False)
    assert not t.requires_grad


def test_only_float_requires_grad(device):
    for arr in (
        np.arange(3, dtype=np.int64),
        np.array([True, False]),
        np.array([1, 2], dtype=np.uint8),
    ):
        t = as_tensor(arr, device)
        with pytest.raises(TypeError):
            t.requires_grad = True
        with pytest.raises(TypeError):
            t.requires_grad_()
        assert not t.requires_grad
    with pytest.raises(TypeError):
        fg.tensor([1, 2, 3], device=device, requires_grad=True)
    with pytest.raises(TypeError):
        fg.zeros(3, dtype=fg.int64, device=device, requires_grad=True)


def test_non_leaf_grad_not_stored(device):
    x64, x = leaf((7,), device)
    y = x * 3.0
    (y * y).sum().backward()
    assert y.grad is None
    assert_close(to_numpy(x.grad), 18.0 * x64)


def test_constant_input_gets_no_grad(device):
    x64, x = leaf((7,), device)
    c = as_tensor(make_input((7,)), device)
    (x * c).sum().backward()
    assert c.grad is None
    assert_close(to_numpy(x.grad), to_numpy(c))


# --------------------------------------------------------------- shared subexpressions
def test_shared_subexpression(device):
    x64, x = leaf((33,), device)
    y = x * x
    z = y + y * x  # x^2 + x^3
    z.sum().backward()
    assert_close(to_numpy(x.grad), 2 * x64 + 3 * x64**2)


def test_diamond(device):
    x64, x = leaf((7, 33), device, (-1.0, 1.0))
    a = x.exp()
    b, c = a * 2.0, a * 3.0
    (b * c).sum().backward()  # 6 exp(2x) -> 12 exp(2x)
    assert_close(to_numpy(x.grad), 12.0 * np.exp(2 * x64))


@pytest.mark.parametrize(
    "expr,grad",
    [
        (lambda x: x * x, lambda x: 2 * x),
        (lambda x: x + x, lambda x: 2 + 0 * x),
        (lambda x: x - x, lambda x: 0 * x),
        (lambda x: x / x, lambda x: 0 * x),
        (lambda x: x @ x.T, None),
    ],
)
def test_same_tensor_twice_in_one_op(expr, grad, device):
    x64, x = leaf((7, 7), device, "nonzero")
    expr(x).sum().backward()
    if grad is None:  # sum(x x^T) = sum_k (sum_i x_ik)^2: d/dx_ik = 2 * (column sum k)
        expected = 2.0 * np.ones((7, 7)) @ x64
    else:
        expected = grad(x64)
    assert_close(to_numpy(x.grad), expected, atol=1e-5)


def test_graph_with_many_uses(device):
    check_backward(
        lambda x: sum([x * float(i) for i in range(1, 30)], x * 0.0) + x.exp(),
        lambda x: sum(x * float(i) for i in range(1, 30)) + np.exp(x),
        (33,),
        device=device,
    )


def test_deep_chain_no_recursion_limit(device):
    x64, x = leaf((5,), device)
    y = x
    for _ in range(5000):
        y = y + 0.001
    (y * y).sum().backward()
    assert_close(to_numpy(x.grad), 2 * (x64 + 5.0), rtol=1e-4)  # 5000 float32 adds of 1e-3


# --------------------------------------------------------------------- accumulation
def test_backward_accumulates_across_graphs(device):
    x64, x = leaf((33,), device)
    (x * 2.0).sum().backward()
    (x * x).sum().backward()
    assert_close(to_numpy(x.grad), 2.0 + 2 * x64)


def test_leaf_grads_never_alias_other_buffers(device):
    # A leaf may keep a gradient buffer that nothing else holds as its .grad; every other
    # gradient is copied. Here each would alias: the caller's array, a sibling's gradient.
    user = np.full((3, 4), 2.0, np.float32)
    x64, x = leaf((3, 4), device)
    x.clone().backward(fg.from_numpy(user).to(device))  # clone passes the gradient on
    x.grad.add_(1.0)
    np.testing.assert_array_equal(user, np.full((3, 4), 2.0))
    _, a = leaf((5,), device)
    _, b = leaf((5,), device)
    (a + b).sum().backward()  # add hands one gradient to both inputs
    a.grad.mul_(3.0)
    np.testing.assert_array_equal(to_numpy(b.grad), np.ones(5))
    np.testing.assert_array_equal(to_numpy(a.grad), np.full(5, 3.0))
    _, w = leaf((4, 3), device)
    (w * w).sum().backward()  # a fresh buffer, adopted; later backwards add into it
    (w * w).sum().backward()
    assert_close(to_numpy(w.grad), 4 * to_numpy(w).astype(np.float64))


def test_grad_assignment(device):
    x64, x = leaf((3, 4), device)
    (x * 2.0).sum().backward()
    x.grad = None
    assert x.grad is None
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), np.full((3, 4), 3.0))
    g = as_tensor(np.ones((3, 4), np.float32), device)
    x.grad = g
    (x * 3.0).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), np.full((3, 4), 4.0))
    with pytest.raises(ValueError):
        x.grad = as_tensor(np.ones((4, 3), np.float32), device)
    np.testing.assert_array_equal(to_numpy(x.grad), np.full((3, 4), 4.0))


def test_broadcast_leaf_grad_accumulates(device):
    x64, x = leaf((1, 33), device)
    y64, y = leaf((7, 1), device)
    (x * y).sum().backward()
    assert_close(to_numpy(x.grad), np.broadcast_to(y64.sum(0, keepdims=True), (1, 33)))
    assert_close(to_numpy(y.grad), np.broadcast_to(x64.sum(1, keepdims=True), (7, 1)))


# ----------------------------------------------------------------------- retain_graph
def test_second_backward_raises(device):
    _, x = leaf((7,), device)
    y = (x.exp() * x).sum()
    y.backward()
    g1 = to_numpy(x.grad).copy()
    with pytest.raises(RuntimeError, match=r"(?i)free|second time|retain_graph"):
        y.backward()
    np.testing.assert_array_equal(to_numpy(x.grad), g1)  # the failed call added nothing


def test_retain_graph(device):
    x64, x = leaf((7,), device)
    y = (x.exp() * x).sum()
    y.backward(retain_graph=True)
    y.backward(retain_graph=True)
    y.backward()
    assert_close(to_numpy(x.grad), 3 * (np.exp(x64) * (x64 + 1)))
    with pytest.raises(RuntimeError):
        y.backward()


def test_backward_through_part_of_freed_graph(device):
    # A second loss that shares a freed prefix of the graph must raise, not compute garbage.
    _, x = leaf((7,), device)
    h = x.exp()
    (h * 2.0).sum().backward()
    with pytest.raises(RuntimeError, match=r"(?i)free|second time|retain_graph"):
        (h * 3.0).sum().backward()


# ----------------------------------------------------------------- backward errors
def test_non_scalar_backward_needs_gradient(device):
    x64, x = leaf((7, 3), device)
    y = x * 2.0
    with pytest.raises(RuntimeError):
        y.backward()
    g = make_input((7, 3))
    y.backward(gradient=as_tensor(g, device))
    assert_close(to_numpy(x.grad), 2.0 * g)


def test_backward_gradient_shape_checked(device):
    _, x = leaf((7, 3), device)
    y = x * 2.0
    with pytest.raises(ValueError):
        y.backward(as_tensor(np.ones((3, 7), np.float32), device))
    with pytest.raises(ValueError):
        y.backward(as_tensor(np.ones((21,), np.float32), device))


def test_scalar_backward_explicit_gradient(device):
    x64, x = leaf((5,), device)
    (x * x).sum().backward(as_tensor(np.array(3.0, np.float32), device))
    assert_close(to_numpy(x.grad), 6.0 * x64)


def test_backward_without_requires_grad_raises(device):
    c = as_tensor(make_input((7,)), device)
    with pytest.raises(RuntimeError):
        c.sum().backward()
    with pytest.raises(RuntimeError):
        c.backward(as_tensor(np.ones(7, np.float32), device))


# ----------------------------------------------------------------------------- no_grad
def test_no_grad_context(device):
    _, x = leaf((7,), device)
    assert fg.is_grad_enabled()
    with fg.no_grad():
        assert not fg.is_grad_enabled()
        y = x * 2.0 + x.exp()
        z = F.relu(x.reshape(1, 7) @ x.reshape(7, 1))
        assert not y.requires_grad and y.grad_fn is None
        assert not z.requires_grad
        with fg.no_grad():
            assert not fg.is_grad_enabled()
        assert not fg.is_grad_enabled()  # nested exit keeps the outer state
    assert fg.is_grad_enabled()
    assert (x * 2.0).requires_grad


def test_no_grad_restored_after_exception(device):
    with pytest.raises(KeyError):
        with fg.no_grad():
            raise KeyError("boom")
    assert fg.is_grad_enabled()


def test_no_grad_decorator(device):
    _, x = leaf((7,), device)

    @fg.no_grad()
    def f(t):
        assert not fg.is_grad_enabled()
        return t * 2.0

    y = f(x)
    assert not y.requires_grad
    assert fg.is_grad_enabled()


def test_no_grad_is_thread_local():
    seen = []
    with fg.no_grad():
        t = threading.Thread(target=lambda: seen.append(fg.is_grad_enabled()))
        t.start()
        t.join()
    assert seen == [True]


def test_backward_of_graph_built_before_no_grad(device):
    x64, x = leaf((7,), device)
    y = (x * x).sum()
    with fg.no_grad():
        y.backward()  # the graph was recorded with grad on: backward still works
    assert_close(to_numpy(x.grad), 2 * x64)


# ------------------------------------------------------------------------------ detach
def test_detach(device):
    x64, x = leaf((7,), device)
    d = x.detach()
    assert not d.requires_grad and d.is_leaf and d.grad_fn is None
    y = (x * d).sum()  # d is a constant: grad = d
    y.backward()
    assert_close(to_numpy(x.grad), x64)


def test_detach_shares_storage():
    x = fg.tensor(np.arange(5, dtype=np.float32), requires_grad=True)
    d = x.detach()
    d.numpy()[2] = 100.0
    assert x.detach().numpy()[2] == 100.0
    assert x.tolist()[2] == 100.0


def test_clone_passes_gradient(device):
    x64, x = leaf((7,), device)
    c = x.clone()
    assert c.requires_grad and not c.is_leaf
    (c * 3.0).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), np.full(7, 3.0))


def test_clone_is_a_copy():
    x = fg.tensor(np.arange(5, dtype=np.float32))
    c = x.clone()
    c.numpy()[0] = 42.0
    assert x.numpy()[0] == 0.0


def test_leaf_grad_is_float32_and_on_device(device):
    _, x = leaf((7,), device)
    (x * 2.0).sum().backward()
    assert x.grad.dtype == fg.float32
    assert x.grad.device.type == device
    assert not x.grad.requires_grad


def test_overlapping_views_accumulate(device):
    x64, x = leaf((9, 4), device)
    y = (x[0:5] * 2.0).sum() + (x[3:9] * x[3:9]).sum() + x[4].sum() + x[[4, 4, 0]].sum()
    y.backward()
    expected = np.zeros((9, 4))
    expected[0:5] += 2.0
    expected[3:9] += 2 * x64[3:9]
    expected[4] += 3.0
    expected[0] += 1.0
    assert_close(to_numpy(x.grad), expected)


def test_views_add_into_a_gradient_already_there(device):
    # The second and later views of one tensor add their gradient into the one its input
    # already has (the engine's buffer for a non-leaf, .grad for a leaf): unbind, a loop over
    # x[:, t], a diagonal, each on top of a gradient from a dense path.
    x64, x = leaf((3, 4, 5), device)
    hidden = x * 3.0
    q, k, v = hidden.unbind(0)
    total = (q * 2.0).sum() + k.sum() + (hidden * hidden).sum()
    for t in range(5):
        total = total + v[:, t].sum() * t
    total = total + hidden[1].diagonal().sum() * 10.0
    x.grad = as_tensor(np.ones((3, 4, 5), np.float32), device)  # a leaf's .grad is added into too
    total.backward()
    dhidden = 2 * (3 * x64)
    dhidden[0] += 2.0
    dhidden[1] += 1.0
    dhidden[2] += np.arange(5)[None, :]
    dhidden[1][np.arange(4), np.arange(4)] += 10.0
    assert_close(to_numpy(x.grad), 1.0 + 3.0 * dhidden)
    w64, w = leaf((4, 3), device)
    (w[0].sum() + w[1:3].sum() * 2.0).backward()
    (w.diagonal().sum() * 5.0 + w[3].sum()).backward()  # into the .grad the first made
    expected = np.zeros((4, 3))
    expected[0] += 1.0
    expected[1:3] += 2.0
    expected[np.arange(3), np.arange(3)] += 5.0
    expected[3] += 1.0
    assert_close(to_numpy(w.grad), expected)


def test_chained_views_gradient(device):
    check_backward(
        lambda t: t[2:9].reshape(-1, 2)[3:11][::2].flatten()[1:6],
        lambda a: a[2:9].reshape(-1, 2)[3:11][::2].reshape(-1)[1:6],
        (10, 4),
        device=device,
    )


def test_concurrent_backward_in_threads(device):
    # backward releases the GIL: independent graphs in several threads must not interfere.
    inputs = [make_input((33, 17)) for _ in range(4)]
    weights = [make_input((17, 5)) for _ in range(4)]
    errors = []

    def work(k):
        try:
            for _ in range(20):
                x = as_tensor(inputs[k], device, requires_grad=True)
                w = as_tensor(weights[k], device, requires_grad=True)
                loss = F.log_softmax(F.relu(x @ w) * 2.0 + x.sum(dim=1, keepdim=True), 1).sum()
                loss.backward()
                results[k].append(to_numpy(x.grad).copy())
        except Exception as e:  # surfaced below
            errors.append(e)

    results = {k: [] for k in range(4)}
    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for k in range(4):
        assert len(results[k]) == 20
        for r in results[k][1:]:
            np.testing.assert_array_equal(r, results[k][0])
    # and the same as a single-threaded run
    x = as_tensor(inputs[2], device, requires_grad=True)
    w = as_tensor(weights[2], device, requires_grad=True)
    F.log_softmax(F.relu(x @ w) * 2.0 + x.sum(dim=1, keepdim=True), 1).sum().backward()
    np.testing.assert_array_equal(to_numpy(x.grad), results[2][0])


def test_leaf_created_under_no_grad_can_require_grad(device):
    with fg.no_grad():
        w = fg.ones(3, device=device, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    (w * 2.0).sum().backward()
    np.testing.assert_array_equal(to_numpy(w.grad), [2.0, 2.0, 2.0])


@pytest.mark.parametrize("pattern", ["all_same", "few_rows", "random"])
def test_gather_backward_many_repeats(pattern, device, restore_threads):
    # Scatter-add of the gather backward: many repeated indices, several threads; a racy
    # parallel scatter loses updates.
    rng = np.random.default_rng(0)
    n_idx = 200_003
    idx = {
        "all_same": np.zeros(n_idx, np.int64),
        "few_rows": rng.integers(0, 3, n_idx),
        "random": rng.integers(0, 1000, n_idx),
    }[pattern]
    x = make_input((1000, 8))
    g = make_input((n_idx, 8))
    expected = np.zeros((1000, 8))
    np.add.at(expected, idx, g.astype(np.float64))
    for threads in (2, 4):
        fg.set_num_threads(threads)
        xt = as_tensor(x, device, requires_grad=True)
        xt[as_tensor(idx, device)].backward(as_tensor(g, device))
        # float32 sums of up to 2e5 terms of |g| <= 2: norm-wise 1e-5 of sum|g| (~n).
        assert_close(to_numpy(xt.grad), expected, atol=1e-5 * np.bincount(idx).max())


# ----------------------------------------------------------------------------- in-place changes
IN_PLACE_CHANGE = r"\[backward\] a tensor that \w+ used was changed in place"


def test_backward_refuses_an_input_changed_in_place_after_the_op():
    # linear's weight gradient needs x: changing x afterwards would give a wrong gradient.
    from forgegrad import nn

    layer = nn.Linear(3, 2)
    x = fg.ones(4, 3)
    y = layer(x).sum()
    x.mul_(0.0)
    with pytest.raises(RuntimeError, match=IN_PLACE_CHANGE):
        y.backward()
    assert layer.weight.grad is None  # nothing was accumulated


def test_backward_refuses_an_output_changed_in_place_under_no_grad():
    x = fg.tensor([0.5, 1.0], requires_grad=True)
    y = x.exp()  # exp's backward reads its output
    loss = y.sum()
    with fg.no_grad():
        y.fill_(0.0)
    with pytest.raises(RuntimeError, match=IN_PLACE_CHANGE):
        loss.backward()


def test_backward_refuses_indices_changed_in_place(device):
    # max and nll_loss write their gradient where the indices point: changed indices would
    # write out of bounds, so backward refuses them, as any saved tensor changed in place.
    x = fg.tensor(make_input((3, 4)), device=device, requires_grad=True)
    values, indices = x.max(dim=1)
    indices.fill_(10**12)
    with pytest.raises(RuntimeError, match=IN_PLACE_CHANGE):
        values.sum().backward()
    target = fg.tensor([0, 3, 1], device=device)
    loss = F.nll_loss(x.log_softmax(1), target)
    target.fill_(10**12)
    with pytest.raises(RuntimeError, match=IN_PLACE_CHANGE):
        loss.backward()
    assert x.grad is None


def test_an_optimizer_step_between_two_backwards_of_a_kept_graph_is_refused():
    w = fg.tensor([1.0, 2.0], requires_grad=True)
    x = fg.tensor([3.0, 4.0])
    loss = (w * w * x).sum()
    loss.backward(retain_graph=True)
    fg.optim.SGD([w], lr=0.1).step()
    with pytest.raises(RuntimeError, match=IN_PLACE_CHANGE):
        loss.backward()


def test_changes_after_backward_or_to_unrelated_tensors_are_fine():
    w = fg.tensor([1.0, 2.0], requires_grad=True)
    other = fg.ones(2)
    loss = (w * w).sum()
    other.add_(1.0)  # not part of the graph
    loss.backward()
    with fg.no_grad():
        w -= 0.5 * w.grad  # after backward: the usual update
    np.testing.assert_allclose(w.detach().numpy(), [0.0, 0.0])


def test_gradients_of_several_paths_add_up():
    # The engine adds a node's later gradients into the first one's buffer when nothing else
    # holds it (a residual stream), else into a new one: x + x's rule hands out one tensor
    # twice, and a broadcast input's gradients differ in shape before their sums.
    values = np.linspace(-1.0, 1.0, 12).reshape(3, 4)
    x = fg.tensor(values, requires_grad=True)
    h = x * 2.0
    stream = h + (h * h)  # residual: h's two gradients, each its own buffer
    doubled = stream + stream  # one gradient tensor reaches stream twice
    out = doubled * fg.tensor(values + 3.0) + h.exp()
    out.backward(fg.ones_like(out))
    h_np = 2.0 * values
    dstream = 2.0 * (values + 3.0)
    dh = dstream * (1.0 + 2.0 * h_np) + np.exp(h_np)
    assert_close(to_numpy(x.grad), 2.0 * dh)
    bias = fg.tensor(np.ones(4), requires_grad=True)
    shifted = x.detach() + bias
    (shifted + shifted * 3.0).sum().backward()
    assert_close(to_numpy(bias.grad), np.full(4, 12.0))


def test_inference_mode_is_no_grad_by_another_name(device):
    _, x = leaf((3,), device)
    with fg.inference_mode():
        assert not fg.is_grad_enabled() and not (x * 2.0).requires_grad
        with fg.inference_mode(False):
            assert (x * 2.0).requires_grad
    assert fg.is_grad_enabled()

    @fg.inference_mode
    def bare(t, scale=1.0):
        return t * scale

    @fg.inference_mode()
    def called(t):
        return t * 2.0

    assert not bare(x, scale=3.0).requires_grad and not called(x).requires_grad
    assert bare.__name__ == "bare" and fg.is_grad_enabled()
