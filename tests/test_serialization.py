"""save/load: checkpoints as safetensors files (tensors) plus JSON metadata (structure).

Round trips restore exact types (int vs str keys, list vs tuple, int vs float, None, bools,
non-finite floats) and bit-exact tensors; other tools see plain named tensors; a failed save
never touches the previous file; bad files and bad objects give the documented errors.
"""

import errno
import fcntl
import gc
import json
import math
import os
import re
import subprocess
import sys
import textwrap
import weakref

import numpy as np
import pytest
import safetensors.numpy

import forgegrad as fg
import forgegrad.serialization as serialization
from forgegrad.serialization import load, save

from helpers import as_tensor, assert_same_structure

BAD_FILE = "is not a valid forgegrad/safetensors checkpoint"


def randn(*shape):
    return fg.tensor(
        np.random.default_rng(len(shape) + sum(shape)).standard_normal(shape), dtype=fg.float32
    )


def model_state():
    return {
        "0.weight": randn(4, 3),
        "0.bias": randn(4),
        "2.weight": randn(2, 4).T,  # a non-contiguous view saves as its values
        "steps": fg.tensor(np.array([3, -1, 2**40], dtype=np.int64)),
        "mask": fg.tensor(np.array([[True, False], [False, True]])),
        "pixels": fg.tensor(np.array([0, 7, 255], dtype=np.uint8)),
        "scale": fg.tensor(2.5),  # 0-dim
        "empty": fg.zeros(0, 3),  # no elements
    }


def optimizer_state():
    return {
        "state": {
            0: {"step": 3, "exp_avg": randn(4, 3), "exp_avg_sq": randn(4, 3)},
            1: {"step": 3, "exp_avg": randn(4), "exp_avg_sq": randn(4), "max_exp_avg_sq": None},
        },
        "param_groups": [
            {
                "lr": 0.001,
                "betas": (0.9, 0.999),
                "eps": 1e-8,
                "weight_decay": 0.0,
                "amsgrad": False,
                "maximize": True,
                "name": "encoder",
                "params": [0, 1],
                "clip": (float("inf"), -math.inf, float("nan"), -0.0),
            }
        ],
    }


# ------------------------------------------------------------------------- round trips
def test_flat_model_state_dict_round_trip_with_its_own_names(tmp_path):
    sd = model_state()
    path = tmp_path / "model.safetensors"
    save(sd, path)
    assert_same_structure(load(path), sd)
    # Other tools see the state dict's own names and the numpy dtypes the format names.
    raw = safetensors.numpy.load_file(path)
    assert sorted(raw) == sorted(sd)
    assert {k: v.dtype for k, v in raw.items()} == {
        "0.weight": np.float32,
        "0.bias": np.float32,
        "2.weight": np.float32,
        "steps": np.int64,
        "mask": np.bool_,
        "pixels": np.uint8,
        "scale": np.float32,
        "empty": np.float32,
    }
    assert raw["2.weight"].shape == (4, 2)
    assert raw["scale"].shape == () and raw["empty"].shape == (0, 3)
    np.testing.assert_array_equal(raw["2.weight"], sd["2.weight"].numpy())


def test_optimizer_state_round_trip_keeps_types(tmp_path):
    sd = optimizer_state()
    save(sd, str(tmp_path / "opt.safetensors"))  # a str path as well as a Path
    got = load(str(tmp_path / "opt.safetensors"))
    assert_same_structure(got, sd)
    assert list(got["state"]) == [0, 1] and got["param_groups"][0]["betas"] == (0.9, 0.999)
    assert sorted(safetensors.numpy.load_file(tmp_path / "opt.safetensors")) == [
        "state.0.exp_avg",
        "state.0.exp_avg_sq",
        "state.1.exp_avg",
        "state.1.exp_avg_sq",
    ]


def test_combined_checkpoint_and_awkward_values_round_trip(tmp_path):
    ckpt = {
        "model": model_state(),
        "optimizer": optimizer_state(),
        "epoch": 5,
        "best": 0.125,
        "history": [{"loss": 1.5}, {"loss": 0.75}],
        0: "int key",
        "0": "str key beside it",
        -3: [(), [], {}, ((1, 2.0), [None])],
        "text": 'ünïcode "quoted" \n',
        "big": 2**70,
        "tags": ("a", True, False),
    }
    save(ckpt, tmp_path / "ckpt.safetensors")
    assert_same_structure(load(tmp_path / "ckpt.safetensors"), ckpt)
    assert "model.0.weight" in safetensors.numpy.load_file(tmp_path / "ckpt.safetensors")


def test_non_dict_roots_and_no_tensors(tmp_path):
    for obj in ([randn(2), 1, "x"], (None,), fg.tensor([1, 2]), {}, 7.0):
        save(obj, tmp_path / "x.safetensors")
        assert_same_structure(load(tmp_path / "x.safetensors"), obj)


def test_save_overwrites_and_keeps_usual_permissions(tmp_path):
    path = tmp_path / "m.safetensors"
    save({"w": fg.zeros(2)}, path)
    save({"w": fg.ones(3)}, path)
    assert_same_structure(load(path), {"w": fg.ones(3)})
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(path).st_mode & 0o777 == 0o666 & ~umask  # not mkstemp's 0o600
    assert os.listdir(tmp_path) == ["m.safetensors"]


def test_tensor_on_any_device_loads_on_cpu(tmp_path, device):
    t = as_tensor(np.arange(6, dtype=np.float32).reshape(2, 3), device)
    save({"w": t}, tmp_path / "d.safetensors")
    got = load(tmp_path / "d.safetensors")["w"]
    assert got.device.type == "cpu"
    np.testing.assert_array_equal(got.numpy(), np.arange(6, dtype=np.float32).reshape(2, 3))


def test_plain_safetensors_file_loads_as_flat_dict(tmp_path):
    # As a PyTorch state dict exported with safetensors looks: names, no forgegrad metadata.
    arrays = {
        "fc.weight": np.arange(6, dtype=np.float32).reshape(2, 3),
        "fc.bias": np.array([0.5, -0.5], dtype=np.float32),
        "num_batches": np.array(4, dtype=np.int64),
        "wide": np.array([1.5, 2.5]),
        "narrow": np.array([1, 2], dtype=np.int32),
    }
    path = tmp_path / "torch.safetensors"
    safetensors.numpy.save_file(arrays, path, metadata={"format": "pt"})
    got = load(path)
    assert sorted(got) == sorted(arrays)
    assert all(isinstance(t, fg.Tensor) for t in got.values())
    for name, array in arrays.items():
        np.testing.assert_array_equal(got[name].numpy(), array)
    assert got["wide"].dtype == fg.float64 and got["narrow"].dtype == fg.int32  # as stored
    assert got["fc.weight"].dtype == fg.float32 and got["fc.weight"].shape == (2, 3)


def test_requires_grad_tensor_saves_detached_and_input_is_unchanged(tmp_path):
    ckpt = {"model": model_state(), "optimizer": optimizer_state()}
    w = ckpt["model"]["0.weight"]
    w.requires_grad_(True)
    (w * w).sum().backward()
    grad = w.grad.numpy().copy()
    before = {k: v.detach().numpy().copy() for k, v in ckpt["model"].items()}
    structure = json.dumps(ckpt["optimizer"], default=lambda t: t.shape)
    save(ckpt, tmp_path / "c.safetensors")
    # The input: same tensors, values, flags and grads; same optimizer structure.
    assert ckpt["model"]["0.weight"] is w and w.requires_grad
    np.testing.assert_array_equal(w.grad.numpy(), grad)
    for k, v in ckpt["model"].items():
        np.testing.assert_array_equal(v.detach().numpy(), before[k])
    assert json.dumps(ckpt["optimizer"], default=lambda t: t.shape) == structure
    assert isinstance(ckpt["optimizer"]["param_groups"][0]["betas"], tuple)
    # The file: the values, as a tensor that does not require grad.
    got = load(tmp_path / "c.safetensors")["model"]["0.weight"]
    assert not got.requires_grad
    np.testing.assert_array_equal(got.numpy(), before["0.weight"])


# --------------------------------------------------------------------------- atomicity
def _fail_replace(*args, **kwargs):
    raise OSError("disk full (simulated)")


def _fail_serialize(tensors, metadata=None):
    raise RuntimeError("writer crashed (simulated)")


def _interrupt_fsync(fd):
    assert os.fstat(fd).st_size > 100  # the temp file is written in full, then interrupted
    raise KeyboardInterrupt


@pytest.mark.parametrize(
    "target, attr, fake, error",
    [
        (serialization.os, "replace", _fail_replace, OSError),
        (serialization.safetensors.numpy, "save", _fail_serialize, RuntimeError),
        (serialization.os, "fsync", _interrupt_fsync, KeyboardInterrupt),
    ],
    ids=["replace", "writer", "interrupt"],
)
def test_failed_save_keeps_old_file_and_leaves_no_temp(
    tmp_path, monkeypatch, target, attr, fake, error
):
    path = tmp_path / "ckpt.safetensors"
    save({"w": fg.ones(3), "epoch": 1}, path)
    good = path.read_bytes()
    monkeypatch.setattr(target, attr, fake)
    with pytest.raises(error):
        save({"w": fg.zeros(5), "epoch": 2}, path)
    with pytest.raises(error):
        save({"w": fg.zeros(5)}, tmp_path / "new.safetensors")
    monkeypatch.undo()
    assert path.read_bytes() == good
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]
    assert load(path)["epoch"] == 1


def _run_python(code, *args):
    """Run ``code`` in a fresh interpreter (so a kill or a resource limit hits only it)."""
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(code), *map(str, args)],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_save_disk_full_mid_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    # A real failing write (EFBIG under RLIMIT_FSIZE, as ENOSPC would fail), not a stand-in.
    path = tmp_path / "ckpt.safetensors"
    save({"w": fg.ones(3)}, path)
    good = path.read_bytes()
    child = _run_python(
        """
        import resource, signal, sys
        import forgegrad as fg
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, resource.RLIM_INFINITY))
        try:
            fg.save({"w": fg.zeros(100_000)}, sys.argv[1])
        except OSError as e:
            print(e.errno)
        """,
        path,
    )
    out, _ = child.communicate(timeout=60)
    assert child.returncode == 0 and int(out) == errno.EFBIG
    assert os.listdir(tmp_path) == ["ckpt.safetensors"] and path.read_bytes() == good


def _temporaries(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


def test_temporary_of_a_killed_save_is_removed_by_the_next_save(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    save({"w": fg.ones(3), "epoch": 1}, path)
    good = path.read_bytes()
    child = _run_python(
        """
        import sys, time
        import forgegrad as fg
        import forgegrad.serialization as serialization
        def stall(*args):
            print("written", flush=True)
            time.sleep(120)
        serialization.os.replace = stall  # killed between the write and the rename
        fg.save({"w": fg.zeros(100_000), "epoch": 2}, sys.argv[1])
        """,
        path,
    )
    try:
        assert child.stdout.readline() == "written\n"
    finally:
        child.kill()  # SIGKILL: no Python cleanup runs
        child.wait(timeout=60)
    (stale,) = _temporaries(tmp_path)
    assert re.fullmatch(r"\.ckpt\.safetensors\.[0-9a-f]{16}\.tmp", stale)
    assert path.read_bytes() == good and load(path)["epoch"] == 1
    save({"epoch": 3}, path)  # within STALE_TEMP_SECONDS it may still be a save just begun
    assert _temporaries(tmp_path) == [stale]
    old = os.stat(tmp_path / stale).st_mtime - serialization.STALE_TEMP_SECONDS - 1
    os.utime(tmp_path / stale, (old, old))
    save({"epoch": 4}, path)
    assert _temporaries(tmp_path) == [] and load(path) == {"epoch": 4}


def test_stale_cleanup_spares_live_saves_and_every_other_file(tmp_path):
    path = tmp_path / "ckpt.safetensors"
    old = os.stat(tmp_path).st_mtime - serialization.STALE_TEMP_SECONDS - 1

    def plant(name, make=lambda p: p.write_bytes(b"x")):
        make(tmp_path / name)
        os.utime(tmp_path / name, (old, old), follow_symlinks=False)
        return name

    dead = plant(".ckpt.safetensors.0123456789abcdef.tmp")
    live = plant(".ckpt.safetensors.fedcba9876543210.tmp")
    kept = [
        live,
        plant(".other.safetensors.0123456789abcdef.tmp"),  # another target's
        plant(".ckpt.safetensors.0123456789ABCDEF.tmp"),  # not save's naming
        plant(".ckpt.safetensors.0123.tmp"),
        plant("ckpt.safetensors.0123456789abcdef.tmp"),
        plant(".ckpt.safetensors.0123456789abcdef.tmp.bak"),
        plant(".ckpt.safetensors.aaaaaaaaaaaaaaaa.tmp", lambda p: p.mkdir()),
        plant(
            ".ckpt.safetensors.bbbbbbbbbbbbbbbb.tmp",
            lambda p: p.symlink_to(tmp_path / ".other.safetensors.0123456789abcdef.tmp"),
        ),
    ]
    fd = os.open(tmp_path / live, os.O_WRONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)  # as a save in progress holds its temporary
        save({"w": fg.ones(2)}, path)
    finally:
        os.close(fd)
    assert sorted(os.listdir(tmp_path)) == sorted(kept + ["ckpt.safetensors"])
    assert dead not in os.listdir(tmp_path)


def test_save_through_a_symlink_replaces_the_file_it_names_and_keeps_permissions(tmp_path):
    real = tmp_path / "run" / "epoch3.safetensors"
    real.parent.mkdir()
    save({"epoch": 3}, real)
    os.chmod(real, 0o600)  # a private checkpoint stays private
    link = tmp_path / "latest.safetensors"
    link.symlink_to(real)
    save({"epoch": 4}, link)
    assert link.is_symlink() and os.readlink(link) == str(real)
    assert load(real) == {"epoch": 4} and os.stat(real).st_mode & 0o777 == 0o600
    assert sorted(os.listdir(real.parent)) == ["epoch3.safetensors"]


# ------------------------------------------------------------------------------ resources
def test_save_and_load_leave_no_reference_cycles(tmp_path):
    path = tmp_path / "c.safetensors"
    gc.collect()
    gc.disable()
    try:
        array = np.ones((64, 64), np.float32)
        storage = weakref.ref(array)  # from_numpy's storage holds the array: freed with it
        weight = fg.from_numpy(array)
        del array
        weight_object = weakref.ref(weight)
        save({"model": {"w": weight}, "optimizer": optimizer_state()}, path)
        del weight
        assert weight_object() is None and storage() is None  # freed without the collector
        gc.set_debug(gc.DEBUG_SAVEALL)
        save({"model": model_state(), "optimizer": optimizer_state(), "epoch": 1}, path)
        load(path)
        assert gc.collect() == 0, gc.garbage[:10]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
        gc.enable()


# ------------------------------------------------------------------------- bad files
def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "nope.safetensors")


def _good_bytes(tmp_path):
    save({"model": model_state(), "epoch": 3}, tmp_path / "good.safetensors")
    return (tmp_path / "good.safetensors").read_bytes()


@pytest.mark.parametrize(
    "corrupt",
    [
        lambda good: good[:-7],  # tensor data cut short
        lambda good: good[: len(good) // 3],  # header cut short
        lambda good: good[:5],  # not even the header length
        lambda good: b"",
        lambda good: np.random.default_rng(1).bytes(len(good)),
        lambda good: b"\x10" + good[1:],  # header length off by 16
    ],
    ids=["truncated-data", "truncated-header", "five-bytes", "empty", "random", "bad-length"],
)
def test_corrupt_file_is_value_error(tmp_path, corrupt):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(corrupt(_good_bytes(tmp_path)))
    prefix = f"^\\[load\\] {re.escape(str(path))} {BAD_FILE}: "
    with pytest.raises(ValueError, match=prefix) as info:
        load(path)
    assert info.value.__cause__ is not None  # safetensors' own error, chained


@pytest.mark.parametrize(
    "meta, reason",
    [
        ("{not json", "Expecting property name"),
        ('{"version": 1, "root": {"tensor": "nowhere"}}', "tensor 'nowhere'"),
        ('{"version": 1, "root": {"set": [1, 2]}}', "unexpected node"),
        ('{"version": 1, "root": {"dict": [[1.5, 0]]}}', "unexpected node"),
        ('{"version": 1, "root": {"float": "1e9"}}', "unexpected node"),
        ('{"version": 99, "root": 1}', "format version 99"),
        ('{"version": 1}', "no 'root'"),
        ("[1, 2]", "no 'root'"),
    ],
)
def test_bad_metadata_is_value_error(tmp_path, meta, reason):
    path = tmp_path / "meta.safetensors"
    safetensors.numpy.save_file({"w": np.ones(2, np.float32)}, path, metadata={"forgegrad": meta})
    prefix = f"^\\[load\\] {re.escape(str(path))} {BAD_FILE}: "
    with pytest.raises(ValueError, match=prefix + f".*{reason}"):
        load(path)


# ------------------------------------------------------------------------- bad objects
@pytest.mark.parametrize(
    "obj, where",
    [
        ({"w": np.ones(3)}, "obj['w']"),
        ({"state": {0: {"fn": lambda: 0}}}, "obj['state'][0]['fn']"),
        ({"ids": [1, {2, 3}]}, "obj['ids'][1]"),
        ({"lr": np.float32(0.1)}, "obj['lr']"),
        ({"x": {1.5: fg.ones(1)}}, "1.5 (float) in obj['x']"),
        ({"x": {(0, 1): 1}}, "(0, 1) (tuple) in obj['x']"),
        ({"x": {True: 1}}, "True (bool) in obj['x']"),
        ({"x": {None: 1}}, "None (NoneType) in obj['x']"),
        ({"a.b": fg.ones(1), "a": {"b": fg.ones(1)}}, "obj['a.b'] and obj['a']['b']"),
        ({"__metadata__": fg.ones(1)}, "obj['__metadata__']"),
    ],
    ids=[
        "ndarray",
        "lambda",
        "set",
        "numpy-scalar",
        "float-key",
        "tuple-key",
        "bool-key",
        "none-key",
        "ambiguous-path",
        "reserved-name",
    ],
)
def test_unsupported_objects_are_type_errors_and_write_nothing(tmp_path, obj, where):
    with pytest.raises(TypeError, match=r"^\[save\] .*" + re.escape(where)):
        save(obj, tmp_path / "x.safetensors")
    assert os.listdir(tmp_path) == []


def test_save_refuses_containers_that_contain_themselves_or_nest_too_deep(tmp_path):
    looped = []
    looped.append(looped)
    nested = {}
    inner = nested
    for _ in range(150):
        inner["x"] = {}
        inner = inner["x"]
    for obj, message in ((looped, "contains itself"), ({"a": nested}, "nests deeper")):
        with pytest.raises(TypeError, match=rf"\[save\].*{message}"):
            save(obj, tmp_path / "x.safetensors")
    assert not os.listdir(tmp_path)
    shared = [1, 2]
    save({"a": shared, "b": shared}, tmp_path / "ok.safetensors")  # shared, not a loop
    assert load(tmp_path / "ok.safetensors") == {"a": [1, 2], "b": [1, 2]}


def test_load_refuses_metadata_nested_too_deep(tmp_path):
    path = tmp_path / "deep.safetensors"
    root = "[" * 5000 + "]" * 5000
    safetensors.numpy.save_file(
        {"t": np.zeros(1, np.float32)},
        str(path),
        metadata={"forgegrad": '{"version": 1, "root": ' + root + "}"},
    )
    with pytest.raises(ValueError, match=r"\[load\].*not a valid"):
        load(path)


def test_load_of_a_directory_says_so(tmp_path):
    with pytest.raises(IsADirectoryError, match=r"\[load\].*is a directory"):
        load(tmp_path)


# -------------------------------------------------------------------- limits on what load parses
def _file_with_metadata(path, meta, tensors=None):
    safetensors.numpy.save_file(
        tensors or {"t": np.zeros(1, np.float32)}, str(path), metadata={"forgegrad": meta}
    )
    return path


def _forbid(monkeypatch, target, attr):
    def forbidden(*args, **kwargs):
        raise AssertionError(f"{attr} ran on a file over a limit")

    monkeypatch.setattr(target, attr, forbidden)


def test_load_refuses_a_header_over_the_limit_before_parsing_it(tmp_path, monkeypatch):
    path = tmp_path / "wide.safetensors"
    safetensors.numpy.save_file({f"t{i}": np.zeros(0, np.float32) for i in range(200)}, path)
    header_bytes = int.from_bytes(path.read_bytes()[:8], "little")
    monkeypatch.setattr(serialization, "MAX_HEADER_BYTES", header_bytes)
    assert len(load(path)) == 200  # at the limit
    monkeypatch.setattr(serialization, "MAX_HEADER_BYTES", header_bytes - 1)
    _forbid(monkeypatch, serialization, "safe_open")
    with pytest.raises(
        ValueError,
        match=rf"^\[load\] {re.escape(str(path))} .*header is "
        rf"{header_bytes} bytes.*MAX_HEADER_BYTES",
    ):
        load(path)


def test_load_refuses_the_reported_header_of_millions_of_empty_lists(tmp_path, monkeypatch):
    # The report's file, scaled down: 60 MB of "[]," took 2.85 GB and 25 s to refuse.
    lists = serialization.MAX_METADATA_VALUES // 2 + 1
    path = _file_with_metadata(
        tmp_path / "lists.safetensors", '{"version": 1, "root": [' + ",".join(["[]"] * lists) + "]}"
    )
    _forbid(monkeypatch, serialization.json, "loads")
    with pytest.raises(
        ValueError,
        match=r"^\[load\] .* JSON values, over the limit "
        r"forgegrad\.serialization\.MAX_METADATA_VALUES",
    ):
        load(path)


def test_load_counts_values_not_characters_inside_strings(tmp_path, monkeypatch):
    monkeypatch.setattr(serialization, "MAX_METADATA_VALUES", 100)
    text = 'a "quoted", [list] {of: things}, \\\\ ' * 50
    save({"note": text, "w": fg.ones(2)}, tmp_path / "s.safetensors")
    assert load(tmp_path / "s.safetensors")["note"] == text


@pytest.mark.parametrize(
    "meta, reason",
    [
        ('{"version": 1, "root": ' + "[" * 400 + "]" * 400 + "}", "nests 401 JSON levels deep"),
        ("]" * 10_000, "unbalanced brackets"),
    ],
    ids=["deep", "unbalanced"],
)
def test_load_refuses_deep_or_malformed_metadata_before_json_parses_it(
    tmp_path, monkeypatch, meta, reason
):
    path = _file_with_metadata(tmp_path / "m.safetensors", meta)
    _forbid(monkeypatch, serialization.json, "loads")
    with pytest.raises(ValueError, match=rf"^\[load\] .*{BAD_FILE}: .*{reason}"):
        load(path)


def test_save_refuses_what_load_would_refuse_and_writes_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(serialization, "MAX_METADATA_VALUES", 1000)
    path = tmp_path / "x.safetensors"
    saved = []
    for n in range(980, 1020):  # straddles the limit: whatever save writes, load reads
        try:
            save({"history": list(range(n))}, path)
        except ValueError as e:
            assert re.match(r"\[save\] cannot write .*MAX_METADATA_VALUES = 1000", str(e))
            continue
        assert load(path) == {"history": list(range(n))}
        saved.append(n)
    assert saved and saved == list(range(980, saved[-1] + 1)) and saved[-1] < 1019
    os.remove(path)
    monkeypatch.setattr(serialization, "MAX_HEADER_BYTES", 1000)
    with pytest.raises(ValueError, match=r"\[save\] .*header would be .*MAX_HEADER_BYTES"):
        save({f"layer{i}.weight": fg.ones(1) for i in range(100)}, path)
    assert os.listdir(tmp_path) == []


def test_deepest_nesting_save_accepts_loads(tmp_path):
    for leaf in (fg.ones(1), float("nan"), 1):
        for wrap in (lambda x: {"k": x}, lambda x: (x,), lambda x: [x]):
            obj = leaf
            for _ in range(serialization._MAX_DEPTH):
                obj = wrap(obj)
            save(obj, tmp_path / "deep.safetensors")
            assert_same_structure(load(tmp_path / "deep.safetensors"), obj)


def test_load_refuses_an_unclosed_string_of_escapes_in_linear_time(tmp_path):
    # '"' then \" repeated, never closed: a string pattern that restarts at every quote scans
    # to the end from each one (0.8 s for 8,000; this file would take days).
    path = _file_with_metadata(tmp_path / "escapes.safetensors", '"' + '\\"' * 2_000_000)
    with pytest.raises(ValueError, match=rf"^\[load\] .*{BAD_FILE}"):
        load(path)


def _safetensors_bytes(tensors):
    """A safetensors file built by hand: 8-byte little-endian header length, the JSON
    header (padded with spaces to 8 bytes), then the raw little-endian data."""
    header, data = {}, b""
    for name, (code, shape, raw) in tensors.items():
        header[name] = {
            "dtype": code,
            "shape": shape,
            "data_offsets": [len(data), len(data) + len(raw)],
        }
        data += raw
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return len(text).to_bytes(8, "little") + text + data


def test_load_reads_hand_built_bf16_and_f16_tensors(tmp_path):
    values = [1.0, -2.5, 0.0, 65280.0, float("inf"), 2.0**-24]  # exact in both
    f16 = np.array(values, "<f2").tobytes()
    # bfloat16: the top 16 bits of each float32
    bf16 = (np.array(values, "<f4").view("<u4") >> 16).astype("<u2").tobytes()
    path = tmp_path / "half.safetensors"
    path.write_bytes(_safetensors_bytes({"h": ("F16", [2, 3], f16), "b": ("BF16", [6], bf16)}))
    loaded = fg.load(path)
    assert loaded["h"].dtype == fg.float16 and tuple(loaded["h"].shape) == (2, 3)
    assert loaded["b"].dtype == fg.bfloat16 and tuple(loaded["b"].shape) == (6,)
    assert loaded["h"].float().numpy().ravel().tolist() == values
    assert loaded["b"].float().numpy().tolist() == values  # all exact in bfloat16 too


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_tensors_round_trip(tmp_path, dtype):
    t = fg.tensor([[0.5, -3.0, 1024.0], [0.0, -0.125, 7.0]], dtype=getattr(fg, dtype))
    fg.save({"t": t, "nested": [t[1]]}, tmp_path / "x.safetensors")
    back = fg.load(tmp_path / "x.safetensors")
    assert back["t"].dtype == t.dtype and back["nested"][0].dtype == t.dtype
    assert back["t"].tolist() == t.tolist() and back["nested"][0].tolist() == t[1].tolist()
