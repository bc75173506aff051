"""History.plot draws on its own matplotlib Figure (pyplot and the backend untouched),
returns it, saves it when given a path, titles it, marks the epoch EarlyStopping restored and
shows accuracy in percent; History's repr and notebook table."""

import subprocess
import sys
import textwrap

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import nn, optim
from forgegrad.training import EarlyStopping, History

pytest.importorskip("matplotlib", reason="History.plot needs matplotlib (forgegrad[plot])")

pytestmark = pytest.mark.usefixtures("one_thread")


def history_of(epochs=4, restored=None):
    history = History()
    for epoch in range(1, epochs + 1):
        history.epochs.append(
            {
                "epoch": epoch,
                "loss": 1.0 / epoch,
                "accuracy": 0.5 + epoch / 20,
                "val_loss": 1.2 / epoch,
                "val_accuracy": 0.4 + epoch / 20,
                "lr": 0.01,
                "time": 0.5,
                "samples_per_s": 100.0,
            }
        )
    history.restored_epoch = restored
    return history


def test_plot_returns_a_titled_figure_with_accuracy_in_percent():
    from matplotlib.figure import Figure

    figure = history_of(restored=3).plot()
    assert isinstance(figure, Figure)
    loss_axes, accuracy_axes = figure.axes
    assert figure._suptitle.get_text() == "Training history: 4 epochs"
    assert accuracy_axes.get_ylabel() == "accuracy (%)" and loss_axes.get_ylabel() == "loss"
    train, validation, restored = accuracy_axes.get_lines()
    assert list(train.get_ydata()) == pytest.approx([55.0, 60.0, 65.0, 70.0])
    assert list(validation.get_ydata()) == pytest.approx([45.0, 50.0, 55.0, 60.0])
    assert list(restored.get_xdata()) == [3, 3] and "epoch 3" in restored.get_label()
    assert history_of().plot(title="run 7")._suptitle.get_text() == "run 7"
    assert len(history_of().plot().axes[1].get_lines()) == 2  # nothing restored: no marker


def test_plot_saves_to_a_path(tmp_path):
    path = tmp_path / "curves.png"
    history_of().plot(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match=r"\[History.plot\] nothing to plot"):
        History().plot(tmp_path / "empty.png")


def test_plot_leaves_pyplot_and_the_backend_alone(tmp_path):
    script = textwrap.dedent(f"""
        import sys, matplotlib
        matplotlib.use("svg")
        from forgegrad.training import History
        history = History()
        history.epochs = [{{"epoch": 1, "loss": 1.0}}, {{"epoch": 2, "loss": 0.5}}]
        history.plot({str(tmp_path / "a.png")!r})
        assert matplotlib.get_backend() == "svg", matplotlib.get_backend()
        assert "matplotlib.pyplot" not in sys.modules
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=120)


def test_fit_records_the_epoch_early_stopping_restored():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((30, 3)).astype(np.float32)
    y = rng.integers(0, 2, 30)
    fg.manual_seed(0)
    model = nn.Linear(3, 2)
    stopper = EarlyStopping(patience=1)
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.5),
        (x, y),
        (x, y[::-1].copy()),
        epochs=6,
        callbacks=[stopper],
        progress=False,
        verbose=0,
    )
    assert history.restored_epoch == stopper.best_epoch == history.best_epoch("val_loss")
    assert f"restored epoch {stopper.best_epoch}" in repr(history)
    without = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.5),
        (x, y),
        epochs=1,
        progress=False,
        verbose=0,
    )
    assert without.restored_epoch is None


def test_repr_and_notebook_table():
    history = history_of(epochs=2, restored=2)
    history.stopped_early = True
    assert repr(history) == (
        "History(2 epochs; restored epoch 2; stopped early; last: "
        "loss=0.5000, accuracy=60.00%, val_loss=0.6000, "
        "val_accuracy=50.00%, lr=0.0100, samples_per_s=100)"
    )
    assert repr(History()) == "History(0 epochs)"
    table = history._repr_html_()
    assert table.count("<tr") == 3 and "<th>val_accuracy</th>" in table
    assert '<tr style="font-weight:bold"><td>2</td><td>0.5000</td><td>60.00%</td>' in table
    assert "stopped early" in table
