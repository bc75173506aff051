"""fit, evaluate, predict, History and the callbacks: training reaches known accuracies,
History records what was logged, the epoch loss is the batch-size-weighted mean, schedulers
step once per epoch, EarlyStopping and ModelCheckpoint keep the best weights, Ctrl-C and
diverging runs end as documented, and bad arguments give the documented exceptions.

Every test pins forgegrad to one thread: results are the same for any thread count, and on a
loaded two-core machine OpenMP's spin-waiting makes two threads 10-20x slower on these tiny
models.
"""

import importlib.util
import math

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import nn, optim
from forgegrad.training import callbacks as callbacks_module
from forgegrad.training import loop as loop_module
from forgegrad.data import DataLoader, Dataset, TensorDataset
from forgegrad.training import Callback, EarlyStopping, History, ModelCheckpoint

from helpers import EpochSnapshots, model_arrays, to_numpy

RECORD_KEYS = {
    "epoch",
    "loss",
    "accuracy",
    "val_loss",
    "val_accuracy",
    "lr",
    "time",
    "samples_per_s",
}
TIMING_KEYS = ("time", "samples_per_s")


# Small models gain nothing from a second thread, and on a shared, loaded CI machine OpenMP's
# spinning waits make them many times slower (see conftest.one_thread).
pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def spirals():
    return fg.datasets.spirals(n=300, classes=3, seed=0)


def mlp(inputs, hidden, outputs, dropout=0.0):
    layers, width = [], inputs
    for size in hidden:
        layers += [nn.Linear(width, size), nn.ReLU()]
        if dropout:
            layers.append(nn.Dropout(dropout))
        width = size
    return nn.Sequential(*layers, nn.Linear(width, outputs))


def assert_same_weights(a, b):
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_array_equal(a[key], b[key], err_msg=key)


def without_timing(history):
    return [{k: v for k, v in record.items() if k not in TIMING_KEYS} for record in history.epochs]


def noisy_split(seed, n, flip):
    """A two-class problem on feature 0 with a fraction `flip` of the labels flipped."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n, 8)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    flipped = rng.random(n) < flip
    y[flipped] = 1 - y[flipped]
    return x, y


def overfitting_run(device="cpu"):
    """40 noisy training samples, a wide model: val_loss is best at epoch 3, then climbs."""
    fg.manual_seed(0)
    model = mlp(8, [128, 128], 2).to(device)
    optimizer = optim.Adam(model.parameters(), lr=3e-3)
    return model, optimizer, noisy_split(1, 40, 0.3), noisy_split(2, 300, 0.0)


class Recorder(Callback):
    def __init__(self):
        self.calls = []

    def on_train_begin(self, model, optimizer):
        self.calls.append("begin")

    def on_epoch_end(self, epoch, logs, model, optimizer):
        self.calls.append(epoch)
        return False

    def on_train_end(self, model, optimizer):
        self.calls.append("end")


# --------------------------------------------------------------------------- learning
def test_fit_learns_spirals(spirals, device):
    fg.manual_seed(0)
    model = mlp(2, [64, 64], 3).to(device)
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=0.01),
        spirals.train,
        spirals.val,
        epochs=40,
        batch_size=32,
        progress=False,
        seed=0,
    )
    assert len(history) == 40 and not history.stopped_early and not history.interrupted
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert max(history["val_accuracy"]) >= 0.9  # seen: 0.97
    assert fg.evaluate(model, nn.CrossEntropyLoss(), spirals.test)["accuracy"] >= 0.9  # 1.0


def test_fit_learns_digits():
    pytest.importorskip("sklearn", reason="digits() needs scikit-learn (forgegrad[datasets])")
    data = fg.datasets.digits(seed=0)
    fg.manual_seed(0)
    model = mlp(64, [128], 10)
    loss_fn = nn.CrossEntropyLoss()
    history = fg.fit(
        model,
        loss_fn,
        optim.Adam(model.parameters(), lr=5e-3),
        data.train,
        data.val,
        epochs=10,
        batch_size=32,
        progress=False,
        seed=0,
    )
    assert len(history) == 10
    test = fg.evaluate(model, loss_fn, data.test)
    assert test.keys() == {"loss", "accuracy"}
    assert test["accuracy"] >= 0.95  # seen: 0.967


# --------------------------------------------------------------------------- History
def test_history_records_columns_and_best_epoch(spirals):
    model = mlp(2, [16], 3)
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=0.02),
        spirals.train,
        spirals.val,
        epochs=6,
        batch_size=32,
        progress=False,
        seed=0,
    )
    assert len(history) == len(history.epochs) == 6
    for i, record in enumerate(history.epochs, start=1):
        assert set(record) == RECORD_KEYS
        assert record["epoch"] == i
        assert record["lr"] == 0.02
        assert 0.0 <= record["accuracy"] <= 1.0 and 0.0 <= record["val_accuracy"] <= 1.0
        assert record["loss"] > 0 and record["val_loss"] > 0
        assert record["time"] > 0
        assert record["samples_per_s"] == pytest.approx(len(spirals.train) / record["time"])
    assert history["loss"] == [r["loss"] for r in history.epochs]
    assert history["missing"] == [None] * 6
    columns = history.history
    assert set(columns) == RECORD_KEYS
    assert columns["val_loss"] == history["val_loss"] and columns["epoch"] == [1, 2, 3, 4, 5, 6]
    val_loss, val_acc = history["val_loss"], history["val_accuracy"]
    assert history.best_epoch() == 1 + val_loss.index(min(val_loss))
    assert history.best_epoch("val_accuracy") == 1 + val_acc.index(max(val_acc))
    assert history.best_epoch("val_accuracy", mode="min") == 1 + val_acc.index(min(val_acc))
    assert history.best_epoch("loss", mode="max") == 1 + history["loss"].index(max(history["loss"]))
    with pytest.raises(ValueError, match=r"\[History\].*'nope'"):
        history.best_epoch("nope")
    with pytest.raises(ValueError, match=r"mode"):
        history.best_epoch("val_loss", mode="lowest")
    assert "6 epochs" in repr(history)


def test_metrics_default_by_loss_and_unknown_metric():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 3)).astype(np.float32)
    labels, values = rng.integers(0, 2, 30), rng.standard_normal((30, 2)).astype(np.float32)

    model = mlp(3, [4], 2)
    opt = optim.SGD(model.parameters(), lr=0.01)
    history = fg.fit(
        model, nn.CrossEntropyLoss(), opt, (x, labels), (x, labels), epochs=1, progress=False
    )
    assert {"accuracy", "val_accuracy"} <= set(history.epochs[0])
    history = fg.fit(model, nn.MSELoss(), opt, (x, values), (x, values), epochs=1, progress=False)
    assert set(history.epochs[0]) == RECORD_KEYS - {"accuracy", "val_accuracy"}
    history = fg.fit(model, nn.MSELoss(), opt, (x, values), epochs=1, progress=False)
    assert set(history.epochs[0]) == {"epoch", "loss", "lr", "time", "samples_per_s"}
    assert fg.evaluate(model, nn.MSELoss(), (x, values)).keys() == {"loss"}
    history = fg.fit(
        model, nn.CrossEntropyLoss(), opt, (x, labels), epochs=1, metrics=(), progress=False
    )
    assert "accuracy" not in history.epochs[0]

    with pytest.raises(ValueError, match=r"\[fit\] unknown metric 'f2'"):
        fg.fit(
            model, nn.CrossEntropyLoss(), opt, (x, labels), epochs=1, metrics=["f2"], progress=False
        )
    with pytest.raises(ValueError, match=r"\[evaluate\] unknown metric 'auc'"):
        fg.evaluate(model, nn.CrossEntropyLoss(), (x, labels), metrics="auc")


def test_train_data_as_loader_dataset_or_tuple_give_the_same_run(spirals):
    def run(train_data):
        fg.manual_seed(7)
        model = mlp(2, [16], 3)
        history = fg.fit(
            model,
            nn.CrossEntropyLoss(),
            optim.Adam(model.parameters()),
            train_data,
            spirals.val,
            epochs=3,
            batch_size=32,
            progress=False,
            seed=5,
        )
        return without_timing(history), model_arrays(model)

    loader = run(DataLoader(spirals.train, batch_size=32, shuffle=True, seed=5))
    dataset = run(spirals.train)
    arrays = run(tuple(spirals.train.arrays))
    assert loader[0] == dataset[0] == arrays[0]
    assert_same_weights(loader[1], dataset[1])
    assert_same_weights(loader[1], arrays[1])


def test_fit_is_reproducible(spirals, device):
    def run():
        fg.manual_seed(11)
        model = mlp(2, [32], 3, dropout=0.3).to(device)  # masks from the seeded stream
        history = fg.fit(
            model,
            nn.CrossEntropyLoss(),
            optim.Adam(model.parameters()),
            spirals.train,
            spirals.val,
            epochs=3,
            batch_size=16,
            progress=False,
            seed=2,
        )
        return without_timing(history), model_arrays(model)

    first, second = run(), run()
    assert first[0] == second[0]
    assert_same_weights(first[1], second[1])


# --------------------------------------------------------------------------- the loop
def test_epoch_loss_is_the_batch_size_weighted_mean(rng):
    x = rng.standard_normal((100, 5)).astype(np.float32)
    y = rng.integers(0, 3, 100)
    data = TensorDataset(x, y)
    loader = DataLoader(data, batch_size=32, shuffle=False)  # batches of 32, 32, 32, 4
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))  # no dropout
    loss_fn = nn.CrossEntropyLoss()
    before = model_arrays(model)
    batch_losses = [loss_fn(model(xb), yb).item() for xb, yb in loader]

    history = fg.fit(
        model, loss_fn, optim.SGD(model.parameters(), lr=0.0), loader, epochs=2, progress=False
    )
    assert_same_weights(model_arrays(model), before)  # lr=0: the model never changes
    expected = fg.evaluate(model, loss_fn, data)
    weighted = np.average(batch_losses, weights=[32, 32, 32, 4])
    assert history["loss"] == pytest.approx([expected["loss"]] * 2, rel=1e-6)
    assert history["loss"][0] == pytest.approx(weighted, rel=1e-6)
    assert abs(np.mean(batch_losses) - weighted) > 1e-3  # the unweighted mean is different
    assert history["accuracy"] == [expected["accuracy"]] * 2


def test_scheduler_steps_once_per_epoch(spirals):
    model = mlp(2, [8], 3)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    scheduler = optim.lr_scheduler.StepLR(optimizer, step_size=2, gamma=0.5)
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        spirals.train,
        epochs=5,
        scheduler=scheduler,
        progress=False,
    )
    assert history["lr"] == pytest.approx([0.1, 0.1, 0.05, 0.05, 0.025])
    # After 5 steps: 5 // 2 = 2 halvings.
    assert optimizer.param_groups[0]["lr"] == pytest.approx(0.025)


class RecordingPlateau(optim.lr_scheduler.ReduceLROnPlateau):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.seen = []

    def step(self, metrics):
        self.seen.append(metrics)
        super().step(metrics)


def test_reduce_lr_on_plateau_gets_val_loss_or_loss(spirals):
    model = mlp(2, [8], 3)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    plateau = RecordingPlateau(optimizer, factor=0.5, patience=0)
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        spirals.train,
        spirals.val,
        epochs=4,
        scheduler=plateau,
        progress=False,
    )
    assert plateau.seen == history["val_loss"]

    plateau = RecordingPlateau(optimizer, factor=0.5, patience=0)
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        spirals.train,
        epochs=3,
        scheduler=plateau,
        progress=False,
    )
    assert plateau.seen == history["loss"]


def test_reduce_lr_on_plateau_lowers_the_lr_when_val_loss_stalls():
    model, optimizer, train, val = overfitting_run()
    plateau = optim.lr_scheduler.ReduceLROnPlateau(optimizer, factor=0.5, patience=1)
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        train,
        val,
        epochs=8,
        batch_size=8,
        scheduler=plateau,
        progress=False,
        seed=0,
    )
    # val_loss is best at epoch 3 and then rises: two bad epochs (4, 5) halve the lr for 6.
    assert history.best_epoch() == 3
    assert history["lr"][:6] == pytest.approx([3e-3] * 5 + [1.5e-3])


# --------------------------------------------------------------------------- EarlyStopping
def test_early_stopping_restores_the_best_weights(device):
    model, optimizer, train, val = overfitting_run(device)
    snapshots, stopper, recorder = EpochSnapshots(), EarlyStopping(patience=3), Recorder()
    loss_fn = nn.CrossEntropyLoss()
    history = fg.fit(
        model,
        loss_fn,
        optimizer,
        train,
        val,
        epochs=60,
        batch_size=8,
        callbacks=[snapshots, stopper, recorder],
        progress=False,
        seed=0,
    )
    best = history.best_epoch()
    assert best == 3  # seen: 0.65, 0.59, 0.53, then rising
    assert history.stopped_early and not history.interrupted
    assert len(history) == best + 3 < 60  # stopped after `patience` epochs without a better one
    assert stopper.best_epoch == best
    assert recorder.calls == ["begin", *range(1, best + 4), "end"]
    assert_same_weights(model_arrays(model), snapshots.by_epoch[best])
    assert fg.evaluate(model, loss_fn, val)["loss"] == pytest.approx(
        min(history["val_loss"]), rel=1e-6
    )


def test_early_stopping_without_restore_keeps_the_last_weights():
    model, optimizer, train, val = overfitting_run()
    snapshots = EpochSnapshots()
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        train,
        val,
        epochs=60,
        batch_size=8,
        callbacks=[snapshots, EarlyStopping(patience=2, restore_best=False)],
        progress=False,
        seed=0,
    )
    assert history.stopped_early and len(history) == 5
    assert_same_weights(model_arrays(model), snapshots.by_epoch[5])


def test_early_stopping_restores_when_training_runs_to_the_end():
    model, optimizer, train, val = overfitting_run()
    snapshots = EpochSnapshots()
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        train,
        val,
        epochs=5,
        batch_size=8,
        callbacks=[snapshots, EarlyStopping(patience=10)],
        progress=False,
        seed=0,
    )
    assert not history.stopped_early and len(history) == 5
    assert_same_weights(model_arrays(model), snapshots.by_epoch[3])


def scripted(stopper, values, key):
    model = nn.Linear(1, 1)
    return [stopper.on_epoch_end(i, {key: v}, model, None) for i, v in enumerate(values, 1)]


def test_early_stopping_modes_and_patience_on_scripted_values():
    # min (val_loss): epochs 3 and 4 are no better than epoch 2 -> stop at epoch 4.
    assert scripted(EarlyStopping(patience=2), [1.0, 0.5, 0.6, 0.5], "val_loss") == [
        False,
        False,
        False,
        True,
    ]
    # min_delta: an improvement smaller than it counts as none.
    assert scripted(EarlyStopping(patience=1, min_delta=0.1), [1.0, 0.95], "val_loss") == [
        False,
        True,
    ]
    # auto is max for accuracies; explicit mode="max" for any key.
    stopper = EarlyStopping(monitor="val_accuracy", patience=2)
    assert scripted(stopper, [0.5, 0.7, 0.6, 0.65], "val_accuracy") == [False] * 3 + [True]
    assert stopper.best_epoch == 2 and stopper.tracker.best == 0.7
    assert scripted(
        EarlyStopping(monitor="score", mode="max", patience=1), [1, 2, 3, 2], "score"
    ) == [False, False, False, True]
    assert scripted(EarlyStopping(monitor="score", mode="min", patience=1), [1, 2], "score") == [
        False,
        True,
    ]
    # patience=0: the first epoch without improvement stops.
    assert scripted(EarlyStopping(patience=0), [1.0, 1.0], "val_loss") == [False, True]


def test_early_stopping_errors(spirals):
    for patience in (-1, 1.5, True, "3"):
        with pytest.raises(ValueError, match=r"\[EarlyStopping\] patience"):
            EarlyStopping(patience=patience)
    with pytest.raises(ValueError, match=r"\[EarlyStopping\] mode"):
        EarlyStopping(mode="up")
    model = mlp(2, [8], 3)
    recorder = Recorder()
    with pytest.raises(
        ValueError,
        match=r"\[fit\] EarlyStopping monitors 'val_loss', which "
        r"fit logs only with val_data; pass val_data",
    ):
        fg.fit(
            model,
            nn.CrossEntropyLoss(),
            optim.SGD(model.parameters(), lr=0.1),
            spirals.train,
            epochs=2,
            callbacks=[EarlyStopping(), recorder],
            progress=False,
        )
    assert recorder.calls == []  # refused before training: no callback began


class RaisingCallback(Callback):
    def on_epoch_end(self, epoch, logs, model, optimizer):
        raise ValueError("[RaisingCallback] boom")


def test_callbacks_finish_when_a_callback_raises(spirals):
    model = mlp(2, [8], 3)
    recorder = Recorder()
    with pytest.raises(ValueError, match=r"\[RaisingCallback\] boom"):
        fg.fit(
            model,
            nn.CrossEntropyLoss(),
            optim.SGD(model.parameters(), lr=0.1),
            spirals.train,
            epochs=2,
            callbacks=[recorder, RaisingCallback()],
            progress=False,
        )
    assert recorder.calls == ["begin", 1, "end"]


# --------------------------------------------------------------------------- ModelCheckpoint
def test_model_checkpoint_saves_only_improvements(tmp_path, monkeypatch):
    saves = []
    real_save = callbacks_module.save

    def counting_save(obj, path):
        saves.append(path)
        real_save(obj, path)

    monkeypatch.setattr(callbacks_module, "save", counting_save)
    model, optimizer, train, val = overfitting_run()
    path = tmp_path / "best.safetensors"
    snapshots, checkpoint = EpochSnapshots(), ModelCheckpoint(path)
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optimizer,
        train,
        val,
        epochs=8,
        batch_size=8,
        callbacks=[snapshots, checkpoint],
        progress=False,
        seed=0,
    )
    val_loss = history["val_loss"]
    improvements = [i for i, v in enumerate(val_loss) if v < min(val_loss[:i], default=math.inf)]
    assert improvements == [0, 1, 2]  # epochs 1-3 improve, 4-8 do not
    assert saves == checkpoint.saved == [str(path)] * 3
    fresh = mlp(8, [128, 128], 2)
    fresh.load_state_dict(fg.load(path))
    assert_same_weights(model_arrays(fresh), snapshots.by_epoch[history.best_epoch()])


def test_model_checkpoint_every_epoch(tmp_path, spirals):
    model = mlp(2, [8], 3)
    snapshots = EpochSnapshots()
    checkpoint = ModelCheckpoint(tmp_path / "epoch{epoch}.safetensors", save_best_only=False)
    fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters()),
        spirals.train,
        epochs=3,
        callbacks=[snapshots, checkpoint],
        progress=False,
    )  # no val_loss needed
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "epoch1.safetensors",
        "epoch2.safetensors",
        "epoch3.safetensors",
    ]
    for epoch in (1, 2, 3):
        fresh = mlp(2, [8], 3)
        fresh.load_state_dict(fg.load(tmp_path / f"epoch{epoch}.safetensors"))
        assert_same_weights(model_arrays(fresh), snapshots.by_epoch[epoch])


def test_model_checkpoint_best_only_needs_the_monitored_value(tmp_path, spirals):
    model = mlp(2, [8], 3)
    with pytest.raises(ValueError, match=r"\[fit\] ModelCheckpoint monitors 'val_loss'"):
        fg.fit(
            model,
            nn.CrossEntropyLoss(),
            optim.Adam(model.parameters()),
            spirals.train,
            epochs=1,
            callbacks=[ModelCheckpoint(tmp_path / "m.safetensors")],
            progress=False,
        )


# --------------------------------------------------------------------------- Ctrl-C
class InterruptAt(nn.Module):
    """Wraps a model; the `at`-th forward call made in `mode` raises KeyboardInterrupt."""

    def __init__(self, inner, at, mode="train"):
        super().__init__()
        self.inner, self.at, self.mode, self.calls = inner, at, mode, 0

    def forward(self, x):
        if self.training == (self.mode == "train"):
            self.calls += 1
            if self.calls == self.at:
                raise KeyboardInterrupt
        return self.inner(x)


class InterruptingCallback(Callback):
    def on_epoch_end(self, epoch, logs, model, optimizer):
        if epoch == 2:
            raise KeyboardInterrupt
        return False


@pytest.mark.parametrize(
    "where,epochs_done",
    [
        ("training batch", 1),  # 7 batches an epoch: the 10th is in epoch 2
        ("validation", 1),  # the 2nd validation pass: epoch 2
        ("callback", 2),  # on_epoch_end of epoch 2, after it was logged
    ],
)
def test_ctrl_c_returns_the_history_so_far(spirals, where, epochs_done):
    model = mlp(2, [8], 3)
    callbacks = [Recorder()]
    if where == "training batch":
        model = InterruptAt(model, 10)
    elif where == "validation":
        # fit's check runs the model twice in eval mode before training (on the first
        # batches of train_data and val_data); the 4th eval call is epoch 2's validation.
        model = InterruptAt(model, 4, mode="eval")
    else:
        callbacks.append(InterruptingCallback())
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters()),
        spirals.train,
        spirals.val,
        epochs=5,
        batch_size=32,
        callbacks=callbacks,
        progress=False,
    )
    assert history.interrupted and not history.stopped_early
    assert history["epoch"] == list(range(1, epochs_done + 1))
    assert callbacks[0].calls[0] == "begin" and callbacks[0].calls[-1] == "end"


def test_ctrl_c_with_progress_bar_and_early_stopping_restore(spirals, capsys):
    model = InterruptAt(mlp(2, [8], 3), 17)  # in epoch 3
    snapshots = EpochSnapshots()
    stopper = EarlyStopping(patience=10)
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters()),
        spirals.train,
        spirals.val,
        epochs=5,
        batch_size=32,
        callbacks=[snapshots, stopper],
        progress=True,
    )
    assert history.interrupted and len(history) == 2
    assert_same_weights(model_arrays(model), snapshots.by_epoch[history.best_epoch()])
    assert "epoch 3/5" in capsys.readouterr().err


# --------------------------------------------------------------------------- divergence
def test_diverging_run_raises(rng):
    x = rng.standard_normal((200, 5)).astype(np.float32)
    y = rng.standard_normal((200, 1)).astype(np.float32)
    model = nn.Linear(5, 1)
    recorder = Recorder()
    snapshots = []

    class Watch(nn.Module):  # records the weights each batch sees
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            snapshots.append(model_arrays(self.inner))
            return self.inner(x)

    with pytest.raises(
        RuntimeError,
        match=r"\[fit\] the training loss became (nan|inf) in "
        r"epoch \d+, batch \d+; .*Lower the learning rate",
    ):
        fg.fit(
            Watch(model),
            nn.MSELoss(),
            optim.SGD(model.parameters(), lr=100.0),
            (x, y),
            epochs=3,
            batch_size=10,
            callbacks=[recorder],
            progress=False,
        )
    assert recorder.calls == ["begin", "end"]
    # The non-finite batch took no step: the model keeps the weights that batch saw.
    assert_same_weights(model_arrays(model), snapshots[-1])


def test_sum_reduction_logs_the_loss_per_sample(rng):
    x = rng.standard_normal((50, 4)).astype(np.float32)
    y = rng.standard_normal((50, 2)).astype(np.float32)
    model = nn.Linear(4, 2)
    mean = fg.evaluate(model, nn.MSELoss(), (x, y), batch_size=16)["loss"]
    total = fg.evaluate(model, nn.MSELoss(reduction="sum"), (x, y), batch_size=16)["loss"]
    assert math.isclose(total, 2 * mean, rel_tol=1e-5)  # sum over the 2 outputs of a sample
    with pytest.raises(ValueError, match="reduction"):
        fg.fit(model, nn.MSELoss(reduction="none"), optim.SGD(model.parameters()), (x, y))


def test_empty_data_is_refused(rng):
    x, y = np.zeros((0, 4), np.float32), np.zeros((0,), np.int64)
    model = nn.Linear(4, 3)
    with pytest.raises(ValueError, match=r"\[evaluate\] got no data"):
        fg.evaluate(model, nn.CrossEntropyLoss(), (x, y))
    with pytest.raises(ValueError, match=r"\[fit\] train_data yields no batches"):
        fg.fit(model, nn.CrossEntropyLoss(), optim.SGD(model.parameters()), (x, y))


# --------------------------------------------------------------------------- plot
def test_history_plot_writes_a_png(tmp_path, spirals):
    pytest.importorskip("matplotlib", reason="History.plot needs matplotlib (forgegrad[plot])")
    model = mlp(2, [8], 3)
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters()),
        spirals.train,
        spirals.val,
        epochs=3,
        progress=False,
    )
    path = tmp_path / "curves.png"
    assert len(history.plot(path).axes) == 2  # loss and accuracy
    data = path.read_bytes()
    assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"

    x = np.ones((8, 2), np.float32)  # a loss without metrics and no validation plots too
    history = fg.fit(
        model,
        nn.MSELoss(),
        optim.SGD(model.parameters(), lr=0.01),
        (x, np.zeros((8, 3), np.float32)),
        epochs=2,
        progress=False,
    )
    history.plot(str(tmp_path / "mse.png"))
    assert (tmp_path / "mse.png").stat().st_size > 0

    with pytest.raises(ValueError, match=r"\[History.plot\] nothing to plot"):
        History().plot(tmp_path / "empty.png")
    assert not (tmp_path / "empty.png").exists()


# --------------------------------------------------------------------------- evaluate, predict
@pytest.mark.parametrize("training", [True, False])
def test_evaluate_and_predict_restore_the_mode(spirals, training):
    model = mlp(2, [8], 3, dropout=0.5)
    model.train(training)
    fg.evaluate(model, nn.CrossEntropyLoss(), spirals.val)
    assert all(m.training == training for m in model.modules())
    fg.predict(model, spirals.val)
    assert all(m.training == training for m in model.modules())


class InputsOnly(Dataset):
    """A dataset whose samples are lone input arrays, not (input, target) tuples."""

    def __init__(self, x):
        self.x = x

    def __getitem__(self, i):
        return self.x[i]

    def __len__(self):
        return len(self.x)


def test_predict_matches_the_model_in_eval_mode(spirals, device):
    model = mlp(2, [16], 3, dropout=0.5).to(device)
    x, y = spirals.test.arrays
    model.eval()
    expected = to_numpy(model(fg.tensor(x, device=device)))
    model.train()
    for data in (
        x,
        fg.tensor(x),
        spirals.test,
        TensorDataset(x),
        DataLoader(spirals.test, batch_size=7),
        InputsOnly(x),
    ):
        out = fg.predict(model, data, batch_size=7)
        assert isinstance(out, fg.Tensor) and tuple(out.shape) == (len(x), 3)
        np.testing.assert_allclose(
            to_numpy(out), expected, rtol=1e-6, atol=1e-6, err_msg=type(data).__name__
        )
    with pytest.raises(ValueError, match=r"\[predict\] got no inputs"):
        fg.predict(model, np.zeros((0, 2), np.float32))


def test_bad_arguments(spirals):
    model = mlp(2, [8], 3)
    opt = optim.SGD(model.parameters(), lr=0.1)
    loss_fn = nn.CrossEntropyLoss()
    for bad in (5, None, object()):
        with pytest.raises(
            TypeError,
            match=r"\[fit\] expected a DataLoader, a Dataset or an "
            r"\(inputs, targets\) tuple",
        ):
            fg.fit(model, loss_fn, opt, bad, epochs=1, progress=False)
    with pytest.raises(TypeError, match=r"\[evaluate\] expected a DataLoader"):
        fg.evaluate(model, loss_fn, 3.0)
    for epochs in (-1, 1.5, True, "2"):
        with pytest.raises(ValueError, match=r"\[fit\] epochs must be an int >= 0"):
            fg.fit(model, loss_fn, opt, spirals.train, epochs=epochs, progress=False)
    with pytest.raises(TypeError, match=r"\[fit\] loss_fn must be callable"):
        fg.fit(model, "cross_entropy", opt, spirals.train, epochs=1, progress=False)
    before = model_arrays(model)
    history = fg.fit(model, loss_fn, opt, spirals.train, epochs=0, progress=False)
    assert len(history) == 0 and not history.interrupted
    assert_same_weights(model_arrays(model), before)


# --------------------------------------------------------------------------- setup checks
SETUP_MISTAKES = {
    "model-none": (
        lambda r: dict(model=None),
        TypeError,
        r"\[fit\] model must be a Module \(callable, with train\(\), eval\(\)",
    ),
    "model-class": (
        lambda r: dict(model=nn.Linear),
        TypeError,
        r"\[fit\] model is the class Linear; pass an instance: nn.Linear\(...\)",
    ),
    "loss-class": (
        lambda r: dict(loss_fn=nn.CrossEntropyLoss),
        TypeError,
        r"\[fit\] loss_fn is the class CrossEntropyLoss; pass an instance: "
        r"nn.CrossEntropyLoss\(\)$",
    ),
    "loss-not-a-tensor": (
        lambda r: dict(loss_fn=lambda out, target: 1.0),
        TypeError,
        r"\[fit\] loss_fn must return a Tensor, got float$",
    ),
    "optimizer-none": (
        lambda r: dict(optimizer=None),
        TypeError,
        r"\[fit\] optimizer must be an Optimizer",
    ),
    "scheduler": (lambda r: dict(scheduler=5), TypeError, r"\[fit\] scheduler must be"),
    "scheduler-class": (
        lambda r: dict(scheduler=optim.lr_scheduler.StepLR),
        TypeError,
        r"\[fit\] scheduler is the class StepLR",
    ),
    "one-callback": (
        lambda r: dict(callbacks=EarlyStopping()),
        TypeError,
        r"\[fit\] callbacks must be a list of Callbacks, got a single "
        r"EarlyStopping; pass a list: callbacks=\[EarlyStopping\(...\)\]$",
    ),
    "callback-not-a-callback": (
        lambda r: dict(callbacks=[Recorder(), 5]),
        TypeError,
        r"\[fit\] callbacks\[1\] must be a Callback",
    ),
    "metrics": (
        lambda r: dict(metrics=5),
        TypeError,
        r"\[fit\] metrics must be a metric name, a callable, or a list or dict of "
        r"them, got 5$",
    ),
    "monitor-typo": (
        lambda r: dict(callbacks=[EarlyStopping(monitor="val_los")]),
        ValueError,
        r"\[fit\] EarlyStopping monitors 'val_los', which fit does not log; it "
        r"logs \['epoch', 'loss', 'accuracy', 'val_loss', 'val_accuracy', 'lr', "
        r"'time', 'samples_per_s'\]$",
    ),
    "monitor-val-without-val-data": (
        lambda r: dict(val_data=None, callbacks=[ModelCheckpoint(r["dir"] / "m.safetensors")]),
        ValueError,
        r"\[fit\] ModelCheckpoint monitors 'val_loss', which fit logs only with "
        r"val_data; pass val_data to fit, or monitor 'loss'$",
    ),
    "checkpoint-directory": (
        lambda r: dict(callbacks=[ModelCheckpoint(r["dir"] / "missing" / "m.safetensors")]),
        FileNotFoundError,
        r"\[ModelCheckpoint\] the directory '.*missing' of ",
    ),
    "val-data-of-other-features": (
        lambda r: dict(val_data=(np.zeros((5, 3), np.float32), np.zeros(5, np.int64))),
        ValueError,
        r"\[linear\] ",
    ),
    "batches-of-three": (
        lambda r: dict(
            train_data=DataLoader(
                TensorDataset(r["x"], r["y"], r["y"]), batch_size=32, shuffle=True, seed=0
            )
        ),
        ValueError,
        r"\[fit\] expected batches of \(inputs, targets\), got a tuple of 3$",
    ),
}


@pytest.mark.parametrize("case", list(SETUP_MISTAKES))
def test_setup_mistakes_fail_before_training_changes_anything(case, spirals, tmp_path):
    # Found before the first step (not after an epoch of training): the model's weights and
    # train/eval modes, the optimizer, the loader's epoch and the random stream are as they
    # were. The model has dropout, and a module in eval mode that must stay so.
    model = mlp(2, [8], 3, dropout=0.5)
    model[2].eval()
    modes = [m.training for m in model.modules()]
    optimizer = optim.Adam(model.parameters())
    loader = DataLoader(spirals.train, batch_size=32, shuffle=True, seed=0)
    x, y = spirals.train.arrays
    args = dict(
        model=model,
        loss_fn=nn.CrossEntropyLoss(),
        optimizer=optimizer,
        train_data=loader,
        val_data=spirals.val,
        epochs=2,
        progress=False,
    )
    make, error, message = SETUP_MISTAKES[case]
    args.update(make({"dir": tmp_path, "x": x, "y": y}))
    before, rng = model_arrays(model), fg.get_rng_state().numpy().copy()
    with pytest.raises(error, match="^" + message):
        fg.fit(**args)
    assert_same_weights(model_arrays(model), before)
    assert [m.training for m in model.modules()] == modes
    assert optimizer.state == {} and loader.epoch == 0
    assert np.array_equal(fg.get_rng_state().numpy(), rng)


def test_the_setup_check_leaves_the_run_as_it_was(spirals, monkeypatch):
    # The trial pass on the first batches uses no epoch, shuffle or random number: a run with
    # it is the run without it.
    def run():
        fg.manual_seed(0)
        model = mlp(2, [16], 3, dropout=0.3)
        loader = DataLoader(spirals.train, batch_size=32, shuffle=True)  # seeded by manual_seed
        history = fg.fit(
            model,
            nn.CrossEntropyLoss(),
            optim.Adam(model.parameters()),
            loader,
            spirals.val,
            epochs=2,
            progress=False,
        )
        return without_timing(history), model_arrays(model), loader.epoch

    checked = run()
    monkeypatch.setattr(loop_module, "_try_first_batches", lambda *args: None)
    unchecked = run()
    assert checked[0] == unchecked[0] and checked[2] == unchecked[2] == 2
    assert_same_weights(checked[1], unchecked[1])


def test_ctrl_c_in_the_setup_check_returns_an_empty_history(spirals):
    model = InterruptAt(mlp(2, [8], 3), 1, mode="eval")  # the trial pass is in eval mode
    recorder, before = Recorder(), model_arrays(model)
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters()),
        spirals.train,
        spirals.val,
        epochs=2,
        callbacks=[recorder],
        progress=False,
    )
    assert history.interrupted and len(history) == 0 and recorder.calls == []
    assert_same_weights(model_arrays(model), before)


def test_callback_arguments_are_checked_at_construction(tmp_path):
    for path in ("m{step}.safetensors", "m{}.safetensors", "m{epoch.x}.safetensors", "m{epoch"):
        with pytest.raises(ValueError, match=r"^\[ModelCheckpoint\] path .* may hold \{epoch\}"):
            ModelCheckpoint(tmp_path / path)
    ModelCheckpoint(tmp_path / "m{epoch:03d}.safetensors")  # a format spec is fine
    with pytest.raises(
        TypeError,
        match=r"^\[ModelCheckpoint\] path must be a str or "
        r"os.PathLike, got NoneType$",
    ):
        ModelCheckpoint(None)
    with pytest.raises(TypeError, match=r"^\[ModelCheckpoint\] monitor must be"):
        ModelCheckpoint(tmp_path / "m.safetensors", monitor=3)
    with pytest.raises(
        TypeError,
        match=r"^\[EarlyStopping\] min_delta must be a number, "
        r"got 'x'$",
    ):
        EarlyStopping(min_delta="x")
    with pytest.raises(
        TypeError,
        match=r"^\[EarlyStopping\] monitor must be the name of a "
        r"logged value",
    ):
        EarlyStopping(monitor=None)


def test_predict_and_evaluate_need_a_model(spirals):
    x, _ = spirals.val.arrays
    with pytest.raises(TypeError, match=r"^\[predict\] model must be a Module"):
        fg.predict(None, x)
    with pytest.raises(TypeError, match=r"^\[evaluate\] model must be a Module"):
        fg.evaluate(None, nn.CrossEntropyLoss(), spirals.val)
    with pytest.raises(
        TypeError,
        match=r"^\[evaluate\] loss_fn is the class MSELoss; pass "
        r"an instance: nn.MSELoss\(\)$",
    ):
        fg.evaluate(mlp(2, [8], 3), nn.MSELoss, spirals.val)


# --------------------------------------------------------------------------- progress bar
@pytest.mark.skipif(importlib.util.find_spec("tqdm") is None, reason="progress bars need tqdm")
def test_progress_bar_gives_the_same_run(spirals, capsys):
    def run(progress):
        fg.manual_seed(3)
        model = mlp(2, [16], 3)
        history = fg.fit(
            model,
            nn.CrossEntropyLoss(),
            optim.Adam(model.parameters()),
            spirals.train,
            spirals.val,
            epochs=2,
            batch_size=32,
            progress=progress,
            seed=1,
        )
        return without_timing(history), model_arrays(model)

    quiet = run(False)
    assert "\r" not in capsys.readouterr().err  # the summary lines, no bar
    shown = run(True)
    out, err = capsys.readouterr()
    assert "epoch 1/2" in err and "epoch 2/2" in err and "7/7" in err
    assert "acc=" in err  # the bar's postfix, by short names
    assert "val_acc" in err and out == ""  # the epoch's summary line, on stderr too
    assert quiet[0] == shown[0]
    assert_same_weights(quiet[1], shown[1])


def test_a_model_whose_outputs_do_not_fit_the_metrics_fails_before_any_step(rng):
    class Scalar(nn.Module):  # returns one number per batch: no accuracy can be computed
        def __init__(self):
            super().__init__()
            self.inner = nn.Linear(4, 3)

        def forward(self, x):
            return self.inner(x).sum()

    x = rng.standard_normal((20, 4)).astype(np.float32)
    y = rng.integers(0, 3, 20)
    model = Scalar()
    before = model_arrays(model)
    opt = optim.Adam(model.parameters())
    loss_fn = lambda out, target: out * 0.0 + 1.0  # a custom loss that accepts it
    with pytest.raises(ValueError, match=r"\[fit\] accuracy needs outputs with one row"):
        fg.fit(model, loss_fn, opt, (x, y), epochs=1, metrics=["accuracy"], progress=False)
    assert_same_weights(model_arrays(model), before)
    assert opt.state == {}
    with pytest.raises(ValueError, match=r"\[predict\] expected the model to return"):
        fg.predict(model, x)


def test_evaluate_and_predict_give_every_module_its_own_mode_back(rng):
    x = rng.standard_normal((8, 4)).astype(np.float32)
    y = rng.integers(0, 3, 8)
    model = nn.Sequential(nn.Linear(4, 3), nn.Dropout(0.5))
    model[1].eval()  # a submodule the user froze in eval mode, the rest training
    fg.evaluate(model, nn.CrossEntropyLoss(), (x, y))
    fg.predict(model, x)
    assert model.training and model[0].training and not model[1].training


# --------------------------------------------------------------------------- streams without len
class Stream(fg.data.IterableDataset):
    """The rows of (x, y), yielded one by one; no __len__."""

    def __init__(self, x, y):
        self.x, self.y = x, y

    def __iter__(self):
        return iter(zip(self.x, self.y))


def test_fit_on_a_stream_without_length_ends_epochs_with_the_iterator(capsys):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((70, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    loader = DataLoader(Stream(x, y), batch_size=16)
    with pytest.raises((TypeError, NotImplementedError)):
        len(loader)
    fg.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        loader,
        Stream(x, y),
        epochs=3,
        verbose=1,
    )
    assert len(history) == 3
    bar = capsys.readouterr().err
    assert "5batch" in bar.replace(" ", "") and "/5" not in bar  # 5 batches, no total
    # the logged values are those of the whole epoch: the last epoch's validation matches
    # evaluate over the stream, and evaluate over the arrays
    on_stream = fg.evaluate(model, nn.CrossEntropyLoss(), Stream(x, y), batch_size=16)
    on_arrays = fg.evaluate(model, nn.CrossEntropyLoss(), (x, y))
    last = history.epochs[-1]
    assert last["val_loss"] == pytest.approx(on_stream["loss"], rel=1e-6)
    assert last["val_accuracy"] == pytest.approx(on_arrays["accuracy"])
    assert on_stream["loss"] == pytest.approx(on_arrays["loss"], rel=1e-5)
    assert last["samples_per_s"] == pytest.approx(70 / last["time"])


def test_fit_on_a_stream_that_does_not_restart_says_so():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((20, 3)).astype(np.float32)
    rows = iter(list(zip(x, (x[:, 0] > 0).astype(np.int64))))

    class OneShot(fg.data.IterableDataset):
        def __iter__(self):
            return rows  # the same iterator each time: empty after the first epoch

    model = nn.Linear(3, 2)
    with pytest.raises(ValueError, match=r"\[fit\] train_data yielded no batches in epoch 2"):
        fg.fit(
            model,
            nn.CrossEntropyLoss(),
            optim.SGD(model.parameters(), lr=0.1),
            DataLoader(OneShot(), batch_size=8),
            epochs=3,
            verbose=0,
        )
    with pytest.raises(ValueError, match=r"\[evaluate\] got no data"):
        fg.evaluate(model, nn.CrossEntropyLoss(), OneShot())


def test_forgegrad_train_still_exports_the_training_names():
    import forgegrad.train as old

    assert old.fit is fg.fit and old.EarlyStopping is fg.EarlyStopping
    assert old.History is History and old.predict is fg.predict
