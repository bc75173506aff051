"""forgegrad.sklearn: scikit-learn's estimator checks, accuracy on the digits, regression,
labels of any type, Pipelines and GridSearchCV, partial_fit, warm_start, reproducibility,
parameter errors, pickling."""

import pickle
import subprocess
import sys
import warnings

import numpy as np
import pytest

pytest.importorskip("sklearn", reason="forgegrad.sklearn needs scikit-learn")

from sklearn.base import clone  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402
from sklearn.utils.estimator_checks import parametrize_with_checks  # noqa: E402

from forgegrad.sklearn import MLPClassifier, MLPRegressor  # noqa: E402

# Small networks and a high learning rate: the checks fit hundreds of times.
SMALL = dict(hidden_layer_sizes=(16,), learning_rate_init=0.02, max_iter=60, random_state=0)


@pytest.fixture(autouse=True)
def quiet_convergence():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        yield


# Every check applies and passes: none is marked as an expected failure.
@parametrize_with_checks([MLPClassifier(**SMALL), MLPRegressor(**SMALL)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


def digits_split():
    X, y = load_digits(return_X_y=True)
    return train_test_split(X / 16, y, test_size=0.25, random_state=0, stratify=y)


def test_digits_accuracy_on_a_held_out_split():
    X_train, X_test, y_train, y_test = digits_split()
    clf = MLPClassifier((64,), learning_rate_init=0.01, max_iter=30, random_state=0)
    clf.fit(X_train, y_train)
    assert clf.score(X_test, y_test) >= 0.95
    assert clf.n_iter_ == len(clf.loss_curve_) <= 30
    assert clf.loss_curve_[-1] < clf.loss_curve_[0]
    proba = clf.predict_proba(X_test)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(clf.classes_[proba.argmax(axis=1)], clf.predict(X_test))


def test_regression_of_a_smooth_function():
    rng = np.random.default_rng(0)
    X = rng.uniform(-2, 2, size=(600, 2))
    y = np.sin(X[:, 0]) + 0.5 * X[:, 1] ** 2
    reg = MLPRegressor(
        (64, 64), activation="tanh", learning_rate_init=0.01, max_iter=150, random_state=0
    ).fit(X[:500], y[:500])
    assert reg.predict(X[500:]).shape == (100,)
    assert reg.score(X[500:], y[500:]) > 0.95


def test_regression_with_several_targets():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(200, 3))
    Y = np.stack([X @ [1.0, -2.0, 0.5], X[:, 0] - X[:, 2]], axis=1)
    reg = MLPRegressor(
        (), activation="identity", learning_rate_init=0.05, max_iter=200, random_state=0
    ).fit(X, Y)
    assert reg.predict(X).shape == (200, 2)
    assert reg.score(X, Y) > 0.99


def test_string_labels_round_trip_through_classes():
    X_train, X_test, y_train, y_test = digits_split()
    names = np.array(
        ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    )
    clf = MLPClassifier((32,), learning_rate_init=0.01, max_iter=20, random_state=0)
    clf.fit(X_train, names[y_train])
    assert list(clf.classes_) == sorted(names)
    predicted = clf.predict(X_test)
    assert predicted.dtype == names.dtype and set(predicted) <= set(names)
    assert np.mean(predicted == names[y_test]) >= 0.9


def test_pipeline_grid_search_cross_val_and_clone():
    X_train, X_test, y_train, y_test = digits_split()
    pipe = make_pipeline(StandardScaler(), MLPClassifier(max_iter=15, random_state=0))
    grid = GridSearchCV(
        pipe,
        {
            "mlpclassifier__hidden_layer_sizes": [(8,), (32,)],
            "mlpclassifier__learning_rate_init": [0.01],
        },
        cv=3,
    )
    grid.fit(X_train, y_train)
    assert grid.best_params_["mlpclassifier__hidden_layer_sizes"] in [(8,), (32,)]
    assert grid.score(X_test, y_test) > 0.9
    scores = cross_val_score(clone(grid.best_estimator_), X_train, y_train, cv=3)
    assert scores.shape == (3,) and scores.min() > 0.85
    fresh = clone(pipe)
    assert not hasattr(fresh[-1], "module_")
    assert fresh.get_params()["mlpclassifier__max_iter"] == 15


def test_partial_fit_learns_batch_by_batch():
    X_train, X_test, y_train, y_test = digits_split()
    clf = MLPClassifier((32,), learning_rate_init=0.01, random_state=0)
    with pytest.raises(ValueError, match=r"\[MLPClassifier\] partial_fit's first call"):
        clf.partial_fit(X_train, y_train)
    for epoch in range(15):
        for part in np.array_split(np.arange(len(X_train)), 3):
            clf.partial_fit(X_train[part], y_train[part], classes=np.arange(10))
    assert clf.n_iter_ == 45
    assert clf.score(X_test, y_test) > 0.9
    with pytest.raises(ValueError, match=r"\[MLPClassifier\] y holds labels \[10\]"):
        clf.partial_fit(X_train[:3], [1, 2, 10])


def test_warm_start_continues_and_cold_start_restarts():
    X_train, _, y_train, _ = digits_split()
    warm = MLPClassifier((16,), max_iter=3, warm_start=True, random_state=0).fit(X_train, y_train)
    module = warm.module_
    warm.fit(X_train, y_train)
    assert warm.module_ is module and warm.n_iter_ == 6 and len(warm.loss_curve_) == 6
    assert warm.loss_curve_[3] < warm.loss_curve_[0]
    cold = MLPClassifier((16,), max_iter=3, random_state=0).fit(X_train, y_train)
    module = cold.module_
    cold.fit(X_train, y_train)
    assert cold.module_ is not module and cold.n_iter_ == 3
    np.testing.assert_allclose(cold.loss_curve_, warm.loss_curve_[:3])


def test_random_state_repeats_a_run_exactly():
    X_train, X_test, y_train, _ = digits_split()
    runs = [
        MLPClassifier((32,), max_iter=5, early_stopping=True, random_state=7).fit(X_train, y_train)
        for _ in range(2)
    ]
    np.testing.assert_array_equal(runs[0].predict_proba(X_test), runs[1].predict_proba(X_test))
    assert runs[0].loss_curve_ == runs[1].loss_curve_
    other = MLPClassifier((32,), max_iter=5, early_stopping=True, random_state=8)
    assert other.fit(X_train, y_train).loss_curve_ != runs[0].loss_curve_


def test_early_stopping_holds_out_validation_data():
    X_train, X_test, y_train, y_test = digits_split()
    clf = MLPClassifier(
        (32,),
        learning_rate_init=0.01,
        max_iter=200,
        early_stopping=True,
        n_iter_no_change=3,
        random_state=0,
    ).fit(X_train, y_train)
    assert clf.n_iter_ < 200 and len(clf.validation_loss_curve_) == clf.n_iter_
    assert clf.score(X_test, y_test) > 0.9


@pytest.mark.parametrize(
    "param, value, message",
    [
        ("hidden_layer_sizes", (10, 0), "hidden_layer_sizes must be a positive int"),
        ("hidden_layer_sizes", "wide", "hidden_layer_sizes must be a positive int"),
        ("activation", "softplus", "activation must be one of"),
        ("alpha", -1.0, "alpha must be a number >= 0"),
        ("batch_size", 0, "batch_size must be 'auto' or an int > 0"),
        ("learning_rate_init", 0.0, "learning_rate_init must be a number > 0"),
        ("max_iter", 2.5, "max_iter must be an int > 0"),
        ("n_iter_no_change", 0, "n_iter_no_change must be an int > 0"),
        ("validation_fraction", 1.0, r"validation_fraction must be a number in \(0, 1\)"),
        ("tol", "small", "tol must be a number >= 0"),
        ("device", "tpu", "device must be 'cpu', 'cuda'"),
    ],
)
@pytest.mark.parametrize("cls", [MLPClassifier, MLPRegressor])
def test_bad_parameters_raise_naming_the_estimator(cls, param, value, message):
    X, y = np.zeros((4, 2)), np.array([0, 1, 0, 1])
    estimator = cls(**{param: value})  # scikit-learn checks parameters in fit, not __init__
    with pytest.raises(ValueError, match=rf"\[{cls.__name__}\] {message}"):
        estimator.fit(X, y)


def test_pickled_fitted_estimator_predicts_the_same():
    X_train, X_test, y_train, _ = digits_split()
    clf = MLPClassifier((16,), max_iter=3, random_state=0).fit(X_train, y_train)
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X_test), clf.predict_proba(X_test))
    loaded.partial_fit(X_train, y_train)  # the optimizer came along too
    assert loaded.n_iter_ == 4


def test_import_forgegrad_does_not_import_sklearn_and_missing_sklearn_is_named():
    code = (
        "import sys, forgegrad; assert 'sklearn' not in sys.modules\n"
        "sys.modules['sklearn'] = None\n"
        "try:\n    import forgegrad.sklearn\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert "[forgegrad.sklearn] needs scikit-learn" in out
    assert 'pip install "forgegrad[datasets]"' in out


def test_fits_and_predicts_on_each_device(device):
    X_train, X_test, y_train, y_test = digits_split()
    clf = MLPClassifier(
        (32,), learning_rate_init=0.01, max_iter=10, random_state=0, device=device
    ).fit(X_train, y_train)
    assert clf.module_[0].weight.device.type == device
    assert clf.score(X_test, y_test) > 0.9


def test_feature_names_from_a_data_frame():
    pd = pytest.importorskip("pandas", reason="feature names come from a pandas DataFrame")
    rng = np.random.default_rng(0)
    X = pd.DataFrame(rng.normal(size=(40, 2)), columns=["height", "width"])
    clf = MLPRegressor((4,), max_iter=2).fit(X, np.arange(40.0))
    assert list(clf.feature_names_in_) == ["height", "width"]
    with pytest.warns(UserWarning, match="does not have valid feature names"):
        clf.predict(X.to_numpy())


@pytest.mark.parametrize(
    "activation", ["relu", "tanh", "logistic", "identity", "gelu", "silu", "leaky_relu", "sigmoid"]
)
def test_every_activation_trains(activation):
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), np.arange(30) % 3
    clf = MLPClassifier((8, 8), activation=activation, max_iter=2, random_state=0).fit(X, y)
    assert clf.predict_proba(X).shape == (30, 3) and clf.n_iter_ == 2
