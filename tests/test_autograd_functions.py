"""forgegrad.autograd.grad and backward (several outputs, inputs=), and Tensor.retain_grad:
values against hand-derived gradients in float64, what each leaves untouched, and errors."""

import numpy as np
import pytest

import forgegrad as fg

from helpers import as_tensor, assert_close, make_input, to_numpy


def leaf(shape, device):
    x = make_input(shape, (-2.0, 2.0))
    return x.astype(np.float64), as_tensor(x, device, requires_grad=True)


def cubic_graph(device):
    """x (3, 4) -> h = x * w -> y = sum(h^3) + sum(w): dy/dx = 3 h^2 w, dy/dh = 3 h^2."""
    x_np, x = leaf((3, 4), device)
    w_np, w = leaf((4,), device)
    h = x * w
    y = (h * h * h).sum() + w.sum()
    h_np = x_np * w_np
    return (
        x,
        w,
        h,
        y,
        {"x": 3 * h_np**2 * w_np, "w": (3 * h_np**2 * x_np).sum(0) + 1, "h": 3 * h_np**2},
    )


def test_grad_of_leaves_and_of_a_non_leaf_changes_no_grad(device):
    x, w, h, y, expected = cubic_graph(device)
    dx, dh, dw = fg.autograd.grad(y, [x, h, w])
    assert_close(to_numpy(dx), expected["x"])
    assert_close(to_numpy(dh), expected["h"])
    assert_close(to_numpy(dw), expected["w"])
    assert x.grad is None and w.grad is None and h.grad is None
    assert not dx.requires_grad


def test_grad_frees_the_graph_unless_retained(device):
    x, _, _, y, expected = cubic_graph(device)
    (first,) = fg.autograd.grad(y, x, retain_graph=True)
    (again,) = fg.autograd.grad(y, x)
    assert_close(to_numpy(again), to_numpy(first))
    with pytest.raises(RuntimeError, match="second time"):
        y.backward()


def test_grad_of_a_tensor_above_leaves_stops_there(device):
    # Only what lies between the outputs and the inputs runs: the leaves below h keep no
    # .grad, and the graph below h stays whole for a later backward.
    x, w, h, y, expected = cubic_graph(device)
    (dh,) = fg.autograd.grad(y, h)
    assert_close(to_numpy(dh), expected["h"])
    z = (h * 2.0).sum()
    z.backward()
    assert_close(to_numpy(x.grad), 2.0 * to_numpy(w)[None, :].repeat(3, 0))


def test_grad_weights_several_outputs(device):
    x_np, x = leaf((5,), device)
    squares, doubled = x * x, x * 2.0
    weights = make_input((5,), (-1.0, 1.0))
    (dx,) = fg.autograd.grad(
        [squares, doubled.sum()], [x], grad_outputs=[as_tensor(weights, device), None]
    )
    assert_close(to_numpy(dx), 2 * x_np * weights.astype(np.float64) + 2.0)


def test_grad_of_an_input_given_twice(device):
    x_np, x = leaf((4,), device)
    first, second = fg.autograd.grad((x * x).sum(), [x, x])
    assert_close(to_numpy(first), 2 * x_np)
    assert_close(to_numpy(second), 2 * x_np)


def test_grad_of_an_output_with_respect_to_itself(device):
    x_np, x = leaf((3,), device)
    y = x * 3.0
    seed = make_input((3,), (-1.0, 1.0))
    (dy,) = fg.autograd.grad(y, y, grad_outputs=as_tensor(seed, device))
    assert_close(to_numpy(dy), seed)


def test_unused_inputs(device):
    _, x = leaf((3,), device)
    _, unused = leaf((2,), device)
    with pytest.raises(RuntimeError, match=r"\[grad\] input 1 was not used"):
        fg.autograd.grad((x * 2.0).sum(), [x, unused])
    dx, none = fg.autograd.grad((x * 2.0).sum(), [x, unused], allow_unused=True)
    assert none is None
    assert_close(to_numpy(dx), np.full(3, 2.0))
    _, zeros = fg.autograd.grad((x * 2.0).sum(), [x, unused], materialize_grads=True)
    assert zeros.shape == unused.shape and not np.any(to_numpy(zeros))


def test_grad_refuses_bad_arguments(device):
    _, x = leaf((3,), device)
    y = (x * 2.0).sum()
    with pytest.raises(NotImplementedError, match=r"\[grad\] create_graph"):
        fg.autograd.grad(y, x, create_graph=True)
    with pytest.raises(RuntimeError, match=r"\[grad\] input 0 does not require grad"):
        fg.autograd.grad(y, fg.ones(3, device=device), retain_graph=True)
    with pytest.raises(RuntimeError, match=r"\[grad\] the tensor does not require grad"):
        fg.autograd.grad(fg.ones(3, device=device).sum(), x)
    with pytest.raises(RuntimeError, match=r"\[grad\] grad can be implicitly created only"):
        fg.autograd.grad(x * 2.0, x)
    with pytest.raises(ValueError, match=r"\[grad\] expected 1 gradients, one per tensor, got 2"):
        fg.autograd.grad(y, x, grad_outputs=[None, None], retain_graph=True)
    with pytest.raises(ValueError, match=r"\[grad\] expected a gradient of shape"):
        fg.autograd.grad(y, x, grad_outputs=fg.ones(2, device=device), retain_graph=True)
    with pytest.raises(TypeError, match=r"\[grad\] expected a Tensor or a sequence of Tensors"):
        fg.autograd.grad(y, [x, 3.0], retain_graph=True)
    with pytest.raises(ValueError, match=r"\[grad\] expected at least one input"):
        fg.autograd.grad(y, [], retain_graph=True)
    # none of the refusals ran the graph
    (dx,) = fg.autograd.grad(y, x)
    assert_close(to_numpy(dx), np.full(3, 2.0))


def test_backward_of_several_tensors_runs_shared_parts_once(device):
    x_np, x = leaf((4,), device)
    shared = x.exp()
    first, second = (shared * 2.0).sum(), (shared * shared).sum()
    fg.autograd.backward([first, second])
    assert_close(to_numpy(x.grad), 2 * np.exp(x_np) + 2 * np.exp(2 * x_np))
    with pytest.raises(RuntimeError, match="second time"):
        second.backward()


def test_backward_with_gradients_and_inputs(device):
    x_np, x = leaf((3,), device)
    w_np, w = leaf((3,), device)
    y = x * w
    seed = make_input((3,), (-1.0, 1.0))
    fg.autograd.backward(y, grad_tensors=as_tensor(seed, device), inputs=[x], retain_graph=True)
    assert_close(to_numpy(x.grad), seed * w_np)
    assert w.grad is None
    fg.autograd.backward(y, grad_tensors=[as_tensor(seed, device)], inputs=x)
    assert_close(to_numpy(x.grad), 2 * seed * w_np)
    with pytest.raises(ValueError, match=r"\[backward\] expected 1 gradients"):
        fg.autograd.backward((x * 2.0).sum(), grad_tensors=[None, None])
    with pytest.raises(NotImplementedError, match=r"\[backward\] create_graph"):
        fg.autograd.backward((x * 2.0).sum(), create_graph=True)


def test_retain_grad_keeps_a_non_leaf_gradient(device):
    x, _, h, y, expected = cubic_graph(device)
    assert not h.retains_grad and not x.retains_grad
    h.retain_grad()
    x.retain_grad()  # a leaf: nothing to do
    assert h.retains_grad and not x.retains_grad
    y.backward(retain_graph=True)
    assert_close(to_numpy(h.grad), expected["h"])
    assert_close(to_numpy(x.grad), expected["x"])
    y.backward()  # accumulates, as a leaf's .grad does
    assert_close(to_numpy(h.grad), 2 * expected["h"])
    other = h * 1.0
    assert not other.retains_grad
    with pytest.raises(RuntimeError, match=r"\[retain_grad\] can't retain_grad"):
        fg.ones(2, device=device).retain_grad()


def test_grad_leaves_retained_gradients_alone(device):
    x, _, h, y, expected = cubic_graph(device)
    h.retain_grad()
    fg.autograd.grad(y, x)
    assert h.grad is None


# ----------------------------------------------------------------- Tensor.register_hook
def test_a_leaf_hook_sees_its_whole_gradient_once_and_can_replace_it(device):
    x_np, x = leaf((2, 3), device)
    seen = []

    def double(grad):
        seen.append(to_numpy(grad))
        return grad * 2.0

    handle = x.register_hook(double)
    # x reaches the loss three ways: twice through views (the engine adds those into the
    # gradient in place) and once whole
    loss = (x[:, 0] * 3.0).sum() + (x[:, 1] * x[:, 1]).sum() + x.sum()
    loss.backward()
    expected = np.ones((2, 3))
    expected[:, 0] += 3.0
    expected[:, 1] += 2 * x_np[:, 1]
    assert len(seen) == 1
    assert_close(seen[0], expected)
    assert_close(to_numpy(x.grad), 2 * expected)
    handle.remove()
    handle.remove()  # a second remove does nothing
    x.grad = None
    (x * 1.0).sum().backward()
    assert_close(to_numpy(x.grad), np.ones((2, 3)))


def test_a_non_leaf_hook_changes_what_flows_below(device):
    x_np, x = leaf((4,), device)
    h = x * 3.0
    calls = []
    h.register_hook(lambda grad: calls.append(1))  # None keeps the gradient
    h.register_hook(lambda grad: grad * 0.5)  # hooks run in the order they were registered
    (h * h).sum().backward()
    assert calls == [1]
    assert_close(to_numpy(x.grad), 0.5 * 2 * (3 * x_np) * 3.0)


def test_hooks_run_in_grad_too(device):
    x_np, x = leaf((3,), device)
    h = x * 2.0
    h.register_hook(lambda grad: grad + 1.0)
    x.register_hook(lambda grad: grad * 10.0)
    dh, dx = fg.autograd.grad(h.sum(), [h, x])
    assert_close(to_numpy(dh), np.full(3, 2.0))
    assert_close(to_numpy(dx), np.full(3, 40.0))
    assert x.grad is None
    # a leaf grad() was not asked about runs no hook
    _, w = leaf((3,), device)
    calls = []
    w.register_hook(lambda grad: calls.append(1))
    fg.autograd.grad((x * w).sum(), x)
    assert calls == []


def test_register_hook_refuses_bad_hooks(device):
    _, x = leaf((3,), device)
    with pytest.raises(TypeError, match=r"\[register_hook\] expected a callable"):
        x.register_hook(3)
    with pytest.raises(RuntimeError, match=r"\[register_hook\] cannot register a hook"):
        fg.ones(2, device=device).register_hook(lambda g: g)
    handle = x.register_hook(lambda g: "not a tensor")
    with pytest.raises(TypeError, match=r"\[register_hook\] a hook must return a Tensor"):
        (x * 2.0).sum().backward()
    handle.remove()
    x.register_hook(lambda g: g[:2])
    with pytest.raises(RuntimeError, match=r"\[register_hook\] a hook returned a gradient"):
        (x * 2.0).sum().backward()


# ----------------------------------------------------------------- autograd.Function
class Cube(fg.autograd.Function):
    """x^3 * scale, scale a Python number"""

    @staticmethod
    def forward(ctx, x, scale):
        ctx.save_for_backward(x)
        ctx.scale = scale
        return x * x * x * scale

    @staticmethod
    def backward(ctx, grad):
        (x,) = ctx.saved_tensors
        return grad * 3.0 * x * x * ctx.scale, None


class SplitScaled(fg.autograd.Function):
    """x -> (2 x[:k], 3 x[k:], argmax of x), the last not differentiable"""

    @staticmethod
    def forward(ctx, x, k):
        ctx.k = k
        index = x.argmax()
        ctx.mark_non_differentiable(index)
        return x[:k] * 2.0, x[k:] * 3.0, index

    @staticmethod
    def backward(ctx, first, second, index_grad):
        assert index_grad.shape == () and index_grad.item() == 0  # zeros, as in PyTorch
        return fg.cat([first * 2.0, second * 3.0]), None


def test_function_gradient_and_graph(device):
    x_np, x = leaf((2, 3), device)
    y = Cube.apply(x, 0.5)
    assert y.requires_grad and repr(y.grad_fn) == "<CubeBackward>"
    assert_close(to_numpy(y), 0.5 * x_np**3)
    (y * y).sum().backward()
    assert_close(to_numpy(x.grad), 2 * (0.5 * x_np**3) * 1.5 * x_np**2)
    (dx,) = fg.autograd.grad(Cube.apply(x, 2.0).sum(), x)
    assert_close(to_numpy(dx), 6.0 * x_np**2)
    with fg.no_grad():
        assert not Cube.apply(x, 1.0).requires_grad
    assert not Cube.apply(x.detach(), 1.0).requires_grad


def test_function_with_several_outputs(device):
    x_np, x = leaf((5,), device)
    first, second, index = SplitScaled.apply(x, 2)
    assert not index.requires_grad and index.grad_fn is None
    (first.sum() + (second * second).sum()).backward()
    expected = np.concatenate([np.full(2, 2.0), 2 * 3 * x_np[2:] * 3.0])
    assert_close(to_numpy(x.grad), expected)


def test_function_context(device):
    _, x = leaf((3,), device)
    c = fg.ones(3, device=device)
    seen = {}

    class Probe(fg.autograd.Function):
        @staticmethod
        def forward(ctx, a, b, n):
            seen["needs"] = ctx.needs_input_grad
            ctx.set_materialize_grads(False)
            return a * b, a + b

        @staticmethod
        def backward(ctx, g_product, g_sum):
            seen.setdefault("grads", []).append((g_product is None, g_sum is None))
            return g_product, None, None

    product, _ = Probe.apply(x, c, 4)
    product.sum().backward()
    assert seen["needs"] == (True, False, False)
    assert seen["grads"] == [(False, True)]
    assert_close(to_numpy(x.grad), np.ones(3))


def test_function_returning_its_input(device):
    x_np, x = leaf((3,), device)

    class Identity(fg.autograd.Function):
        @staticmethod
        def forward(ctx, a):
            return a

        @staticmethod
        def backward(ctx, grad):
            return grad * 5.0

    y = Identity.apply(x)
    assert y is not x and y.grad_fn is not None and x.grad_fn is None
    y.sum().backward()
    assert_close(to_numpy(x.grad), np.full(3, 5.0))


def test_function_errors(device):
    _, x = leaf((3,), device)

    def op(backward, forward=lambda ctx, a: a * 2.0):
        return type(
            "Bad",
            (fg.autograd.Function,),
            {"forward": staticmethod(forward), "backward": staticmethod(backward)},
        )

    with pytest.raises(RuntimeError, match=r"\[Bad\] backward returned 2 gradients, expected 1"):
        op(lambda ctx, g: (g, g)).apply(x).sum().backward()
    with pytest.raises(RuntimeError, match=r"\[Bad\] backward returned a gradient of shape \(2,\)"):
        op(lambda ctx, g: g[:2]).apply(x).sum().backward()
    with pytest.raises(TypeError, match=r"\[Bad\] backward returned a float as the gradient"):
        op(lambda ctx, g: 1.0).apply(x).sum().backward()
    with pytest.raises(TypeError, match=r"\[Bad\] forward must return a Tensor"):
        op(lambda ctx, g: g, forward=lambda ctx, a: [a]).apply(x)
    with pytest.raises(ZeroDivisionError):
        op(lambda ctx, g: 1 / 0).apply(x).sum().backward()
    with pytest.raises(NotImplementedError, match=r"\[Function\] subclasses define forward"):
        fg.autograd.Function.apply(x)
    x.grad = None
    op(lambda ctx, g: g * 2.0).apply(x).sum().backward()  # the engine still works
    assert_close(to_numpy(x.grad), np.full(3, 2.0))
