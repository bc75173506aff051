"""Module.register_forward_pre_hook and register_forward_hook: when they run, what their
results replace, order, removal, always_call, and the Linear+ReLU fusion of Sequential
stepping aside for them. As in PyTorch."""

import warnings

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn as nn


class Scale(nn.Module):
    def __init__(self, factor):
        super().__init__()
        self.factor = factor

    def forward(self, x, *, shift=0.0):
        return x * self.factor + shift


def test_forward_hook_sees_inputs_and_output_and_can_replace_it():
    m = Scale(2.0)
    seen = []
    m.register_forward_hook(lambda mod, args, out: seen.append((mod, args, out.numpy())))
    x = fg.tensor([1.0, 2.0])
    out = m(x)
    assert seen[0][0] is m and seen[0][1][0] is x
    np.testing.assert_allclose(seen[0][2], [2.0, 4.0])
    m.register_forward_hook(lambda mod, args, out: out + 100.0)
    np.testing.assert_allclose(m(x).numpy(), [102.0, 104.0])
    np.testing.assert_allclose(out.numpy(), [2.0, 4.0])


def test_pre_hooks_replace_arguments_and_hooks_run_in_order():
    m = Scale(1.0)
    order = []
    m.register_forward_pre_hook(lambda mod, args: order.append("a"))
    m.register_forward_pre_hook(lambda mod, args: (args[0] * 3.0,))
    m.register_forward_pre_hook(lambda mod, args: order.append("first"), prepend=True)
    m.register_forward_pre_hook(lambda mod, args: args[0] + 1.0)  # one value: the new args[0]
    np.testing.assert_allclose(m(fg.tensor([1.0])).numpy(), [4.0])
    assert order == ["first", "a"]


def test_hooks_with_kwargs():
    m = Scale(1.0)
    m.register_forward_pre_hook(
        lambda mod, args, kwargs: (args, {**kwargs, "shift": 10.0}), with_kwargs=True
    )
    seen = {}
    m.register_forward_hook(lambda mod, args, kwargs, out: seen.update(kwargs), with_kwargs=True)
    np.testing.assert_allclose(m(fg.tensor([1.0]), shift=1.0).numpy(), [11.0])
    assert seen == {"shift": 10.0}
    m.register_forward_pre_hook(lambda mod, args, kwargs: "bad", with_kwargs=True)
    with pytest.raises(TypeError, match=r"\[register_forward_pre_hook\] a hook with kwargs"):
        m(fg.tensor([1.0]))


def test_remove_and_the_handle_as_context():
    m = Scale(1.0)
    calls = []
    handle = m.register_forward_hook(lambda *a: calls.append(1))
    m(fg.ones(1))
    handle.remove()
    handle.remove()
    m(fg.ones(1))
    with m.register_forward_pre_hook(lambda *a: calls.append(2)):
        m(fg.ones(1))
    m(fg.ones(1))
    assert calls == [1, 2]


def test_always_call_runs_when_forward_raises():
    class Broken(nn.Module):
        def forward(self, x):
            raise ValueError("broken forward")

    m = Broken()
    calls = []
    m.register_forward_hook(lambda mod, args, out: calls.append(("always", out)), always_call=True)
    m.register_forward_hook(lambda mod, args, out: calls.append("not"))
    with pytest.raises(ValueError, match="broken forward"):
        m(fg.ones(1))
    assert calls == [("always", None)]

    def failing(mod, args, out):
        raise RuntimeError("the hook failed too")

    m.register_forward_hook(failing, always_call=True)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(ValueError, match="broken forward"):
            m(fg.ones(1))
    assert any("the hook failed too" in str(w.message) for w in caught)


def test_hooks_see_each_layer_of_a_sequential_and_refuse_non_callables():
    # Linear then ReLU normally run as one op; with a hook on either, each runs itself
    fg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    x = fg.randn(5, 3)
    expected = model(x).detach().numpy()
    features = {}
    for name, layer in model.named_children():
        layer.register_forward_hook(
            lambda mod, args, out, name=name: features.__setitem__(name, out.detach().numpy())
        )
    np.testing.assert_allclose(model(x).detach().numpy(), expected, rtol=1e-6)
    assert sorted(features) == ["0", "1", "2"]
    np.testing.assert_allclose(features["1"], np.maximum(features["0"], 0.0))
    with pytest.raises(TypeError, match=r"\[register_forward_hook\] expected a callable"):
        model.register_forward_hook(None)
