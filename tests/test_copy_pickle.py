"""copy.copy, copy.deepcopy and pickle of tensors, parameters, modules and optimizers, as in
PyTorch: by value, keeping dtype, device, requires_grad and attributes; deepcopy keeps views
and tied parameters sharing one copy."""

import copy
import pickle

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import nn, optim

DTYPES = [
    fg.float32,
    fg.float64,
    fg.float16,
    fg.bfloat16,
    fg.int64,
    fg.int32,
    fg.int16,
    fg.int8,
    fg.uint8,
    fg.bool,
]


def roundtrip(obj):
    return pickle.loads(pickle.dumps(obj))


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
def test_pickle_keeps_values_dtype_and_device(dtype, device):
    x = (fg.arange(12, dtype=fg.float64).reshape(3, 4) * 0.7).to(dtype).to(device)
    for source in (x, x.t(), x[1:, ::2]):  # contiguous, transposed, a strided slice
        back = roundtrip(source)
        assert type(back) is fg.Tensor
        assert (back.dtype, back.device, back.shape) == (source.dtype, source.device, source.shape)
        assert back.tolist() == source.tolist()


def test_pickle_keeps_requires_grad_and_pickles_an_op_result_as_a_leaf():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    back = roundtrip(x)
    assert back.requires_grad and back.is_leaf and back.grad is None
    y = roundtrip(x * 2)  # as PyTorch: a leaf with the values, requires_grad kept
    assert y.is_leaf and y.requires_grad and y.tolist() == [2.0, 4.0]
    assert not roundtrip(fg.ones(2)).requires_grad


def test_copy_shares_storage_and_deepcopy_does_not():
    x = fg.arange(4.0)
    shallow, deep = copy.copy(x), copy.deepcopy(x)
    x[0] = 9.0
    assert shallow.tolist() == [9.0, 1.0, 2.0, 3.0]
    assert deep.tolist() == [0.0, 1.0, 2.0, 3.0]


def test_deepcopy_keeps_views_of_one_storage_together():
    base = fg.arange(6.0)
    view = base[2:4]
    base_copy, view_copy = copy.deepcopy([base, view])
    base_copy[2] = -1.0
    assert view_copy.tolist() == [-1.0, 3.0]
    assert base.tolist() == [0.0, 1.0, 2.0, 3.0, 4.0, 5.0]
    alone = copy.deepcopy(view)  # alone, a view deep-copies to the same values
    assert alone.tolist() == [2.0, 3.0] and alone.stride() == view.stride()


def test_deepcopy_copies_grad_requires_grad_and_attributes(device):
    x = fg.tensor([1.0, 2.0], device=device, requires_grad=True)
    (x * x).sum().backward()
    x.note = {"tag": [1]}
    twin = copy.deepcopy(x)
    assert twin.requires_grad and twin.device == x.device
    assert twin.grad.tolist() == [2.0, 4.0]
    assert twin.note == {"tag": [1]} and twin.note is not x.note
    with fg.no_grad():
        twin.add_(1.0)
    assert x.tolist() == [1.0, 2.0]


def test_deepcopy_of_an_op_result_is_refused():
    x = fg.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match=r"\[deepcopy\] only tensors created by the user"):
        copy.deepcopy(x * 2)


def test_parameter_keeps_its_type_under_copy_deepcopy_and_pickle():
    p = nn.Parameter(fg.tensor([1.5, -2.0]))
    frozen = nn.Parameter(fg.ones(3), requires_grad=False)
    for copier in (copy.copy, copy.deepcopy, roundtrip):
        for source in (p, frozen):
            out = copier(source)
            assert type(out) is nn.Parameter
            assert out.requires_grad == source.requires_grad
            assert out.tolist() == source.tolist()


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        self.encoder = nn.Linear(3, 4)
        self.decoder = nn.Linear(4, 3)
        self.decoder.weight = nn.Parameter(self.encoder.weight.t())  # a view: tied weights
        self.register_buffer("steps", fg.tensor(7))
        self.register_buffer("scratch", fg.zeros(2), persistent=False)

    def forward(self, x):
        return self.decoder(self.encoder(x))


@pytest.mark.parametrize("copier", [copy.deepcopy, roundtrip], ids=["deepcopy", "pickle"])
def test_module_copies_by_value_with_buffers(copier):
    model = Tied()
    model.eval()
    twin = copier(model)
    x = fg.randn(5, 3)
    assert np.array_equal(twin(x).detach().numpy(), model(x).detach().numpy())
    assert not twin.training
    assert twin.steps.item() == 7 and twin.scratch.tolist() == [0.0, 0.0]
    assert sorted(twin.state_dict()) == sorted(model.state_dict())
    assert all(type(p) is nn.Parameter for p in twin.parameters())
    with fg.no_grad():
        twin.encoder.bias.fill_(5.0)
    assert model.encoder.bias.tolist() != [5.0] * 4


def test_deepcopy_keeps_tied_weights_tied():
    twin = copy.deepcopy(Tied())
    with fg.no_grad():
        twin.encoder.weight[0, 0] = 42.0
    assert twin.decoder.weight[0, 0].item() == 42.0


@pytest.mark.parametrize(
    "make",
    [lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9), lambda ps: optim.Adam(ps, lr=0.01)],
    ids=["SGD", "Adam"],
)
@pytest.mark.parametrize("copier", [copy.deepcopy, roundtrip], ids=["deepcopy", "pickle"])
def test_optimizer_state_copies_with_its_model(make, copier):
    fg.manual_seed(0)
    model = nn.Linear(3, 2)
    opt = make(model.parameters())
    x, y = fg.randn(8, 3), fg.randn(8, 2)

    def step(m, o):
        o.zero_grad()
        nn.MSELoss()(m(x), y).backward()
        o.step()

    step(model, opt)
    twin_model, twin_opt = copier((model, opt))
    assert all(
        any(p is q for q in twin_model.parameters()) for p in twin_opt.param_groups[0]["params"]
    )
    step(model, opt)
    step(twin_model, twin_opt)
    for a, b in zip(model.parameters(), twin_model.parameters()):
        assert np.array_equal(a.detach().numpy(), b.detach().numpy())
    assert opt.state_dict()["param_groups"] == twin_opt.state_dict()["param_groups"]
