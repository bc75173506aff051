"""Tensor repr and str as PyTorch prints them (the expected strings are PyTorch's, with
"torch." read as "forgegrad."), print options, and f-string formatting of 0-d tensors."""

import pytest

import forgegrad as fg
from forgegrad import nn

CASES = [
    ("fg.tensor([1e6, 1e-8])", "tensor([1.0000e+06, 1.0000e-08])"),
    ("fg.tensor([1.0, 2.0, 3.0])", "tensor([1., 2., 3.])"),
    ("fg.tensor([1.5, -2.25, 3.0])", "tensor([ 1.5000, -2.2500,  3.0000])"),
    ("fg.tensor([0.0, 0.0])", "tensor([0., 0.])"),
    ("fg.tensor(3.5)", "tensor(3.5000)"),
    ("fg.tensor(2.0)", "tensor(2.)"),
    ("fg.tensor(7)", "tensor(7)"),
    ("fg.tensor([True, False])", "tensor([ True, False])"),
    ("fg.tensor([1, -20, 300])", "tensor([  1, -20, 300])"),
    ("fg.tensor([1, 2], dtype=fg.int32)", "tensor([1, 2], dtype=forgegrad.int32)"),
    ("fg.tensor([1.0, float('nan'), float('inf'), -float('inf')])", "tensor([1., nan, inf, -inf])"),
    ("fg.tensor([float('nan'), 1.5])", "tensor([   nan, 1.5000])"),
    ("fg.tensor([1e-5, 1.0])", "tensor([1.0000e-05, 1.0000e+00])"),
    ("fg.tensor([123456789.0, 1.0])", "tensor([1.2346e+08, 1.0000e+00])"),
    (
        "fg.tensor([1.0, 2.5], dtype=fg.float64)",
        "tensor([1.0000, 2.5000], dtype=forgegrad.float64)",
    ),
    (
        "fg.tensor([1.0, 2.5], dtype=fg.float16)",
        "tensor([1.0000, 2.5000], dtype=forgegrad.float16)",
    ),
    (
        "fg.tensor([1.0, 2.5], dtype=fg.bfloat16)",
        "tensor([1.0000, 2.5000], dtype=forgegrad.bfloat16)",
    ),
    (
        "fg.tensor([0.1, 0.2], dtype=fg.float64)",
        "tensor([0.1000, 0.2000], dtype=forgegrad.float64)",
    ),
    (
        "fg.arange(12.0).reshape(3, 4) / 7",
        "tensor([[0.0000, 0.1429, 0.2857, 0.4286],\n        [0.5714, 0.7143, 0.8571, 1.0000],\n        [1.1429, 1.2857, 1.4286, 1.5714]])",
    ),
    (
        "fg.arange(24).reshape(2, 3, 4)",
        "tensor([[[ 0,  1,  2,  3],\n         [ 4,  5,  6,  7],\n         [ 8,  9, 10, 11]],\n\n        [[12, 13, 14, 15],\n         [16, 17, 18, 19],\n         [20, 21, 22, 23]]])",
    ),
    ("fg.arange(2000)", "tensor([   0,    1,    2,  ..., 1997, 1998, 1999])"),
    (
        "fg.arange(2000.0).reshape(40, 50)",
        "tensor([[0.0000e+00, 1.0000e+00, 2.0000e+00,  ..., 4.7000e+01, 4.8000e+01,\n         4.9000e+01],\n        [5.0000e+01, 5.1000e+01, 5.2000e+01,  ..., 9.7000e+01, 9.8000e+01,\n         9.9000e+01],\n        [1.0000e+02, 1.0100e+02, 1.0200e+02,  ..., 1.4700e+02, 1.4800e+02,\n         1.4900e+02],\n        ...,\n        [1.8500e+03, 1.8510e+03, 1.8520e+03,  ..., 1.8970e+03, 1.8980e+03,\n         1.8990e+03],\n        [1.9000e+03, 1.9010e+03, 1.9020e+03,  ..., 1.9470e+03, 1.9480e+03,\n         1.9490e+03],\n        [1.9500e+03, 1.9510e+03, 1.9520e+03,  ..., 1.9970e+03, 1.9980e+03,\n         1.9990e+03]])",
    ),
    (
        "fg.arange(3000.0).reshape(10, 10, 30) / 3",
        "tensor([[[0.0000e+00, 3.3333e-01, 6.6667e-01,  ..., 9.0000e+00,\n          9.3333e+00, 9.6667e+00],\n         [1.0000e+01, 1.0333e+01, 1.0667e+01,  ..., 1.9000e+01,\n          1.9333e+01, 1.9667e+01],\n         [2.0000e+01, 2.0333e+01, 2.0667e+01,  ..., 2.9000e+01,\n          2.9333e+01, 2.9667e+01],\n         ...,\n         [7.0000e+01, 7.0333e+01, 7.0667e+01,  ..., 7.9000e+01,\n          7.9333e+01, 7.9667e+01],\n         [8.0000e+01, 8.0333e+01, 8.0667e+01,  ..., 8.9000e+01,\n          8.9333e+01, 8.9667e+01],\n         [9.0000e+01, 9.0333e+01, 9.0667e+01,  ..., 9.9000e+01,\n          9.9333e+01, 9.9667e+01]],\n\n        [[1.0000e+02, 1.0033e+02, 1.0067e+02,  ..., 1.0900e+02,\n          1.0933e+02, 1.0967e+02],\n         [1.1000e+02, 1.1033e+02, 1.1067e+02,  ..., 1.1900e+02,\n          1.1933e+02, 1.1967e+02],\n         [1.2000e+02, 1.2033e+02, 1.2067e+02,  ..., 1.2900e+02,\n          1.2933e+02, 1.2967e+02],\n         ...,\n         [1.7000e+02, 1.7033e+02, 1.7067e+02,  ..., 1.7900e+02,\n          1.7933e+02, 1.7967e+02],\n         [1.8000e+02, 1.8033e+02, 1.8067e+02,  ..., 1.8900e+02,\n          1.8933e+02, 1.8967e+02],\n         [1.9000e+02, 1.9033e+02, 1.9067e+02,  ..., 1.9900e+02,\n          1.9933e+02, 1.9967e+02]],\n\n        [[2.0000e+02, 2.0033e+02, 2.0067e+02,  ..., 2.0900e+02,\n          2.0933e+02, 2.0967e+02],\n         [2.1000e+02, 2.1033e+02, 2.1067e+02,  ..., 2.1900e+02,\n          2.1933e+02, 2.1967e+02],\n         [2.2000e+02, 2.2033e+02, 2.2067e+02,  ..., 2.2900e+02,\n          2.2933e+02, 2.2967e+02],\n         ...,\n         [2.7000e+02, 2.7033e+02, 2.7067e+02,  ..., 2.7900e+02,\n          2.7933e+02, 2.7967e+02],\n         [2.8000e+02, 2.8033e+02, 2.8067e+02,  ..., 2.8900e+02,\n          2.8933e+02, 2.8967e+02],\n         [2.9000e+02, 2.9033e+02, 2.9067e+02,  ..., 2.9900e+02,\n          2.9933e+02, 2.9967e+02]],\n\n        ...,\n\n        [[7.0000e+02, 7.0033e+02, 7.0067e+02,  ..., 7.0900e+02,\n          7.0933e+02, 7.0967e+02],\n         [7.1000e+02, 7.1033e+02, 7.1067e+02,  ..., 7.1900e+02,\n          7.1933e+02, 7.1967e+02],\n         [7.2000e+02, 7.2033e+02, 7.2067e+02,  ..., 7.2900e+02,\n          7.2933e+02, 7.2967e+02],\n         ...,\n         [7.7000e+02, 7.7033e+02, 7.7067e+02,  ..., 7.7900e+02,\n          7.7933e+02, 7.7967e+02],\n         [7.8000e+02, 7.8033e+02, 7.8067e+02,  ..., 7.8900e+02,\n          7.8933e+02, 7.8967e+02],\n         [7.9000e+02, 7.9033e+02, 7.9067e+02,  ..., 7.9900e+02,\n          7.9933e+02, 7.9967e+02]],\n\n        [[8.0000e+02, 8.0033e+02, 8.0067e+02,  ..., 8.0900e+02,\n          8.0933e+02, 8.0967e+02],\n         [8.1000e+02, 8.1033e+02, 8.1067e+02,  ..., 8.1900e+02,\n          8.1933e+02, 8.1967e+02],\n         [8.2000e+02, 8.2033e+02, 8.2067e+02,  ..., 8.2900e+02,\n          8.2933e+02, 8.2967e+02],\n         ...,\n         [8.7000e+02, 8.7033e+02, 8.7067e+02,  ..., 8.7900e+02,\n          8.7933e+02, 8.7967e+02],\n         [8.8000e+02, 8.8033e+02, 8.8067e+02,  ..., 8.8900e+02,\n          8.8933e+02, 8.8967e+02],\n         [8.9000e+02, 8.9033e+02, 8.9067e+02,  ..., 8.9900e+02,\n          8.9933e+02, 8.9967e+02]],\n\n        [[9.0000e+02, 9.0033e+02, 9.0067e+02,  ..., 9.0900e+02,\n          9.0933e+02, 9.0967e+02],\n         [9.1000e+02, 9.1033e+02, 9.1067e+02,  ..., 9.1900e+02,\n          9.1933e+02, 9.1967e+02],\n         [9.2000e+02, 9.2033e+02, 9.2067e+02,  ..., 9.2900e+02,\n          9.2933e+02, 9.2967e+02],\n         ...,\n         [9.7000e+02, 9.7033e+02, 9.7067e+02,  ..., 9.7900e+02,\n          9.7933e+02, 9.7967e+02],\n         [9.8000e+02, 9.8033e+02, 9.8067e+02,  ..., 9.8900e+02,\n          9.8933e+02, 9.8967e+02],\n         [9.9000e+02, 9.9033e+02, 9.9067e+02,  ..., 9.9900e+02,\n          9.9933e+02, 9.9967e+02]]])",
    ),
    (
        "fg.arange(40.0) * 1.5",
        "tensor([ 0.0000,  1.5000,  3.0000,  4.5000,  6.0000,  7.5000,  9.0000, 10.5000,\n        12.0000, 13.5000, 15.0000, 16.5000, 18.0000, 19.5000, 21.0000, 22.5000,\n        24.0000, 25.5000, 27.0000, 28.5000, 30.0000, 31.5000, 33.0000, 34.5000,\n        36.0000, 37.5000, 39.0000, 40.5000, 42.0000, 43.5000, 45.0000, 46.5000,\n        48.0000, 49.5000, 51.0000, 52.5000, 54.0000, 55.5000, 57.0000, 58.5000])",
    ),
    (
        "fg.arange(30) * 1000000",
        "tensor([       0,  1000000,  2000000,  3000000,  4000000,  5000000,  6000000,\n         7000000,  8000000,  9000000, 10000000, 11000000, 12000000, 13000000,\n        14000000, 15000000, 16000000, 17000000, 18000000, 19000000, 20000000,\n        21000000, 22000000, 23000000, 24000000, 25000000, 26000000, 27000000,\n        28000000, 29000000])",
    ),
    ("fg.zeros(0)", "tensor([])"),
    ("fg.zeros(0, 3)", "tensor([], size=(0, 3))"),
    ("fg.zeros(0, dtype=fg.int64)", "tensor([], dtype=forgegrad.int64)"),
    ("fg.ones(2, requires_grad=True)", "tensor([1., 1.], requires_grad=True)"),
    (
        "fg.ones(2, 2, dtype=fg.float64, requires_grad=True)",
        "tensor([[1., 1.],\n        [1., 1.]], dtype=forgegrad.float64, requires_grad=True)",
    ),
    (
        "fg.arange(100.0, requires_grad=True)",
        "tensor([ 0.,  1.,  2.,  3.,  4.,  5.,  6.,  7.,  8.,  9., 10., 11., 12., 13.,\n        14., 15., 16., 17., 18., 19., 20., 21., 22., 23., 24., 25., 26., 27.,\n        28., 29., 30., 31., 32., 33., 34., 35., 36., 37., 38., 39., 40., 41.,\n        42., 43., 44., 45., 46., 47., 48., 49., 50., 51., 52., 53., 54., 55.,\n        56., 57., 58., 59., 60., 61., 62., 63., 64., 65., 66., 67., 68., 69.,\n        70., 71., 72., 73., 74., 75., 76., 77., 78., 79., 80., 81., 82., 83.,\n        84., 85., 86., 87., 88., 89., 90., 91., 92., 93., 94., 95., 96., 97.,\n        98., 99.], requires_grad=True)",
    ),
    (
        "fg.tensor([[1e-10, 1.0], [100.0, 5.0]])",
        "tensor([[1.0000e-10, 1.0000e+00],\n        [1.0000e+02, 5.0000e+00]])",
    ),
    ("fg.tensor([-1.0, 10.0, -100.0])", "tensor([  -1.,   10., -100.])"),
    ("fg.tensor([1, 2], dtype=fg.uint8)", "tensor([1, 2], dtype=forgegrad.uint8)"),
    (
        "fg.tensor([[True, False], [False, True]])",
        "tensor([[ True, False],\n        [False,  True]])",
    ),
    ("fg.tensor([0.5, 1e3])", "tensor([5.0000e-01, 1.0000e+03])"),
    ("fg.tensor([0.5, 1e-3])", "tensor([0.5000, 0.0010])"),
    ("fg.arange(1001.0)", "tensor([   0.,    1.,    2.,  ...,  998.,  999., 1000.])"),
]


@pytest.mark.parametrize("expression,expected", CASES, ids=[c[0] for c in CASES])
def test_repr_matches_pytorch(expression, expected):
    tensor = eval(expression)
    assert repr(tensor) == expected
    assert str(tensor) == expected


OPTION_CASES = [
    ({"precision": 2, "sci_mode": True}, "fg.tensor([1.0, 2.5])", "tensor([1.00e+00, 2.50e+00])"),
    (
        {"precision": 2, "sci_mode": False},
        "fg.tensor([1e-8, 1e6])",
        "tensor([      0.00, 1000000.00])",
    ),
    ({"threshold": 5, "edgeitems": 2}, "fg.arange(10)", "tensor([0, 1,  ..., 8, 9])"),
    (
        {"threshold": 5, "edgeitems": 1},
        "fg.arange(24.0).reshape(4, 6)",
        "tensor([[ 0.,  ...,  5.],\n        ...,\n        [18.,  ..., 23.]])",
    ),
    (
        {"linewidth": 40},
        "fg.arange(30.0) / 7",
        "tensor([0.0000, 0.1429, 0.2857, 0.4286,\n        0.5714, 0.7143, 0.8571, 1.0000,\n        1.1429, 1.2857, 1.4286, 1.5714,\n        1.7143, 1.8571, 2.0000, 2.1429,\n        2.2857, 2.4286, 2.5714, 2.7143,\n        2.8571, 3.0000, 3.1429, 3.2857,\n        3.4286, 3.5714, 3.7143, 3.8571,\n        4.0000, 4.1429])",
    ),
    ({"precision": 6}, "fg.tensor([1 / 3])", "tensor([0.333333])"),
    ({"profile": "short"}, "fg.tensor([1 / 3, 2.0])", "tensor([0.33, 2.00])"),
]


@pytest.mark.parametrize(
    "options,expression,expected", OPTION_CASES, ids=[c[1] + str(c[0]) for c in OPTION_CASES]
)
def test_print_options(options, expression, expected):
    with fg.printoptions(**options):
        assert repr(eval(expression)) == expected
    assert fg.get_printoptions() == dict(
        precision=4, threshold=1000, edgeitems=3, linewidth=80, sci_mode=None
    )


def test_set_printoptions_keeps_unnamed_options_and_checks_values():
    try:
        fg.set_printoptions(precision=1)
        fg.set_printoptions(linewidth=60)
        assert fg.get_printoptions()["precision"] == 1
        assert repr(fg.tensor([0.25, 1.5])) == "tensor([0.2, 1.5])"
    finally:
        fg.set_printoptions(profile="default")
    with pytest.raises(ValueError, match=r"\[set_printoptions\] precision must be"):
        fg.set_printoptions(precision=-1)
    with pytest.raises(ValueError, match=r"\[set_printoptions\] profile must be one of"):
        fg.set_printoptions(profile="long")
    with pytest.raises(TypeError, match=r"\[set_printoptions\] sci_mode"):
        fg.set_printoptions(sci_mode="yes")
    assert fg.get_printoptions()["precision"] == 4


def test_grad_fn_and_parameter_suffixes():
    x = fg.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x * 2) == f"tensor([2., 4.], grad_fn={(x * 2).grad_fn!r})"
    assert repr(nn.Parameter(fg.tensor([0.5]))) == (
        "Parameter containing:\ntensor([0.5000], requires_grad=True)"
    )


def test_suffixes_wrap_past_the_line_width():
    x = fg.arange(16.0, dtype=fg.float64, requires_grad=True) / 3
    text = repr(x)
    assert text.endswith(",\n       dtype=forgegrad.float64, grad_fn=" + repr(x.grad_fn) + ")")
    assert all(len(line) <= 80 for line in text.splitlines())


def test_format_of_a_0d_tensor_is_its_number():
    loss = fg.tensor(0.123456)
    assert f"{loss:.4f}" == "0.1235"
    assert f"{fg.tensor(42):>5d}" == "   42"
    assert f"{loss}" == str(loss.item())  # as PyTorch: the number, even without a spec
    assert repr(loss) == "tensor(0.1235)"
    assert f"{fg.tensor([1.0, 2.0])}" == "tensor([1., 2.])"


def test_format_spec_on_a_tensor_of_many_values_is_refused():
    with pytest.raises(TypeError, match=r"\[format\] format spec '.2f' needs a 0-d tensor"):
        f"{fg.tensor([1.5]):.2f}"
