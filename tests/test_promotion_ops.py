"""Type promotion in the element math, as PyTorch: the result dtype of tensor-tensor,
tensor-number and tensor-0-d-tensor arithmetic and comparisons, values against numpy in every
dtype, integer wrap-around, in-place refusals, and float64 gradients. The tables below are
PyTorch 2.13's results, read off by hand."""

import numpy as np
import pytest

import forgegrad as fg

from helpers import as_tensor, gradcheck, make_input, to_numpy

NAMES = [
    "bool",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "float16",
    "bfloat16",
    "float32",
    "float64",
]
SHORT = {
    "b": "bool",
    "u8": "uint8",
    "i8": "int8",
    "i16": "int16",
    "i32": "int32",
    "i64": "int64",
    "f16": "float16",
    "bf16": "bfloat16",
    "f32": "float32",
    "f64": "float64",
}
# row dtype + column dtype, both dimensioned tensors
TENSOR_TENSOR = """
bool     b   u8  i8  i16 i32 i64 f16  bf16 f32 f64
uint8    u8  u8  i16 i16 i32 i64 f16  bf16 f32 f64
int8     i8  i16 i8  i16 i32 i64 f16  bf16 f32 f64
int16    i16 i16 i16 i16 i32 i64 f16  bf16 f32 f64
int32    i32 i32 i32 i32 i32 i64 f16  bf16 f32 f64
int64    i64 i64 i64 i64 i64 i64 f16  bf16 f32 f64
float16  f16 f16 f16 f16 f16 f16 f16  f32  f32 f64
bfloat16 bf16 bf16 bf16 bf16 bf16 bf16 f32 bf16 f32 f64
float32  f32 f32 f32 f32 f32 f32 f32  f32  f32 f64
float64  f64 f64 f64 f64 f64 f64 f64  f64  f64 f64
"""
# tensor + True, + 2, + 2.5, tensor / tensor, + 0-d float64 tensor, + 0-d int64 tensor
WITH_SCALARS = """
bool     b    i64  f32  f32  f64  i64
uint8    u8   u8   f32  f32  f64  u8
int8     i8   i8   f32  f32  f64  i8
int16    i16  i16  f32  f32  f64  i16
int32    i32  i32  f32  f32  f64  i32
int64    i64  i64  f32  f32  f64  i64
float16  f16  f16  f16  f16  f16  f16
bfloat16 bf16 bf16 bf16 bf16 bf16 bf16
float32  f32  f32  f32  f32  f32  f32
float64  f64  f64  f64  f64  f64  f64
"""


def _table(text):
    return {
        row[0]: [getattr(fg, SHORT[c]) for c in row[1:]]
        for row in (line.split() for line in text.strip().splitlines())
    }


def _ones(name, device, shape=(2,)):
    return fg.ones(*shape, dtype=getattr(fg, name), device=device)


@pytest.mark.parametrize("left", NAMES)
def test_tensor_tensor_result_types(left, device):
    for right, want in zip(NAMES, _table(TENSOR_TENSOR)[left]):
        a, b = _ones(left, device), _ones(right, device)
        assert (a + b).dtype == want, f"{left} + {right}"
        assert (a * b).dtype == want, f"{left} * {right}"
        assert (a == b).dtype == fg.bool and to_numpy(a == b).all()
        if want != fg.bool:
            assert (a - b).dtype == want, f"{left} - {right}"


@pytest.mark.parametrize("name", NAMES)
def test_scalar_and_zero_dim_result_types(name, device):
    with_bool, with_int, with_float, true_div, zero_dim_f64, zero_dim_i64 = _table(WITH_SCALARS)[
        name
    ]
    t = _ones(name, device)
    assert (t + True).dtype == with_bool
    assert (t + 2).dtype == with_int and (2 + t).dtype == with_int
    assert (t + 2.5).dtype == with_float and (2.5 * t).dtype == with_float
    assert (t / t).dtype == true_div and (t / 2).dtype == true_div
    assert (t + fg.tensor(1.0, dtype=fg.float64, device=device)).dtype == zero_dim_f64
    assert (t + fg.tensor(1, device=device)).dtype == zero_dim_i64
    assert (t > 0.5).dtype == fg.bool


NP = {
    "bool": np.bool_,
    "uint8": np.uint8,
    "int8": np.int8,
    "int16": np.int16,
    "int32": np.int32,
    "int64": np.int64,
    "float32": np.float32,
    "float64": np.float64,
}


@pytest.mark.parametrize("name", sorted(NP))
@pytest.mark.parametrize("op", ["add", "mul", "sub", "div", "eq", "lt", "ge"])
def test_values_in_every_dtype(name, op, device):
    rng = np.random.default_rng(3)
    kind = np.dtype(NP[name]).kind
    if kind == "b":
        a, b = rng.integers(0, 2, (4, 5)).astype(bool), rng.integers(0, 2, (5,)).astype(bool)
    elif kind in "iu":
        info = np.iinfo(NP[name])
        a = rng.integers(info.min, info.max, (4, 5), endpoint=True).astype(NP[name])
        b = rng.integers(1 if kind == "u" else -9, 10, (5,)).astype(NP[name])
        b[b == 0] = 1
    else:
        a, b = make_input((4, 5)).astype(NP[name]), make_input((5,)).astype(NP[name])
    if op == "sub" and kind == "b":
        with pytest.raises(TypeError, match=r"\[sub\] subtracting bool tensors"):
            as_tensor(a, device) - as_tensor(b, device)
        return
    fn = {
        "add": np.add,
        "mul": np.multiply,
        "sub": np.subtract,
        "div": np.true_divide,
        "eq": np.equal,
        "lt": np.less,
        "ge": np.greater_equal,
    }[op]
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        want = fn(a, b)
        if op == "div" and kind in "biu":
            want = (a.astype(np.float64) / b).astype(np.float32)
    got = to_numpy(
        getattr(fg, op)(as_tensor(a, device), as_tensor(b, device))
        if op not in ("eq", "lt", "ge")
        else {"eq": lambda x, y: x == y, "lt": lambda x, y: x < y, "ge": lambda x, y: x >= y}[op](
            as_tensor(a, device), as_tensor(b, device)
        )
    )
    assert got.dtype == want.dtype, f"{name} {op}: {got.dtype} != {want.dtype}"
    if kind == "f" or op == "div":
        np.testing.assert_allclose(got, want, rtol=1e-6)
    else:  # integers wrap around exactly as numpy's
        np.testing.assert_array_equal(got, want)


def test_storage_dtypes_round_once(device):
    x = make_input((50,)).astype(np.float32)
    for dtype in (fg.float16, fg.bfloat16):
        t = as_tensor(x, device).to(dtype)
        exact = to_numpy(t.float()).astype(np.float64)
        for got, want in ((t * t, exact * exact), (t + 1.5, exact + 1.5)):
            assert got.dtype == dtype
            # computed in float32 and rounded once to the storage dtype
            np.testing.assert_array_equal(
                to_numpy(got.float()),
                to_numpy(as_tensor(want.astype(np.float32), device).to(dtype).float()),
            )
        assert fg.exp(t).dtype == dtype and fg.sqrt(fg.abs(t)).dtype == dtype


def test_integer_unary_math(device):
    i = fg.tensor([-3, 0, 2, 7], device=device)
    assert (-i).tolist() == [3, 0, -2, -7] and (-i).dtype == fg.int64
    assert fg.abs(i).tolist() == [3, 0, 2, 7] and abs(i).dtype == fg.int64
    assert (i**2).tolist() == [9, 0, 4, 49] and (i**2).dtype == fg.int64
    assert (i**2.0).dtype == fg.float32  # a float exponent: float32, as PyTorch
    assert (i.to(fg.int8) ** 3).tolist() == [-27, 0, 8, 87]  # 343 wraps to 87 in int8
    assert i.clamp(-1, 3).tolist() == [-1, 0, 2, 3] and i.clamp(-1, 3).dtype == fg.int64
    assert i.clamp(min=0.5).tolist() == [0.5, 0.5, 2.0, 7.0]  # a float bound: float32
    assert i.clamp(min=0.5).dtype == fg.float32
    for fn in (fg.exp, fg.log1p, fg.sqrt):
        assert fn(i.abs()).dtype == fg.float32
    np.testing.assert_allclose(to_numpy(fg.exp(i)), np.exp([-3.0, 0, 2, 7]), rtol=1e-6)
    big = fg.tensor([2**62 + 1], device=device)
    assert big.clamp(max=2**63 - 1).tolist() == [2**62 + 1]  # int64 exact past 2**53


def test_integer_errors(device):
    i = fg.tensor([1, 2], device=device)
    with pytest.raises(ValueError, match=r"\[pow\] integers to negative integer powers"):
        i**-1
    with pytest.raises(TypeError, match=r"\[neg\] negation of a bool tensor"):
        -(i > 1)


def test_in_place_casting_rules(device):
    f = fg.tensor([1.0, 2.0], device=device)
    i = fg.tensor([1, 2], device=device)
    f += i  # int into float: allowed
    f += fg.tensor([1.0, 1.0], dtype=fg.float64, device=device)  # float64 into float32: same kind
    assert f.dtype == fg.float32 and f.tolist() == [3.0, 5.0]
    i += 1
    assert i.tolist() == [2, 3]
    for update in (lambda: i.__iadd__(1.5), lambda: i.__itruediv__(2), lambda: i.mul_(f)):
        with pytest.raises(
            RuntimeError,
            match=r"result type .*float.* can't be cast to the "
            r"desired output type forgegrad.int64",
        ):
            update()
        assert i.tolist() == [2, 3]  # nothing written


@pytest.mark.parametrize(
    "fn",
    [
        lambda a, b: a * b + a / b - b,
        lambda a, b: (a - b) ** 2 * 3.0,
        lambda a, b: fg.sqrt(fg.exp(a) + fg.abs(b)),
        lambda a, b: fg.log1p(a.clamp(-0.5, 1.5)) * b,
    ],
)
def test_float64_gradients(fn, device):
    gradcheck(fn, make_input((3, 4)), make_input((4,)) + 3.0, device=device)


def test_mixed_dtype_gradients_flow_back_in_each_dtype(device):
    a = fg.tensor(make_input((3,)), device=device, requires_grad=True)  # float32
    b = fg.tensor(make_input((3,)).astype(np.float64), device=device, requires_grad=True)
    (a * b).sum().backward()
    assert a.grad.dtype == fg.float32 and b.grad.dtype == fg.float64
    np.testing.assert_allclose(to_numpy(a.grad), to_numpy(b), rtol=1e-6)
    np.testing.assert_allclose(to_numpy(b.grad), to_numpy(a), rtol=1e-12)


def test_function_and_method_forms_take_numbers(device):
    t = fg.tensor([1.0, 2.0], device=device)
    i = fg.tensor([1, 2], device=device)
    assert fg.add(t, 1).tolist() == [2.0, 3.0] and t.mul(2).tolist() == [2.0, 4.0]
    assert t.add(t, alpha=2).tolist() == [3.0, 6.0]  # other * alpha, as PyTorch
    assert fg.sub(t, 1, alpha=0.5).tolist() == [0.5, 1.5]
    assert i.add(1).dtype == fg.int64 and i.div(2).tolist() == [0.5, 1.0]
    with pytest.raises(
        TypeError, match=r"\[mul\] expected a Tensor, a number or a numpy array, got str"
    ):
        t.mul("2")


def test_unary_math_dtypes_and_edges(device):
    i = fg.tensor([-2, 0, 3], device=device)
    assert fg.sin(i).dtype == fg.float32 and fg.erf(i).dtype == fg.float32
    for fn in (fg.floor, fg.ceil, fg.round, fg.trunc, fg.sign, fg.square):
        assert fn(i).dtype == fg.int64
    assert fg.sign(i).tolist() == [-1, 0, 1] and fg.square(i).tolist() == [4, 0, 9]
    x = fg.tensor([-2.5, -1.5, 0.5, 1.5, 2.5, float("nan")], device=device)
    np.testing.assert_array_equal(to_numpy(fg.round(x)), [-2.0, -2.0, 0.0, 2.0, 2.0, np.nan])
    assert np.isnan(to_numpy(fg.sign(x))[-1])  # NaN keeps its NaN, as PyTorch
    h = fg.tensor([0.5, 1.0], device=device).half()
    assert fg.sin(h).dtype == fg.float16 and fg.rsqrt(h).dtype == fg.float16
    with pytest.raises(TypeError, match=r"\[frac\] expected a floating-point tensor"):
        fg.frac(i)
