"""Bad input at every public entry point gives the documented exception: wrong shapes ->
ValueError, wrong dtypes -> TypeError, index out of range -> IndexError, with messages that
start with "[op]" (matched exactly for matmul, loosely by op name elsewhere)."""

import math
import pathlib
import re

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn.functional as F

from helpers import as_tensor, cuda_available, make_input, to_numpy


def f32(shape, device):
    return as_tensor(make_input(shape), device)


def i64(values, device):
    return as_tensor(np.asarray(values, dtype=np.int64), device)


# ------------------------------------------------------------------------ arithmetic
BIN = {
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "div": lambda a, b: a / b,
}


@pytest.mark.parametrize(
    "shapes", [((7,), (5,)), ((7, 33), (7,)), ((3, 4), (4, 3)), ((2, 3, 4), (3, 3, 4))], ids=str
)
@pytest.mark.parametrize("op", list(BIN))
def test_binary_shape_mismatch(op, shapes, device):
    with pytest.raises(ValueError, match=op):
        BIN[op](f32(shapes[0], device), f32(shapes[1], device))


def test_float_only_ops_refuse_integers(device):
    # as PyTorch: these have no integer kernels (relu, tanh, sigmoid and the element math
    # take integers: tests/test_promotion_ops.py, tests/test_dtype_ops.py)
    i = i64([1, 2, 3], device)
    for name, fn in [
        ("gelu", F.gelu),
        ("silu", F.silu),
        ("leaky_relu", F.leaky_relu),
        ("softmax", lambda t: F.softmax(t, 0)),
        ("log_softmax", lambda t: F.log_softmax(t, 0)),
        ("dropout", lambda t: F.dropout(t, 0.5)),
    ]:
        with pytest.raises(TypeError, match=name):
            fn(i)


def test_pow_of_bad_operands(device):
    x = f32((3,), device)
    for bad in ("a", None, [1.0, 2.0]):
        with pytest.raises(TypeError, match=r"\[pow\]"):
            x**bad
    with pytest.raises(ValueError, match=r"\[pow\] shapes"):
        x ** f32((2,), device)


def test_bad_operand_types(device):
    x = f32((3,), device)
    for bad in ("a", None, [1.0, 2.0, 3.0], object()):
        with pytest.raises(TypeError):
            x + bad


def test_clamp_needs_a_bound(device):
    with pytest.raises(ValueError, match="clamp"):
        f32((3,), device).clamp()
    with pytest.raises(ValueError, match="clamp"):
        f32((3,), device).clamp(min=None, max=None)


def test_compare_errors(device):
    x = f32((3,), device)
    with pytest.raises(ValueError):
        x < f32((4,), device)


# ---------------------------------------------------------------------------- matmul
@pytest.mark.parametrize(
    "sa,sb",
    [
        ((7,), (5,)),
        ((7,), (5, 3)),
        ((3, 7), (5,)),
        ((), (3,)),
        ((3, 3), ()),
        ((7, 33), (32, 5)),
        ((2, 3, 4), (3, 4, 5)),
        ((2, 3, 4), (2, 5, 6)),
        ((2, 3, 4), (5, 6)),
        ((2, 2, 3, 4), (3, 2, 4, 5)),
        ((2, 3), (2, 4, 5)),
        ((3, 4), (5, 4)),
    ],
    ids=str,
)
def test_matmul_shapes(sa, sb, device):
    with pytest.raises(ValueError, match=r"\[matmul\]"):
        f32(sa, device) @ f32(sb, device)
    with pytest.raises(ValueError, match=r"\[matmul\]"):
        fg.matmul(f32(sa, device), f32(sb, device))


def test_matmul_dtype(device):
    with pytest.raises(TypeError, match=r"\[matmul\]"):
        i64([[1, 2]], device) @ i64([[1], [2]], device)
    with pytest.raises(TypeError, match=r"\[matmul\]"):
        f32((2, 2), device) @ i64([[1, 2], [3, 4]], device)


def test_matmul_empty_k_gives_zeros(device):
    out = fg.zeros(3, 0, device=device) @ fg.zeros(0, 4, device=device)
    np.testing.assert_array_equal(to_numpy(out), np.zeros((3, 4)))
    out = fg.zeros(0, 5, device=device) @ f32((5, 4), device)
    assert tuple(out.shape) == (0, 4)


# ------------------------------------------------------------------ reductions, shape
def test_reduce_bad_dim(device):
    x = f32((3, 4), device)
    for fn in (
        lambda: x.sum(dim=2),
        lambda: x.sum(dim=-3),
        lambda: x.mean(dim=5),
        lambda: x.max(dim=2),
        lambda: x.argmax(dim=-3),
        lambda: x.sum(dim=(0, 2)),
        lambda: F.softmax(x, dim=2),
        lambda: F.log_softmax(x, dim=-3),
        lambda: x.transpose(0, 2),
        lambda: x.flatten(0, 3),
    ):
        with pytest.raises((IndexError, ValueError)):
            fn()


def test_reduce_repeated_dim(device):
    with pytest.raises(ValueError):
        f32((3, 4), device).sum(dim=(1, 1))
    with pytest.raises(ValueError):
        f32((3, 4), device).sum(dim=(1, -1))


def test_reshape_errors(device):
    x = f32((3, 4), device)
    for bad in ((5,), (5, -1), (-1, -1), (3, 5), (0, -1), (-2, 6)):
        with pytest.raises(ValueError, match="reshape|view"):
            x.reshape(*bad)
    with pytest.raises(ValueError, match="reshape|view"):
        x.view(7)


# -------------------------------------------------------------------------- indexing
def test_index_out_of_range(device):
    x = f32((7, 3), device)
    for idx in (7, -8, 100, [0, 7], [-8], np.array([1, 9])):
        with pytest.raises(IndexError):
            x[idx]
    with pytest.raises(IndexError):
        x[i64([0, 7], device)]
    with pytest.raises(IndexError):
        f32((), device)[0]


def test_index_bad_type(device):
    x = f32((7, 3), device)
    with pytest.raises(IndexError, match="tensors used as indices must be integer"):
        x[f32((2,), device)]
    with pytest.raises(TypeError):
        x[1.5]
    with pytest.raises(TypeError):
        x["a"]
    with pytest.raises(IndexError, match="too many indices"):
        x[0, 1, 2]


# ------------------------------------------------------------------------ functional
def test_gelu_approximate(device):
    with pytest.raises(ValueError, match="gelu"):
        F.gelu(f32((3,), device), approximate="fast")


def test_linear_errors(device):
    x = f32((7, 33), device)
    with pytest.raises(ValueError, match="linear"):
        F.linear(x, f32((5, 32), device))
    with pytest.raises(ValueError, match="linear"):
        F.linear(x, f32((5, 33), device), f32((4,), device))
    with pytest.raises(ValueError, match="linear"):
        F.linear(x, f32((33,), device))
    with pytest.raises(TypeError, match="linear"):
        F.linear(i64([[1, 2]], device), f32((3, 2), device))


@pytest.mark.parametrize("p", [-0.1, 1.1, math.nan, math.inf])
def test_dropout_bad_p(p, device):
    x = f32((7,), device)
    with pytest.raises(ValueError, match="dropout"):
        F.dropout(x, p=p)
    with pytest.raises(ValueError, match="dropout"):
        F.dropout(x, p=p, training=False)


LOSSES = {
    "mse_loss": F.mse_loss,
    "l1_loss": F.l1_loss,
    "binary_cross_entropy_with_logits": F.binary_cross_entropy_with_logits,
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_regression_loss_errors(name, device):
    fn = LOSSES[name]
    x = f32((7, 3), device)
    for bad in ((7, 4), (3, 7), (7,), (21,), (1, 3)):
        with pytest.raises(ValueError, match=name):
            fn(x, f32(bad, device))
    for red in ("avg", "", "MEAN", None):
        with pytest.raises((ValueError, TypeError)):
            fn(x, x, reduction=red)
    with pytest.raises(ValueError, match=name):
        fn(x, x, reduction="avg")
    with pytest.raises(TypeError, match=name):
        fn(i64([[1, 2]], device), f32((1, 2), device))
    with pytest.raises(TypeError, match=name):
        fn(f32((1, 2), device), i64([[1, 2]], device))


@pytest.mark.parametrize("name", ["cross_entropy", "nll_loss"])
def test_classification_loss_errors(name, device):
    fn = getattr(F, name)
    x = f32((4, 5), device)
    t = i64([0, 4, 2, 1], device)
    for bad_t in ([0, 5, 2, 1], [0, -1, 2, 1], [100, 0, 0, 0]):
        with pytest.raises(ValueError, match=name):
            fn(x, i64(bad_t, device))
    # cross_entropy reads floating targets as probabilities, which take the input's shape
    with pytest.raises(ValueError if name == "cross_entropy" else TypeError, match=name):
        fn(x, as_tensor(np.array([0.0, 1.0, 2.0, 1.0], np.float32), device))
    with pytest.raises(TypeError, match=name):
        fn(i64([[1, 2]], device), i64([0], device))
    with pytest.raises(ValueError, match=name):
        fn(x, i64([0, 1, 2], device))  # N mismatch
    with pytest.raises(ValueError, match=name):
        fn(x, i64([[0, 1, 2, 3]], device))  # target not 1-D
    with pytest.raises(ValueError, match=name):
        fn(f32((2, 4, 5), device), t)  # (N, C, d) input, target not (N, d)
    with pytest.raises(ValueError, match=name):
        fn(x, t, reduction="avg")


@pytest.mark.parametrize("ls", [-0.1, 1.5, math.nan])
def test_label_smoothing_range(ls, device):
    with pytest.raises(ValueError, match="cross_entropy"):
        F.cross_entropy(f32((4, 5), device), i64([0, 1, 2, 3], device), label_smoothing=ls)


def test_failed_loss_leaves_grad_untouched(device):
    x = as_tensor(make_input((4, 5)), device, requires_grad=True)
    F.cross_entropy(x, i64([0, 1, 2, 3], device)).backward()
    g = to_numpy(x.grad).copy()
    with pytest.raises(ValueError):
        F.cross_entropy(x, i64([0, 1, 2, 9], device)).backward()
    np.testing.assert_array_equal(to_numpy(x.grad), g)


# -------------------------------------------------------------------------- creation
def test_tensor_bad_data():
    with pytest.raises(ValueError):
        fg.tensor([[1.0, 2.0], [3.0]])  # ragged
    with pytest.raises(TypeError):
        fg.tensor("abc")
    with pytest.raises(TypeError):
        fg.tensor([1.0, "a"])
    with pytest.raises(TypeError):
        fg.tensor(None)
    with pytest.raises(TypeError):
        fg.tensor(np.array(["a", "b"]))


def test_from_numpy_bad_input():
    with pytest.raises(TypeError):
        fg.from_numpy([1.0, 2.0])
    with pytest.raises(TypeError):
        fg.from_numpy(np.zeros(3, np.uint16))
    with pytest.raises(TypeError):
        fg.from_numpy(np.zeros(3, np.complex64))


def test_creation_bad_sizes(device):
    for fn in (fg.zeros, fg.ones, fg.empty, fg.rand, fg.randn):
        with pytest.raises(ValueError):
            fn(-1, device=device)
        with pytest.raises(ValueError):
            fn(3, -2, device=device)
        with pytest.raises(TypeError):
            fn(2.5, device=device)
    with pytest.raises(ValueError):
        fg.full((2, -1), 1.0, device=device)


def test_arange_bad_step(device):
    with pytest.raises(ValueError, match="arange"):
        fg.arange(0, 5, 0, device=device)


def test_bad_device_and_dtype():
    with pytest.raises((ValueError, RuntimeError)):
        fg.device("tpu")
    with pytest.raises((ValueError, RuntimeError)):
        fg.zeros(3, device="gpu")
    with pytest.raises(TypeError):
        fg.zeros(3, dtype="float32")


def test_cuda_unavailable_is_an_error_not_a_cpu_tensor():
    if cuda_available():
        return_value = fg.zeros(3, device="cuda")
        assert return_value.device.type == "cuda"
    else:
        with pytest.raises((RuntimeError, ValueError)):
            fg.zeros(3, device="cuda")
        with pytest.raises((RuntimeError, ValueError)):
            fg.ones(3).to("cuda")


def test_item_and_numpy_errors():
    with pytest.raises(ValueError):
        fg.ones(2).item()
    with pytest.raises(RuntimeError):
        fg.ones(2, requires_grad=True).numpy()


def test_set_num_threads_bad(restore_threads):
    for n in (0, -1):
        with pytest.raises(ValueError):
            fg.set_num_threads(n)
    assert fg.get_num_threads() == restore_threads
    with pytest.raises(TypeError):
        fg.set_num_threads(1.5)


# ------------------------------------------------------------------- empty tensors ok
def test_empty_tensors_flow_through_ops(device):
    e = fg.zeros(0, 3, device=device, requires_grad=True)
    y = (e * 2.0 + 1.0).exp()
    assert tuple(y.shape) == (0, 3)
    assert tuple(F.softmax(e, dim=1).shape) == (0, 3)
    assert tuple(F.relu(e).shape) == (0, 3)
    y.sum().backward()
    assert tuple(e.grad.shape) == (0, 3)


# ------------------------------------------------------------- more entry points
def test_misc_entry_points_bad_args(device):
    x = f32((3, 4), device)
    with pytest.raises((IndexError, ValueError)):
        x.size(2)
    with pytest.raises(ValueError, match="flatten"):
        f32((2, 3, 4), device).flatten(2, 1)
    with pytest.raises(TypeError):
        fg.zeros_like([1.0, 2.0])
    with pytest.raises((ValueError, RuntimeError)):
        x.to("bogus")
    with pytest.raises(TypeError):
        x.to(3)
    with pytest.raises(TypeError):
        fg.manual_seed("seed")
    with pytest.raises(TypeError):
        F.dropout(x, p="half")
    with pytest.raises(TypeError):
        F.leaky_relu(x, negative_slope="a")
    with pytest.raises(TypeError):
        F.mse_loss(x, "target")
    with pytest.raises(TypeError):
        F.linear(x, [[1.0] * 4])


def test_grad_assignment_type_errors(device):
    x = as_tensor(make_input((3,)), device, requires_grad=True)
    with pytest.raises(TypeError):
        x.grad = as_tensor(np.array([1, 2, 3], np.int64), device)
    with pytest.raises(TypeError):
        x.grad = [1.0, 2.0, 3.0]
    assert x.grad is None


def test_backward_gradient_dtype(device):
    x = as_tensor(make_input((3,)), device, requires_grad=True)
    y = x * 2.0
    with pytest.raises(TypeError):
        y.backward(as_tensor(np.array([1, 2, 3], np.int64), device))
    with pytest.raises(TypeError):
        y.backward([1.0, 2.0, 3.0])
    assert x.grad is None


def test_gemm_empty_operands():
    from forgegrad import _C

    out = _C.gemm(fg.zeros(3, 0), fg.zeros(0, 4))
    np.testing.assert_array_equal(out.numpy(), np.zeros((3, 4)))
    c0 = make_input((3, 4))
    c = fg.tensor(c0)
    _C.gemm(fg.zeros(3, 0), fg.zeros(0, 4), out=c)
    np.testing.assert_array_equal(c.numpy(), c0)  # += nothing
    assert _C.gemm(fg.zeros(0, 5), fg.ones(5, 4)).shape == (0, 4)
    assert _C.gemm(fg.ones(2, 5), fg.ones(5, 0)).shape == (2, 0)


def test_gemm_out_errors():
    from forgegrad import _C

    a, b = fg.tensor(make_input((4, 5))), fg.tensor(make_input((5, 6)))
    with pytest.raises(TypeError, match=r"gemm|matmul"):
        _C.gemm(a, b, out=fg.zeros(4, 6, dtype=fg.int64))
    with pytest.raises(ValueError, match=r"gemm|matmul"):
        _C.gemm(a, b, out=fg.zeros(6, 4))
    with pytest.raises(ValueError, match=r"gemm|matmul"):
        _C.gemm(a, b, out=fg.zeros(4, 6)[1:3])


# ----------------------------------------------------------------------------- wrong argument types
WRONG_TYPES = {
    "linear-numpy-input": (lambda: F.linear(np.ones((2, 3), np.float32), fg.ones(4, 3)), "linear"),
    "relu-list": (lambda: fg.relu([1.0, 2.0]), "relu"),
    "matmul-float": (lambda: fg.matmul(fg.ones(2, 2), 2.0), "matmul"),
    "cross-entropy-numpy-target": (
        lambda: F.cross_entropy(fg.ones(2, 3), np.array([0, 1])),
        "cross_entropy",
    ),
    "fill-string": (lambda: fg.ones(3).fill_("a"), "fill_"),
    "copy-numpy": (lambda: fg.ones(3).copy_(np.zeros(3, np.float32)), "copy_"),
    "manual-seed-float": (lambda: fg.manual_seed(1.5), "manual_seed"),
    "requires-grad-string": (lambda: fg.ones(3).requires_grad_("no"), "requires_grad_"),
    "unknown-keyword": (lambda: fg.softmax(fg.ones(3), axis=0), "softmax"),
}


@pytest.mark.parametrize("case", list(WRONG_TYPES))
def test_arguments_of_the_wrong_type_get_one_line_naming_the_op(case):
    call, op = WRONG_TYPES[case]
    with pytest.raises(TypeError) as error:
        call()
    message = str(error.value)
    assert message.startswith(f"[{op}] got (") and "expected" in message
    assert "incompatible function arguments" not in message and "\n" not in message


def test_grad_and_backward_name_what_they_expected():
    t = fg.ones(3, requires_grad=True)
    with pytest.raises(TypeError, match=r"\[grad\] expected the gradient to be a Tensor or None"):
        t.grad = np.ones(3, np.float32)
    with pytest.raises(TypeError, match=r"\[backward\] expected gradient to be a Tensor"):
        (t * 2).backward(np.ones(3, np.float32))


def test_integers_beyond_int64_are_a_readable_type_error():
    # (An index beyond int64 is an IndexError, as in numpy: tests/test_hardening_ops.py.)
    with pytest.raises(TypeError, match=r"^\[argument\] a Python int could not be converted"):
        fg.ones(2, 3).sum(2**70)


@pytest.mark.parametrize("value", [None, "yes", 1])
def test_requires_grad_takes_only_a_bool(value):
    t = fg.ones(2)
    with pytest.raises(TypeError, match=r"\[requires_grad\] expected True or False"):
        t.requires_grad = value
    assert t.requires_grad is False


# ------------------------------------------- the Python layer's errors are RuntimeErrors too
def _sgd():
    return fg.optim.SGD([fg.nn.Parameter(fg.ones(2))], lr=0.1)


PYTHON_LAYER_ERRORS = {
    "tensor ragged": (lambda: fg.tensor([[1, 2], [3]]), ValueError),
    "tensor dtype": (lambda: fg.tensor([1], dtype="float32"), TypeError),
    "arange int64": (lambda: fg.arange(2**64, dtype=fg.int64), ValueError),
    "roll shifts": (lambda: fg.roll(fg.ones(2, 3), (1, 2), dims=0), ValueError),
    "repeat sizes": (lambda: fg.ones(2, 3).repeat(2), ValueError),
    "Tensor.type": (lambda: fg.ones(2).type("torch.FloatTensor"), TypeError),
    "GELU": (lambda: fg.nn.GELU(approximate="erf"), ValueError),
    "LeakyReLU": (lambda: fg.nn.LeakyReLU("0.1"), TypeError),
    "Sequential": (lambda: fg.nn.Sequential(fg.nn.ReLU(), "relu"), TypeError),
    "init fan": (lambda: fg.nn.init.kaiming_uniform_(fg.ones(3)), ValueError),
    "SGD params": (lambda: fg.optim.SGD(fg.ones(2), lr=0.1), TypeError),
    "StepLR": (lambda: fg.optim.lr_scheduler.StepLR(_sgd(), step_size="2"), TypeError),
    "TensorDataset": (lambda: fg.data.TensorDataset(np.ones((2, 1)), np.ones((3, 1))), ValueError),
    "DataLoader": (
        lambda: fg.data.DataLoader(fg.data.TensorDataset(np.ones((2, 1))), batch_size=0),
        ValueError,
    ),
    "save": (lambda: fg.save({"x": object()}, "unused.safetensors"), TypeError),
}


@pytest.mark.parametrize("case", list(PYTHON_LAYER_ERRORS))
def test_python_layer_errors_are_also_runtime_errors(case):
    # as the C++ ops' are (module.cpp): `except RuntimeError` catches bad input anywhere
    call, builtin = PYTHON_LAYER_ERRORS[case]
    with pytest.raises(RuntimeError) as error:
        call()
    assert isinstance(error.value, builtin) and str(error.value).startswith("[")


def test_the_python_layer_raises_no_builtin_value_or_type_error():
    # a plain `raise ValueError(...)` would escape `except RuntimeError`: raise _errors.ValueError
    root = pathlib.Path(fg.__file__).parent
    plain = [
        f"{path.relative_to(root)}:{n}"
        for path in sorted(root.rglob("*.py"))
        for n, line in enumerate(path.read_text().splitlines(), 1)
        if re.search(r"\b(raise|return) (ValueError|TypeError)\(", line)
    ]
    assert not plain, plain
