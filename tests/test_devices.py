"""Devices: forgegrad.cuda's API, moving tensors and modules between devices, fit and
evaluate on a device, and __cuda_array_interface__. The GPU cases skip, saying why,
without one; on any machine the errors without a GPU are checked."""

import gc
import os

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import nn, optim

from helpers import CUDA_SKIP_REASON, cuda_available, make_input, to_numpy

needs_gpu = pytest.mark.skipif(not cuda_available(), reason=CUDA_SKIP_REASON)
without_gpu = pytest.mark.skipif(cuda_available(), reason="a CUDA device is present here")


def test_availability_agrees_with_info():
    assert fg.cuda.device_count() == fg.info()["cuda_device_count"]
    assert fg.cuda.is_available() == (fg.cuda.device_count() > 0) == fg.info()["cuda_available"]


@without_gpu
@pytest.mark.parametrize(
    "call",
    [
        "synchronize",
        "memory_allocated",
        "max_memory_allocated",
        "memory_reserved",
        "reset_peak_memory_stats",
        "get_device_name",
    ],
)
def test_cuda_calls_without_a_gpu_say_so(call):
    with pytest.raises(RuntimeError, match=rf"\[{call}\] (no CUDA device|this build)"):
        getattr(fg.cuda, call)()


@without_gpu
def test_nothing_moves_to_a_missing_gpu():
    with pytest.raises(RuntimeError, match=r"\[(alloc|to)\]"):
        fg.zeros(3, device="cuda")
    with pytest.raises(RuntimeError, match=r"\[(alloc|to)\]"):
        fg.ones(3).cuda()
    model = nn.Linear(4, 3)
    before = [p for p in model.parameters()]
    values = [to_numpy(p).copy() for p in before]
    with pytest.raises(RuntimeError, match=r"\[to\]"):
        model.to("cuda")
    assert list(model.parameters()) == before
    for p, v in zip(model.parameters(), values):
        assert p.device == fg.device("cpu")
        np.testing.assert_array_equal(to_numpy(p), v)


def test_bad_device_arguments():
    with pytest.raises(ValueError, match=r"\[cuda\]"):
        fg.cuda.memory_allocated("cpu")
    with pytest.raises(ValueError, match=r"\[device\]"):
        fg.cuda.memory_allocated("gpu")
    with pytest.raises(TypeError, match=r"\[to\]"):
        nn.Linear(2, 2).to(3)
    x, y = make_input((8, 2)), np.zeros(8, np.int64)
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match=r"\[fit\] expected device"):
        fg.fit(
            model,
            nn.CrossEntropyLoss(),
            optim.SGD(model.parameters(), lr=0.1),
            (x, y),
            epochs=1,
            progress=False,
            device=0,
        )
    with pytest.raises(ValueError, match=r"\[device\]"):
        fg.fit(
            model,
            nn.CrossEntropyLoss(),
            optim.SGD(model.parameters(), lr=0.1),
            (x, y),
            epochs=1,
            progress=False,
            device="tpu",
        )


def test_cpu_tensors_have_no_cuda_array_interface():
    assert not hasattr(fg.ones(3), "__cuda_array_interface__")


def test_fit_on_the_cpu_device_moves_nothing():
    x, y = make_input((32, 4)), (np.arange(32) % 3).astype(np.int64)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    params = list(model.parameters())
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(params, lr=1e-2),
        (x, y),
        epochs=2,
        batch_size=8,
        progress=False,
        device="cpu",
    )
    assert len(history) == 2 and list(model.parameters()) == params


# ---------------------------------------------------------------------------------- on a GPU
@pytest.mark.cuda
@needs_gpu
def test_tensors_round_trip_through_the_gpu():
    for dtype in (np.float32, np.int64, np.bool_, np.uint8):
        a = (np.arange(30) % 7).astype(dtype).reshape(5, 6)
        t = fg.tensor(a, device="cuda")
        assert t.device == fg.device("cuda:0")
        np.testing.assert_array_equal(t.cpu().numpy(), a)
    assert fg.tensor([2.5], device="cuda").item() == 2.5
    assert "device='cuda:0'" in repr(fg.ones(2, device="cuda"))


@pytest.mark.cuda
@needs_gpu
def test_module_to_keeps_parameters_and_the_optimizer_follows():
    model = nn.Sequential(nn.Linear(5, 7), nn.ReLU(), nn.Linear(7, 3))
    params = list(model.parameters())
    optimizer = optim.Adam(params, lr=1e-2)
    values = [to_numpy(p).copy() for p in params]
    model.to("cuda")
    assert list(model.parameters()) == params
    assert all(p.device == fg.device("cuda:0") for p in params)
    for p, v in zip(params, values):
        np.testing.assert_array_equal(to_numpy(p.cpu()), v)
    x = fg.tensor(make_input((4, 5)), device="cuda")
    loss = model(x).sum()
    loss.backward()
    optimizer.step()
    assert all(p.grad.device == fg.device("cuda:0") for p in params)
    model.to("cpu")
    assert all(p.device == fg.device("cpu") and p.grad.device == fg.device("cpu") for p in params)


@pytest.mark.cuda
@needs_gpu
def test_memory_statistics():
    gc.collect()  # garbage from earlier tests, freed midway, would move the counts
    fg.cuda.synchronize()
    before = fg.cuda.memory_allocated()
    t = fg.empty(1 << 20, device="cuda")
    assert fg.cuda.memory_allocated() >= before + (4 << 20)
    assert fg.cuda.max_memory_allocated() >= fg.cuda.memory_allocated()
    del t
    assert fg.cuda.memory_allocated() == before
    if os.environ.get("FORGEGRAD_CUDA_NO_CACHE") == "1":  # freed at once (the memcheck run)
        assert fg.cuda.memory_reserved() == fg.cuda.memory_allocated()
    else:
        assert fg.cuda.memory_reserved() >= 4 << 20  # cached for the next tensor of that size
    fg.cuda.empty_cache()
    fg.cuda.reset_peak_memory_stats()
    assert fg.cuda.max_memory_allocated() == fg.cuda.memory_allocated()
    assert isinstance(fg.cuda.get_device_name(), str) and fg.cuda.get_device_name()


@pytest.mark.cuda
@needs_gpu
def test_out_of_memory_is_a_memory_error_with_the_sizes():
    with pytest.raises(MemoryError, match=r"\[alloc\] out of memory on cuda:0: asked for \d+"):
        fg.empty(1 << 50, device="cuda")
    fg.ones(3, device="cuda")  # and the device still works


@pytest.mark.cuda
@needs_gpu
def test_ops_refuse_tensors_on_two_devices():
    with pytest.raises(
        ValueError,
        match=r"\[add\] expected tensors on one device, got cuda:0 "
        r"and cpu",
    ):
        fg.ones(3, device="cuda") + fg.ones(3)


@pytest.mark.cuda
@needs_gpu
def test_fit_on_the_gpu_matches_the_cpu():
    x, y = make_input((64, 6)), (np.arange(64) % 3).astype(np.int64)
    histories = {}
    for device in ("cpu", "cuda"):
        fg.manual_seed(0)
        model = nn.Sequential(nn.Linear(6, 16), nn.ReLU(), nn.Dropout(0.1), nn.Linear(16, 3))
        optimizer = optim.AdamW(model.parameters(), lr=1e-2)
        histories[device] = fg.fit(
            model,
            nn.CrossEntropyLoss(),
            optimizer,
            (x, y),
            (x, y),
            epochs=3,
            batch_size=16,
            progress=False,
            seed=0,
            device=device,
        )
        assert all(p.device.type == device for p in model.parameters())
        assert fg.predict(model, x).device == fg.device("cpu")
    for cpu_epoch, gpu_epoch in zip(histories["cpu"].epochs, histories["cuda"].epochs):
        assert abs(cpu_epoch["loss"] - gpu_epoch["loss"]) < 1e-4
        assert abs(cpu_epoch["val_loss"] - gpu_epoch["val_loss"]) < 1e-4


@pytest.mark.cuda
@needs_gpu
def test_cuda_array_interface_describes_the_memory():
    t = fg.arange(6, dtype=fg.float32, device="cuda").reshape(2, 3)
    interface = t.__cuda_array_interface__
    assert interface["shape"] == (2, 3) and interface["typestr"] == "<f4"
    assert interface["data"] == (t._data_ptr(), False) and interface["version"] == 3
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed")
    np.testing.assert_array_equal(cupy.asnumpy(cupy.asarray(t)), np.arange(6).reshape(2, 3))


def test_large_cpu_blocks_are_reused():
    # Blocks from 1 MiB come back from the allocator's cache: the next tensor of the same
    # size class takes the block the last one released, with no page faults to pay again.
    first = fg.empty(1 << 20)  # 4 MiB
    address = first._data_ptr()
    first.fill_(1.0)
    del first
    second = fg.empty(1 << 20)
    assert second._data_ptr() == address
    second.fill_(2.0)
    np.testing.assert_array_equal(second.numpy()[:3], [2.0, 2.0, 2.0])


@pytest.mark.cuda
@needs_gpu
def test_gpu_index_checks_see_every_change_to_the_indices():
    # Targets copied from the host carry their bounds, so cross_entropy and indexing skip the
    # copy back; a change since (in place, or through an exported alias) is still caught.
    logits = fg.randn(4, 3, device="cuda")
    target = fg.tensor([0, 2, 1, 2], device="cuda")
    assert np.isfinite(nn.functional.cross_entropy(logits, target).item())
    target[1:2].fill_(7)
    with pytest.raises(ValueError, match=r"\[cross_entropy\] target 7 at position 1"):
        nn.functional.cross_entropy(logits, target)
    target = fg.tensor([0, 2, 1, 2], device="cuda")
    alias = fg.from_dlpack(target)
    alias.fill_(5)
    with pytest.raises(ValueError, match=r"\[cross_entropy\] target 5 at position 0"):
        nn.functional.cross_entropy(logits, target)
    rows = fg.tensor([3, 0, 1], device="cuda")
    np.testing.assert_array_equal(to_numpy(logits[rows]), to_numpy(logits)[[3, 0, 1]])
    rows.fill_(4)
    with pytest.raises(IndexError, match=r"\[index\] index 4 is out of bounds"):
        logits[rows]
    kept = fg.tensor([1, 2], device="cuda")
    picked = logits[kept]
    kept.fill_(0)  # after the op: its result and its backward keep the indices it used
    np.testing.assert_array_equal(to_numpy(picked), to_numpy(logits)[[1, 2]])


@pytest.mark.cuda
@needs_gpu
def test_cpu_indices_serve_a_gpu_tensor():
    # As in PyTorch: lists, arrays and CPU tensors index a GPU tensor; GPU indices a CPU
    # tensor do not.
    x = make_input((5, 3))
    t = fg.tensor(x, device="cuda")
    for key in ([4, 0, -1], np.array([4, 0, -1]), fg.tensor([4, 0, -1])):
        np.testing.assert_array_equal(to_numpy(t[key]), x[[4, 0, -1]])
    with pytest.raises(IndexError, match=r"\[index\] index 5 is out of bounds"):
        t[[0, 5]]
    with pytest.raises(ValueError, match=r"\[index\] expected indices on the cpu, got cuda:0"):
        fg.tensor(x)[fg.tensor([0], device="cuda")]


@pytest.mark.cuda
@needs_gpu
def test_rng_state_from_a_gpu_checkpoint():
    state = fg.get_rng_state()
    first = to_numpy(fg.rand(5))
    fg.set_rng_state(state.cuda())  # as a checkpoint loaded onto the GPU holds it
    np.testing.assert_array_equal(to_numpy(fg.rand(5)), first)
