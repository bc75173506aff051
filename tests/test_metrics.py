"""fit's and evaluate's metrics: each named metric over a whole epoch equals scikit-learn's on
all the samples at once (batches of 7 that do not divide the data, where a mean of per-batch
values would differ), callables and dicts of them, and the errors for bad metrics."""

import numpy as np
import pytest

import forgegrad as fg
from forgegrad import nn, optim
from forgegrad.training import EarlyStopping

metrics_reference = pytest.importorskip("sklearn.metrics")

pytestmark = pytest.mark.usefixtures("one_thread")


class Scores(nn.Module):
    """A model whose outputs are its inputs: the metrics then see the scores given."""

    def forward(self, x):
        return x


def evaluate(scores, targets, loss_fn, metrics):
    return fg.evaluate(Scores(), loss_fn, (scores, targets), metrics=metrics, batch_size=7)


def test_classification_metrics_over_the_whole_epoch():
    rng = np.random.default_rng(0)
    scores = rng.standard_normal((53, 4)).astype(np.float32)
    labels = rng.integers(0, 4, 53)
    labels[:20] = scores[:20].argmax(axis=1)  # better than chance, unevenly over the batches
    logs = evaluate(
        scores,
        labels,
        nn.CrossEntropyLoss(),
        ["accuracy", "top2_accuracy", "top5_accuracy", "precision", "recall", "f1"],
    )
    predicted = scores.argmax(axis=1)
    ref = metrics_reference
    assert logs["accuracy"] == pytest.approx(ref.accuracy_score(labels, predicted))
    assert logs["top2_accuracy"] == pytest.approx(
        ref.top_k_accuracy_score(labels, scores, k=2, labels=range(4))
    )
    assert logs["top5_accuracy"] == 1.0  # k past the classes: every target is among them
    for name, fn in (
        ("precision", ref.precision_score),
        ("recall", ref.recall_score),
        ("f1", ref.f1_score),
    ):
        assert logs[name] == pytest.approx(
            fn(labels, predicted, average="macro", zero_division=0)
        ), name


def test_macro_averages_skip_classes_never_seen_and_count_unpredicted_ones_as_zero():
    scores = np.array([[5, 0, 0], [5, 0, 0], [0, 5, 0], [5, 0, 0]], np.float32)
    labels = np.array([0, 1, 1, 0])  # class 2: never a target nor a prediction
    logs = fg.evaluate(
        Scores(),
        nn.CrossEntropyLoss(),
        (scores, labels),
        metrics=["precision", "recall", "f1"],
        batch_size=1,
    )
    predicted = scores.argmax(axis=1)
    for name, fn in (
        ("precision", metrics_reference.precision_score),
        ("recall", metrics_reference.recall_score),
        ("f1", metrics_reference.f1_score),
    ):
        assert logs[name] == pytest.approx(
            fn(labels, predicted, average="macro", zero_division=0)
        ), name


def test_binary_metrics_on_logits():
    rng = np.random.default_rng(1)
    logits = rng.standard_normal(45).astype(np.float32)
    targets = (rng.random(45) < 0.4).astype(np.float32)
    logs = evaluate(logits, targets, nn.BCEWithLogitsLoss(), ["binary_accuracy", "accuracy", "f1"])
    predicted = (logits > 0).astype(np.int64)
    assert (
        logs["binary_accuracy"]
        == logs["accuracy"]
        == pytest.approx(metrics_reference.accuracy_score(targets, predicted))
    )
    assert logs["f1"] == pytest.approx(
        metrics_reference.f1_score(targets, predicted, average="macro")
    )


def test_regression_metrics_over_the_whole_epoch():
    rng = np.random.default_rng(2)
    outputs = rng.standard_normal((40, 2)).astype(np.float32)
    targets = outputs * np.array([1.0, 0.5], np.float32) + 0.3 * rng.standard_normal(
        (40, 2)
    ).astype(np.float32)
    logs = evaluate(outputs, targets, nn.MSELoss(), ["mae", "mse", "rmse", "r2"])
    ref = metrics_reference
    assert logs["mae"] == pytest.approx(ref.mean_absolute_error(targets, outputs), rel=1e-6)
    assert logs["mse"] == pytest.approx(ref.mean_squared_error(targets, outputs), rel=1e-6)
    assert logs["rmse"] == pytest.approx(
        np.sqrt(ref.mean_squared_error(targets, outputs)), rel=1e-6
    )
    assert logs["r2"] == pytest.approx(ref.r2_score(targets, outputs), rel=1e-6)
    assert logs["mse"] == pytest.approx(logs["loss"], rel=1e-6)


def test_callable_metrics_and_dicts_of_them():
    rng = np.random.default_rng(3)
    outputs = rng.standard_normal((30, 1)).astype(np.float32)
    targets = rng.standard_normal((30, 1)).astype(np.float32)

    def mean_error(out, target):  # a per-sample mean: weighted by batch size, exact
        return (out - target).mean()

    logs = evaluate(outputs, targets, nn.MSELoss(), [mean_error, "mae"])
    assert logs["mean_error"] == pytest.approx(float((outputs - targets).mean()), rel=1e-5)
    logs = evaluate(
        outputs,
        targets,
        nn.MSELoss(),
        {"largest": lambda out, target: out.max().item(), "err": "mae"},
    )
    assert set(logs) == {"loss", "largest", "err"}
    assert logs["err"] == pytest.approx(float(np.abs(outputs - targets).mean()), rel=1e-6)


def test_fit_logs_metrics_and_early_stopping_watches_them():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((60, 3)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int64)
    fg.manual_seed(0)
    model = nn.Linear(3, 2)
    stopper = EarlyStopping(monitor="val_f1", patience=2)
    history = fg.fit(
        model,
        nn.CrossEntropyLoss(),
        optim.Adam(model.parameters(), lr=0.05),
        (x, y),
        (x, y),
        epochs=3,
        metrics=["accuracy", "f1"],
        callbacks=[stopper],
        progress=False,
        verbose=0,
    )
    assert {"accuracy", "f1", "val_accuracy", "val_f1"} <= set(history.epochs[0])
    assert stopper.tracker.mode == "max"
    assert EarlyStopping(monitor="val_mae").tracker.mode == "min"


@pytest.mark.parametrize(
    "metrics,error,message",
    [
        (["auc"], ValueError, r"\[evaluate\] unknown metric 'auc'; known: accuracy, "),
        ([lambda o, t: 1.0], TypeError, r"\[evaluate\] metrics must be names or named callables"),
        (5, TypeError, r"\[evaluate\] metrics must be a metric name, a callable, or a list"),
        ({"loss": "mae"}, ValueError, r"\[evaluate\] a metric cannot be named 'loss'"),
        (["mae", "mae"], ValueError, r"\[evaluate\] metrics named twice"),
    ],
)
def test_bad_metrics_are_refused(metrics, error, message):
    with pytest.raises(error, match=message):
        evaluate(np.zeros((4, 1), np.float32), np.zeros((4, 1), np.float32), nn.MSELoss(), metrics)


def test_a_callable_metric_must_return_a_number():
    with pytest.raises(TypeError, match=r"\[fit\] metric 'shape' must return a number"):
        evaluate(
            np.zeros((4, 1), np.float32),
            np.zeros((4, 1), np.float32),
            nn.MSELoss(),
            {"shape": lambda out, target: out.shape},
        )


def test_metrics_that_do_not_fit_the_outputs_say_so():
    with pytest.raises(ValueError, match=r"\[fit\] top3_accuracy needs \(N, C\) scores"):
        evaluate(
            np.zeros((4, 1), np.float32),
            np.zeros((4, 1), np.float32),
            nn.MSELoss(),
            ["top3_accuracy"],
        )
    with pytest.raises(ValueError, match=r"\[fit\] mae needs targets with one value per output"):
        evaluate(
            np.zeros((4, 3), np.float32), np.zeros(4, np.int64), nn.CrossEntropyLoss(), ["mae"]
        )
