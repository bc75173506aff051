"""The C++ core's safetensors reader (csrc/core/safetensors.cpp), which C++ programs use to
load checkpoints without Python (docs/cpp.md): against what forgegrad.save writes, and on
broken files."""

import json
import struct

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import _C


def test_reads_what_save_writes_in_every_dtype(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {
        "f32": fg.tensor(rng.standard_normal((7, 33)).astype(np.float32)),
        "f64": fg.tensor(rng.standard_normal(5)),
        "i64": fg.tensor(rng.integers(-9, 9, (2, 3))),
        "i32": fg.tensor(rng.integers(-9, 9, 4).astype(np.int32)),
        "i16": fg.tensor(rng.integers(-9, 9, 4).astype(np.int16)),
        "i8": fg.tensor(rng.integers(-9, 9, 4).astype(np.int8)),
        "u8": fg.tensor(rng.integers(0, 255, 4).astype(np.uint8)),
        "bool": fg.tensor(rng.integers(0, 2, 6).astype(bool)),
        "empty": fg.zeros(0, 3),
        "scalar": fg.tensor(2.5),
    }
    tensors["f16"] = tensors["f32"].to(fg.float16)
    tensors["bf16"] = tensors["f32"].to(fg.bfloat16)
    path = tmp_path / "all.safetensors"
    fg.save(tensors, str(path))
    loaded = _C._load_safetensors(str(path))
    assert sorted(loaded) == sorted(tensors)
    for name, expected in tensors.items():
        got = loaded[name]
        assert got.dtype == expected.dtype and tuple(got.shape) == tuple(expected.shape), name
        assert not got.requires_grad
        np.testing.assert_array_equal(got.to(fg.float64).numpy(), expected.to(fg.float64).numpy())


def test_reads_a_model_state_dict(tmp_path):
    model = fg.nn.Sequential(fg.nn.Linear(5, 7), fg.nn.ReLU(), fg.nn.Linear(7, 2))
    fg.save(model.state_dict(), str(tmp_path / "m.safetensors"))
    loaded = _C._load_safetensors(str(tmp_path / "m.safetensors"))
    for name, value in model.state_dict().items():
        np.testing.assert_array_equal(loaded[name].numpy(), value.numpy())


def _file(tmp_path, header, data=b"", length=None):
    text = json.dumps(header).encode() if isinstance(header, dict) else header
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", len(text) if length is None else length) + text + data)
    return str(path)


@pytest.mark.parametrize(
    "header, data, length, message",
    [
        (b"", b"", 0, "not valid JSON"),
        (
            {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}},
            b"\0" * 4,
            None,
            "data_offsets",
        ),
        (
            {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}},
            b"\0" * 8,
            None,
            "12 bytes expected",
        ),
        (
            {"a": {"dtype": "U16", "shape": [1], "data_offsets": [0, 2]}},
            b"\0" * 2,
            None,
            "dtype U16",
        ),
        ({"a": {"shape": [1], "data_offsets": [0, 4]}}, b"\0" * 4, None, '"dtype"'),
        (
            {"a": {"dtype": "F32", "shape": [-1], "data_offsets": [0, 4]}},
            b"\0" * 4,
            None,
            "non-negative integers",
        ),
        (
            {"a": {"dtype": "BOOL", "shape": [1], "data_offsets": [0, 1]}},
            b"\x07",
            None,
            "BOOL byte",
        ),
        (b"[" * 100 + b"]" * 100, b"", None, "nesting"),
        (b"{}", b"", 1 << 40, "header length"),
    ],
)
def test_broken_files_raise_value_errors(tmp_path, header, data, length, message):
    path = _file(tmp_path, header, data, length)
    with pytest.raises(ValueError, match=r"\[load_safetensors\].*" + message):
        _C._load_safetensors(path)


def test_short_and_missing_files(tmp_path):
    short = tmp_path / "short.safetensors"
    short.write_bytes(b"\1\2")
    with pytest.raises(ValueError, match=r"\[load_safetensors\].*shorter than its 8-byte length"):
        _C._load_safetensors(str(short))
    with pytest.raises(RuntimeError, match=r"\[load_safetensors\] cannot open"):
        _C._load_safetensors(str(tmp_path / "missing.safetensors"))
