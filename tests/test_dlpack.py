"""DLPack exchange: Tensor.__dlpack__ / __dlpack_device__ and forgegrad.from_dlpack, with
numpy on the CPU (zero-copy both ways) and with CuPy on a GPU where both are present."""

import ctypes
import gc

import numpy as np
import pytest

import forgegrad as fg

from helpers import CUDA_SKIP_REASON, cuda_available, make_input, to_numpy

DTYPES = [np.float32, np.int64, np.bool_, np.uint8]


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_numpy_to_forgegrad_shares_memory(dtype):
    a = (np.arange(24) % 5).astype(dtype).reshape(2, 3, 4)
    t = fg.from_dlpack(a)
    assert t.shape == (2, 3, 4) and t.device == fg.device("cpu")
    np.testing.assert_array_equal(t.numpy(), a)
    a[1, 2, 3] = 1
    assert t.numpy()[1, 2, 3] == 1  # the same memory


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
def test_forgegrad_to_numpy_shares_memory(dtype):
    t = fg.tensor((np.arange(12) % 3).astype(dtype).reshape(3, 4))
    a = np.from_dlpack(t)
    assert a.dtype == dtype and a.shape == (3, 4)
    np.testing.assert_array_equal(a, t.numpy())
    assert np.shares_memory(a, t.numpy())
    assert t.__dlpack_device__() == (1, 0)


def test_views_and_offsets_export_their_own_elements():
    t = fg.tensor(make_input((5, 7)))
    rows = t[2:4]  # a view with a storage offset
    np.testing.assert_array_equal(np.from_dlpack(rows), to_numpy(t)[2:4])
    np.testing.assert_array_equal(np.from_dlpack(t[3]), to_numpy(t)[3])


class _DLTensor(ctypes.Structure):  # the head of DLPack's DLManagedTensor
    _fields_ = [
        ("data", ctypes.c_void_p),
        ("device_type", ctypes.c_int32),
        ("device_id", ctypes.c_int32),
        ("ndim", ctypes.c_int32),
        ("dtype", ctypes.c_uint32),
        ("shape", ctypes.c_void_p),
        ("strides", ctypes.c_void_p),
        ("byte_offset", ctypes.c_uint64),
    ]


def test_views_export_their_first_element_as_data():
    # PyTorch ignores byte_offset: a view's capsule must point at the view itself.
    t = fg.tensor(make_input((5, 7)))
    view = t[2:4]
    capsule = view.__dlpack__()
    get_pointer = ctypes.pythonapi.PyCapsule_GetPointer
    get_pointer.restype, get_pointer.argtypes = ctypes.c_void_p, [ctypes.py_object, ctypes.c_char_p]
    dl = _DLTensor.from_address(get_pointer(capsule, b"dltensor"))
    assert dl.data == view._data_ptr() == t._data_ptr() + 2 * 7 * 4
    assert dl.byte_offset == 0 and dl.ndim == 2


def test_strided_numpy_arrays_are_shared_as_views():
    a = make_input((6, 8))
    for view in (a[:, ::2], a.T, a[::3]):
        t = fg.from_dlpack(view)
        np.testing.assert_array_equal(t.numpy(), view)
        assert t.stride() == tuple(s // 4 for s in view.strides)
        assert np.shares_memory(t.numpy(), a)


def test_negative_strides_are_copied():
    a = make_input((6, 8))
    t = fg.from_dlpack(a[::-1, ::2])
    np.testing.assert_array_equal(t.numpy(), a[::-1, ::2])
    assert t.is_contiguous() and not np.shares_memory(t.numpy(), a)


def test_zero_dim_and_empty():
    t = fg.from_dlpack(np.array(3.5, np.float32))
    assert t.shape == () and t.item() == 3.5
    e = fg.from_dlpack(np.zeros((0, 4), np.float32))
    assert e.shape == (0, 4)
    assert np.from_dlpack(fg.zeros(0, 3)).shape == (0, 3)


def test_the_source_may_go_away():
    a = make_input((4, 4))
    expected = a.copy()
    t = fg.from_dlpack(a)
    del a
    gc.collect()
    np.testing.assert_array_equal(t.numpy(), expected)
    t2 = fg.tensor(expected)
    b = np.from_dlpack(t2)
    del t2
    gc.collect()
    np.testing.assert_array_equal(b, expected)


def test_capsules_are_taken_once():
    t = fg.tensor(make_input((3,)))
    capsule = t.__dlpack__()
    u = fg.from_dlpack(capsule)
    np.testing.assert_array_equal(u.numpy(), t.numpy())
    with pytest.raises(ValueError, match=r"\[from_dlpack\].*capsule"):
        fg.from_dlpack(capsule)
    untaken = t.__dlpack__()
    del untaken  # an untaken capsule frees what it holds
    gc.collect()
    np.testing.assert_array_equal(u.numpy(), t.numpy())


def test_copy_and_device_requests():
    t = fg.tensor(make_input((3, 2)))
    copied = np.from_dlpack(t, copy=True)
    assert not np.shares_memory(copied, t.numpy())
    np.testing.assert_array_equal(copied, t.numpy())
    with pytest.raises(BufferError, match=r"\[__dlpack__\]"):
        t.__dlpack__(dl_device=(2, 0))
    assert fg.from_dlpack(t).numpy().tolist() == t.numpy().tolist()


def test_bad_input():
    with pytest.raises(TypeError, match=r"\[from_dlpack\] expected data of a forgegrad .*uint16"):
        fg.from_dlpack(np.ones(3, np.uint16))
    with pytest.raises(TypeError, match=r"\[from_dlpack\] expected an object with __dlpack__"):
        fg.from_dlpack([1.0, 2.0])
    with pytest.raises(RuntimeError, match=r"\[__dlpack__\].*requires grad"):
        np.from_dlpack(fg.ones(3, requires_grad=True))
    x = fg.ones(3, requires_grad=True)
    np.testing.assert_array_equal(np.from_dlpack(x.detach()), np.ones(3))


@pytest.mark.cuda
def test_cupy_exchange_without_copies():
    if not cuda_available():
        pytest.skip(CUDA_SKIP_REASON)
    cupy = pytest.importorskip("cupy", reason="CuPy is not installed")
    a = cupy.arange(12, dtype=cupy.float32).reshape(3, 4)
    t = fg.from_dlpack(a)
    assert t.device == fg.device("cuda:0")
    np.testing.assert_array_equal(t.cpu().numpy(), cupy.asnumpy(a))
    a[0, 0] = 42.0
    assert t.cpu().numpy()[0, 0] == 42.0
    b = cupy.from_dlpack(t * 2)
    np.testing.assert_array_equal(cupy.asnumpy(b), cupy.asnumpy(a) * 2)
    assert (t.__dlpack_device__()) == (2, 0)
