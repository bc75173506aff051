"""The ten dtypes: PyTorch's promotion table and result_type rule, casts between every pair
(against numpy, and a bit-exact bfloat16 reference), creation defaults, the dtype methods,
numpy / from_numpy / DLPack exchange and safetensors round trips for every dtype."""

import numpy as np
import pytest

import forgegrad as fg

NAMES = [
    "float32",
    "float64",
    "float16",
    "bfloat16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "bool",
]
DTYPES = [getattr(fg, n) for n in NAMES]
NUMPY = {
    "float32": np.float32,
    "float64": np.float64,
    "float16": np.float16,
    "int64": np.int64,
    "int32": np.int32,
    "int16": np.int16,
    "int8": np.int8,
    "uint8": np.uint8,
    "bool": np.bool_,
}
FLOATING = {"float32", "float64", "float16", "bfloat16"}

# torch.promote_types(row, column) for every pair, columns in NAMES order: generated once
# with PyTorch 2.13 (no torch at test time).
PROMOTE = {
    "float32": "float32 float64 float32 float32 float32 float32 float32 float32 float32 float32",
    "float64": "float64 float64 float64 float64 float64 float64 float64 float64 float64 float64",
    "float16": "float32 float64 float16 float32 float16 float16 float16 float16 float16 float16",
    "bfloat16": "float32 float64 float32 bfloat16 bfloat16 bfloat16 bfloat16 bfloat16 bfloat16 "
    "bfloat16",
    "int64": "float32 float64 float16 bfloat16 int64 int64 int64 int64 int64 int64",
    "int32": "float32 float64 float16 bfloat16 int64 int32 int32 int32 int32 int32",
    "int16": "float32 float64 float16 bfloat16 int64 int32 int16 int16 int16 int16",
    "int8": "float32 float64 float16 bfloat16 int64 int32 int16 int8 int16 int8",
    "uint8": "float32 float64 float16 bfloat16 int64 int32 int16 int16 uint8 uint8",
    "bool": "float32 float64 float16 bfloat16 int64 int32 int16 int8 uint8 bool",
}


def bfloat16_reference(values):
    """float64 values rounded to bfloat16 (nearest, ties to even) and back, bit-exact: the
    top 8 significant bits of the correctly rounded value, computed in integers."""
    x = np.asarray(values, np.float64)
    out = np.empty_like(x)
    for i, v in enumerate(x):
        if np.isnan(v) or np.isinf(v) or v == 0:
            out[i] = v
            continue
        m, e = np.frexp(abs(v))  # v = m 2**e, m in [0.5, 1)
        e = max(e, -125)  # below float32's normals the step stays 2**-133 (subnormals)
        step = 2.0 ** (e - 8)
        q = abs(v) / step
        r = np.floor(q)
        if q - r > 0.5 or (q - r == 0.5 and r % 2 == 1):
            r += 1
        result = r * step
        out[i] = np.copysign(np.inf if result >= 2.0**128 else result, v)
    return out


# ---- promotion -----------------------------------------------------------------------------


@pytest.mark.parametrize("a", NAMES)
def test_promote_types_matches_pytorch_for_every_pair(a):
    for b, want in zip(NAMES, PROMOTE[a].split()):
        assert fg.promote_types(getattr(fg, a), getattr(fg, b)) == getattr(fg, want), (a, b)


@pytest.mark.parametrize(
    "make_a, b, want",
    [
        (lambda: fg.tensor([1, 2]), 2.5, fg.float32),  # default float dtype
        (
            lambda: fg.tensor([1.0], dtype=fg.float16),
            lambda: fg.tensor(1.0, dtype=fg.float64),
            fg.float16,
        ),  # 0-d only lifts
        (lambda: fg.tensor([1], dtype=fg.int32), lambda: fg.tensor(1), fg.int32),
        (lambda: fg.tensor([True]), 1, fg.int64),
        (lambda: fg.tensor([1], dtype=fg.uint8), 1000, fg.uint8),
        (
            lambda: fg.tensor([1], dtype=fg.int32),
            lambda: fg.tensor(1.0, dtype=fg.float64),
            fg.float64,
        ),  # a higher category
        (lambda: fg.tensor(1, dtype=fg.int32), 2.5, fg.float32),
        (lambda: fg.tensor(1, dtype=fg.int8), lambda: fg.tensor(1, dtype=fg.uint8), fg.int16),
        (lambda: fg.tensor([True]), True, fg.bool),
        (lambda: fg.tensor([True]), 2.5, fg.float32),
        (lambda: fg.tensor(True), lambda: fg.tensor([1], dtype=fg.int8), fg.int8),
        (
            lambda: fg.tensor([1.0], dtype=fg.bfloat16),
            lambda: fg.tensor([1.0], dtype=fg.float16),
            fg.float32,
        ),
        (lambda: fg.tensor(1.0, dtype=fg.float64), 2, fg.float64),
        (
            lambda: fg.tensor([1], dtype=fg.int16),
            lambda: fg.tensor(1.0, dtype=fg.float16),
            fg.float16,
        ),
        (lambda: fg.tensor(1, dtype=fg.uint8), 1.5, fg.float32),
    ],
)
def test_result_type_follows_pytorchs_category_rule(make_a, b, want):
    # Expected dtypes: torch.result_type on the same operands (PyTorch 2.13).
    b = b() if callable(b) else b
    assert fg.result_type(make_a(), b) == want


def test_result_type_and_can_cast_errors_and_rules():
    with pytest.raises(TypeError, match=r"\[result_type\].*str"):
        fg.result_type(fg.tensor([1]), "x")
    assert not fg.can_cast(fg.float32, fg.int32)
    assert not fg.can_cast(fg.int32, fg.bool)
    assert fg.can_cast(fg.bool, fg.uint8) and fg.can_cast(fg.float64, fg.float16)


# ---- casts ---------------------------------------------------------------------------------

# In range of every dtype but bool (int8: [-128, 127]); fractions truncate toward zero.
VALUES = np.array([0.0, -0.0, 1.0, -1.5, 2.5, 0.3, 100.75, -128.0, 126.9, 3.0], np.float64)


def as_float64(t):
    return np.asarray((t.float() if t.dtype == fg.bfloat16 else t).numpy(), np.float64)


def reference_cast(values, name):
    if name == "bfloat16":
        return bfloat16_reference(values)
    if name == "bool":
        return values != 0
    return values.astype(NUMPY[name]).astype(np.float64)


@pytest.mark.parametrize("dst", NAMES)
@pytest.mark.parametrize("src", NAMES)
def test_cast_every_pair_against_numpy(src, dst, device):
    unsigned = "uint8" in (src, dst) or src == "bool"
    values = np.minimum(np.abs(VALUES), 126.9) if unsigned else VALUES
    source = fg.tensor(values, dtype=getattr(fg, src), device=device)
    start = reference_cast(values, src)  # what the source holds
    got = as_float64(source.to(getattr(fg, dst)).cpu())
    np.testing.assert_array_equal(got, reference_cast(start, dst))


def test_float16_rounding_matches_numpy_bit_for_bit():
    # ties, subnormals, overflow, NaN and float64 values that a float32 step would round twice
    values = np.concatenate(
        [
            np.array(
                [
                    1 + 2**-11,
                    1 + 3 * 2**-11,
                    1 + 2**-11 + 2**-40,
                    65504,
                    65519.99,
                    65520,
                    1e6,
                    -1e6,
                    2**-24,
                    2**-25,
                    2**-25 * 1.0000001,
                    3 * 2**-26,
                    1e-8,
                    6.1e-5,
                    np.inf,
                    -np.inf,
                    np.nan,
                    -0.0,
                ]
            ),
            np.random.default_rng(0).standard_normal(2000) * np.logspace(-9, 5, 2000),
        ]
    )
    for source_dtype in (fg.float64, fg.float32):
        source = fg.tensor(values, dtype=source_dtype)
        want = values.astype(np.float32 if source_dtype == fg.float32 else np.float64)
        got = source.half().numpy()
        np.testing.assert_array_equal(
            got.view(np.uint16) & 0x7FFF == 0x7E00, np.isnan(want)
        )  # NaN: one quiet NaN
        ok = ~np.isnan(want)
        with np.errstate(over="ignore"):  # numpy warns where it rounds to inf
            expected = want[ok].astype(np.float16)
        np.testing.assert_array_equal(got[ok].view(np.uint16), expected.view(np.uint16))
        # and back: float16 -> float32 / float64 is exact
        np.testing.assert_array_equal(fg.from_numpy(got).float().numpy(), got.astype(np.float32))


def test_bfloat16_rounding_is_nearest_even_bit_for_bit():
    rng = np.random.default_rng(1)
    values = np.concatenate(
        [
            np.array(
                [
                    1 + 2**-8,
                    1 + 3 * 2**-8,
                    1 + 2**-8 + 2**-40,
                    3.4e38,
                    3.39e38,
                    -1e39,
                    1e-39,
                    2.0**-133,
                    2.0**-134,
                    1.5 * 2.0**-134,
                    np.inf,
                    -np.inf,
                    -0.0,
                ]
            ),
            rng.standard_normal(2000) * np.logspace(-30, 30, 2000),
        ]
    )
    got = fg.tensor(values, dtype=fg.float64).bfloat16().float().numpy().astype(np.float64)
    np.testing.assert_array_equal(got, bfloat16_reference(values))
    assert np.isnan(fg.tensor([np.nan]).bfloat16().float().item())


def test_float_to_integer_rules():
    # In range: truncation toward zero, as numpy and PyTorch.
    x = fg.tensor([1.7, -2.5, 126.9, -0.4])
    assert x.to(fg.int8).tolist() == [1, -2, 126, 0]
    assert x.to(fg.int64).tolist() == [1, -2, 126, 0]
    # float -> bool is x != 0
    assert fg.tensor([0.0, -0.0, 0.1, -3.0]).bool().tolist() == [False, False, True, True]
    # Values an integer cannot hold are refused by the op (the kernels saturate and map NaN
    # to 0, never undefined behaviour: checked in tests/cuda_emulation).
    for value, dtype in [
        (float("nan"), fg.int32),
        (300.0, fg.uint8),
        (-1.0, fg.uint8),
        (1e10, fg.int32),
        (float("inf"), fg.int16),
    ]:
        with pytest.raises(ValueError, match=r"\[copy_\] cannot store"):
            fg.tensor([value], dtype=fg.float64).to(dtype)
    # integer -> integer wraps modulo 2**bits, as numpy and PyTorch
    assert fg.tensor([300, -1, 128]).to(fg.uint8).tolist() == [44, 255, 128]
    assert fg.tensor([300, -1, 128]).to(fg.int8).tolist() == [44, -1, -128]


def test_float64_values_are_exact():
    x = fg.tensor([0.1, 1 / 3, 1e300, 2.0**-1074], dtype=fg.float64)
    assert x.numpy().tolist() == [0.1, 1 / 3, 1e300, 2.0**-1074]
    assert fg.tensor(2**53 + 1).double().item() == float(2**53)  # int64 -> float64 rounds
    assert fg.full((2,), 2**40 + 1, dtype=fg.int64).to(fg.float64).tolist() == [2.0**40 + 1] * 2


# ---- autograd through casts ----------------------------------------------------------------


def test_cast_between_floating_dtypes_carries_the_gradient_back():
    x = fg.tensor([1.5, -2.0, 3.25], requires_grad=True)
    y = x.double().half().float()
    assert y.grad_fn is not None
    (y * fg.tensor([1.0, 2.0, 3.0])).sum().backward()
    assert x.grad.dtype == fg.float32 and x.grad.tolist() == [1.0, 2.0, 3.0]
    assert x.long().grad_fn is None and not x.long().requires_grad  # ends the graph


@pytest.mark.parametrize("name", NAMES)
def test_requires_grad_only_for_floating_dtypes(name):
    t = fg.zeros(3, dtype=getattr(fg, name))
    if name in FLOATING:
        t.requires_grad_(True)
        assert t.requires_grad
    else:
        with pytest.raises(
            TypeError,
            match=f"only Tensors of floating point dtype can require gradients, got {name}",
        ):
            t.requires_grad_(True)


# ---- creation ------------------------------------------------------------------------------


def test_creation_defaults_as_pytorch():
    assert fg.tensor(1.5).dtype == fg.float32
    assert fg.tensor([1, 2]).dtype == fg.int64
    assert fg.tensor([True]).dtype == fg.bool
    assert fg.tensor([1.0, 2]).dtype == fg.float32
    for np_dtype, dtype in [
        (np.float64, fg.float64),
        (np.float16, fg.float16),
        (np.float32, fg.float32),
        (np.int32, fg.int32),
        (np.int8, fg.int8),
        (np.uint8, fg.uint8),
        (np.int16, fg.int16),
        (np.bool_, fg.bool),
    ]:
        assert fg.tensor(np.ones(2, np_dtype)).dtype == dtype
        assert fg.tensor(np_dtype(1)).dtype == dtype  # numpy scalars too
    assert fg.tensor(np.ones(2, np.uint16)).dtype == fg.int64  # no uint16: widened
    t = fg.tensor([1.5], dtype=fg.bfloat16)
    assert fg.tensor(t).dtype == fg.bfloat16  # a Tensor keeps its dtype
    assert fg.tensor([1.0, 2.0], dtype=fg.float16).tolist() == [1.0, 2.0]


@pytest.mark.parametrize("name", NAMES)
def test_full_zeros_ones_empty_fill_in_every_dtype(name, device):
    dtype = getattr(fg, name)
    assert fg.zeros(2, 3, dtype=dtype, device=device).tolist() == [[0] * 3] * 2
    ones = fg.ones(7, dtype=dtype, device=device)
    assert ones.dtype == dtype and ones.tolist() == [1] * 7
    assert fg.empty(4, dtype=dtype, device=device).dtype == dtype
    assert fg.full((3,), 1, dtype=dtype, device=device).tolist() == [1] * 3
    value = 1.5 if name in FLOATING else (True if name == "bool" else 5)
    assert ones.fill_(value).tolist() == [value] * 7


@pytest.mark.parametrize("name", [n for n in NAMES if n != "bool"])
def test_arange_in_every_numeric_dtype(name):
    got = fg.arange(0, 10, 3, dtype=getattr(fg, name))
    assert got.dtype == getattr(fg, name) and got.tolist() == [0, 3, 6, 9]
    if name in FLOATING:
        want = np.arange(0.5, 5.0, 0.75)
        np.testing.assert_array_equal(
            as_float64(fg.arange(0.5, 5.0, 0.75, dtype=getattr(fg, name))),
            reference_cast(want, name),
        )


def test_arange_of_bool_and_random_of_integers_are_type_errors():
    with pytest.raises(TypeError, match=r"\[arange\] expected a numeric dtype, got bool"):
        fg.arange(3, dtype=fg.bool)
    with pytest.raises(TypeError, match=r"\[rand\] expected a floating-point dtype, got int64"):
        fg.rand(3, dtype=fg.int64)


@pytest.mark.parametrize("name", sorted(FLOATING))
def test_rand_and_randn_in_floating_dtypes_are_the_float32_draws_cast(name):
    dtype = getattr(fg, name)
    fg.manual_seed(3)
    want = fg.randn(33).numpy()
    fg.manual_seed(3)
    got = fg.randn(33, dtype=dtype)
    assert got.dtype == dtype
    np.testing.assert_array_equal(as_float64(got), reference_cast(want.astype(np.float64), name))
    u = as_float64(fg.rand(1000, dtype=dtype))
    assert u.min() >= 0 and u.max() <= 1  # rounding may reach 1.0 in float16 / bfloat16


def test_full_int64_stays_exact():
    assert fg.full((2,), 2**53 + 1).tolist() == [2**53 + 1] * 2
    assert fg.full((1,), 2**62 + 1, dtype=fg.int64).item() == 2**62 + 1


def test_full_refuses_values_the_dtype_cannot_hold():
    for value, dtype in [
        (128, fg.int8),
        (-129, fg.int8),
        (2**31, fg.int32),
        (40000, fg.int16),
        (float("nan"), fg.int32),
    ]:
        with pytest.raises(ValueError, match=r"\[full\] cannot store"):
            fg.full((2,), value, dtype=dtype)
    assert fg.full((1,), 1e6, dtype=fg.float16).item() == float("inf")  # as PyTorch


# ---- item, repr, methods -------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_item_and_repr_in_every_dtype(name):
    dtype = getattr(fg, name)
    t = fg.ones(2, dtype=dtype)
    item = t[0].item()
    want_type = float if name in FLOATING else (bool if name == "bool" else int)
    assert type(item) is want_type and item == 1
    text = repr(t)
    assert text.startswith("tensor(")
    # as PyTorch: no suffix for the dtypes values default to (float32, int64, bool)
    assert ("dtype=forgegrad." + name in text) == (name not in ("float32", "int64", "bool"))


def test_repr_of_a_float64_tensor():
    assert (
        repr(fg.tensor([1.5, 2.0], dtype=fg.float64))
        == "tensor([1.5000, 2.0000], dtype=forgegrad.float64)"
    )


def test_dtype_objects():
    assert (fg.double, fg.half, fg.long, fg.int, fg.short, fg.float) == (
        fg.float64,
        fg.float16,
        fg.int64,
        fg.int32,
        fg.int16,
        fg.float32,
    )
    assert repr(fg.float64) == "forgegrad.float64" and str(fg.bfloat16) == "forgegrad.bfloat16"
    sizes = dict(zip(NAMES, [4, 8, 2, 2, 8, 4, 2, 1, 1, 1]))
    for name in NAMES:
        dtype = getattr(fg, name)
        assert dtype.itemsize == sizes[name]
        assert dtype.is_floating_point == (name in FLOATING)


@pytest.mark.parametrize(
    "method, name, legacy",
    [
        ("double", "float64", "DoubleTensor"),
        ("half", "float16", "HalfTensor"),
        ("bfloat16", "bfloat16", "BFloat16Tensor"),
        ("int", "int32", "IntTensor"),
        ("short", "int16", "ShortTensor"),
        ("char", "int8", "CharTensor"),
        ("byte", "uint8", "ByteTensor"),
        ("long", "int64", "LongTensor"),
        ("float", "float32", "FloatTensor"),
        ("bool", "bool", "BoolTensor"),
    ],
)
def test_dtype_methods(method, name, legacy):
    t = getattr(fg.tensor([1.0, 0.0, 3.0]), method)()
    dtype = getattr(fg, name)
    assert t.dtype == dtype and t.tolist() == ([True, False, True] if name == "bool" else [1, 0, 3])
    assert t.type() == "forgegrad." + legacy
    assert t.element_size() == dtype.itemsize
    assert t.is_floating_point() == (name in FLOATING)
    assert fg.tensor([2.0]).type(dtype).dtype == dtype
    assert fg.tensor([2.0]).type("forgegrad." + legacy).dtype == dtype
    assert fg.tensor([2.0]).to(dtype).dtype == dtype


def test_type_refuses_unknown_names():
    with pytest.raises(TypeError, match=r"\[type\]"):
        fg.tensor([1.0]).type("torch.FloatTensor")


# ---- numpy, from_numpy, DLPack -------------------------------------------------------------


@pytest.mark.parametrize("name", [n for n in NAMES if n != "bfloat16"])
def test_from_numpy_shares_memory_and_numpy_round_trips(name):
    a = np.arange(6).reshape(2, 3).astype(NUMPY[name])
    t = fg.from_numpy(a)
    assert t.dtype == getattr(fg, name)
    a[0, 1] = 1 if name != "bool" else False
    back = t.numpy()
    assert back.dtype == a.dtype
    np.testing.assert_array_equal(back, a)  # shared: sees the write
    assert np.shares_memory(back, a)


def test_from_numpy_and_numpy_refuse_what_has_no_equivalent():
    for np_dtype in (np.uint16, np.uint32, np.complex64):
        with pytest.raises(TypeError, match=np.dtype(np_dtype).name):
            fg.from_numpy(np.zeros(2, np_dtype))
    with pytest.raises(TypeError, match="bfloat16"):
        fg.ones(2, dtype=fg.bfloat16).numpy()


@pytest.mark.parametrize("name", NAMES)
def test_dlpack_round_trip_in_every_dtype(name):
    t = fg.arange(5).to(getattr(fg, name))
    back = fg.from_dlpack(t)
    assert back.dtype == t.dtype and back.tolist() == t.tolist()
    if name != "bfloat16":
        np.testing.assert_array_equal(np.from_dlpack(t), as_float64(t).astype(NUMPY[name]))
        assert fg.from_dlpack(np.arange(3).astype(NUMPY[name])).dtype == t.dtype


def test_float64_numpy_data_becomes_float32_in_the_training_paths():
    # fit / TensorDataset / DataLoader keep converting float64 numpy arrays to float32, as
    # they did before tensor() kept float64.
    x, y = np.random.default_rng(0).standard_normal((10, 3)), np.arange(10) % 2
    ds = fg.TensorDataset(x, y)
    assert ds[0][0].dtype == fg.float32 and ds[0][1].dtype == fg.int64
    xb, yb = next(iter(fg.DataLoader(ds, batch_size=4)))
    assert xb.dtype == fg.float32 and yb.dtype == fg.int64
    model = fg.nn.Linear(3, 2)
    history = fg.fit(
        model,
        fg.nn.CrossEntropyLoss(),
        fg.optim.SGD(model.parameters(), lr=0.1),
        (x, y),
        epochs=1,
        progress=False,
    )
    assert len(history) == 1


# ---- safetensors ---------------------------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_safetensors_round_trip_in_every_dtype(name, tmp_path):
    values = np.array([[0.5, -1.0, 3.0], [2.0, 0.0, 7.0]])
    t = fg.tensor(np.abs(values) if name == "uint8" else values).to(getattr(fg, name))
    fg.save({"t": t, "nested": {"u": t}}, tmp_path / "x.safetensors")
    back = fg.load(tmp_path / "x.safetensors")
    assert back["t"].dtype == t.dtype and back["nested"]["u"].dtype == t.dtype
    np.testing.assert_array_equal(as_float64(back["t"]), as_float64(t))
    with open(tmp_path / "x.safetensors", "rb") as f:
        size = int.from_bytes(f.read(8), "little")
        header = __import__("json").loads(f.read(size))
    code = {
        "float32": "F32",
        "float64": "F64",
        "float16": "F16",
        "bfloat16": "BF16",
        "int64": "I64",
        "int32": "I32",
        "int16": "I16",
        "int8": "I8",
        "uint8": "U8",
        "bool": "BOOL",
    }[name]
    assert header["t"]["dtype"] == code


def test_load_reads_float16_and_bfloat16_files_as_what_they_are(tmp_path):
    import safetensors.numpy

    path = tmp_path / "half.safetensors"
    safetensors.numpy.save_file({"w": np.array([1.5, -2.0], np.float16)}, path)
    assert fg.load(path)["w"].dtype == fg.float16
    # a BF16 tensor written by another tool: bits of 1.0 (0x3f80) and -2.5 (0xc020)
    fg.save({"w": fg.tensor([1.0, -2.5], dtype=fg.bfloat16)}, path)
    raw = path.read_bytes()
    size = int.from_bytes(raw[:8], "little")
    assert raw[8 + size :] == np.array([0x3F80, 0xC020], "<u2").tobytes()
    loaded = fg.load(path)["w"]
    assert loaded.dtype == fg.bfloat16 and loaded.tolist() == [1.0, -2.5]


def test_as_tensor_is_tensor_numel():
    t = fg.ones(2, 3)
    assert fg.as_tensor(t) is t and fg.as_tensor(t, dtype=fg.float32, device="cpu") is t
    assert fg.as_tensor(t, dtype=fg.float64).dtype == fg.float64
    made = fg.as_tensor(np.arange(3))
    assert made.dtype == fg.int64 and made.tolist() == [0, 1, 2]
    assert fg.as_tensor([1.5], dtype=fg.float64).dtype == fg.float64
    with pytest.raises(TypeError, match=r"\[as_tensor\] expected a forgegrad dtype"):
        fg.as_tensor(t, dtype="float32")
    assert fg.is_tensor(t) and fg.is_tensor(fg.nn.Parameter(t)) and not fg.is_tensor([1])
    assert fg.numel(t) == 6
    with pytest.raises(TypeError, match=r"\[numel\] expected a Tensor"):
        fg.numel([1, 2])


def test_type_as_view_as_reshape_as_and_sizes():
    t = fg.arange(6).float()
    assert t.type_as(fg.zeros(1, dtype=fg.float64)).dtype == fg.float64
    assert t.view_as(fg.zeros(2, 3)).shape == (2, 3)
    assert t.view(2, 3).T.reshape_as(fg.zeros(6)).tolist() == [0, 3, 1, 4, 2, 5]
    assert t.nelement() == 6 and t.view(3, 2).ndimension() == 2
    with pytest.raises(TypeError, match=r"\[view_as\] expected a Tensor"):
        t.view_as((2, 3))


def test_finfo_and_iinfo():
    f32 = fg.finfo(fg.float32)
    assert fg.finfo().eps == f32.eps == 2.0**-23 and f32.bits == 32 and f32.dtype == "float32"
    assert f32.max == float(np.finfo(np.float32).max) and f32.min == -f32.max
    assert f32.tiny == f32.smallest_normal == 2.0**-126 and f32.resolution == 1e-6
    assert fg.finfo(fg.float64).eps == 2.0**-52 and fg.finfo(fg.float16).max == 65504.0
    bf16 = fg.finfo(fg.bfloat16)
    assert bf16.bits == 16 and bf16.eps == 2.0**-7 and bf16.tiny == 2.0**-126
    # eps is the gap above 1 in each dtype: half of it rounds back to 1
    for dtype in (fg.float32, fg.float16, fg.bfloat16):
        one = fg.ones(1, dtype=dtype)
        assert (one + fg.finfo(dtype).eps).item() > 1.0
        assert (one + fg.finfo(dtype).eps / 2).item() == 1.0
    i64, u8 = fg.iinfo(fg.int64), fg.iinfo(fg.uint8)
    assert (i64.min, i64.max, i64.bits) == (-(2**63), 2**63 - 1, 64)
    assert (u8.min, u8.max, u8.dtype) == (0, 255, "uint8")
    with pytest.raises(TypeError, match=r"\[finfo\] expected a floating-point dtype"):
        fg.finfo(fg.int32)
    with pytest.raises(TypeError, match=r"\[iinfo\] expected an integer dtype"):
        fg.iinfo(fg.bool)
    with pytest.raises(TypeError, match=r"\[finfo\] expected a forgegrad dtype"):
        fg.finfo("float32")
