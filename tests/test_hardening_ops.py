"""Regression tests for issue 12's op-semantics cases: reductions of 0-d tensors, shape counts
past int64, clamp with min > max, exact integer arange, huge and nested indices, exact
integer exponents, and the gradient of a full max among ties. The expected values are
PyTorch 2.x's (checked against it when written)."""

import numpy as np
import pytest

import forgegrad as fg

# ---- reductions over the one dimension a 0-d tensor names -------------------------------


@pytest.mark.parametrize(
    "reduce",
    [
        lambda x: x.sum(0),
        lambda x: x.sum(-1),
        lambda x: x.sum(0, keepdim=True),
        lambda x: x.sum((0,)),
        lambda x: x.mean(0),
        lambda x: x.mean(-1, keepdim=True),
        lambda x: fg.max(x, 0).values,
        lambda x: fg.max(x, -1, keepdim=True).values,
    ],
)
def test_reducing_a_0d_tensor_gives_its_value_and_gradient(reduce, device):
    x = fg.tensor(0.5, device=device, requires_grad=True)
    y = reduce(x)
    assert y.shape == ()
    assert y.item() == 0.5
    y.backward()
    assert x.grad.shape == () and x.grad.item() == 1.0


@pytest.mark.parametrize(
    "reduce",
    [
        lambda x: x.argmax(0),
        lambda x: x.argmax(-1, keepdim=True),
        lambda x: x.argmax(),
        lambda x: fg.max(x, 0).indices,
    ],
)
def test_argmax_of_a_0d_tensor_is_index_0(reduce, device):
    index = reduce(fg.tensor(0.5, device=device))
    assert index.shape == () and index.item() == 0


@pytest.mark.parametrize(
    "reduce, error",
    [
        (lambda x: x.sum(1), IndexError),
        (lambda x: x.mean(-2), IndexError),
        (lambda x: fg.max(x, 1), IndexError),
        (lambda x: x.argmax(2), IndexError),
        (lambda x: x.sum((0, -1)), ValueError),  # one dimension named twice
    ],
)
def test_reducing_a_0d_tensor_over_a_missing_dimension_raises(reduce, error, device):
    with pytest.raises(error):
        reduce(fg.tensor(0.5, device=device))


# ---- element counts past int64 ------------------------------------------------------------


@pytest.mark.parametrize(
    "make",
    [
        lambda: fg.arange(4).float().view(2**62 + 1, 4),
        lambda: fg.arange(4).float().reshape(2**62 + 1, 4),
        lambda: fg.zeros(0).reshape(2**32, 2**32),
        lambda: fg.zeros(0).reshape(2**32, 2**32, 0),  # rejected, as numpy and PyTorch do
        lambda: fg.zeros(0).reshape(2**62, 4, -1),
        lambda: fg.zeros(0).view(-1, 2**31, 2**31),
        lambda: fg.zeros(2**31, 0, 2**31),
        lambda: fg.zeros(0).reshape(0, 2**40, 1) + fg.zeros(0).reshape(0, 1, 2**40),
        lambda: fg.empty(2**61),
    ],
)
def test_shapes_counting_past_int64_raise(make):
    with pytest.raises(ValueError, match="more than"):
        make()


def test_a_zero_size_makes_a_count_of_zero_and_indexing_stays_checked(device):
    t = fg.zeros(0, device=device).reshape(2**40, 0)
    assert t.shape == (2**40, 0) and t.numel() == 0
    row = t[2**39]
    assert row.shape == (0,)
    assert t[2**40 - 1 :].shape == (1, 0)
    assert t.sum().item() == 0.0
    with pytest.raises(IndexError):
        t[2**40]
    with pytest.raises(IndexError):
        t[[0, 2**40]]


def test_slices_with_huge_steps(device):
    t = fg.tensor([1.0, 2.0, 3.0], device=device)
    assert t[:: 2**62].tolist() == [1.0]
    assert t[1 : 3 : 2**63 - 1].tolist() == [2.0]


# ---- clamp ---------------------------------------------------------------------------------


def test_clamp_with_min_above_max_gives_max(device):
    x = fg.tensor([0.0, 2.0, 5.0, 6.0, 10.0, float("nan")], device=device, requires_grad=True)
    y = x.clamp(min=6, max=2)
    np.testing.assert_array_equal(y.detach().cpu().numpy(), [2, 2, 2, 2, 2, np.nan])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [0, 0, 0, 0, 0, 0])


def test_clamp_gradient_passes_inside_the_bounds(device):
    x = fg.tensor([0.0, 2.0, 5.0, 6.0, 10.0], device=device, requires_grad=True)
    y = x.clamp(min=2, max=6)
    np.testing.assert_array_equal(y.detach().cpu().numpy(), [2, 2, 5, 6, 6])
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [0, 1, 1, 1, 0])
    x.grad = None
    x.clamp(min=2, max=2).sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [0, 1, 0, 0, 0])


# ---- arange ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, expected",
    [
        ((2**53, 2**53 + 4), [2**53, 2**53 + 1, 2**53 + 2, 2**53 + 3]),
        ((2**62, 2**62 + 3), [2**62, 2**62 + 1, 2**62 + 2]),
        ((2**63 - 3, 2**63 - 1), [2**63 - 3, 2**63 - 2]),
        ((-(2**63), -(2**63) + 2), [-(2**63), -(2**63) + 1]),
        ((-(2**63), 2**63 - 1, 2**63 - 1), [-(2**63), -1, 2**63 - 2]),
        ((1, 0, -(2**63)), [1]),
        ((0, 10, 2**63 - 1), [0]),
        ((2**63 - 1, -(2**63), -(2**62)), [2**63 - 1, 2**62 - 1, -1, -(2**62) - 1]),
        ((np.uint64(2**63 - 2), np.int64(2**63 - 1)), [2**63 - 2]),
        ((10, 0, -3), [10, 7, 4, 1]),
        ((5, 5), []),
    ],
)
def test_integer_arange_is_exact_over_int64(args, expected, device):
    t = fg.arange(*args, device=device)
    assert t.dtype == fg.int64
    assert t.cpu().tolist() == expected


def test_int64_arange_of_floats_truncates_them_first(device):
    # As PyTorch: bounds and step become int64 before counting.
    assert fg.arange(0, 2.5, 1, dtype=fg.int64, device=device).tolist() == [0, 1]
    assert fg.arange(0.5, 3.7, 1, dtype=fg.int64, device=device).tolist() == [0, 1, 2]
    # -2**63 as a float fits int64 exactly (found by the fuzz suite: it was refused)
    assert fg.arange(
        -(2.0**63), -(2.0**63) + 4096, 2048.0, dtype=fg.int64, device=device
    ).tolist() == [-(2**63), -(2**63) + 2048]
    assert fg.full((1,), -(2.0**63), dtype=fg.int64, device=device).tolist() == [-(2**63)]


def test_float_arange_counts_in_double(device):
    np.testing.assert_array_equal(
        fg.arange(0, 1, 0.25, device=device).cpu().numpy(), [0, 0.25, 0.5, 0.75]
    )
    # 2**62 + 3 is 2**62 in double: nothing between start and end, as in PyTorch.
    assert fg.arange(2**62, 2**62 + 3, 1.0, device=device).shape == (0,)


@pytest.mark.parametrize(
    "args, kwargs, match",
    [
        ((0, 10, 0), {}, "nonzero"),
        ((0, 10, 0.0), {}, "nonzero"),
        ((0, 2.5, 0.5), {"dtype": fg.int64}, "nonzero"),  # the step truncates to 0
        ((0, 10, -1), {}, "inconsistent"),
        ((10, 0, 1.5), {}, "inconsistent"),
        ((0, 2**63), {}, "fit int64"),
        ((0, 10, 2**63), {}, "fit int64"),
        ((np.uint64(2**64 - 1),), {}, "fit int64"),
        ((0, 1e19), {"dtype": fg.int64}, "fit int64"),
        ((0, 2**63 - 1), {}, "too many"),
        ((-(2**63), 2**63 - 1), {}, "too many"),
        ((0, 10, 1e-30), {}, "too many"),
        ((0, float("inf")), {}, "finite"),
    ],
)
def test_arange_refuses_bad_ranges(args, kwargs, match):
    with pytest.raises(ValueError, match=match):
        fg.arange(*args, **kwargs)


# ---- indexing --------------------------------------------------------------------------------


def test_a_tuple_inside_an_index_tuple_is_an_index_list(device):
    x = fg.tensor([[1, 2, 3], [4, 5, 6]], device=device)
    assert x[((1,),)].shape == (1, 3)
    assert x[((1,),)].cpu().tolist() == [[4, 5, 6]]
    assert x[((1, 0, 1),)].cpu().tolist() == [[4, 5, 6], [1, 2, 3], [4, 5, 6]]
    assert x[((),)].shape == (0, 3)
    assert x[(1,)].cpu().tolist() == [4, 5, 6]  # the outer tuple alone is the index tuple


@pytest.mark.parametrize(
    "index",
    [
        np.array([2**64 - 1], dtype=np.uint64),
        np.array([0, 2**63], dtype=np.uint64),
        [2**64 - 1],
        [2**63],
        np.uint64(2**64 - 1),
        2**63,
        -(2**63) - 1,
        2**64,
        -(2**63),
        np.int64(-(2**63)),
        np.int64(2**63 - 1),
        np.array([2**32 - 1], dtype=np.uint32),
        np.array([-4], dtype=np.int8),
        np.uint8(3),
        np.array([3], dtype=np.uint16),
    ],
)
def test_indices_out_of_bounds_raise_index_error(index, device):
    x = fg.tensor([1.0, 2.0, 3.0], device=device)
    with pytest.raises(IndexError, match="out of bounds"):
        x[index]


@pytest.mark.parametrize(
    "index, expected",
    [
        (np.uint64(2), 3.0),
        (np.uint32(1), 2.0),
        (np.uint16(0), 1.0),
        (np.uint8(2), 3.0),
        (np.int8(-1), 3.0),
        (np.int16(-3), 1.0),
        (np.int32(1), 2.0),
        (np.int64(-2), 2.0),
        (np.array([2, 0], dtype=np.uint64), [3.0, 1.0]),
        (np.array([1], dtype=np.uint8), [2.0]),
        (np.array([-1, 0], dtype=np.int8), [3.0, 1.0]),
        (np.array([2], dtype=np.uint32), [3.0]),
    ],
)
def test_numpy_integer_indices_of_every_kind(index, expected, device):
    x = fg.tensor([1.0, 2.0, 3.0], device=device)
    assert x[index].cpu().tolist() == expected


@pytest.mark.parametrize("index", [True, np.bool_(True)])
def test_boolean_scalar_indices_are_refused(index, device):
    x = fg.tensor([1.0, 2.0, 3.0], device=device)
    with pytest.raises(TypeError, match="bool"):
        x[index]


@pytest.mark.parametrize("index", [[True, False, True], np.array([True, False, True])])
def test_boolean_masks_select(index, device):
    assert fg.tensor([1.0, 2.0, 3.0], device=device)[index].cpu().tolist() == [1.0, 3.0]


def test_a_mask_of_the_wrong_shape_is_refused(device):
    with pytest.raises(IndexError, match=r"the shape of the mask \(0,\)"):
        fg.tensor([1.0, 2.0, 3.0], device=device)[np.array([], dtype=bool)]


def test_index_gradient_with_unsigned_indices(device):
    x = fg.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    x[np.array([2, 2, 0], dtype=np.uint64)].sum().backward()
    assert x.grad.cpu().tolist() == [1.0, 0.0, 2.0]


# ---- pow with integer exponents ---------------------------------------------------------------


@pytest.mark.parametrize(
    "base, exponent, expected",
    [
        (-1.0, 2147483647, -1.0),
        (-1.0, 2147483646, 1.0),
        (-1.0, 2**53 - 1, -1.0),
        (-1.0, 16777217, -1.0),  # 2**24 + 1: float32 rounds it to the even 2**24
        (-2.0, -3, -0.125),
        (2.0, 2147483647, np.inf),
        (-2.0, 2147483647, -np.inf),
        (0.0, -1, np.inf),
        (-8.0, 1 / 3, np.nan),
        (3.0, 2, 9.0),
        (1.5, 0, 1.0),
    ],
)
def test_integer_exponents_stay_exact(base, exponent, expected, device):
    got = (fg.tensor(base, device=device) ** exponent).item()
    np.testing.assert_equal(got, np.float32(expected))


def test_pow_gradient_with_a_large_odd_exponent(device):
    x = fg.tensor([-1.0, 2.0, 0.0, 0.5], device=device, requires_grad=True)
    (x**2147483647).sum().backward()
    np.testing.assert_array_equal(
        x.grad.cpu().numpy(), np.array([2147483647.0, np.inf, 0.0, 0.0], np.float32)
    )
    x.grad = None
    (x**0).sum().backward()
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [0, 0, 0, 0])
    x.grad = None
    (x**3).sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), [3.0, 12.0, 0.0, 0.75], rtol=1e-6)


def test_pow_exponent_past_float64_overflows(device):
    x = fg.tensor([2.0], device=device)
    with pytest.raises(OverflowError):
        x**2**1024


# ---- the gradient of a full max is shared by its ties -----------------------------------------


@pytest.mark.parametrize(
    "values, grad",
    [
        ([1.0, 3.0, 3.0, 2.0, 3.0], [0, 1 / 3, 1 / 3, 0, 1 / 3]),
        ([[1.0, 3.0, 3.0], [3.0, 2.0, 3.0]], [[0, 0.25, 0.25], [0.25, 0, 0.25]]),
        ([1.0, np.nan, 3.0, np.nan], [0, 0.5, 0, 0.5]),  # NaN is the maximum; the NaNs share
        ([7.0], [1.0]),
        (7.0, 1.0),
    ],
)
def test_full_max_splits_its_gradient_among_ties(values, grad, device):
    x = fg.tensor(values, device=device, requires_grad=True)
    (fg.max(x) * 3).backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), 3 * np.array(grad, np.float32), rtol=1e-6)


def test_max_along_a_dimension_gives_the_gradient_to_one_index(device):
    x = fg.tensor([[1.0, 3.0, 3.0], [3.0, 2.0, 3.0]], device=device, requires_grad=True)
    values, indices = fg.max(x, 1)
    assert indices.cpu().tolist() == [1, 0]
    values.sum().backward()
    assert x.grad.cpu().tolist() == [[0, 1, 0], [1, 0, 0]]


def test_full_max_backward_refuses_a_changed_input(device):
    x = fg.tensor([1.0, 3.0], device=device, requires_grad=True)
    y = x * 1
    m = fg.max(y)
    with fg.no_grad():
        y.add_(fg.tensor([5.0, 0.0], device=device))
    with pytest.raises(RuntimeError):
        m.backward()


# ---- creation: values checked before the allocation, messages naming the op ----------------


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: fg.full((), 2**63), r"\[full\] 9223372036854775808 does not fit int64"),
        (lambda: fg.full((2,), -(2**63) - 1), r"\[full\] .* does not fit int64"),
        # refused for its value, before asking for 2**40 elements
        (lambda: fg.full((2**40,), float("nan"), dtype=fg.int64), r"\[full\] cannot store nan"),
        (lambda: fg.tensor([[1, 2], [3]]), r"\[tensor\] expected a rectangular nesting"),
    ],
)
def test_creation_refuses_bad_values_by_name(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize("args", [("a",), (True,), (0, 5, None), (0, False)])
def test_arange_refuses_what_is_not_a_number_by_name(args):
    # a bool is not a number to forgegrad: arange(True) gave a float32 [0.]
    with pytest.raises(TypeError, match=r"\[arange\] expected real numbers"):
        fg.arange(*args)


def test_a_ragged_index_list_is_refused_by_name():
    with pytest.raises(ValueError, match=r"\[index\] expected a rectangular list of indices"):
        fg.zeros(3)[[1, [2]]]
