"""The binary math beyond + - * / (values in tests/op_db.py): integer semantics, NaN rules,
gradients at ties and bounds, operators and in-place forms, numpy operands, errors."""

import numpy as np
import pytest

import forgegrad as fg
from helpers import to_numpy

INT_DTYPES = [fg.int64, fg.int32, fg.int16, fg.int8]


@pytest.mark.parametrize("dtype", INT_DTYPES)
def test_integer_division_follows_python(dtype):
    a = [-7, -6, -1, 0, 1, 6, 7, 100]
    b = [2, -2, 3, -3, 5, -5, 7, -7]
    x, y = fg.tensor(a, dtype=dtype), fg.tensor(b, dtype=dtype)
    assert (x // y).tolist() == [i // j for i, j in zip(a, b)]
    assert (x % y).tolist() == [i % j for i, j in zip(a, b)]
    assert fg.fmod(x, y).tolist() == [int(np.fmod(i, j)) for i, j in zip(a, b)]
    assert fg.div(x, y, rounding_mode="trunc").tolist() == [int(i / j) for i, j in zip(a, b)]
    assert (x // y).dtype == dtype


def test_most_negative_integer_divided_by_minus_one_wraps():
    x = fg.tensor([-128, -128, -128], dtype=fg.int8)
    minus_one = fg.tensor([-1, -1, -1], dtype=fg.int8)
    assert (x // minus_one).tolist() == [-128] * 3  # PyTorch's wrap-around, no trap
    assert (x % minus_one).tolist() == [0] * 3
    assert fg.fmod(x, minus_one).tolist() == [0] * 3


@pytest.mark.parametrize(
    "op",
    [
        lambda a, b: a // b,
        lambda a, b: a % b,
        fg.fmod,
        lambda a, b: fg.div(a, b, rounding_mode="trunc"),
    ],
)
def test_integer_division_by_zero_raises(op):
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        op(fg.tensor([1, 2, 3]), fg.tensor([1, 0, 1]))
    assert (
        np.isinf(to_numpy(op(fg.tensor([1.0]), fg.tensor([0.0])))).all()
        or np.isnan(to_numpy(op(fg.tensor([1.0]), fg.tensor([0.0])))).all()
    )


def test_float_floor_divide_and_remainder_match_numpy():
    rng = np.random.default_rng(0)
    a = rng.uniform(-10, 10, 200).astype(np.float32)
    b = rng.choice([-3.0, -0.7, 0.3, 2.5], 200).astype(np.float32)
    x, y = fg.tensor(a), fg.tensor(b)
    np.testing.assert_array_equal(to_numpy(x // y), np.floor_divide(a, b))
    np.testing.assert_allclose(to_numpy(x % y), np.remainder(a, b), rtol=1e-6, atol=1e-6)
    assert fg.div(x, y, rounding_mode="floor").dtype == fg.float32


def test_rounded_division_has_zero_gradient():
    x = fg.tensor([1.5, -2.5], requires_grad=True)
    fg.div(x, 2.0, rounding_mode="floor").sum().backward()
    assert x.grad.tolist() == [0.0, 0.0]


def test_div_rejects_an_unknown_rounding_mode():
    with pytest.raises(ValueError, match=r"\[div\] expected rounding_mode"):
        fg.div(fg.ones(2), fg.ones(2), rounding_mode="ceil")


def test_bool_division_is_refused():
    with pytest.raises(TypeError, match=r"\[remainder\]"):
        fg.tensor([True]) % fg.tensor([True])


def test_maximum_propagates_nan_and_fmax_ignores_it():
    a = fg.tensor([1.0, float("nan"), 3.0, float("nan")])
    b = fg.tensor([float("nan"), 2.0, 1.0, float("nan")])
    assert np.isnan(to_numpy(fg.maximum(a, b))[[0, 1, 3]]).all()
    np.testing.assert_array_equal(to_numpy(fg.fmax(a, b)), [1.0, 2.0, 3.0, np.nan])
    np.testing.assert_array_equal(to_numpy(fg.fmin(a, b)), [1.0, 2.0, 1.0, np.nan])


def test_maximum_splits_the_gradient_at_ties():
    a = fg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    b = fg.tensor([1.0, 5.0, 0.0], requires_grad=True)
    fg.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 0.0, 1.0]
    assert b.grad.tolist() == [0.5, 1.0, 0.0]


def test_maximum_of_bool_and_integers():
    assert fg.maximum(fg.tensor([True, False]), fg.tensor([False, False])).tolist() == [True, False]
    assert fg.minimum(fg.tensor([3], dtype=fg.uint8), fg.tensor([-1])).tolist() == [-1]


def test_pow_with_tensor_exponents_and_number_bases():
    x = fg.tensor([0.0, 1.0, 2.0, 3.0])
    np.testing.assert_allclose(to_numpy(2**x), [1.0, 2.0, 4.0, 8.0])
    np.testing.assert_allclose(
        to_numpy(x ** fg.tensor([2.0, 0.5, 3.0, -1.0])), [0.0, 1.0, 8.0, 1 / 3], rtol=1e-6
    )
    assert fg.pow(2, fg.tensor([3, 10])).tolist() == [8, 1024]
    # integer tensors to negative integer exponents: 1 / a ** |b| truncated, as PyTorch
    assert fg.pow(fg.tensor([1, -1, -1, 2, 0]), fg.tensor([-3, -3, -2, -1, 2])).tolist() == [
        1,
        -1,
        1,
        0,
        0,
    ]
    assert (fg.tensor([3], dtype=fg.int8) ** fg.tensor([5], dtype=fg.int8)).tolist() == [-13]


def test_pow_gradient_of_the_exponent_is_zero_at_a_zero_base():
    base = fg.tensor([0.0, 2.0], requires_grad=True)
    exponent = fg.tensor([2.0, 3.0], requires_grad=True)
    (base**exponent).sum().backward()
    np.testing.assert_allclose(to_numpy(exponent.grad), [0.0, 8.0 * np.log(2.0)], rtol=1e-6)
    np.testing.assert_allclose(to_numpy(base.grad), [0.0, 12.0], rtol=1e-6)


def test_bitwise_ops_and_operators():
    a, b = fg.tensor([12, -7, 0, 255]), fg.tensor([10, 3, -1, 15])
    assert (a & b).tolist() == [8, 1, 0, 15]
    assert (a | b).tolist() == [14, -5, -1, 255]
    assert (a ^ b).tolist() == [6, -6, -1, 240]
    assert (~a).tolist() == [-13, 6, -1, -256]
    assert (~fg.tensor([0, 255], dtype=fg.uint8)).tolist() == [255, 0]
    assert (~fg.tensor([True, False])).tolist() == [False, True]
    assert (fg.tensor([True, False]) & fg.tensor([True, True])).dtype == fg.bool
    assert (a & 6).tolist() == [4, 0, 0, 6]
    with pytest.raises(TypeError, match=r"\[bitwise_and\] expected integer or bool"):
        fg.ones(2) & fg.ones(2)


def test_shifts_past_the_width_shift_everything_out():
    x = fg.tensor([1, -8, 5, -5], dtype=fg.int8)
    assert (x << fg.tensor([3, 1, 8, -1], dtype=fg.int8)).tolist() == [8, -16, 0, 0]
    assert (x >> fg.tensor([1, 2, 9, 8], dtype=fg.int8)).tolist() == [0, -2, 0, -1]
    assert (fg.tensor([200], dtype=fg.uint8) << 1).tolist() == [144]  # wraps
    with pytest.raises(TypeError, match=r"\[bitwise_left_shift\] expected integer tensors"):
        fg.tensor([True]) << fg.tensor([True])


def test_logical_ops_give_bool():
    a, b = fg.tensor([0.0, 2.0, -1.0, 0.0]), fg.tensor([0, 0, 3, 5])
    assert fg.logical_and(a, b).tolist() == [False, False, True, False]
    assert fg.logical_or(a, b).tolist() == [False, True, True, True]
    assert fg.logical_xor(a, b).tolist() == [False, True, False, True]
    assert fg.logical_not(a).tolist() == [True, False, False, True]
    assert a.logical_not().dtype == fg.bool


def test_comparison_methods_take_numbers_and_tensors():
    x = fg.tensor([1, 2, 3])
    assert x.eq(2).tolist() == [False, True, False]
    assert x.ge(fg.tensor([3, 2, 1])).tolist() == [False, True, True]
    assert fg.greater(x, 1.5).tolist() == [False, True, True]
    assert fg.less_equal(2, x).tolist() == [False, True, True]


def test_isclose_allclose_equal():
    a = fg.tensor([1.0, float("inf"), float("nan"), 1e10])
    b = fg.tensor([1.0 + 1e-7, float("inf"), float("nan"), 1.000001e10])
    assert fg.isclose(a, b).tolist() == [True, True, False, True]
    assert fg.isclose(a, b, equal_nan=True).tolist() == [True, True, True, True]
    assert fg.allclose(a[:2], b[:2]) is True
    assert fg.allclose(a, b) is False and fg.allclose(a, b, equal_nan=True) is True
    assert fg.equal(fg.tensor([1, 2]), fg.tensor([1, 2])) is True
    assert fg.equal(fg.tensor([1, 2]), fg.tensor([1, 3])) is False
    assert fg.equal(fg.tensor([1, 2]), fg.tensor([[1, 2]])) is False
    assert fg.ones(3).allclose(fg.ones(3) + 1e-9)


def test_isnan_isinf_isfinite():
    x = fg.tensor([1.0, float("nan"), float("inf"), -float("inf")])
    assert fg.isnan(x).tolist() == [False, True, False, False]
    assert x.isinf().tolist() == [False, False, True, True]
    assert fg.isfinite(x).tolist() == [True, False, False, False]
    assert fg.isfinite(fg.tensor([1, 2])).tolist() == [True, True]


def test_clamp_with_tensor_bounds():
    x = fg.tensor([0.0, 5.0, 10.0, 3.0], requires_grad=True)
    lo = fg.tensor([1.0, 1.0, 1.0, 6.0], requires_grad=True)
    hi = fg.tensor([8.0, 4.0, 8.0, 2.0], requires_grad=True)
    out = fg.clamp(x, lo, hi)
    assert out.tolist() == [1.0, 4.0, 8.0, 2.0]  # min(max(x, lo), hi): hi wins when lo > hi
    out.backward(fg.tensor([1.0, 2.0, 3.0, 4.0]))
    assert x.grad.tolist() == [0.0, 0.0, 0.0, 0.0]
    assert lo.grad.tolist() == [1.0, 0.0, 0.0, 0.0]
    assert hi.grad.tolist() == [0.0, 2.0, 3.0, 4.0]
    assert fg.clip(fg.tensor([5, -5]), max=fg.tensor(2)).tolist() == [2, -5]
    assert fg.clamp(fg.tensor([1, 2]), fg.tensor([1.5])).dtype == fg.float32


def test_lerp_is_exact_at_the_ends():
    start, end = fg.tensor([1.0, -3.0]), fg.tensor([1e8, 7.0])
    assert fg.lerp(start, end, 1.0).tolist() == [1e8, 7.0]
    assert fg.lerp(start, end, 0.0).tolist() == [1.0, -3.0]
    np.testing.assert_allclose(
        to_numpy(start.lerp(end, fg.tensor([0.5, 0.25]))), [0.5 + 0.5e8, -0.5]
    )


def test_numpy_arrays_are_operands():
    x = fg.tensor([1.0, 2.0])
    y = x + np.array([10.0, 20.0])
    assert y.tolist() == [11.0, 22.0] and y.dtype == fg.float64
    z = np.array([1.0, 1.0], dtype=np.float32) - x
    assert isinstance(z, fg.Tensor) and z.tolist() == [0.0, -1.0] and z.dtype == fg.float32
    assert (x * np.float32(3)).tolist() == [3.0, 6.0]
    assert fg.maximum(x, np.array([1.5, 1.5], dtype=np.float32)).tolist() == [1.5, 2.0]


def test_in_place_forms_and_augmented_operators():
    x = fg.tensor([7, -7])
    x %= 3
    assert x.tolist() == [1, 2]
    x //= 2
    assert x.tolist() == [0, 1]
    x |= 4
    assert x.tolist() == [4, 5]
    x <<= 1
    assert x.tolist() == [8, 10]
    y = fg.tensor([1.0, 4.0])
    assert y.pow_(2) is y and y.tolist() == [1.0, 16.0]
    y.clamp_(max=9.0).sqrt_()
    assert y.tolist() == [1.0, 3.0]
    y.add_(fg.ones(2), alpha=2)
    assert y.tolist() == [3.0, 5.0]
    with pytest.raises(
        RuntimeError, match=r"\[sqrt_\] result type forgegrad.float32 can.t be cast"
    ):
        fg.tensor([4]).sqrt_()


def test_shape_and_dtype_errors_are_runtime_errors_too():
    with pytest.raises(RuntimeError, match="cannot be broadcast"):
        fg.ones(2) + fg.ones(3)
    with pytest.raises(ValueError):
        fg.ones(2) + fg.ones(3)
    with pytest.raises(RuntimeError, match=r"\[bitwise_and\]"):
        fg.ones(2) & fg.ones(2)
    with pytest.raises(TypeError):
        fg.ones(2) & fg.ones(2)


@pytest.mark.parametrize("dtype", [fg.float16, fg.bfloat16])
def test_half_types_compute_in_float32(dtype):
    a, b = fg.tensor([7.5, -7.5], dtype=dtype), fg.tensor([2.0, 2.0], dtype=dtype)
    assert (a % b).dtype == dtype and (a % b).tolist() == [1.5, 0.5]
    assert fg.atan2(a, b).dtype == dtype


def test_atan2_and_hypot_promote_integers_to_float32():
    assert fg.atan2(fg.tensor([1]), fg.tensor([1])).dtype == fg.float32
    np.testing.assert_allclose(to_numpy(fg.hypot(fg.tensor([3]), fg.tensor([4]))), [5.0])
