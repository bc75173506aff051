"""What fit prints (on stderr, with the bar, leaving stdout to the program): with
progress=False one summary line per epoch (none with verbose=0),
every line within 80 columns and the validation numbers in it, however many metrics; the
progress bar's postfix uses short names."""

import importlib.util
import re

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import nn, optim
from forgegrad.training.report import summary as _summary

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture
def problem():
    rng = np.random.default_rng(0)
    x = rng.standard_normal((40, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    return x, y


def run(problem, **kwargs):
    fg.manual_seed(0)
    model = nn.Linear(3, 2)
    return fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.SGD(model.parameters(), lr=0.1),
        problem,
        problem,
        epochs=3,
        batch_size=16,
        **kwargs,
    )


def test_one_line_per_epoch_without_the_bar(problem, capsys):
    history = run(problem, progress=False)
    out, err = capsys.readouterr()
    lines = err.splitlines()
    assert len(lines) == 3 and out == ""
    for epoch, line in enumerate(lines, 1):
        assert re.fullmatch(
            rf"epoch {epoch}/3 - loss \d\.\d{{4}} - acc \d+\.\d\d% - val_loss "
            r"\d\.\d{4} - val_acc \d+\.\d\d% - \d+\.\ds",
            line,
        ), line
        record = history.epochs[epoch - 1]
        assert f"val_acc {record['val_accuracy']:.2%}" in line


def test_verbose_0_prints_nothing_and_verbose_2_no_bar(problem, capsys):
    run(problem, progress=False, verbose=0)
    assert capsys.readouterr() == ("", "")
    run(problem, progress=True, verbose=0)
    assert capsys.readouterr() == ("", "")
    run(problem, progress=True, verbose=2)
    out, err = capsys.readouterr()
    assert len(err.splitlines()) == 3 and "batch" not in err and out == ""


@pytest.mark.parametrize("verbose", [3, -1, True, "1"])
def test_bad_verbose_is_refused(problem, verbose):
    with pytest.raises(ValueError, match=r"\[fit\] verbose must be 0 \(silent\), 1"):
        run(problem, verbose=verbose)


def test_summary_wraps_within_80_columns_keeping_every_value():
    names = ["accuracy", "top5_accuracy", "precision", "recall", "f1", "a_long_metric_name"]
    logs = {
        "epoch": 12,
        "loss": 1234567.0,
        **{n: 0.5 for n in names},
        "val_loss": 0.000012,
        **{f"val_{n}": 0.25 for n in names},
        "lr": 0.001,
        "time": 12.3,
        "samples_per_s": 4000.0,
    }
    text = _summary(logs, 100, show_lr=True)
    lines = text.splitlines()
    assert len(lines) > 1 and all(len(line) <= 80 for line in lines)
    assert all(line.startswith("  ") for line in lines[1:])
    for expected in (
        "epoch 12/100",
        "loss 1.235e+06",
        "val_loss 1.200e-05",
        "val_acc 25.00%",
        "val_top5 25.00%",
        "val_prec 0.2500",
        "val_f1 0.2500",
        "val_a_long_metric_name 0.2500",
        "lr 0.001",
        "12.3s",
    ):
        assert expected in text, expected


@pytest.mark.skipif(importlib.util.find_spec("tqdm") is None, reason="progress bars need tqdm")
def test_the_bar_shows_short_names_and_a_summary_line_follows(problem, capsys):
    run(problem, progress=True, metrics=["accuracy", "top2_accuracy"])
    out, err = capsys.readouterr()
    assert "epoch 1/3:" in err and "acc=" in err and "top2=" in err and "accuracy=" not in err
    summaries = [line for line in err.split("\n") if line and "\r" not in line]
    assert sum(line.startswith("epoch ") for line in summaries) == 3 and out == ""
    assert err.count("val_top2 ") == 3 and all(len(line) <= 80 for line in summaries)
