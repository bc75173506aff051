"""ModuleDict, ParameterList, ParameterDict (PyTorch's parameter and state_dict names),
clip_grad_value_, and weight tying: one Parameter in two modules."""

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn as nn
from helpers import to_numpy


class Holder(nn.Module):
    def __init__(self):
        super().__init__()
        self.layers = nn.ModuleDict({"enc": nn.Linear(3, 4), "dec": nn.Linear(4, 2)})
        self.plist = nn.ParameterList([nn.Parameter(fg.zeros(2)), fg.ones(3)])
        self.params = nn.ParameterDict({"scale": fg.ones(4), "shift": nn.Parameter(fg.zeros(4))})


def test_container_names_in_parameters_and_state_dict():
    names = [
        "layers.enc.weight",
        "layers.enc.bias",
        "layers.dec.weight",
        "layers.dec.bias",
        "plist.0",
        "plist.1",
        "params.scale",
        "params.shift",
    ]
    model = Holder()
    assert [n for n, _ in model.named_parameters()] == names
    assert list(model.state_dict()) == names
    assert all(isinstance(p, nn.Parameter) and p.requires_grad for p in model.parameters())


def test_module_dict_behaves_as_an_ordered_dict():
    md = nn.ModuleDict([("a", nn.ReLU()), ("b", nn.Tanh())])
    md["c"] = nn.Identity()
    md.update({"a": nn.Sigmoid()})
    assert list(md) == ["a", "b", "c"] and len(md) == 3 and "b" in md
    assert isinstance(md["a"], nn.Sigmoid)
    assert isinstance(md.pop("b"), nn.Tanh) and list(md.keys()) == ["a", "c"]
    del md["a"]
    assert [type(m) for m in md.values()] == [nn.Identity]
    md.clear()
    assert len(md) == 0


def test_module_dict_errors_change_nothing():
    md = nn.ModuleDict({"a": nn.ReLU()})
    with pytest.raises(TypeError, match=r"\[ModuleDict\]"):
        md.update({"b": nn.ReLU(), "c": 3})
    assert list(md) == ["a"]
    with pytest.raises(TypeError, match=r"\[ModuleDict\]"):
        md.update(5)
    with pytest.raises(ValueError, match=r"pairs"):
        md.update([("x", nn.ReLU(), 1)])
    with pytest.raises(NotImplementedError, match="ModuleDict"):
        md(fg.ones(1))


def test_parameter_list_indexing_append_extend():
    pl = nn.ParameterList()
    pl.append(fg.ones(2)).extend([fg.zeros(3), nn.Parameter(fg.ones(1))])
    assert len(pl) == 3 and [tuple(p.shape) for p in pl] == [(2,), (3,), (1,)]
    assert pl[-1] is pl[2] and isinstance(pl[0], nn.Parameter)
    pl[1] = fg.full((4,), 2.0)
    assert to_numpy(pl[1]).tolist() == [2.0] * 4
    assert [tuple(p.shape) for p in pl[1:]] == [(4,), (1,)]
    with pytest.raises(IndexError, match=r"\[ParameterList\]"):
        pl[3]
    with pytest.raises(TypeError, match=r"\[ParameterList\]"):
        pl.extend(fg.ones(2))


def test_parameter_dict_methods():
    pd = nn.ParameterDict([("w", fg.ones(2))])
    pd["b"] = fg.zeros(2)
    assert list(pd) == ["w", "b"] and "w" in pd and pd.get("x") is None
    assert isinstance(pd["b"], nn.Parameter)
    pd["w"] = fg.zeros(5)  # assignment replaces
    assert tuple(pd["w"].shape) == (5,)
    assert tuple(pd.pop("w").shape) == (5,) and list(pd.keys()) == ["b"]
    assert [k for k, _ in pd.items()] == ["b"] and len(list(pd.values())) == 1
    with pytest.raises(TypeError, match=r"\[ParameterDict\]"):
        pd.update(3)


def test_parameter_containers_move_with_the_module():
    model = Holder().double()
    assert model.plist[1].dtype == fg.float64 and model.params["scale"].dtype == fg.float64


def test_clip_grad_value_clamps_in_place_and_skips_missing():
    a, b, c = (nn.Parameter(fg.zeros(3)) for _ in range(3))
    a.grad = fg.tensor([-5.0, 0.5, 2.0])
    b.grad = fg.tensor([0.1, -0.2, 9.0])
    nn.utils.clip_grad_value_([a, b, c], 1.0)
    assert to_numpy(a.grad).tolist() == [-1.0, 0.5, 1.0]
    assert np.allclose(to_numpy(b.grad), [0.1, -0.2, 1.0]) and c.grad is None
    nn.utils.clip_grad_value_(a, 0.25)  # one Tensor
    assert to_numpy(a.grad).tolist() == [-0.25, 0.25, 0.25]


def test_clip_grad_value_errors():
    with pytest.raises(TypeError, match=r"\[clip_grad_value_\]"):
        nn.utils.clip_grad_value_(3, 1.0)
    with pytest.raises(TypeError, match=r"\[clip_grad_value_\]"):
        nn.utils.clip_grad_value_([nn.Parameter(fg.zeros(1))], "1")


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Linear(3, 4, bias=False)
        self.head = nn.Linear(3, 4, bias=False)
        self.head.weight = self.embed.weight


def test_weight_tying_one_parameter_in_two_modules():
    model = Tied()
    assert [n for n, _ in model.named_parameters()] == ["embed.weight"]
    assert len(list(model.parameters())) == 1
    assert list(model.state_dict()) == ["embed.weight", "head.weight"]
    model.load_state_dict(model.state_dict())
    x = fg.ones(2, 3)
    (model.embed(x).sum() + model.head(x).sum()).backward()
    assert np.allclose(to_numpy(model.embed.weight.grad), 4.0)  # both uses add up
    before = to_numpy(model.embed.weight).copy()
    opt = fg.optim.SGD(model.parameters(), lr=0.1)
    opt.step()
    assert np.allclose(to_numpy(model.head.weight), before - 0.4)  # one update, not two
    assert model.head.weight is model.embed.weight
