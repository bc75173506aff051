"""Another library's tensors meet forgegrad: load_state_dict takes numpy arrays and DLPack
tensors (a PyTorch state dict, read without importing torch), and arithmetic with such a
tensor says how to convert it."""

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import nn


class Foreign:
    """A tensor of another library: only the DLPack protocol (as a PyTorch tensor offers),
    and requires_grad / detach as PyTorch's, which refuses to export a tensor that needs
    gradients."""

    def __init__(self, array, requires_grad=False):
        self.array, self.requires_grad = array, requires_grad

    def __dlpack__(self, *args, **kwargs):
        if self.requires_grad:
            raise RuntimeError("Can't export tensors that require gradient, use tensor.detach()")
        return self.array.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.array.__dlpack_device__()

    def detach(self):
        return Foreign(self.array)


def test_load_state_dict_takes_numpy_arrays_and_dlpack_tensors():
    model = nn.Linear(3, 2)
    weight = np.arange(6, dtype=np.float64).reshape(2, 3)  # converted to the model's float32
    model.load_state_dict(
        {"weight": Foreign(weight, requires_grad=True), "bias": np.array([0.5, -1.0], np.float32)}
    )
    assert model.weight.tolist() == weight.tolist()
    assert model.bias.tolist() == [0.5, -1.0]
    assert model.weight.dtype == fg.float32 and type(model.weight) is nn.Parameter
    weight[0, 0] = 99.0  # loaded by value
    assert model.weight[0, 0].item() == 0.0


def test_load_state_dict_names_what_it_cannot_read():
    model = nn.Linear(3, 2)
    before = model.weight.tolist()
    with pytest.raises(
        RuntimeError,
        match=r"weight: expected a Tensor \(forgegrad's, a numpy "
        r"array, or another library's with __dlpack__\), "
        r"got builtins.list",
    ):
        model.load_state_dict({"weight": [[0.0] * 3] * 2, "bias": np.zeros(2, np.float32)})
    assert model.weight.tolist() == before
    with pytest.raises(RuntimeError, match=r"bias: expected shape \(2,\), got shape \(3,\)"):
        model.load_state_dict({"weight": np.zeros((2, 3)), "bias": np.zeros(3)})


@pytest.mark.parametrize(
    "expression", [lambda t, f: t + f, lambda t, f: t * f, lambda t, f: t == f]
)
def test_arithmetic_with_another_librarys_tensor_says_how_to_convert(expression):
    with pytest.raises(
        TypeError,
        match=r"expected a forgegrad Tensor, a number or a numpy array, "
        r"got test_interop_state_dict.Foreign; convert it first "
        r"with forgegrad.from_dlpack\(x\)",
    ):
        expression(fg.ones(2), Foreign(np.ones(2, np.float32)))
