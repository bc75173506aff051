"""CPU and CUDA results compared with each other (the per-device tests check each against
numpy; these check that the two backends agree, and that the Philox streams are identical on
both devices for the same seed and shape).  Skipped, with the reason, without a GPU."""

import numpy as np
import pytest

import forgegrad as fg
import forgegrad.nn.functional as F

from helpers import CUDA_SKIP_REASON, assert_close, cuda_available, make_input, to_numpy

pytestmark = pytest.mark.cuda


@pytest.fixture(autouse=True)
def _need_cuda():
    if not cuda_available():
        pytest.skip(CUDA_SKIP_REASON)


OPS = {
    "add_bcast": (lambda a, b: a + b, [(33, 129), (129,)]),
    "div": (lambda a, b: a / (b.abs() + 0.5), [(33, 129), (33, 129)]),
    "exp": (lambda a: a.exp(), [(513, 1031)]),
    "gelu": (lambda a: F.gelu(a), [(513, 1031)]),
    "sum_dim0": (lambda a: a.sum(0), [(513, 1031)]),
    "mean_all": (lambda a: a.mean(), [(513, 1031)]),
    "max_dim1": (lambda a: a.max(1)[0], [(513, 1031)]),
    "softmax": (lambda a: F.softmax(a, 1), [(129, 1031)]),
    "log_softmax0": (lambda a: F.log_softmax(a, 0), [(129, 1031)]),
    "matmul": (lambda a, b: a @ b, [(257, 300), (300, 131)]),
    "bmm": (lambda a, b: a @ b, [(4, 33, 65), (4, 65, 17)]),
    "mse": (lambda a, b: F.mse_loss(a, b), [(129, 33), (129, 33)]),
    "bce": (lambda a, b: F.binary_cross_entropy_with_logits(a, b.sigmoid()), [(129, 33)] * 2),
}


@pytest.mark.parametrize("op", list(OPS))
def test_cpu_cuda_forward_backward_agree(op):
    fn, shapes = OPS[op]
    xs = [make_input(s) for s in shapes]
    results = {}
    for dev in ("cpu", "cuda"):
        ts = [fg.tensor(x, device=dev, requires_grad=True) for x in xs]
        out = fn(*ts)
        out.sum().backward()
        results[dev] = (to_numpy(out), [to_numpy(t.grad) for t in ts])
    # The devices sum in different orders, and their math libraries differ by an ulp or
    # four: float32 rounding grows about as the square root of the k terms summed, so each
    # array is held to 2e-6 sqrt(k) of its largest value (of the forward output's, for
    # gradients that are rounding noise around zero, as softmax's are under sum()).
    k = max(max(s) for s in shapes)
    out_cpu = results["cpu"][0]
    scale = float(np.abs(out_cpu).max())
    assert_close(results["cuda"][0], out_cpu, atol=2e-6 * np.sqrt(k) * scale, what=f"{op} forward")
    for i, (g_gpu, g_cpu) in enumerate(zip(results["cuda"][1], results["cpu"][1])):
        g_scale = max(float(np.abs(g_cpu).max()), scale)
        assert_close(g_gpu, g_cpu, atol=2e-6 * np.sqrt(k) * g_scale, what=f"{op} grad {i}")


def test_cross_entropy_agrees():
    x = make_input((129, 33))
    t = np.random.default_rng(0).integers(0, 33, 129).astype(np.int64)
    out = {}
    for dev in ("cpu", "cuda"):
        xt = fg.tensor(x, device=dev, requires_grad=True)
        loss = F.cross_entropy(xt, fg.tensor(t, device=dev), label_smoothing=0.1)
        loss.backward()
        out[dev] = (loss.item(), to_numpy(xt.grad))
    assert_close(out["cuda"][0], out["cpu"][0])
    assert_close(out["cuda"][1], out["cpu"][1])


@pytest.mark.parametrize("shape", [(1,), (7,), (33, 129), (1031, 513)], ids=str)
def test_random_streams_identical_on_both_devices(shape):
    res = {}
    for dev in ("cpu", "cuda"):
        fg.manual_seed(2024)
        u = to_numpy(fg.rand(*shape, device=dev))
        z = to_numpy(fg.randn(*shape, device=dev))
        m = to_numpy(F.dropout(fg.ones(*shape, device=dev), 0.3)) == 0
        res[dev] = (u, z, m)
    np.testing.assert_array_equal(res["cuda"][0], res["cpu"][0])
    # randn goes through log, sqrt and sin/cos, which CUDA computes within 1 and 2 ulp and
    # glibc within about 1: the two may differ by some 7 ulp (8e-7), so 2e-6 relative.
    assert_close(res["cuda"][1], res["cpu"][1], rtol=2e-6)
    np.testing.assert_array_equal(res["cuda"][2], res["cpu"][2])


def test_to_and_from_cuda_roundtrip():
    x = make_input((33, 7))
    t = fg.tensor(x).to("cuda")
    assert t.device.type == "cuda"
    np.testing.assert_array_equal(t.to("cpu").numpy(), x)
    i = fg.tensor(np.arange(5)).to("cuda")
    assert i.dtype == fg.int64 and i.to("cpu").tolist() == [0, 1, 2, 3, 4]


def test_mixed_devices_raise():
    a = fg.ones(3)
    b = fg.ones(3, device="cuda")
    with pytest.raises((ValueError, RuntimeError), match="add"):
        a + b
    with pytest.raises((ValueError, RuntimeError), match=r"\[matmul\]"):
        fg.ones(2, 3) @ fg.ones(3, 2, device="cuda")
