"""Checkpoints end to end, through files: model + optimizer + scheduler state saved with
``forgegrad.save``, restored with ``forgegrad.load`` into FRESH objects, and training
continued gives bit for bit what a run that never stopped gives (by hand and through
``fit``); the file is a plain safetensors file other tools read; damaged files, checkpoints
of other models and missing keys are refused with clear errors and change nothing; a failed
save keeps the previous checkpoint; ``ModelCheckpoint`` writes loadable files.

Randomness at the resume point. Dropout draws from forgegrad's global Philox stream, and
building the fresh objects of the resumed run draws from it too; the checkpoint carries the
stream's position (``get_rng_state``), restored with ``set_rng_state`` just before training
continues, so every dropout mask matches and equality is exact. A control resumed without
restoring it shows the masks matter (the results then differ).
"""

import copy
import os
import struct

import numpy as np
import pytest
import safetensors.numpy

import forgegrad as fg
import forgegrad.serialization as serialization
from forgegrad import nn, optim
from forgegrad.data import DataLoader, TensorDataset
from forgegrad.optim.lr_scheduler import CosineAnnealingLR, StepLR
from forgegrad.training import ModelCheckpoint, fit

from helpers import EpochSnapshots, assert_same_structure, model_arrays

BAD_FILE = "is not a valid forgegrad/safetensors checkpoint"
IN, HIDDEN, OUT = 6, 16, 3
N_SAMPLES, BATCH = 64, 16

# Fixed data and a fixed batch order (one index array per step), the same in every run.
_DATA_RNG = np.random.default_rng(1234)
X = _DATA_RNG.standard_normal((N_SAMPLES, IN)).astype(np.float32)
Y = _DATA_RNG.integers(0, OUT, N_SAMPLES).astype(np.int64)
ORDER = [_DATA_RNG.permutation(N_SAMPLES)[:BATCH] for _ in range(40)]


# ------------------------------------------------------------------------------ helpers
def make_mlp(seed, hidden=HIDDEN, out=OUT, p=0.1, device="cpu"):
    """The MLP, initialized from forgegrad's stream seeded with `seed`, on `device`."""
    fg.manual_seed(seed)
    model = nn.Sequential(nn.Linear(IN, hidden), nn.ReLU(), nn.Dropout(p), nn.Linear(hidden, out))
    return model.to(device)


def frozen(obj):
    """A deep copy of a state dict with every Tensor as a numpy copy, for later comparison."""
    if isinstance(obj, fg.Tensor):
        return obj.detach().cpu().numpy().copy()
    if isinstance(obj, dict):
        return {k: frozen(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(frozen(v) for v in obj)
    return copy.deepcopy(obj)


def snapshot(model, opt):
    return {"model": model_arrays(model), "optimizer": frozen(opt.state_dict())}


def assert_unchanged(model, opt, before):
    assert_same_structure(snapshot(model, opt), before, "after the rejected load")


OPTIMIZERS = {
    "sgd-nesterov-wd": (
        lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, nesterov=True, weight_decay=1e-3),
        lambda o: StepLR(o, step_size=3, gamma=0.5),
    ),
    "adam-amsgrad": (
        lambda ps: optim.Adam(ps, lr=0.02, amsgrad=True, weight_decay=1e-3),
        lambda o: CosineAnnealingLR(o, T_max=8, eta_min=1e-3),
    ),
    "adamw": (
        lambda ps: optim.AdamW(ps, lr=0.02, weight_decay=0.05),
        lambda o: StepLR(o, step_size=4, gamma=0.3),
    ),
}


def train_steps(model, opt, sched, steps):
    """Minibatch steps over the fixed batch order; the scheduler steps after each one.
    Returns (loss, lr used) per step."""
    loss_fn = nn.CrossEntropyLoss()
    model.train()
    device = next(model.parameters()).device
    record = []
    for step in steps:
        idx = ORDER[step]
        lr = opt.param_groups[0]["lr"]
        loss = loss_fn(model(fg.tensor(X[idx], device=device)), fg.tensor(Y[idx], device=device))
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        record.append((loss.item(), lr))
    return record


def trained(seed=0, steps=4, kind="adam-amsgrad"):
    """A model and optimizer with non-trivial state (a few steps taken)."""
    make_opt, make_sched = OPTIMIZERS[kind]
    model = make_mlp(seed)
    opt = make_opt(model.parameters())
    train_steps(model, opt, make_sched(opt), range(steps))
    return model, opt


# ------------------------------------------------------------------ resume == uninterrupted
K, M = 5, 7


@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_resume_from_file_equals_uninterrupted_run(tmp_path, kind, device):
    make_opt, make_sched = OPTIMIZERS[kind]

    # The run that never stops: K + M steps.
    model = make_mlp(seed=1, device=device)
    opt = make_opt(model.parameters())
    sched = make_sched(opt)
    straight = train_steps(model, opt, sched, range(K + M))
    want = snapshot(model, opt)

    # The interrupted run: the same K steps, then a checkpoint file.
    model = make_mlp(seed=1, device=device)
    opt = make_opt(model.parameters())
    sched = make_sched(opt)
    first = train_steps(model, opt, sched, range(K))
    at_k = snapshot(model, opt)
    path = tmp_path / "ckpt.safetensors"
    fg.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "step": K,
            "rng": fg.get_rng_state(),
        },
        path,
    )
    del model, opt, sched

    # A fresh process would build everything anew: different init, empty optimizer state.
    model2 = make_mlp(seed=99, device=device)
    opt2 = make_opt(model2.parameters())
    sched2 = make_sched(opt2)
    assert not np.array_equal(model_arrays(model2)["0.weight"], at_k["model"]["0.weight"])
    assert opt2.state_dict()["state"] == {}

    ckpt = fg.load(path)
    assert ckpt["step"] == K and type(ckpt["step"]) is int
    model2.load_state_dict(ckpt["model"])
    opt2.load_state_dict(ckpt["optimizer"])
    sched2.load_state_dict(ckpt["scheduler"])
    # Restored exactly: weights, every state tensor and int step, lrs (the scheduler had
    # already changed them by step K), the scheduler's position.
    assert_same_structure(snapshot(model2, opt2), at_k, "restored")
    assert sched2.last_epoch == K
    assert opt2.param_groups[0]["lr"] == sched2.get_last_lr()[0] == straight[K][1]
    assert first == straight[:K]

    fg.set_rng_state(ckpt["rng"])
    resumed = train_steps(model2, opt2, sched2, range(K, K + M))
    got = snapshot(model2, opt2)

    assert resumed == straight[K:], "losses and lrs after the resume point"
    assert_same_structure(got["model"], want["model"], "parameters")
    assert_same_structure(got["optimizer"], want["optimizer"], "optimizer state")
    # Not vacuous: training moved the weights, the lr schedule changed the lr on the way,
    # and the optimizer state holds the tensors this optimizer keeps.
    assert not np.array_equal(got["model"]["0.weight"], at_k["model"]["0.weight"])
    assert len({lr for _, lr in straight}) > 1
    state0 = got["optimizer"]["state"][0]
    expected_keys = (
        {"momentum_buffer"}
        if kind.startswith("sgd")
        else {"step", "exp_avg", "exp_avg_sq"}
        | ({"max_exp_avg_sq"} if "amsgrad" in kind else set())
    )
    assert set(state0) == expected_keys
    if "step" in state0:
        assert state0["step"] == K + M

    # Control: the same resume without restoring the stream gives other weights, so the
    # equality above depends on every mask matching (and dropout is really active).
    model3 = make_mlp(seed=5, device=device)
    opt3 = make_opt(model3.parameters())
    sched3 = make_sched(opt3)
    ckpt = fg.load(path)
    model3.load_state_dict(ckpt["model"])
    opt3.load_state_dict(ckpt["optimizer"])
    sched3.load_state_dict(ckpt["scheduler"])
    train_steps(model3, opt3, sched3, range(K, K + M))
    assert not np.array_equal(model_arrays(model3)["0.weight"], want["model"]["0.weight"])


# ---------------------------------------------------------------------- the same via fit()
N_EPOCHS, M_EPOCHS = 3, 2


def _fit_objects(seed):
    model = make_mlp(seed)
    opt = optim.Adam(model.parameters(), lr=0.02, amsgrad=True)
    return model, opt, StepLR(opt, step_size=2, gamma=0.5)


def _loader():
    # A fixed seed: epoch k is shuffled by default_rng([0, k]) whatever else runs.
    return DataLoader(TensorDataset(X, Y), batch_size=BATCH, shuffle=True, seed=0)


def test_fit_resumed_from_file_equals_one_long_fit(tmp_path):
    loss_fn = nn.CrossEntropyLoss()
    fit_kw = dict(progress=False)

    model, opt, sched = _fit_objects(seed=1)
    straight = fit(
        model, loss_fn, opt, _loader(), epochs=N_EPOCHS + M_EPOCHS, scheduler=sched, **fit_kw
    )
    want = snapshot(model, opt)

    model, opt, sched = _fit_objects(seed=1)
    first = fit(model, loss_fn, opt, _loader(), epochs=N_EPOCHS, scheduler=sched, **fit_kw)
    assert first["loss"] == straight["loss"][:N_EPOCHS]
    path = tmp_path / "fit.safetensors"
    fg.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "epoch": N_EPOCHS,
            "rng": fg.get_rng_state(),
        },
        path,
    )

    def resume(seed, advance):
        model, opt, sched = _fit_objects(seed)
        ckpt = fg.load(path)
        model.load_state_dict(ckpt["model"])
        opt.load_state_dict(ckpt["optimizer"])
        sched.load_state_dict(ckpt["scheduler"])
        fg.set_rng_state(ckpt["rng"])
        if advance:  # initial_epoch moves the fresh loader to the next epoch's shuffle
            history = fit(
                model,
                loss_fn,
                opt,
                _loader(),
                epochs=N_EPOCHS + M_EPOCHS,
                initial_epoch=ckpt["epoch"],
                scheduler=sched,
                **fit_kw,
            )
        else:
            history = fit(
                model, loss_fn, opt, _loader(), epochs=M_EPOCHS, scheduler=sched, **fit_kw
            )
        return model, opt, history

    model2, opt2, resumed = resume(seed=77, advance=True)
    assert resumed["loss"] == straight["loss"][N_EPOCHS:]
    assert resumed["lr"] == straight["lr"][N_EPOCHS:]
    assert_same_structure(snapshot(model2, opt2), want, "fit resumed")
    assert straight["lr"][0] != straight["lr"][-1]  # the schedule changed the lr

    # Control: a loader left at epoch 0 replays epoch 0's shuffles, and the run differs.
    model3, _, _ = resume(seed=77, advance=False)
    assert not np.array_equal(model_arrays(model3)["0.weight"], want["model"]["0.weight"])


def test_fit_from_arrays_resumes_with_initial_epoch(tmp_path):
    loss_fn = nn.CrossEntropyLoss()
    fit_kw = dict(batch_size=BATCH, seed=0, progress=False)

    model, opt, sched = _fit_objects(seed=1)
    straight = fit(
        model, loss_fn, opt, (X, Y), epochs=N_EPOCHS + M_EPOCHS, scheduler=sched, **fit_kw
    )
    want = snapshot(model, opt)

    model, opt, sched = _fit_objects(seed=1)
    fit(model, loss_fn, opt, (X, Y), epochs=N_EPOCHS, scheduler=sched, **fit_kw)
    path = tmp_path / "fit.safetensors"
    fg.save(
        {
            "model": model.state_dict(),
            "optimizer": opt.state_dict(),
            "scheduler": sched.state_dict(),
            "epoch": N_EPOCHS,
            "rng": fg.get_rng_state(),
        },
        path,
    )

    model, opt, sched = _fit_objects(seed=77)
    ckpt = fg.load(path)
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])
    sched.load_state_dict(ckpt["scheduler"])
    fg.set_rng_state(ckpt["rng"])
    resumed = fit(
        model,
        loss_fn,
        opt,
        (X, Y),
        epochs=N_EPOCHS + M_EPOCHS,
        scheduler=sched,
        initial_epoch=ckpt["epoch"],
        **fit_kw,
    )
    assert resumed["epoch"] == list(range(N_EPOCHS + 1, N_EPOCHS + M_EPOCHS + 1))
    assert resumed["loss"] == straight["loss"][N_EPOCHS:]
    assert_same_structure(snapshot(model, opt), want, "fit resumed from arrays")


def test_fit_rejects_an_initial_epoch_past_the_last():
    model, opt, _ = _fit_objects(seed=1)
    with pytest.raises(ValueError, match="initial_epoch"):
        fit(model, nn.CrossEntropyLoss(), opt, (X, Y), epochs=2, initial_epoch=3)


# ------------------------------------------------------------------- other tools read it
def test_checkpoint_is_a_plain_safetensors_file_with_parameter_names(tmp_path):
    model, opt = trained()
    names = [name for name, _ in model.named_parameters()]
    assert names == ["0.weight", "0.bias", "3.weight", "3.bias"]

    fg.save(model.state_dict(), tmp_path / "model.safetensors")
    raw = safetensors.numpy.load_file(tmp_path / "model.safetensors")
    assert sorted(raw) == sorted(names)
    for name, value in model_arrays(model).items():
        assert raw[name].dtype == np.float32 and np.array_equal(raw[name], value), name

    # In a combined checkpoint the names get their key path as prefix.
    fg.save(
        {"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 4},
        tmp_path / "ckpt.safetensors",
    )
    raw = safetensors.numpy.load_file(tmp_path / "ckpt.safetensors")
    assert {k for k in raw if k.startswith("model.")} == {"model." + n for n in names}
    assert np.array_equal(raw["model.0.weight"], model.state_dict()["0.weight"].numpy())
    state = opt.state_dict()["state"]
    for i in range(len(names)):
        for key in ("exp_avg", "exp_avg_sq", "max_exp_avg_sq"):
            assert np.array_equal(raw[f"optimizer.state.{i}.{key}"], state[i][key].numpy())


# --------------------------------------------------------------------------- damaged files
def _restore(path, model, opt):
    """What a resuming script does with a checkpoint file."""
    ckpt = fg.load(path)
    model.load_state_dict(ckpt["model"])
    opt.load_state_dict(ckpt["optimizer"])


def _good_checkpoint(tmp_path):
    source, source_opt = trained(seed=3)
    path = tmp_path / "good.safetensors"
    fg.save({"model": source.state_dict(), "optimizer": source_opt.state_dict()}, path)
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    return raw, header_len


def _damaged(raw, header_len):
    header = raw[8 : 8 + header_len]

    def replace_once(old, new):
        assert header.count(old) >= 1, old
        return raw[:8] + header.replace(old, new, 1) + raw[8 + header_len :]

    def flip(at, mask=0x01):
        out = bytearray(raw)
        out[at] ^= mask
        return bytes(out)

    json_at = raw.index(b'{\\"version')  # the forgegrad JSON inside the metadata string
    return {
        # truncated
        "cut-in-length-field": raw[:5],
        "cut-in-header": raw[: 8 + header_len // 2],
        "cut-at-header-end": raw[: 8 + header_len],
        "cut-in-data": raw[: 8 + header_len + (len(raw) - 8 - header_len) // 2],
        "cut-last-byte": raw[:-1],
        "extra-bytes": raw + b"\0\0\0\0",
        # bytes flipped in the JSON header
        "flip-opening-brace": flip(8),  # '{' -> 'z': not JSON
        "flip-to-invalid-utf8": flip(8 + header_len // 3, 0x80),
        "flip-in-forgegrad-json": flip(json_at),  # '{' -> 'z' inside the metadata string
        "flip-root-key": replace_once(b'\\"root\\"', b'\\"roOt\\"'),
        "flip-version": replace_once(b'\\"version\\": 1', b'\\"version\\": 3'),
        "flip-tensor-ref": replace_once(
            b'\\"tensor\\": \\"model.0.weight\\"', b'\\"tensor\\": \\"model.0.weigHt\\"'
        ),
        "flip-shape": replace_once(b'"shape":[16,6]', b'"shape":[17,6]'),
        "flip-offsets": replace_once(b'"data_offsets":[0,', b'"data_offsets":[1,'),
        "flip-length-field": flip(0, 0x04),
        # not a checkpoint at all
        "empty": b"",
        "text": b"epoch=3 loss=0.25\n" * 8,
        "json": b'{"model": {"0.weight": [[1, 2], [3, 4]]}}',
        "npy": b"\x93NUMPY\x01\x00v\x00{'descr': '<f4', 'fortran_order': False, "
        b"'shape': (4,), }" + b" " * 50 + b"\n" + bytes(16),
        "zip/pickle (torch.save)": b"PK\x03\x04" + bytes(26) + b"\x80\x02}q\x00." * 10,
        "random": np.random.default_rng(5).integers(0, 256, 4096, dtype=np.uint8).tobytes(),
    }


def test_damaged_or_foreign_files_raise_value_error_and_change_nothing(tmp_path):
    raw, header_len = _good_checkpoint(tmp_path)
    model, opt = trained(seed=8)  # about to receive the state
    before = snapshot(model, opt)
    for name, data in _damaged(raw, header_len).items():
        path = tmp_path / f"{name.replace('/', '-')}.safetensors"
        path.write_bytes(data)
        with pytest.raises(ValueError) as info:
            _restore(path, model, opt)
        message = str(info.value)
        assert BAD_FILE in message and str(path) in message, f"{name}: {message}"
        assert message.startswith("[load]"), f"{name}: {message}"
        assert_unchanged(model, opt, before)
    # The intact file does load (the damage, not the setup, made those fail).
    (tmp_path / "good2.safetensors").write_bytes(raw)
    _restore(tmp_path / "good2.safetensors", model, opt)
    assert not np.array_equal(model_arrays(model)["0.weight"], before["model"]["0.weight"])


def test_no_header_bit_flip_loads_wrong_values_into_a_model(tmp_path):
    """One flipped bit at every byte of a model file's header, as a resuming script would
    use the file (load, then a strict load_state_dict): load raises ValueError (never
    another error), or the flip renamed a key, which load_state_dict refuses (RuntimeError,
    model unchanged), or the flip hit the metadata key "forgegrad" itself, which makes the
    file a foreign safetensors file that loads as its flat {name: Tensor} dict: for a flat
    model state dict, the same weights. Nothing loads other values silently."""
    want = model_arrays(make_mlp(seed=4))
    path = tmp_path / "m.safetensors"
    fg.save(make_mlp(seed=4).state_dict(), path)
    raw = path.read_bytes()
    (header_len,) = struct.unpack("<Q", raw[:8])
    key_at = raw.index(b'"forgegrad"') + 1
    target = make_mlp(seed=9)
    before = model_arrays(target)
    outcomes = {"load": 0, "load_state_dict": 0, "flat": 0}
    bad = tmp_path / "flipped.safetensors"
    for at in range(0, 8 + header_len):
        data = bytearray(raw)
        data[at] ^= 0x01
        bad.write_bytes(data)
        try:
            state = fg.load(bad)
        except ValueError as e:
            assert BAD_FILE in str(e)
            outcomes["load"] += 1
            continue
        try:
            target.load_state_dict(state)
        except RuntimeError as e:
            assert "keys" in str(e), f"byte {at}: {e}"
            assert_same_structure(model_arrays(target), before, f"refused flip at {at}")
            outcomes["load_state_dict"] += 1
            continue
        assert key_at <= at < key_at + len("forgegrad"), f"byte {at} flipped, loads: {state}"
        assert_same_structure(model_arrays(target), want, f"flip at {at}")
        outcomes["flat"] += 1
        for p, value in zip(target.parameters(), before.values()):  # back to `before`
            p.detach().copy_(fg.tensor(value))
    assert outcomes["flat"] <= len("forgegrad")
    assert outcomes["load"] > 0.8 * (8 + header_len), outcomes


# ------------------------------------------------------------------------------ wrong shapes
def test_model_checkpoint_of_other_layer_sizes_is_refused_and_changes_nothing(tmp_path):
    fg.save(make_mlp(seed=1, out=OUT + 1).state_dict(), tmp_path / "wide.safetensors")
    fg.save(make_mlp(seed=1, hidden=HIDDEN - 4).state_dict(), tmp_path / "narrow.safetensors")
    model, opt = trained(seed=2)
    before = snapshot(model, opt)
    # "wide": the first layer fits, the last does not (nothing may be copied before the
    # check); "narrow": every layer differs.
    for name, bad_keys in [
        ("wide", ["3.weight", "3.bias"]),
        ("narrow", ["0.weight", "0.bias", "3.weight"]),
    ]:
        state = fg.load(tmp_path / f"{name}.safetensors")
        for strict in (True, False):
            with pytest.raises(RuntimeError, match="cannot load into Sequential") as info:
                model.load_state_dict(state, strict=strict)
            for key in bad_keys:
                assert f"{key}: expected shape" in str(info.value), (name, key)
            assert_unchanged(model, opt, before)


def _saved_optimizer_state(tmp_path, model, kind):
    make_opt, make_sched = OPTIMIZERS[kind]
    opt = make_opt(model.parameters())
    train_steps(model, opt, make_sched(opt), range(3))
    opt.param_groups[0]["lr"] = 0.5  # differs from the target's, so a partial load would show
    path = tmp_path / f"opt-{kind}.safetensors"
    fg.save(opt.state_dict(), path)
    return fg.load(path)


@pytest.mark.parametrize("kind", ["sgd-nesterov-wd", "adam-amsgrad"])
def test_optimizer_state_of_another_model_is_refused_and_changes_nothing(tmp_path, kind):
    deeper = nn.Sequential(
        nn.Linear(IN, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, HIDDEN),
        nn.ReLU(),
        nn.Linear(HIDDEN, OUT),
    )
    # Same number of parameters, and the first has the right shape: only later ones differ.
    other_head = make_mlp(seed=6, out=OUT + 2)
    other_hidden = make_mlp(seed=6, hidden=HIDDEN + 1)
    model, opt = trained(seed=2, kind=kind)
    before = snapshot(model, opt)
    cases = [
        (deeper, r"param group 0 has 6 parameters in the state dict, 4 in the optimizer"),
        (other_head, r"state of parameter 2: expected \w+ of shape"),
        (other_hidden, r"state of parameter 0: expected \w+ of shape"),
    ]
    for source, message in cases:
        state = _saved_optimizer_state(tmp_path, source, kind)
        with pytest.raises(ValueError, match=message):
            opt.load_state_dict(state)
        assert_unchanged(model, opt, before)
        assert opt.param_groups[0]["lr"] != 0.5


def test_missing_key_under_strict_is_listed_and_changes_nothing(tmp_path):
    full = make_mlp(seed=1).state_dict()
    fg.save({k: v for k, v in full.items() if k != "3.bias"}, tmp_path / "partial.safetensors")
    model, opt = trained(seed=2)
    before = snapshot(model, opt)
    state = fg.load(tmp_path / "partial.safetensors")
    with pytest.raises(RuntimeError, match=r"missing keys: 3\.bias") as info:
        model.load_state_dict(state)  # strict=True is the default
    assert "0.weight" not in str(info.value)
    assert_unchanged(model, opt, before)
    with pytest.raises(RuntimeError, match=r"missing keys: 3\.bias"):
        model.load_state_dict(state, strict=True)
    assert_unchanged(model, opt, before)
    # An extra key is refused in the same way.
    with pytest.raises(RuntimeError, match=r"unexpected keys: head\.weight"):
        model.load_state_dict({**full, "head.weight": full["3.weight"]})
    assert_unchanged(model, opt, before)
    # strict=False loads the rest and reports the gap; 3.bias keeps its value.
    result = model.load_state_dict(state, strict=False)
    assert list(result.missing_keys) == ["3.bias"] and list(result.unexpected_keys) == []
    now = model_arrays(model)
    assert np.array_equal(now["3.bias"], before["model"]["3.bias"])
    assert np.array_equal(now["0.weight"], full["0.weight"].numpy())


# ------------------------------------------------------------------------------ atomic save
def test_failed_save_keeps_previous_checkpoint(tmp_path, monkeypatch):
    model, opt = trained(seed=1)
    path = tmp_path / "ckpt.safetensors"
    fg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 1}, path)
    old = snapshot(model, opt)

    train_steps(model, opt, StepLR(opt, step_size=10), range(4, 8))  # the state moves on
    assert not np.array_equal(model_arrays(model)["0.weight"], old["model"]["0.weight"])

    def fail_replace(*args, **kwargs):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(serialization.os, "replace", fail_replace)
    with pytest.raises(OSError, match="disk full"):
        fg.save({"model": model.state_dict(), "optimizer": opt.state_dict(), "epoch": 2}, path)
    monkeypatch.undo()
    assert os.listdir(tmp_path) == ["ckpt.safetensors"]  # no temporary file left behind

    ckpt = fg.load(path)
    assert ckpt["epoch"] == 1
    fresh = make_mlp(seed=50)
    fresh_opt = OPTIMIZERS["adam-amsgrad"][0](fresh.parameters())
    fresh.load_state_dict(ckpt["model"])
    fresh_opt.load_state_dict(ckpt["optimizer"])
    assert_same_structure(snapshot(fresh, fresh_opt), old, "previous checkpoint")


# ------------------------------------------------------------------------ ModelCheckpoint
def test_model_checkpoint_callback_files_restore_the_model(tmp_path):
    rng = np.random.default_rng(11)
    val = (
        rng.standard_normal((32, IN)).astype(np.float32),
        rng.integers(0, OUT, 32).astype(np.int64),
    )
    model = make_mlp(seed=1)
    opt = optim.SGD(model.parameters(), lr=0.2, momentum=0.9)
    every = ModelCheckpoint(tmp_path / "epoch{epoch}.safetensors", save_best_only=False)
    best = ModelCheckpoint(tmp_path / "best.safetensors", monitor="val_loss")
    snaps = EpochSnapshots()
    history = fit(
        model,
        nn.CrossEntropyLoss(),
        opt,
        _loader(),
        val,
        epochs=4,
        callbacks=[every, best, snaps],
        progress=False,
    )
    assert len(history) == 4
    assert every.saved == [str(tmp_path / f"epoch{e}.safetensors") for e in range(1, 5)]
    assert best.saved and set(best.saved) == {str(tmp_path / "best.safetensors")}

    for epoch in range(1, 5):
        fresh = make_mlp(seed=100 + epoch)
        fresh.load_state_dict(fg.load(tmp_path / f"epoch{epoch}.safetensors"))
        assert_same_structure(model_arrays(fresh), snaps.by_epoch[epoch], f"epoch {epoch}")
    assert_same_structure(model_arrays(fresh), model_arrays(model), "last epoch = the final model")

    fresh = make_mlp(seed=200)
    fresh.load_state_dict(fg.load(tmp_path / "best.safetensors"))
    best = history.best_epoch("val_loss")
    assert_same_structure(model_arrays(fresh), snaps.by_epoch[best], "best")
