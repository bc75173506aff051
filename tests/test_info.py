"""fg.info(), threads, and the module surface."""

import os

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import _C

from helpers import make_input, to_numpy


def test_info_keys_and_types():
    info = fg.info()
    assert isinstance(info, dict)
    expected = {
        "version": str,
        "cuda_compiled": bool,
        "cuda_available": bool,
        "cpu_features": list,
        "isa": str,
        "simd_clone": str,
        "num_threads": int,
        "threading_backend": str,
    }
    for key, typ in expected.items():
        assert key in info, f"info() lacks {key!r}"
        assert isinstance(info[key], typ), f"info()[{key!r}] = {info[key]!r}"
    assert info["version"] == "0.1.0"
    assert all(isinstance(f, str) for f in info["cpu_features"])
    assert info["num_threads"] >= 1


def test_info_consistent():
    info = fg.info()
    if not info["cuda_compiled"]:
        assert info["cuda_available"] is False
    assert info["isa"] == _C.get_isa()
    assert info["num_threads"] == fg.get_num_threads()


@pytest.mark.skipif(not os.path.exists("/proc/cpuinfo"), reason="no /proc/cpuinfo (not Linux)")
def test_info_cpu_features_match_proc_cpuinfo():
    with open("/proc/cpuinfo") as f:
        flags = next(
            (set(line.split(":", 1)[1].split()) for line in f if line.startswith("flags")), set()
        )
    feats = {f.lower() for f in fg.info()["cpu_features"]}
    for flag in ("avx2", "fma", "avx512f"):
        if flag in flags:
            assert flag in feats, f"{flag} is in /proc/cpuinfo but not in info()['cpu_features']"
        else:
            assert flag not in feats, f"{flag} reported but the CPU lacks it"


def test_simd_clone_is_the_widest_the_cpu_runs():
    # The loader must pick the AVX2 or AVX-512 clone of the elementwise and optimizer loops
    # wherever the CPU has the features (a clone keyed to a CPU model ran nowhere else).
    flags = set(_C.cpu_features())
    if {"avx512f", "avx512bw", "avx512dq", "avx512vl"} <= flags:
        expected = "x86-64-v4"
    elif {"avx2", "fma"} <= flags:
        expected = "x86-64-v3"
    else:
        expected = "default"
    assert fg.info()["simd_clone"] == expected


def test_info_isa_follows_set_isa(restore_isa):
    _C.set_isa("scalar")
    assert fg.info()["isa"] == "scalar"


def test_set_get_num_threads(restore_threads):
    fg.set_num_threads(1)
    assert fg.get_num_threads() == 1 and fg.info()["num_threads"] == 1
    fg.set_num_threads(2)
    assert fg.get_num_threads() == 2


def test_results_independent_of_threads(restore_threads):
    # Elementwise and reductions give the same answer on any thread count (to rounding).
    x = make_input((1031, 513))
    fg.set_num_threads(1)
    t = fg.tensor(x)
    a = (to_numpy(t.exp()), t.sum().item(), to_numpy(t.sum(dim=0)), to_numpy(t.max(dim=1)[0]))
    fg.set_num_threads(2)
    b = (to_numpy(t.exp()), t.sum().item(), to_numpy(t.sum(dim=0)), to_numpy(t.max(dim=1)[0]))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[3], b[3])
    # Sums may be associated differently per thread count: norm-wise 1e-5 (see test_reduce).
    assert abs(a[1] - b[1]) <= 1e-5 * x.size
    np.testing.assert_allclose(a[2], b[2], atol=1e-5 * x.shape[0], rtol=0)


@pytest.mark.parametrize(
    "shapes",
    [
        ((700, 600), (700, 600)),
        ((2, 300001), (300001,)),
        ((3, 1, 200003), (1, 2, 200003)),
        ((5000, 70), (70,)),
    ],
    ids=str,
)
@pytest.mark.parametrize("threads", [1, 2, 3, 4])
def test_broadcast_splits_agree_with_numpy(shapes, threads, restore_threads):
    # Threads split the broadcast by rows, or by columns where there are fewer rows than
    # threads (same-shape operands merge into one row): every split writes every element.
    fg.set_num_threads(threads)
    a, b = make_input(shapes[0]), make_input(shapes[1])
    ta, tb = fg.tensor(a), fg.tensor(b)
    np.testing.assert_array_equal(to_numpy(ta * tb), a * b)
    np.testing.assert_array_equal(to_numpy(ta > tb), a > b)


def test_public_names():
    for name in (
        "Tensor",
        "tensor",
        "from_numpy",
        "zeros",
        "ones",
        "empty",
        "full",
        "arange",
        "rand",
        "randn",
        "zeros_like",
        "ones_like",
        "manual_seed",
        "no_grad",
        "is_grad_enabled",
        "float32",
        "int64",
        "bool",
        "uint8",
        "device",
        "info",
        "set_num_threads",
        "get_num_threads",
        "exp",
        "log",
        "sqrt",
        "abs",
        "clamp",
        "sum",
        "mean",
        "max",
        "argmax",
        "matmul",
        "tanh",
        "sigmoid",
    ):
        assert hasattr(fg, name), f"forgegrad.{name} is missing"
    import forgegrad.nn.functional as F

    for name in (
        "relu",
        "leaky_relu",
        "gelu",
        "tanh",
        "sigmoid",
        "silu",
        "softmax",
        "log_softmax",
        "linear",
        "dropout",
        "mse_loss",
        "l1_loss",
        "cross_entropy",
        "nll_loss",
        "binary_cross_entropy_with_logits",
    ):
        assert hasattr(F, name), f"forgegrad.nn.functional.{name} is missing"
    for name in ("gemm", "set_isa", "get_isa", "detected_isa"):
        assert hasattr(_C, name), f"forgegrad._C.{name} is missing"


def test_odd_thread_counts_correct(restore_threads):
    # More threads than cores, and counts that do not divide the work evenly.
    a, b = make_input((131, 67)), make_input((67, 93))
    x = make_input((1031, 7))
    ref_mm = a.astype(np.float64) @ b
    ref_sum = x.astype(np.float64).sum(0)
    for n in (1, 3, 5, 7, 16):
        fg.set_num_threads(n)
        got = to_numpy(fg.tensor(a) @ fg.tensor(b))
        assert np.abs(got - ref_mm).max() <= 1e-6 * 67, n
        got = to_numpy(fg.tensor(x).sum(dim=0))
        assert np.abs(got - ref_sum).max() <= 1e-5 * 1031, n
        assert fg.info()["num_threads"] == n
