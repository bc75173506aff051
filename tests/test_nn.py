"""forgegrad.nn: Module mechanics (registration, traversal, train/eval, zero_grad, apply, repr,
to), state_dict / load_state_dict (strict and not, rejected loads change nothing), the layers
(Linear, activations, Dropout, Flatten, Identity, Sequential, ModuleList) and loss modules
against float64 numpy, nn.init statistics, nn.utils.clip_grad_norm_, and a tiny MLP that
learns XOR."""

import collections
import math

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn.functional as F
from forgegrad import nn
from forgegrad.nn import init

from helpers import (
    as_tensor,
    assert_close,
    check_backward,
    check_forward,
    make_input,
    np_bce_logits,
    np_cross_entropy,
    np_gelu,
    np_gelu_tanh,
    np_l1,
    np_log_softmax,
    np_mse,
    np_nll,
    np_sigmoid,
    np_softmax,
    to_numpy,
)

REDUCTIONS = ["mean", "sum", "none"]


def _gemm_atol(k):
    # A K-term float32 dot product of O(1) values, judged norm-wise (as in test_matmul.py).
    return 1e-6 * max(k, 8)


def _snapshot(model):
    """Copies of every parameter and buffer (state_dict shares storage, so copy)."""
    out = {n: to_numpy(p).copy() for n, p in model.named_parameters()}
    out.update({"buffer:" + n: to_numpy(b).copy() for n, b in model.named_buffers()})
    return out


def _assert_same_snapshot(before, after):
    assert before.keys() == after.keys()
    for k in before:
        assert np.array_equal(before[k], after[k]), f"{k} changed"


class Net(nn.Module):
    """Own parameter, persistent and non-persistent buffers, plain attributes, children."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(3, 4)
        self.act = nn.ReLU()
        self.fc2 = nn.Linear(4, 2)
        self.scale = nn.Parameter(fg.ones(2))
        self.register_buffer("running", fg.zeros(2))
        self.register_buffer("scratch", fg.zeros(5), persistent=False)
        self.note = "plain"
        self.plain_tensor = fg.zeros(1)  # a plain attribute: neither parameter nor buffer

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x))) * self.scale + self.running


NET_PARAMS = ["scale", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]
NET_STATE = ["scale", "running", "fc1.weight", "fc1.bias", "fc2.weight", "fc2.bias"]


def _net_with_seed(seed):
    fg.manual_seed(seed)
    net = Net()
    with fg.no_grad():
        net.running.copy_(fg.tensor(np.full(2, 0.25 + seed, dtype=np.float32)))
    return net


# =============================================================================== Parameter
def test_parameter_basics():
    t = fg.tensor(make_input((3, 4)))
    p = nn.Parameter(t)
    assert isinstance(p, fg.Tensor) and p.requires_grad and p.is_leaf
    assert np.shares_memory(to_numpy(p), to_numpy(t)), "Parameter must share data's storage"
    assert repr(p).startswith("Parameter containing:\n")
    assert not t.requires_grad  # the data tensor itself is not changed
    assert not nn.Parameter(t, requires_grad=False).requires_grad
    # from a non-leaf: a new leaf sharing the values, cut from the old graph
    x = fg.tensor(make_input((3,)), requires_grad=True)
    q = nn.Parameter(x * 2.0)
    assert q.is_leaf and q.grad_fn is None and q.requires_grad
    (q * 3.0).sum().backward()
    assert np.all(to_numpy(q.grad) == 3.0) and x.grad is None
    assert tuple(nn.Parameter().shape) == (0,)
    with pytest.raises(TypeError):
        nn.Parameter(np.zeros(3, dtype=np.float32))


# ======================================================================= Module mechanics
def test_registration_by_attribute():
    net = Net()
    assert list(net._parameters) == ["scale"]
    assert list(net._modules) == ["fc1", "act", "fc2"]
    assert list(net._buffers) == ["running", "scratch"]
    assert net.fc1 is net._modules["fc1"] and net.scale is net._parameters["scale"]
    assert isinstance(net.running, fg.Tensor)
    assert net.note == "plain"
    assert [n for n, _ in net.named_buffers()] == ["running", "scratch"]  # both are buffers
    assert "plain_tensor" not in dict(net.named_buffers())
    assert all(p is not net.plain_tensor for p in net.parameters())
    with pytest.raises(AttributeError):
        net.does_not_exist
    # deleting a registered name unregisters it
    del net.scale
    assert [n for n, _ in net.named_parameters()] == NET_PARAMS[1:]
    with pytest.raises(AttributeError):
        net.scale


def test_buffer_assignment_and_persistence():
    net = Net()
    net.running = fg.ones(2)  # assigning a Tensor to a buffer name replaces the buffer
    assert np.array_equal(to_numpy(net._buffers["running"]), np.ones(2))
    with pytest.raises(TypeError):
        net.running = [1.0, 2.0]
    with pytest.raises(TypeError):
        net.register_buffer("bad", np.zeros(2))
    sd = net.state_dict()
    assert "running" in sd and "scratch" not in sd
    # re-registering as persistent puts it into the state dict
    net.register_buffer("scratch", fg.zeros(5), persistent=True)
    assert "scratch" in net.state_dict()
    with pytest.raises(ValueError):
        net.register_buffer("a.b", fg.zeros(1))


def test_named_parameters_order_and_dotted_names():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == NET_PARAMS
    params = list(net.parameters())
    assert len(params) == 5 and params[1] is net.fc1.weight and params[0] is net.scale
    assert all(isinstance(p, nn.Parameter) for p in params)
    seq = nn.Sequential(nn.Sequential(nn.Linear(2, 3), nn.ReLU()), nn.Linear(3, 1))
    assert [n for n, _ in seq.named_parameters()] == [
        "0.0.weight",
        "0.0.bias",
        "1.weight",
        "1.bias",
    ]
    assert [n for n, _ in seq.named_parameters(prefix="model")][0] == "model.0.0.weight"


def test_parameters_recurse_false():
    net = Net()
    assert [n for n, _ in net.named_parameters(recurse=False)] == ["scale"]
    assert list(net.parameters(recurse=False)) == [net.scale]
    assert list(nn.Sequential(nn.Linear(2, 2)).parameters(recurse=False)) == []
    assert [n for n, _ in net.named_buffers(recurse=False)] == ["running", "scratch"]


def test_shared_parameters_counted_once():
    a, b = nn.Linear(3, 3), nn.Linear(3, 3)
    b.weight = a.weight  # tied weights
    seq = nn.Sequential(a, b)
    assert [n for n, _ in seq.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    assert len(list(seq.parameters())) == 3
    # the same module in two slots: its parameters and the module itself appear once
    twice = nn.Sequential(a, a)
    assert len(list(twice.parameters())) == 2
    assert [n for n, _ in twice.named_modules()] == ["", "0"]
    assert list(twice.children()) == [a]
    # gradients through a tied weight accumulate in the one Parameter
    x = fg.tensor(make_input((5, 3)))
    seq(x).sum().backward()
    assert a.weight.grad is not None and b.weight is a.weight


def test_children_modules_named_modules():
    inner = nn.Sequential(nn.Linear(2, 3), nn.ReLU())
    model = nn.Sequential(inner, nn.Linear(3, 1))
    assert list(model.children()) == [inner, model[1]]
    assert [n for n, _ in model.named_children()] == ["0", "1"]
    named = list(model.named_modules())
    assert [n for n, _ in named] == ["", "0", "0.0", "0.1", "1"]
    assert named[0][1] is model and named[2][1] is inner[0]
    assert list(model.modules()) == [m for _, m in named]
    net = Net()
    assert [n for n, _ in net.named_modules()] == ["", "fc1", "act", "fc2"]
    assert list(net.children()) == [net.fc1, net.act, net.fc2]


def test_train_eval_propagate():
    model = nn.Sequential(
        nn.Linear(4, 4), nn.Sequential(nn.Dropout(0.5), nn.ReLU()), nn.ModuleList([nn.Dropout(0.3)])
    )
    assert all(m.training for m in model.modules())
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    x = fg.tensor(make_input((8, 4), "nonzero"))
    # eval: Dropout is the identity, so the output is deterministic
    assert np.array_equal(to_numpy(model[:2](x)), to_numpy(model[:2](x)))
    assert model.train() is model
    assert all(m.training for m in model.modules())
    # train: the Dropout inside draws a fresh mask each call
    assert not np.array_equal(to_numpy(model[:2](x)), to_numpy(model[:2](x)))
    model.train(False)
    assert not any(m.training for m in model.modules())
    model[1].train()  # only that subtree
    assert [m.training for m in model.modules()] == [False, False, True, True, True, False, False]
    with pytest.raises(TypeError):
        model.train("yes")


def test_zero_grad():
    net = Net()
    x = fg.tensor(make_input((6, 3)))
    net(x).sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    net(x).sum().backward()
    assert any(np.any(to_numpy(p.grad) != 0) for p in net.parameters())
    net.zero_grad(set_to_none=False)
    for n, p in net.named_parameters():
        assert p.grad is not None, n
        assert tuple(p.grad.shape) == tuple(p.shape)
        assert np.all(to_numpy(p.grad) == 0), n
    # a parameter without grad stays without
    lin = nn.Linear(2, 2)
    lin.zero_grad(set_to_none=False)
    assert lin.weight.grad is None


def test_requires_grad_():
    net = Net()
    assert net.requires_grad_(False) is net
    assert not any(p.requires_grad for p in net.parameters())
    net.requires_grad_()
    assert all(p.requires_grad for p in net.parameters())


def test_apply_children_first():
    l1, r, l2 = nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1)
    inner = nn.Sequential(l1, r)
    outer = nn.Sequential(inner, l2)
    seen = []
    assert outer.apply(seen.append) is outer
    assert seen == [l1, r, inner, l2, outer]

    def zero_linear(m):
        if isinstance(m, nn.Linear):
            init.zeros_(m.weight)
            init.ones_(m.bias)

    outer.apply(zero_linear)
    assert np.all(to_numpy(l1.weight) == 0) and np.all(to_numpy(l2.bias) == 1)


def test_call_runs_forward():
    class Echo(nn.Module):
        def forward(self, a, b=0, *, c=1):
            return (a, b, c)

    assert Echo()(1, 2, c=3) == (1, 2, 3)
    assert Echo()(5) == (5, 0, 1)
    with pytest.raises(NotImplementedError):
        nn.Module()(fg.zeros(1))


def test_repr_tree():
    model = nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 1, bias=False))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=2, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=3, out_features=1, bias=False)\n"
        ")"
    )
    nested = nn.Sequential(
        collections.OrderedDict(
            [("block", nn.Sequential(nn.Dropout(0.1), nn.GELU("tanh"))), ("out", nn.Softmax(1))]
        )
    )
    assert repr(nested) == (
        "Sequential(\n"
        "  (block): Sequential(\n"
        "    (0): Dropout(p=0.1, inplace=False)\n"
        "    (1): GELU(approximate='tanh')\n"
        "  )\n"
        "  (out): Softmax(dim=1)\n"
        ")"
    )
    assert repr(nn.Tanh()) == "Tanh()"
    assert repr(nn.MSELoss()) == "MSELoss()"
    assert repr(nn.L1Loss(reduction="sum")) == "L1Loss(reduction='sum')"
    assert repr(nn.Flatten()) == "Flatten(start_dim=1, end_dim=-1)"


def test_assign_non_parameter_to_parameter_name():
    lin = nn.Linear(2, 3)
    w = lin.weight
    with pytest.raises(TypeError, match="weight"):
        lin.weight = fg.zeros(3, 2)  # a plain Tensor is not a Parameter
    assert lin.weight is w
    with pytest.raises(TypeError):
        lin.register_parameter("extra", fg.zeros(1))
    lin.note = "a string"  # fine as a plain attribute...
    with pytest.raises(TypeError):
        lin.add_module("fc2", "not a module")  # ...but not as a module
    seq = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(TypeError):
        seq.add_module("x", nn.Parameter(fg.zeros(1)))
    # None is allowed and unregisters the value from parameters()
    lin.bias = None
    assert [n for n, _ in lin.named_parameters()] == ["weight"]
    assert lin.bias is None


def test_module_without_super_init():
    class NoInit(nn.Module):
        def __init__(self, what):
            if what == "module":
                self.fc = nn.Linear(2, 2)
            elif what == "parameter":
                self.w = nn.Parameter(fg.zeros(2))
            else:
                self.register_buffer("b", fg.zeros(2))

    for what in ("module", "parameter", "buffer"):
        with pytest.raises(RuntimeError, match=r"super\(\).__init__\(\)"):
            NoInit(what)


def test_module_without_super_init_fails_clearly_when_used():
    class NoInit(nn.Module):
        def __init__(self):
            pass

    m = NoInit()
    for use in (
        lambda: list(m.parameters()),
        lambda: m.state_dict(),
        lambda: m.train(),
        lambda: m.training,
    ):
        with pytest.raises(RuntimeError, match=r"^\[NoInit\] call super\(\).__init__\(\)"):
            use()
    with pytest.raises(AttributeError, match="no attribute 'other'"):
        m.other  # other names stay an AttributeError (hasattr, copy and pickle rely on it)


def test_register_refuses_a_name_taken_by_another_kind():
    # As in PyTorch: register_buffer / register_parameter / add_module raise KeyError for a
    # name that is already a parameter, buffer, submodule, plain attribute or method of
    # another kind, and change nothing; attribute assignment keeps replacing.
    lin = nn.Linear(2, 3)
    lin.note = "plain"
    weight, snap = lin.weight, _snapshot(lin)
    cases = [
        (lambda: lin.add_module("weight", nn.ReLU()), "add_module", "weight"),
        (lambda: lin.register_buffer("weight", fg.zeros(1)), "register_buffer", "weight"),
        (lambda: lin.register_buffer("training", fg.zeros(1)), "register_buffer", "training"),
        (lambda: lin.register_buffer("forward", fg.zeros(1)), "register_buffer", "forward"),
        (lambda: lin.register_parameter("note", None), "register_parameter", "note"),
        (lambda: lin.add_module("train", nn.ReLU()), "add_module", "train"),
    ]
    for register, op, name in cases:
        with pytest.raises(KeyError, match=rf"\[{op}\] attribute '{name}' already exists"):
            register()
    assert lin.weight is weight and lin.note == "plain" and lin.training is True
    assert list(lin._modules) == [] and list(lin._buffers) == []
    _assert_same_snapshot(snap, _snapshot(lin))
    assert callable(lin.forward) and callable(lin.train)
    # Re-registering the same kind replaces; assignment replaces another kind.
    lin.register_parameter("weight", nn.Parameter(fg.zeros(3, 2)))
    lin.note = nn.ReLU()
    assert "note" in lin._modules and "note" not in lin.__dict__
    lin.weight = nn.Parameter(fg.ones(3, 2))
    assert np.array_equal(to_numpy(lin.weight), np.ones((3, 2)))


def test_to_cpu_returns_self_and_keeps_parameters():
    net = Net()
    before = list(net.parameters())
    snap = _snapshot(net)
    assert net.to("cpu") is net
    assert net.to(fg.device("cpu")) is net
    assert net.cpu() is net
    after = list(net.parameters())
    assert len(after) == len(before) and all(a is b for a, b in zip(after, before))
    assert all(p.device.type == "cpu" for p in after)
    _assert_same_snapshot(snap, _snapshot(net))


# ================================================================ state_dict / load_state_dict
def test_state_dict_keys_values_and_sharing():
    net = Net()
    sd = net.state_dict()
    assert list(sd) == NET_STATE
    params = dict(net.named_parameters())
    for k in NET_PARAMS:
        assert np.array_equal(to_numpy(sd[k]), to_numpy(params[k]))
        assert not sd[k].requires_grad and sd[k].grad_fn is None  # detached
        assert not isinstance(sd[k], nn.Parameter)
        assert np.shares_memory(to_numpy(sd[k]), to_numpy(params[k]))
    assert np.array_equal(to_numpy(sd["running"]), to_numpy(net.running))
    # writing through the state dict writes the parameter (shared storage)
    with fg.no_grad():
        sd["fc1.bias"].fill_(7.0)
    assert np.all(to_numpy(net.fc1.bias) == 7.0)
    # Linear without bias has no bias key
    assert list(nn.Linear(2, 2, bias=False).state_dict()) == ["weight"]


def test_state_dict_round_trip_identical_outputs():
    src, dst = _net_with_seed(1), _net_with_seed(2)
    x = fg.tensor(make_input((9, 3)))
    assert not np.array_equal(to_numpy(src(x)), to_numpy(dst(x)))
    dst_params = list(dst.parameters())
    result = dst.load_state_dict(src.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    assert np.array_equal(to_numpy(src(x)), to_numpy(dst(x)))
    assert np.array_equal(to_numpy(dst.running), to_numpy(src.running))  # buffer loaded
    # loads in place: the Parameter objects are kept (an optimizer holding them stays valid)
    assert all(a is b for a, b in zip(dst.parameters(), dst_params))
    assert all(p.requires_grad and p.is_leaf for p in dst.parameters())
    # the copy does not alias the source
    with fg.no_grad():
        src.fc1.weight.fill_(0.0)
    assert np.any(to_numpy(dst.fc1.weight) != 0)


def _other_state(seed=5):
    """A valid full state dict with values different from any other seed's."""
    return {k: v.clone() for k, v in _net_with_seed(seed).state_dict().items()}


def test_load_strict_missing_keys_raise_and_change_nothing():
    net = _net_with_seed(1)
    snap = _snapshot(net)
    sd = _other_state()
    del sd["fc2.bias"], sd["running"]
    with pytest.raises(RuntimeError, match="missing") as exc:
        net.load_state_dict(sd)
    assert "fc2.bias" in str(exc.value) and "running" in str(exc.value)
    _assert_same_snapshot(snap, _snapshot(net))


def test_load_strict_unexpected_keys_raise_and_change_nothing():
    net = _net_with_seed(1)
    snap = _snapshot(net)
    sd = _other_state()
    sd["fc3.weight"] = fg.zeros(2, 2)
    sd["scratch"] = fg.zeros(5)  # non-persistent buffers are not part of the state
    with pytest.raises(RuntimeError, match="unexpected") as exc:
        net.load_state_dict(sd, strict=True)
    assert "fc3.weight" in str(exc.value) and "scratch" in str(exc.value)
    _assert_same_snapshot(snap, _snapshot(net))


def test_load_non_strict_reports_and_loads_the_rest():
    net, src = _net_with_seed(1), _net_with_seed(5)
    sd = {k: v.clone() for k, v in src.state_dict().items()}
    del sd["fc1.weight"]
    sd["extra"] = fg.zeros(1)
    old_w = to_numpy(net.fc1.weight).copy()
    missing, unexpected = net.load_state_dict(sd, strict=False)
    assert missing == ["fc1.weight"] and unexpected == ["extra"]
    assert np.array_equal(to_numpy(net.fc1.weight), old_w)  # missing: left as it was
    for k in NET_STATE:
        if k != "fc1.weight":
            assert np.array_equal(to_numpy(net.state_dict()[k]), to_numpy(src.state_dict()[k]))


# (another dtype is not bad: it is converted, as PyTorch: tests/test_dtype_ops.py)
@pytest.mark.parametrize("bad", ["shape", "not_tensor", "numpy_shape"])
@pytest.mark.parametrize("strict", [True, False])
def test_load_rejects_bad_values_and_changes_nothing(bad, strict):
    net = _net_with_seed(1)
    snap = _snapshot(net)
    sd = _other_state()  # every other entry valid and different: a partial write would show
    key = "fc2.bias"  # the last parameter: the checks must run before any write
    sd[key] = {
        "shape": fg.zeros(3),
        "not_tensor": [1.0, 2.0],
        # numpy arrays load (tests/test_interop_state_dict.py), at the right shape
        "numpy_shape": np.zeros(7, dtype=np.float32),
    }[bad]
    with pytest.raises(RuntimeError, match=key):
        net.load_state_dict(sd, strict=strict)
    _assert_same_snapshot(snap, _snapshot(net))


def test_load_state_dict_not_a_mapping():
    net = Net()
    with pytest.raises(TypeError):
        net.load_state_dict([("scale", fg.ones(2))])


def test_state_dict_buffers_persistent_only():
    net = _net_with_seed(3)
    sd = net.state_dict()
    assert "running" in sd and "scratch" not in sd
    assert [n for n, _ in net.named_buffers()] == ["running", "scratch"]
    other = Net()
    with fg.no_grad():
        other.scratch.fill_(9.0)
    other.load_state_dict(sd)
    assert np.array_equal(to_numpy(other.running), to_numpy(net.running))
    assert np.all(to_numpy(other.scratch) == 9.0)  # non-persistent: untouched by a load


# ====================================================================================== Linear
def _np_linear(x, w, b=None):
    y = x @ w.T
    return y if b is None else y + b


@pytest.mark.parametrize(
    "xshape,out_f", [((7, 33), 5), ((1, 1), 1), ((3, 7, 33), 129), ((129, 7), 33)], ids=str
)
def test_linear_forward_backward(xshape, out_f, device):
    in_f = xshape[-1]
    lin = nn.Linear(in_f, out_f).to(device)
    w, b = to_numpy(lin.weight).astype(np.float64), to_numpy(lin.bias).astype(np.float64)
    atol = _gemm_atol(max(in_f, out_f))
    x = make_input(xshape)
    out = check_forward(lin, lambda a: _np_linear(a, w, b), inputs=[x], device=device, atol=atol)
    assert tuple(out.shape) == xshape[:-1] + (out_f,)
    g = make_input(tuple(out.shape))
    (out * as_tensor(g, device)).sum().backward()
    x2, g2 = x.reshape(-1, in_f).astype(np.float64), g.reshape(-1, out_f).astype(np.float64)
    assert_close(to_numpy(lin.weight.grad), g2.T @ x2, atol=_gemm_atol(x2.shape[0]), what="dW")
    assert_close(to_numpy(lin.bias.grad), g2.sum(0), atol=_gemm_atol(x2.shape[0]), what="db")


def test_linear_no_bias(device):
    lin = nn.Linear(33, 7, bias=False).to(device)
    assert lin.bias is None
    assert [n for n, _ in lin.named_parameters()] == ["weight"]
    w = to_numpy(lin.weight).astype(np.float64)
    check_forward(lin, lambda a: _np_linear(a, w), (5, 33), device=device, atol=_gemm_atol(33))


def test_linear_shapes_and_functional(device):
    lin = nn.Linear(33, 7).to(device)
    assert tuple(lin.weight.shape) == (7, 33) and tuple(lin.bias.shape) == (7,)
    assert lin.in_features == 33 and lin.out_features == 7
    x = as_tensor(make_input((4, 33)), device)
    assert np.array_equal(to_numpy(lin(x)), to_numpy(F.linear(x, lin.weight, lin.bias)))


def test_linear_default_init_bounds():
    in_f = 1000
    bound = 1.0 / math.sqrt(in_f)
    lin = nn.Linear(in_f, 600)
    w = to_numpy(lin.weight).astype(np.float64).ravel()
    assert np.all(np.abs(w) <= bound)
    assert np.abs(w).max() > 0.99 * bound  # fills the range
    # uniform: std = bound / sqrt(3) (sampling error ~0.1% at n=6e5; 2% is loose), mean ~ 0,
    # and ten equal bins each hold ~1/10
    assert abs(w.std() / (bound / math.sqrt(3)) - 1) < 0.02
    assert abs(w.mean()) < 0.01 * bound
    hist, _ = np.histogram(w, bins=10, range=(-bound, bound))
    assert np.all(np.abs(hist / w.size - 0.1) < 0.005)
    b = to_numpy(lin.bias).astype(np.float64)
    assert np.all(np.abs(b) <= bound) and b.std() > 0
    # the bias spread, on a layer with many outputs
    wide = to_numpy(nn.Linear(100, 20000).bias).astype(np.float64)
    assert np.all(np.abs(wide) <= 0.1)
    assert abs(wide.std() / (0.1 / math.sqrt(3)) - 1) < 0.03


@pytest.mark.parametrize("bad", [0, -1, 2.5, True, "3", None])
def test_linear_bad_features(bad):
    with pytest.raises(ValueError):
        nn.Linear(bad, 3)
    with pytest.raises(ValueError):
        nn.Linear(3, bad)


# ================================================================================ activations
def _np_leaky(slope):
    return lambda x: np.where(x > 0, x, slope * x)


ACTIVATIONS = {
    "ReLU": (lambda: nn.ReLU(), lambda x: np.maximum(x, 0.0), F.relu),
    "ReLU_inplace_flag": (lambda: nn.ReLU(inplace=True), lambda x: np.maximum(x, 0.0), F.relu),
    "LeakyReLU": (lambda: nn.LeakyReLU(), _np_leaky(0.01), F.leaky_relu),
    "LeakyReLU_0.2": (lambda: nn.LeakyReLU(0.2), _np_leaky(0.2), lambda t: F.leaky_relu(t, 0.2)),
    "GELU": (lambda: nn.GELU(), np_gelu, F.gelu),
    "GELU_tanh": (lambda: nn.GELU(approximate="tanh"), np_gelu_tanh, lambda t: F.gelu(t, "tanh")),
    "Tanh": (lambda: nn.Tanh(), np.tanh, F.tanh),
    "Sigmoid": (lambda: nn.Sigmoid(), np_sigmoid, F.sigmoid),
    "SiLU": (lambda: nn.SiLU(), lambda x: x * np_sigmoid(x), F.silu),
}


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_module(name, device):
    make, ref, functional = ACTIVATIONS[name]
    layer = make()
    x = make_input((7, 33), (-4.0, 4.0), avoid=(0.0,))
    out = check_forward(layer, ref, inputs=[x], device=device)
    assert np.array_equal(to_numpy(out), to_numpy(functional(as_tensor(x, device))))
    assert np.array_equal(to_numpy(as_tensor(x, device)), x)  # input untouched
    check_backward(layer, ref, inputs=[x], device=device, elementwise=True)


def test_gelu_bad_approximate():
    with pytest.raises(ValueError):
        nn.GELU(approximate="fast")


@pytest.mark.parametrize(
    "shape,dim", [((7, 33), 0), ((7, 33), 1), ((7, 33), -1), ((3, 7, 5), 1), ((33,), 0)], ids=str
)
@pytest.mark.parametrize("cls", ["Softmax", "LogSoftmax"])
def test_softmax_modules(cls, shape, dim, device):
    layer = getattr(nn, cls)(dim=dim)
    ref = np_softmax if cls == "Softmax" else np_log_softmax
    check_forward(layer, lambda x: ref(x, axis=dim), shape, device=device, domain=(-4.0, 4.0))


@pytest.mark.parametrize(
    "shape,implicit", [((33,), 0), ((7, 33), 1), ((3, 7, 5), 0), ((2, 3, 4, 5), 1)], ids=str
)
@pytest.mark.parametrize("cls", ["Softmax", "LogSoftmax"])
def test_softmax_implicit_dim(cls, shape, implicit, device):
    # PyTorch's legacy rule without dim: 0 for 0-, 1- and 3-D input, else 1.
    layer = getattr(nn, cls)()
    assert layer.dim is None
    ref = np_softmax if cls == "Softmax" else np_log_softmax
    check_forward(layer, lambda x: ref(x, axis=implicit), shape, device=device)


# ===================================================================================== Dropout
def test_dropout_eval_is_identity(device):
    layer = nn.Dropout(0.5).eval()
    x = as_tensor(make_input((33, 129), "nonzero"), device)
    assert np.array_equal(to_numpy(layer(x)), to_numpy(x))


@pytest.mark.parametrize("p", [0.2, 0.5, 0.9])
def test_dropout_train_zeros_and_scales(p, device):
    layer = nn.Dropout(p)
    assert layer.training
    n = 100_003
    x = make_input((n,), "nonzero")
    out = to_numpy(layer(as_tensor(x, device))).astype(np.float64)
    kept = out != 0
    frac = 1.0 - kept.mean()
    assert abs(frac - p) < 5 * math.sqrt(p * (1 - p) / n), f"dropped {frac} for p={p}"
    assert_close(out[kept], x.astype(np.float64)[kept] / (1.0 - p), rtol=1e-6)


def test_dropout_edge_p(device):
    x = as_tensor(make_input((7, 33), "nonzero"), device)
    assert np.array_equal(to_numpy(nn.Dropout(0.0)(x)), to_numpy(x))
    assert np.all(to_numpy(nn.Dropout(1.0)(x)) == 0)
    assert nn.Dropout().p == 0.5


def test_dropout_reproducible_under_manual_seed():
    x = fg.ones(1000)
    fg.manual_seed(7)
    a = to_numpy(nn.Dropout(0.5)(x))
    fg.manual_seed(7)
    b = to_numpy(nn.Dropout(0.5)(x))
    c = to_numpy(nn.Dropout(0.5)(x))
    assert np.array_equal(a, b) and not np.array_equal(b, c)


@pytest.mark.parametrize(
    "make, message",
    [
        (
            lambda: nn.CrossEntropyLoss(label_smoothing="0.1"),
            r"\[CrossEntropyLoss\] label_smoothing",
        ),
        (lambda: nn.Softmax(dim=1.0), r"\[Softmax\] dim must be an int or None, got 1.0"),
        (lambda: nn.LogSoftmax(dim="1"), r"\[LogSoftmax\] dim"),
        (lambda: nn.LeakyReLU("a"), r"\[LeakyReLU\] negative_slope must be a number, got 'a'"),
        (lambda: nn.Flatten("a"), r"\[Flatten\] start_dim must be an int, got 'a'"),
        (lambda: nn.Flatten(1, 2.0), r"\[Flatten\] end_dim must be an int, got 2.0"),
    ],
    ids=["label_smoothing", "softmax", "logsoftmax", "leaky", "flatten-start", "flatten-end"],
)
def test_layer_arguments_of_the_wrong_type_fail_at_construction(make, message):
    with pytest.raises(TypeError, match="^" + message):
        make()


@pytest.mark.parametrize("bad", [-0.1, 1.5, float("nan")])
def test_dropout_bad_p(bad):
    with pytest.raises(ValueError, match=r"\[Dropout\] p must be a probability"):
        nn.Dropout(bad)


@pytest.mark.parametrize("bad", [True, "0.5", None])
def test_dropout_p_of_the_wrong_type(bad):
    with pytest.raises(TypeError, match=r"\[Dropout\] p must be a number"):
        nn.Dropout(bad)


# ========================================================================= Flatten / Identity
def test_flatten_and_identity(device):
    x = make_input((2, 3, 4, 5))
    t = as_tensor(x, device)
    for layer, shape in [
        (nn.Flatten(), (2, 60)),
        (nn.Flatten(0, -1), (120,)),
        (nn.Flatten(1, 2), (2, 12, 5)),
        (nn.Flatten(start_dim=2), (2, 3, 20)),
    ]:
        out = to_numpy(layer(t))
        assert out.shape == shape
        assert np.array_equal(out, x.reshape(shape))
    ident = nn.Identity(54, unused="argument")
    assert ident(t) is t
    assert list(ident.parameters()) == []


# ================================================================== Sequential / ModuleList
def test_sequential_forward_indexing_slicing():
    l1, act, l2 = nn.Linear(33, 7), nn.Tanh(), nn.Linear(7, 3)
    seq = nn.Sequential(l1, act, l2)
    x = fg.tensor(make_input((5, 33)))
    assert np.array_equal(to_numpy(seq(x)), to_numpy(l2(act(l1(x)))))
    assert len(seq) == 3 and list(seq) == [l1, act, l2]
    assert seq[0] is l1 and seq[-1] is l2 and seq[-3] is l1
    for bad in (3, -4, 100):
        with pytest.raises(IndexError):
            seq[bad]
    tail = seq[1:]
    assert isinstance(tail, nn.Sequential) and list(tail) == [act, l2]
    assert np.array_equal(to_numpy(tail(l1(x))), to_numpy(seq(x)))
    assert list(seq[::2]) == [l1, l2] and len(seq[5:]) == 0
    # replacing an entry
    seq[1] = nn.ReLU()
    assert isinstance(seq[1], nn.ReLU) and len(seq) == 3


class _LoggedLinear(nn.Linear):
    calls = 0

    def forward(self, input):
        _LoggedLinear.calls += 1
        return super().forward(input)


def test_sequential_fuses_linear_relu(device):
    # Linear then ReLU runs as one op (one LinearBackward node, the ReLU in the GEMM), with
    # exactly the outputs and gradients of the modules run one after the other.
    fg.manual_seed(3)
    model = nn.Sequential(
        nn.Linear(33, 64), nn.ReLU(), nn.Linear(64, 16), nn.ReLU(), nn.Linear(16, 5), nn.Tanh()
    ).to(device)
    x = make_input((9, 33))
    results = []
    for run in (model, lambda t: _run_one_by_one(model, t)):
        model.zero_grad()
        xt = as_tensor(x, device, requires_grad=True)
        out = run(xt)
        (out * out).sum().backward()
        results.append(
            [to_numpy(out), to_numpy(xt.grad)] + [to_numpy(p.grad) for p in model.parameters()]
        )
    for got, want in zip(*results):
        np.testing.assert_array_equal(got, want)
    assert repr(model[:2](as_tensor(x, device)).grad_fn) == "<LinearBackward>"


def _run_one_by_one(model, x):
    for module in model:
        x = module(x)
    return x


def test_sequential_runs_subclass_forward():
    # A subclass of Linear may have its own forward: it is called, not fused past.
    _LoggedLinear.calls = 0
    model = nn.Sequential(_LoggedLinear(3, 4), nn.ReLU(), nn.Linear(4, 2), nn.ReLU())
    x = fg.tensor(make_input((2, 3)))
    out = model(x)
    assert _LoggedLinear.calls == 1
    np.testing.assert_array_equal(to_numpy(out), to_numpy(_run_one_by_one(model, x)))


def test_sequential_append_and_ordereddict_names():
    seq = nn.Sequential(collections.OrderedDict([("fc", nn.Linear(4, 3)), ("act", nn.ReLU())]))
    assert [n for n, _ in seq.named_children()] == ["fc", "act"]
    assert [n for n, _ in seq.named_parameters()] == ["fc.weight", "fc.bias"]
    assert seq.fc is seq[0] and seq.act is seq[-1]
    out = nn.Linear(3, 2)
    assert seq.append(out) is seq
    assert len(seq) == 3 and seq[2] is out
    assert [n for n, _ in seq.named_parameters()][-2:] == ["2.weight", "2.bias"]
    x = fg.tensor(make_input((6, 4)))
    assert tuple(seq(x).shape) == (6, 2)
    empty = nn.Sequential()
    assert len(empty) == 0 and empty(x) is x  # an empty Sequential is the identity


def test_modulelist():
    class Owner(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([nn.Linear(3, 3), nn.ReLU()])
            self.layers.append(nn.Linear(3, 2))

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    owner = Owner()
    assert [n for n, _ in owner.named_parameters()] == [
        "layers.0.weight",
        "layers.0.bias",
        "layers.2.weight",
        "layers.2.bias",
    ]
    assert list(owner.state_dict()) == [n for n, _ in owner.named_parameters()]
    ml = owner.layers
    assert len(ml) == 3 and ml[-1] is list(ml)[2]
    assert ml.extend([nn.Tanh(), nn.Linear(2, 2)]) is ml
    assert len(ml) == 5 and isinstance(ml[3], nn.Tanh)
    assert [n for n, _ in ml.named_children()] == ["0", "1", "2", "3", "4"]
    part = ml[1:3]
    assert isinstance(part, nn.ModuleList) and list(part) == [ml[1], ml[2]]
    assert [n for n, _ in part.named_children()] == ["0", "1"]
    with pytest.raises(IndexError):
        ml[5]
    x = fg.tensor(make_input((4, 3)))
    assert tuple(owner(x).shape) == (4, 2)
    with pytest.raises(NotImplementedError):
        ml(x)
    assert len(nn.ModuleList()) == 0


# ====================================================================================== losses
def _loss_inputs(name, rng):
    if name in ("MSELoss", "L1Loss"):
        return make_input((7, 33), "nonzero"), make_input((7, 33), (-0.25, 0.25))
    if name == "BCEWithLogitsLoss":
        return make_input((7, 33), (-4.0, 4.0)), make_input((7, 33), (0.0, 1.0))
    c = 33
    x = make_input((7, c), (-4.0, 0.0) if name == "NLLLoss" else (-4.0, 4.0))
    return x, rng.integers(0, c, size=(7,)).astype(np.int64)


LOSSES = {
    "MSELoss": (F.mse_loss, np_mse),
    "L1Loss": (F.l1_loss, np_l1),
    "CrossEntropyLoss": (F.cross_entropy, np_cross_entropy),
    "NLLLoss": (F.nll_loss, np_nll),
    "BCEWithLogitsLoss": (F.binary_cross_entropy_with_logits, np_bce_logits),
}


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_modules(name, reduction, device, rng):
    functional, ref = LOSSES[name]
    layer = getattr(nn, name)(reduction=reduction)
    assert layer.reduction == reduction
    x, t = _loss_inputs(name, rng)
    out = check_forward(layer, lambda a, b: ref(a, b, reduction), inputs=[x, t], device=device)
    same = functional(as_tensor(x, device), as_tensor(t, device), reduction=reduction)
    assert np.array_equal(to_numpy(out), to_numpy(same))
    check_backward(layer, lambda a, b: ref(a, b, reduction), inputs=[x, t], device=device, wrt=[0])


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_modules_default_mean(name, device, rng):
    functional, ref = LOSSES[name]
    layer = getattr(nn, name)()
    assert layer.reduction == "mean"
    x, t = _loss_inputs(name, rng)
    check_forward(layer, ref, inputs=[x, t], device=device)


@pytest.mark.parametrize("smoothing", [0.1, 0.4, 1.0])
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_cross_entropy_loss_label_smoothing(reduction, smoothing, device, rng):
    layer = nn.CrossEntropyLoss(reduction=reduction, label_smoothing=smoothing)
    x, t = _loss_inputs("CrossEntropyLoss", rng)
    ref = lambda a, b: np_cross_entropy(a, b, reduction, smoothing)
    out = check_forward(layer, ref, inputs=[x, t], device=device)
    same = F.cross_entropy(
        as_tensor(x, device), as_tensor(t, device), reduction=reduction, label_smoothing=smoothing
    )
    assert np.array_equal(to_numpy(out), to_numpy(same))
    check_backward(layer, ref, inputs=[x, t], device=device, wrt=[0])


@pytest.mark.parametrize("bad", ["avg", "MEAN", None, "", 1])
@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_bad_reduction(name, bad):
    with pytest.raises(ValueError):
        getattr(nn, name)(reduction=bad)


@pytest.mark.parametrize("bad", [-0.1, 1.5])
def test_cross_entropy_bad_label_smoothing(bad):
    with pytest.raises(ValueError):
        nn.CrossEntropyLoss(label_smoothing=bad)


# ==================================================================================== nn.init
N_BIG = 1 << 20  # ~1e6 samples: the mean is known to ~1e-3 sigma, the std to ~0.1%


def test_init_uniform_statistics():
    t = fg.empty(N_BIG)
    assert init.uniform_(t, -2.0, 3.0) is t
    v = to_numpy(t).astype(np.float64)
    assert v.min() >= -2.0 and v.max() <= 3.0
    assert v.min() < -1.99 and v.max() > 2.99
    assert abs(v.mean() - 0.5) < 0.01
    assert abs(v.std() / (5.0 / math.sqrt(12)) - 1) < 0.01
    d = to_numpy(init.uniform_(fg.empty(N_BIG))).astype(np.float64)  # default U(0, 1)
    assert d.min() >= 0.0 and d.max() <= 1.0 and abs(d.mean() - 0.5) < 0.005
    with pytest.raises(ValueError):
        init.uniform_(fg.empty(3), 1.0, 0.0)


def test_init_normal_statistics():
    t = fg.empty(1024, 1024)
    assert init.normal_(t, mean=1.5, std=0.5) is t
    v = to_numpy(t).astype(np.float64)
    assert abs(v.mean() - 1.5) < 0.005 and abs(v.std() / 0.5 - 1) < 0.01
    # ~68.3% within one std
    assert abs(np.mean(np.abs(v - 1.5) < 0.5) - 0.6827) < 0.005
    d = to_numpy(init.normal_(fg.empty(N_BIG))).astype(np.float64)
    assert abs(d.mean()) < 0.01 and abs(d.std() - 1) < 0.01
    assert np.all(to_numpy(init.normal_(fg.empty(5), 3.0, 0.0)) == 3.0)
    with pytest.raises(ValueError):
        init.normal_(fg.empty(3), 0.0, -1.0)


def test_init_constant_zeros_ones():
    t = fg.tensor(make_input((7, 33)))
    assert init.constant_(t, 0.25) is t and np.all(to_numpy(t) == 0.25)
    assert np.all(to_numpy(init.zeros_(t)) == 0.0)
    assert np.all(to_numpy(init.ones_(t)) == 1.0)


def _uniform_bound_checks(v, bound):
    assert np.all(np.abs(v) <= bound * (1 + 1e-6))
    assert np.abs(v).max() > 0.99 * bound
    assert abs(v.std() / (bound / math.sqrt(3)) - 1) < 0.02


def test_xavier():
    t = fg.empty(700, 900)
    bound = 2.0 * math.sqrt(6.0 / (700 + 900))
    _uniform_bound_checks(to_numpy(init.xavier_uniform_(t, gain=2.0)).astype(np.float64), bound)
    v = to_numpy(init.xavier_normal_(t, gain=0.5)).astype(np.float64)
    assert abs(v.std() / (0.5 * math.sqrt(2.0 / 1600)) - 1) < 0.02 and abs(v.mean()) < 1e-3
    # a 4-D (conv-shaped) tensor: fan_in = 8*3*3, fan_out = 64*3*3
    c = to_numpy(init.xavier_uniform_(fg.empty(64, 8, 3, 3))).astype(np.float64)
    assert np.all(np.abs(c) <= math.sqrt(6.0 / (72 + 576)))


@pytest.mark.parametrize("mode", ["fan_in", "fan_out"])
@pytest.mark.parametrize(
    "nonlinearity,a",
    [("relu", 0.0), ("leaky_relu", 0.0), ("leaky_relu", 0.2), ("tanh", 0.0), ("linear", 0.0)],
)
def test_kaiming(mode, nonlinearity, a):
    shape = (400, 2500)  # fan_in 2500, fan_out 400: the mode changes the scale 2.5x
    fan = 2500 if mode == "fan_in" else 400
    gain = {
        "relu": math.sqrt(2.0),
        "leaky_relu": math.sqrt(2.0 / (1 + a * a)),
        "tanh": 5.0 / 3,
        "linear": 1.0,
    }[nonlinearity]
    std = gain / math.sqrt(fan)
    t = fg.empty(*shape)
    assert init.kaiming_uniform_(t, a=a, mode=mode, nonlinearity=nonlinearity) is t
    _uniform_bound_checks(to_numpy(t).astype(np.float64), math.sqrt(3.0) * std)
    v = to_numpy(init.kaiming_normal_(t, a=a, mode=mode, nonlinearity=nonlinearity))
    v = v.astype(np.float64)
    assert abs(v.std() / std - 1) < 0.02 and abs(v.mean()) < 0.01 * std


def test_kaiming_defaults_and_conv_fan():
    # defaults: a=0, fan_in, leaky_relu -> gain sqrt(2); fan_in of (16, 8, 5, 5) is 200
    v = to_numpy(init.kaiming_normal_(fg.empty(512, 8, 5, 5))).astype(np.float64)
    assert abs(v.std() / (math.sqrt(2.0) / math.sqrt(200)) - 1) < 0.02
    v = to_numpy(init.kaiming_uniform_(fg.empty(16, 8, 5, 5), mode="fan_out"))
    assert np.all(np.abs(v) <= math.sqrt(3.0) * math.sqrt(2.0) / math.sqrt(400) * (1 + 1e-6))
    with pytest.raises(ValueError):
        init.kaiming_uniform_(fg.empty(3, 3), mode="fan_avg")
    with pytest.raises(ValueError):
        init.kaiming_normal_(fg.empty(3, 3), nonlinearity="swish")


def test_calculate_gain():
    for name in ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose2d", "sigmoid"):
        assert init.calculate_gain(name) == 1.0
    assert init.calculate_gain("tanh") == pytest.approx(5.0 / 3)
    assert init.calculate_gain("relu") == pytest.approx(math.sqrt(2.0))
    assert init.calculate_gain("leaky_relu") == pytest.approx(math.sqrt(2.0 / (1 + 0.01**2)))
    assert init.calculate_gain("leaky_relu", 0.2) == pytest.approx(math.sqrt(2.0 / 1.04))
    assert init.calculate_gain("leaky_relu", 1) == pytest.approx(1.0)
    assert init.calculate_gain("selu") == pytest.approx(0.75)
    with pytest.raises(ValueError):
        init.calculate_gain("swish")
    with pytest.raises(ValueError):
        init.calculate_gain("leaky_relu", "0.2")


@pytest.mark.parametrize(
    "fn", [init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_]
)
def test_init_fan_needs_2d(fn):
    t = fg.tensor(make_input((33,)))
    before = to_numpy(t).copy()
    with pytest.raises(ValueError, match="2 dimensions"):
        fn(t)
    assert np.array_equal(to_numpy(t), before)


def test_init_type_errors():
    with pytest.raises(TypeError):
        init.uniform_(np.zeros(3, dtype=np.float32))
    with pytest.raises(TypeError):
        init.normal_(fg.tensor(np.array([1, 2], dtype=np.int64)))


@pytest.mark.parametrize(
    "fn", [init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_]
)
@pytest.mark.parametrize("shape", [(0, 5), (5, 0), (0, 0)])
def test_init_zero_element_tensors_are_returned_unchanged(fn, shape):
    # As PyTorch's kaiming_*: a no-op with a warning (fan 0 would divide by zero).
    t = fg.zeros(*shape)
    with pytest.warns(UserWarning, match=rf"\[{fn.__name__}\] initializing a zero-element"):
        assert fn(t, mode="fan_out") is t if "kaiming" in fn.__name__ else fn(t) is t
    assert tuple(t.shape) == shape


def test_init_values_must_be_numbers():
    t = fg.tensor(make_input((4, 3)))
    before = to_numpy(t).copy()
    for fill, message in [
        (
            lambda: init.uniform_(t, "a", "b"),
            r"\[uniform_\] a and b must be numbers, got a='a', b='b'",
        ),
        (lambda: init.normal_(t, 0, "a"), r"\[normal_\] mean and std must be numbers"),
        (lambda: init.constant_(t, "a"), r"\[constant_\] val must be a number"),
        (lambda: init.xavier_uniform_(t, gain=None), r"\[xavier_uniform_\] gain"),
    ]:
        with pytest.raises(TypeError, match="^" + message):
            fill()
    assert np.array_equal(to_numpy(t), before)


def test_init_reproducible_under_manual_seed():
    fns = [
        lambda t: init.uniform_(t, -1, 1),
        init.normal_,
        init.xavier_uniform_,
        init.kaiming_normal_,
    ]
    for fn in fns:
        fg.manual_seed(1234)
        a = to_numpy(fn(fg.empty(33, 7))).copy()
        fg.manual_seed(1234)
        b = to_numpy(fn(fg.empty(33, 7))).copy()
        c = to_numpy(fn(fg.empty(33, 7))).copy()
        assert np.array_equal(a, b) and not np.array_equal(a, c)
    fg.manual_seed(99)
    m1 = Net()
    fg.manual_seed(99)
    m2 = Net()
    for (k, v1), v2 in zip(m1.state_dict().items(), m2.state_dict().values()):
        assert np.array_equal(to_numpy(v1), to_numpy(v2)), k


@pytest.mark.parametrize(
    "fn",
    [
        lambda p: init.uniform_(p, -1, 1),
        lambda p: init.normal_(p),
        lambda p: init.constant_(p, 2),
        init.zeros_,
        init.ones_,
        init.xavier_uniform_,
        init.xavier_normal_,
        init.kaiming_uniform_,
        init.kaiming_normal_,
    ],
    ids=[
        "uniform_",
        "normal_",
        "constant_",
        "zeros_",
        "ones_",
        "xavier_uniform_",
        "xavier_normal_",
        "kaiming_uniform_",
        "kaiming_normal_",
    ],
)
def test_init_on_parameter_records_no_graph(fn):
    p = nn.Parameter(fg.tensor(make_input((7, 33), "nonzero")))
    before = to_numpy(p).copy()
    assert fn(p) is p
    assert p.requires_grad and p.is_leaf and p.grad_fn is None and p.grad is None
    assert not np.array_equal(to_numpy(p), before)
    (p * 2.0).sum().backward()  # still a usable leaf
    assert np.all(to_numpy(p.grad) == 2.0)


# ============================================================================ clip_grad_norm_
def _params_with_grads(shapes, scale=1.0):
    params, grads = [], []
    for s in shapes:
        p = nn.Parameter(fg.tensor(make_input(s)))
        g = (make_input(s) * scale).astype(np.float32)
        p.grad = fg.tensor(g)
        params.append(p)
        grads.append(g.astype(np.float64))
    return params, grads


def _np_total_norm(grads, norm_type):
    flat = np.concatenate([g.ravel() for g in grads])
    if norm_type == math.inf:
        return np.abs(flat).max()
    return np.sum(np.abs(flat) ** norm_type) ** (1.0 / norm_type)


SHAPES_CLIP = [(7, 33), (33,), (1,), (3, 7, 5)]


@pytest.mark.parametrize("norm_type", [2.0, math.inf, 1.0, 3.0])
def test_clip_grad_norm_total_and_no_clip(norm_type):
    params, grads = _params_with_grads(SHAPES_CLIP)
    ref = _np_total_norm(grads, norm_type)
    total = nn.utils.clip_grad_norm_(params, max_norm=ref * 10, norm_type=norm_type)
    assert float(total) == pytest.approx(ref, rel=1e-5)
    for p, g in zip(params, grads):  # under max_norm: unchanged
        assert np.array_equal(to_numpy(p.grad), g.astype(np.float32))


@pytest.mark.parametrize("norm_type", [2.0, math.inf, 1.0])
def test_clip_grad_norm_clips(norm_type):
    params, grads = _params_with_grads(SHAPES_CLIP, scale=10.0)
    ref = _np_total_norm(grads, norm_type)
    max_norm = ref / 4
    total = nn.utils.clip_grad_norm_(params, max_norm, norm_type=norm_type)
    assert float(total) == pytest.approx(ref, rel=1e-5)
    new = [to_numpy(p.grad).astype(np.float64) for p in params]
    assert _np_total_norm(new, norm_type) == pytest.approx(max_norm, rel=1e-5)
    coef = max_norm / ref  # every gradient scaled by the same factor
    for n, g in zip(new, grads):
        assert_close(n, g * coef, rtol=1e-5)
    # a second call finds the norm at max_norm and (coef ~ 1) leaves it there
    assert float(nn.utils.clip_grad_norm_(params, max_norm, norm_type)) == pytest.approx(
        max_norm, rel=1e-5
    )


def test_clip_grad_norm_skips_missing_grads_and_accepts_tensor_and_generator():
    params, grads = _params_with_grads([(7, 33), (33,)])
    no_grad_p = nn.Parameter(fg.ones(5))
    total = nn.utils.clip_grad_norm_(params + [no_grad_p], 1e9)
    assert float(total) == pytest.approx(_np_total_norm(grads, 2.0), rel=1e-5)
    assert no_grad_p.grad is None
    # a single Tensor
    single = params[0]
    t1 = nn.utils.clip_grad_norm_(single, 0.5)
    assert float(t1) == pytest.approx(np.linalg.norm(grads[0]), rel=1e-5)
    assert np.linalg.norm(to_numpy(single.grad)) == pytest.approx(0.5, rel=1e-5)
    # a generator (model.parameters())
    lin = nn.Linear(33, 7)
    lin(fg.tensor(make_input((5, 33)))).sum().backward()
    ref = _np_total_norm([to_numpy(p.grad) for p in lin.parameters()], 2.0)
    assert float(nn.utils.clip_grad_norm_(lin.parameters(), 1.0)) == pytest.approx(ref, rel=1e-5)
    assert _np_total_norm([to_numpy(p.grad) for p in lin.parameters()], 2.0) == pytest.approx(
        min(1.0, ref), rel=1e-5
    )
    # nothing with a grad: norm 0
    assert float(nn.utils.clip_grad_norm_([nn.Parameter(fg.ones(3))], 1.0)) == 0.0
    assert float(nn.utils.clip_grad_norm_([], 1.0)) == 0.0


@pytest.mark.parametrize("norm_type", [2.0, math.inf, 1.0])
@pytest.mark.parametrize("bad", [math.inf, math.nan])
@pytest.mark.parametrize("where", [0, 1])  # in the first or the second parameter
def test_clip_grad_norm_nonfinite_error(bad, where, norm_type):
    params, grads = _params_with_grads([(7, 33), (33,)])
    g = grads[where].astype(np.float32)
    g.reshape(-1)[5] = bad
    params[where].grad = fg.tensor(g)
    before = [to_numpy(p.grad).copy() for p in params]
    with pytest.raises(RuntimeError):
        nn.utils.clip_grad_norm_(params, 1.0, norm_type=norm_type, error_if_nonfinite=True)
    for p, b in zip(params, before):
        assert np.array_equal(to_numpy(p.grad), b, equal_nan=True)


def test_clip_grad_norm_nonfinite_pytorch_behaviour():
    # inf gradient: total inf, coef = max_norm / inf = 0 -> finite entries 0, inf * 0 = nan
    params, _ = _params_with_grads([(7, 33), (33,)])
    g = to_numpy(params[1].grad).copy()
    g[4] = math.inf
    params[1].grad = fg.tensor(g)
    total = nn.utils.clip_grad_norm_(params, 1.0)
    assert math.isinf(float(total))
    assert np.all(to_numpy(params[0].grad) == 0)
    g1 = to_numpy(params[1].grad)
    assert np.isnan(g1[4]) and np.all(g1[np.arange(33) != 4] == 0)
    # nan gradient: total nan, coef nan -> every gradient nan
    params, _ = _params_with_grads([(7, 33), (33,)])
    g = to_numpy(params[1].grad).copy()
    g[0] = math.nan
    params[1].grad = fg.tensor(g)
    for norm_type in (2.0, math.inf):
        total = nn.utils.clip_grad_norm_(params, 1.0, norm_type=norm_type)
        assert math.isnan(float(total))
        assert all(np.all(np.isnan(to_numpy(p.grad))) for p in params)


def test_clip_grad_norm_bad_arguments():
    params, _ = _params_with_grads([(7, 33)])
    before = to_numpy(params[0].grad).copy()
    for bad in (-1.0, math.nan):
        with pytest.raises(ValueError):
            nn.utils.clip_grad_norm_(params, bad)
    for bad in (0.0, -2.0):
        with pytest.raises(ValueError):
            nn.utils.clip_grad_norm_(params, 1.0, norm_type=bad)
    with pytest.raises(TypeError):
        nn.utils.clip_grad_norm_([params[0], np.zeros(3)], 1.0)
    assert np.array_equal(to_numpy(params[0].grad), before)
    for bad in (None, 5):
        with pytest.raises(
            TypeError,
            match=r"^\[clip_grad_norm_\] expected an iterable of "
            r"Tensors",
        ):
            nn.utils.clip_grad_norm_(bad, 1.0)
    with pytest.raises(TypeError, match=r"^\[clip_grad_norm_\] max_norm must be a number"):
        nn.utils.clip_grad_norm_(params, "a")
    with pytest.raises(TypeError, match=r"^\[clip_grad_norm_\] norm_type must be a number"):
        nn.utils.clip_grad_norm_(params, 1.0, norm_type="2")
    assert np.array_equal(to_numpy(params[0].grad), before)
    # max_norm 0 is allowed: every gradient becomes 0
    nn.utils.clip_grad_norm_(params, 0.0)
    assert np.all(to_numpy(params[0].grad) == 0)


# ============================================================================ training sanity
def _xor_data(rng, n_per=16):
    corners = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    labels = np.array([0, 1, 1, 0], dtype=np.float64)
    x = np.repeat(corners, n_per, axis=0) * 2 - 1 + rng.normal(0, 0.1, size=(4 * n_per, 2))
    y = np.repeat(labels, n_per)
    return x.astype(np.float32), y.astype(np.float32).reshape(-1, 1)


def test_mlp_learns_xor(rng):
    fg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 16), nn.Tanh(), nn.Linear(16, 1))
    loss_fn = nn.BCEWithLogitsLoss()
    x_np, y_np = _xor_data(rng)
    x, y = fg.tensor(x_np), fg.tensor(y_np)
    lr = 0.5
    first = None
    for step in range(300):
        model.zero_grad()
        loss = loss_fn(model(x), y)
        if first is None:
            first = loss.item()
        loss.backward()
        with fg.no_grad():
            for p in model.parameters():
                p.sub_(lr * p.grad)
    final = loss_fn(model(x), y).item()
    assert final < 0.05 < first, f"loss {first} -> {final}"
    pred = to_numpy(model(x)) > 0
    assert np.array_equal(pred, y_np > 0.5)


def test_mlp_learns_xor_with_optimizer_and_reload(rng):
    fg.manual_seed(1)
    model = nn.Sequential(
        collections.OrderedDict(
            [
                ("hidden", nn.Linear(2, 16)),
                ("act", nn.ReLU()),
                ("drop", nn.Dropout(0.0)),
                ("out", nn.Linear(16, 2)),
            ]
        )
    )
    opt = fg.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    loss_fn = nn.CrossEntropyLoss()
    x_np, y_np = _xor_data(rng)
    x, y = fg.tensor(x_np), fg.tensor(y_np.ravel().astype(np.int64))
    for _ in range(200):
        opt.zero_grad()
        loss = loss_fn(model(x), y)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 5.0)
        opt.step()
    model.eval()
    logits = model(x)
    assert loss_fn(logits, y).item() < 0.05
    assert np.array_equal(to_numpy(logits).argmax(1), y_np.ravel().astype(np.int64))
    # the trained weights move into a fresh model: same predictions
    fresh = nn.Sequential(
        collections.OrderedDict(
            [
                ("hidden", nn.Linear(2, 16)),
                ("act", nn.ReLU()),
                ("drop", nn.Dropout(0.0)),
                ("out", nn.Linear(16, 2)),
            ]
        )
    ).eval()
    fresh.load_state_dict(model.state_dict())
    assert np.array_equal(to_numpy(fresh(x)), to_numpy(logits))


# ----------------------------------------------------------------------------- copies and ties
def test_deepcopy_gives_an_independent_model_with_the_same_values():
    import copy

    model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
    model(fg.randn(5, 3)).sum().backward()
    twin = copy.deepcopy(model)
    for (name, p), (twin_name, q) in zip(model.named_parameters(), twin.named_parameters()):
        assert name == twin_name and q is not p and isinstance(q, nn.Parameter)
        assert q.requires_grad and q.is_leaf
        np.testing.assert_array_equal(q.detach().numpy(), p.detach().numpy())
        np.testing.assert_array_equal(q.grad.numpy(), p.grad.numpy())
    with fg.no_grad():
        twin[0].weight.fill_(0.0)
    assert np.abs(model[0].weight.detach().numpy()).sum() > 0


def test_deepcopy_of_an_op_result_is_refused():
    import copy

    x = fg.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="deepcopy"):
        copy.deepcopy(x * 2)


def test_state_dict_lists_a_shared_module_under_every_name_as_pytorch_does():
    shared = nn.Linear(2, 2)
    model = nn.Sequential(shared, nn.ReLU(), shared)
    assert list(model.state_dict()) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert len(list(model.parameters())) == 2  # but its parameters count once
    fresh = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    fresh.load_state_dict(model.state_dict())
    np.testing.assert_array_equal(fresh[2].weight.detach().numpy(), shared.weight.detach().numpy())


def test_clip_grad_norm_returns_a_0d_tensor_as_pytorch_does():
    p = nn.Parameter(fg.tensor([3.0, 4.0]))
    p.grad = fg.tensor([3.0, 4.0])
    total = nn.utils.clip_grad_norm_([p], 1.0)
    assert isinstance(total, fg.Tensor) and total.shape == () and total.item() == 5.0
    assert isinstance(nn.utils.clip_grad_norm_([], 1.0), fg.Tensor)


def test_sequential_insert_extend_and_del_renumber_as_pytorch():
    a, b, c, d = nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.Identity()
    seq = nn.Sequential(a, b)
    seq.extend([c])
    seq.insert(1, d)
    assert list(seq) == [a, d, b, c] and list(seq._modules) == ["0", "1", "2", "3"]
    del seq[1]
    assert list(seq) == [a, b, c] and list(seq._modules) == ["0", "1", "2"]
    del seq[-2:]
    assert list(seq) == [a]
    with pytest.raises(IndexError):
        del seq[5]
    with pytest.raises(TypeError, match="insert"):
        seq.insert(0, "relu")
    assert list(seq) == [a]


def test_sequential_append_and_extend_check_every_module_first():
    tanh = nn.Tanh()
    seq = nn.Sequential(nn.ReLU())
    with pytest.raises(
        TypeError,
        match=r"^\[Sequential\] extend expects Modules, got int at "
        r"position 1",
    ):
        seq.extend([tanh, 5])
    with pytest.raises(TypeError, match=r"^\[Sequential\] can only append a Module, got str"):
        seq.append("relu")
    with pytest.raises(
        TypeError,
        match=r"^\[Sequential\] extend expects an iterable of "
        r"Modules, got Tanh",
    ):
        seq.extend(tanh)
    assert len(seq) == 1 and list(seq._modules) == ["0"]
    seq.extend(seq)  # a Sequential is an iterable of Modules (its modules, taken first)
    assert len(seq) == 2 and seq[0] is seq[1]


def test_init_trunc_normal():
    t = fg.empty(N_BIG)
    assert init.trunc_normal_(t, mean=1.0, std=2.0, a=-1.0, b=4.0) is t
    v = to_numpy(t).astype(np.float64)
    assert v.min() >= -1.0 and v.max() <= 4.0 and v.min() < -0.99 and v.max() > 3.99
    # N(1, 4) cut to [-1, 4] (alpha = -1, beta = 1.5): its mean and std
    alpha, beta = -1.0, 1.5
    phi = lambda z: math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    cdf = lambda z: 0.5 * (1 + math.erf(z / math.sqrt(2)))
    mass = cdf(beta) - cdf(alpha)
    mean = 1.0 + 2.0 * (phi(alpha) - phi(beta)) / mass
    var = 4.0 * (
        1 + (alpha * phi(alpha) - beta * phi(beta)) / mass - ((phi(alpha) - phi(beta)) / mass) ** 2
    )
    assert abs(v.mean() - mean) < 0.01 and abs(v.std() / math.sqrt(var) - 1) < 0.01
    assert np.all(to_numpy(init.trunc_normal_(fg.empty(4), mean=3.0, std=0.0)) == 2.0)  # b
    with pytest.raises(ValueError, match=r"\[trunc_normal_\] expected a < b"):
        init.trunc_normal_(fg.empty(3), a=1.0, b=1.0)
    with pytest.raises(ValueError, match=r"\[trunc_normal_\] expected std >= 0"):
        init.trunc_normal_(fg.empty(3), std=-1.0)


@pytest.mark.parametrize("shape", [(5, 5), (3, 8), (8, 3), (6, 2, 2)])
def test_init_orthogonal(shape):
    t = fg.empty(*shape)
    assert init.orthogonal_(t, gain=1.5) is t
    m = to_numpy(t).astype(np.float64).reshape(shape[0], -1)
    small = min(m.shape)
    gram = m @ m.T if m.shape[0] == small else m.T @ m
    np.testing.assert_allclose(gram, 1.5**2 * np.eye(small), atol=1e-5)
    fg.manual_seed(3)
    first = to_numpy(init.orthogonal_(fg.empty(*shape)))
    fg.manual_seed(3)
    np.testing.assert_array_equal(first, to_numpy(init.orthogonal_(fg.empty(*shape))))
    with pytest.raises(ValueError, match=r"\[orthogonal_\] only tensors with 2 or more"):
        init.orthogonal_(fg.empty(4))


def test_init_eye():
    np.testing.assert_array_equal(to_numpy(init.eye_(fg.empty(2, 3))), np.eye(2, 3))
    with pytest.raises(ValueError, match=r"\[eye_\] only 2-dimensional tensors"):
        init.eye_(fg.empty(2, 2, 2))


def test_get_submodule_and_get_parameter():
    inner = nn.Sequential(nn.ReLU(), nn.Linear(3, 1))
    model = nn.Sequential(nn.Linear(2, 3), inner)
    assert model.get_submodule("") is model and model.get_submodule("1") is inner
    assert model.get_submodule("1.1") is inner[1]
    assert model.get_parameter("1.1.bias") is inner[1].bias
    with pytest.raises(AttributeError, match=r"\[get_submodule\] 1 has no submodule '5'"):
        model.get_submodule("1.5")
    with pytest.raises(AttributeError, match=r"\[get_parameter\] 1.1 has no parameter 'w'"):
        model.get_parameter("1.1.w")
    with pytest.raises(TypeError, match=r"\[get_submodule\] expected a dotted name"):
        model.get_submodule(1)


def test_parameters_to_vector_and_back():
    model = nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 1))
    params = list(model.parameters())
    vec = nn.utils.parameters_to_vector(params)
    expected = np.concatenate([to_numpy(p.detach()).ravel() for p in params])
    np.testing.assert_array_equal(to_numpy(vec.detach()), expected)
    (vec * vec).sum().backward()  # recorded: the graph reaches each parameter
    np.testing.assert_allclose(to_numpy(params[0].grad), 2 * to_numpy(params[0].detach()))
    nn.utils.vector_to_parameters(fg.arange(vec.numel()).float(), params)
    np.testing.assert_array_equal(to_numpy(params[1].detach()), np.arange(6, 9))
    before = [to_numpy(p.detach()).copy() for p in params]
    with pytest.raises(ValueError, match=r"\[vector_to_parameters\] expected a 1-d vec of 13"):
        nn.utils.vector_to_parameters(fg.zeros(12), params)
    for p, b in zip(params, before):  # nothing half-written
        np.testing.assert_array_equal(to_numpy(p.detach()), b)
    with pytest.raises(ValueError, match=r"\[parameters_to_vector\] expected at least one"):
        nn.utils.parameters_to_vector([])
