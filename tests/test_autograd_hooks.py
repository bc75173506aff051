"""Tensor.register_post_accumulate_grad_hook: the C++ engine calls the hook once per
backward, after the leaf's whole gradient of that backward is in .grad, while backward goes
on (DistributedDataParallel starts its all-reduces there). As in PyTorch."""

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import nn


def leaf(*values):
    return fg.tensor(list(values), requires_grad=True)


def test_the_hook_sees_the_whole_gradient_once_and_gets_the_tensor_itself():
    p = leaf(1.0, 2.0, 3.0)
    calls = []
    p.register_post_accumulate_grad_hook(lambda t: calls.append((t is p, t.grad.tolist())))
    (p * 2 + p * 3).sum().backward()  # two contributions, one call with both
    assert calls == [(True, [5.0, 5.0, 5.0])]
    (p * 1).sum().backward()  # backward adds: .grad holds both backwards' gradients
    assert calls[-1] == (True, [6.0, 6.0, 6.0])


def test_hooks_fire_as_backward_reaches_each_leaf_before_it_ends():
    fg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.Tanh(), nn.Linear(4, 2))
    first, last = model[0].weight, model[2].weight
    seen = []
    first.register_post_accumulate_grad_hook(lambda t: seen.append("first"))
    last.register_post_accumulate_grad_hook(lambda t: seen.append(("last", first.grad is None)))
    model(fg.randn(5, 3)).sum().backward()
    assert seen == [("last", True), "first"]  # the last layer's gradient came first


def test_leaves_of_one_node_run_their_hooks_in_the_node_s_input_order():
    leaves = {name: leaf(1.0, 2.0) for name in "abcdef"}
    for name, p in leaves.items():
        p.register_post_accumulate_grad_hook(lambda t, name=name: seen.append(name))
    for order in ("abcdef", "fedcba", "cafebd"):
        seen: list[str] = []
        fg.cat([leaves[name] for name in order]).sum().backward()  # one node
        assert "".join(seen) == order


def test_hooks_run_in_registration_order_and_remove_stops_them():
    p = leaf(1.0)
    calls = []
    one = p.register_post_accumulate_grad_hook(lambda t: calls.append(1))
    with p.register_post_accumulate_grad_hook(lambda t: calls.append(2)):
        (p * 2).sum().backward()
    assert calls == [1, 2]  # the `with` removed the second on exit
    one.remove()
    one.remove()  # a second remove does nothing
    (p * 2).sum().backward()
    assert calls == [1, 2]


def test_a_leaf_that_gets_no_gradient_is_not_called_and_retain_graph_calls_again():
    used, unused = leaf(1.0), leaf(2.0)
    calls = []
    for t in (used, unused):
        t.register_post_accumulate_grad_hook(lambda t: calls.append(t is used))
    y = (used * 3).sum() + (unused * 0).detach().sum()
    y.backward(retain_graph=True)
    y.backward()
    assert calls == [True, True]


def test_a_leaf_as_the_root_of_backward_calls_its_hook():
    p = leaf(1.0, 2.0)
    calls = []
    p.register_post_accumulate_grad_hook(lambda t: calls.append(t.grad.tolist()))
    p.backward(fg.tensor([0.5, 0.25]))
    assert calls == [[0.5, 0.25]]


def test_an_error_in_a_hook_comes_out_of_backward():
    p = leaf(1.0)

    def fails(t):
        raise KeyError("from the hook")

    p.register_post_accumulate_grad_hook(fails)
    with pytest.raises(KeyError, match="from the hook"):
        (p * 2).sum().backward()


def test_a_hook_must_return_none():
    p = leaf(1.0)
    p.register_post_accumulate_grad_hook(lambda t: 5)
    with pytest.raises(
        TypeError,
        match=r"\[register_post_accumulate_grad_hook\] .* must return "
        r"None, got int",
    ):
        (p * 2).sum().backward()


def test_only_leaves_that_require_grad_take_a_hook():
    p = leaf(1.0)
    with pytest.raises(RuntimeError, match="cannot be registered on non-leaf tensors"):
        (p * 2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        fg.ones(2).register_post_accumulate_grad_hook(lambda t: None)
    with pytest.raises(TypeError, match=r"expected a callable hook\(tensor\), got int"):
        p.register_post_accumulate_grad_hook(5)


def test_a_hook_may_read_and_change_the_gradient():
    p = leaf(1.0, 1.0)

    def halve(t):
        with fg.no_grad():
            t.grad.mul_(0.5)

    p.register_post_accumulate_grad_hook(halve)
    (p * 4).sum().backward()
    assert np.allclose(p.grad.numpy(), [2.0, 2.0])
