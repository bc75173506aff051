"""scikit-learn estimators over forgegrad: ``MLPClassifier`` and ``MLPRegressor``, with
scikit-learn's MLP parameters, trained by ``forgegrad.fit`` (Adam, with ``EarlyStopping``
deciding when to stop). They work wherever a scikit-learn estimator does: Pipelines,
GridSearchCV, cross_val_score, clone, pickle.

    from forgegrad.sklearn import MLPClassifier
    clf = MLPClassifier(hidden_layer_sizes=(128,), max_iter=50, random_state=0)
    clf.fit(X_train, y_train).score(X_test, y_test)

Needs scikit-learn (``pip install "forgegrad[datasets]"``); ``import forgegrad`` alone never
imports it.
"""

from __future__ import annotations

import numbers
import warnings
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self

import numpy as np
import numpy.typing as npt

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.utils import check_random_state
    from sklearn.utils.multiclass import check_classification_targets, type_of_target
    from sklearn.utils.validation import check_is_fitted
except ImportError as e:
    raise ImportError(
        "[forgegrad.sklearn] needs scikit-learn, which is not installed: "
        'pip install "forgegrad[datasets]"',
        name="sklearn",
    ) from e

from . import _C, _errors, nn, optim, random
from .models import ACTIVATIONS, build_mlp
from .training import EarlyStopping, fit, predict

if TYPE_CHECKING:
    from sklearn.utils import Tags  # scikit-learn >= 1.6, which calls __sklearn_tags__

__all__ = ["MLPClassifier", "MLPRegressor"]

# scikit-learn's names for the activations forgegrad's MLP offers under other names.
_ALIASES = {"logistic": "sigmoid"}

try:  # scikit-learn >= 1.6
    from sklearn.utils.validation import validate_data as _validate_data
except ImportError:

    def _validate_data(estimator, X, y="no_validation", reset=True, **kwargs):
        return estimator._validate_data(X, y, reset=reset, **kwargs)


def _is_positive_int(value):
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value > 0


class _BaseMLP(BaseEstimator):
    """What the classifier and the regressor share: parameters, their checks, the network,
    and training through ``forgegrad.fit``. Subclasses give the loss, the targets as the
    network sees them, and the number of outputs."""

    def __init__(
        self,
        hidden_layer_sizes: Sequence[int] | int = (100,),
        activation: str = "relu",
        *,
        alpha: float = 1e-4,
        batch_size: int | str = "auto",
        learning_rate_init: float = 1e-3,
        max_iter: int = 200,
        early_stopping: bool = False,
        validation_fraction: float = 0.1,
        n_iter_no_change: int = 10,
        tol: float = 1e-4,
        random_state: int | np.random.RandomState | None = None,
        verbose: bool = False,
        warm_start: bool = False,
        device: str = "cpu",
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.alpha = alpha
        self.batch_size = batch_size
        self.learning_rate_init = learning_rate_init
        self.max_iter = max_iter
        self.early_stopping = early_stopping
        self.validation_fraction = validation_fraction
        self.n_iter_no_change = n_iter_no_change
        self.tol = tol
        self.random_state = random_state
        self.verbose = verbose
        self.warm_start = warm_start
        self.device = device

    # -- checks ---------------------------------------------------------------------------
    def _fail(self, message):
        raise _errors.ValueError(f"[{type(self).__name__}] {message}")

    def _hidden(self):
        sizes = self.hidden_layer_sizes
        sizes = [sizes] if isinstance(sizes, numbers.Integral) else sizes
        try:
            sizes = list(sizes)
        except TypeError:
            sizes = None
        if sizes is None or not all(_is_positive_int(s) for s in sizes):
            self._fail(
                "hidden_layer_sizes must be a positive int or a sequence of them, got "
                f"{self.hidden_layer_sizes!r}"
            )
        return [int(s) for s in sizes]

    def _check_params(self):
        names = sorted([*ACTIVATIONS, *_ALIASES])
        if self.activation not in names:
            self._fail(f"activation must be one of {names}, got {self.activation!r}")
        for name in ("alpha", "tol"):
            value = getattr(self, name)
            if not isinstance(value, numbers.Real) or not value >= 0:
                self._fail(f"{name} must be a number >= 0, got {value!r}")
        rate = self.learning_rate_init
        if not isinstance(rate, numbers.Real) or not rate > 0:
            self._fail(f"learning_rate_init must be a number > 0, got {rate!r}")
        if self.batch_size != "auto" and not _is_positive_int(self.batch_size):
            self._fail(f"batch_size must be 'auto' or an int > 0, got {self.batch_size!r}")
        for name in ("max_iter", "n_iter_no_change"):
            if not _is_positive_int(getattr(self, name)):
                self._fail(f"{name} must be an int > 0, got {getattr(self, name)!r}")
        fraction = self.validation_fraction
        if not isinstance(fraction, numbers.Real) or not 0 < fraction < 1:
            self._fail(f"validation_fraction must be a number in (0, 1), got {fraction!r}")
        try:
            _C.device(self.device)
        except Exception:
            self._fail(f"device must be 'cpu', 'cuda' or 'cuda:N', got {self.device!r}")
        return self._hidden()

    # -- training -------------------------------------------------------------------------
    def _build(self, hidden, n_features, n_outputs, seed):
        """A fresh network, its weights drawn from `seed` without moving the global stream."""
        activation = _ALIASES.get(self.activation, self.activation)
        state = random.get_rng_state()
        random.manual_seed(seed)
        try:
            module = build_mlp(n_features, hidden, n_outputs, activation)
        finally:
            random.set_rng_state(state)
        self.module_ = module.to(self.device)
        self._optimizer = optim.Adam(
            self.module_.parameters(), lr=self.learning_rate_init, weight_decay=self.alpha
        )

    def _train(self, X, targets, n_outputs, epochs, reset, split_stratify=None):
        """Train for up to `epochs` epochs (a new network when `reset`), record the fitted
        attributes, return self."""
        hidden = self._check_params()
        rng = check_random_state(self.random_state)
        seed = int(rng.randint(np.iinfo(np.int32).max))
        if reset:
            self._build(hidden, X.shape[1], n_outputs, seed)
            self.loss_curve_ = []
        val_data = None
        early = self.early_stopping and epochs > 1  # partial_fit runs one epoch: no split
        if early:
            X, X_val, targets, t_val = train_test_split(
                X,
                targets,
                test_size=self.validation_fraction,
                random_state=seed,
                stratify=split_stratify,
            )
            val_data = (X_val, t_val)
        batch_size = min(200, len(X)) if self.batch_size == "auto" else self.batch_size
        stopper = EarlyStopping(
            "val_loss" if early else "loss",
            patience=self.n_iter_no_change,
            min_delta=self.tol,
            restore_best=early,
        )
        history = fit(
            self.module_,
            self._loss(),
            self._optimizer,
            (X, targets),
            val_data,
            epochs,
            batch_size=min(batch_size, len(X)),
            callbacks=[stopper],
            metrics=[],
            progress=False,
            seed=seed,
            device=self.device,
            verbose=2 if self.verbose else 0,
        )
        self.loss_curve_ += [logs["loss"] for logs in history.epochs]
        self.n_iter_ = (self.n_iter_ if not reset else 0) + len(history.epochs)
        if early:
            self.validation_loss_curve_ = [logs["val_loss"] for logs in history.epochs]
        if epochs > 1 and not history.stopped_early:
            warnings.warn(
                f"[{type(self).__name__}] max_iter={self.max_iter} epochs reached "
                "before the loss stopped improving by tol; raise max_iter",
                ConvergenceWarning,
                stacklevel=4,
            )  # at the caller of fit
        return self

    def _outputs(self, X):
        """The network's outputs for validated X, as a float64 array."""
        check_is_fitted(self, "module_")
        X = _validate_data(self, X, reset=False, dtype=np.float32)
        return predict(self.module_, X).numpy().astype(np.float64)

    def _fitted_before(self):
        return hasattr(self, "module_")

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.non_deterministic = self.random_state is None
        return tags


class MLPClassifier(ClassifierMixin, _BaseMLP):
    """A multi-layer perceptron classifier (softmax over the classes, cross-entropy loss),
    with scikit-learn's ``MLPClassifier`` parameters.

    Args:
        hidden_layer_sizes: the width of each hidden layer.
        activation: 'relu', 'tanh', 'logistic' (sigmoid), 'identity', or forgegrad's
            'gelu', 'silu', 'leaky_relu', 'sigmoid'.
        alpha: L2 weight decay of Adam.
        batch_size: samples per step; 'auto' is min(200, n_samples).
        learning_rate_init: Adam's learning rate.
        max_iter: epochs at most.
        early_stopping: hold out `validation_fraction` of the training data (stratified)
            and stop when its loss has not improved by `tol` for `n_iter_no_change` epochs,
            keeping the best epoch's weights. Without it training stops when the training
            loss stops improving likewise.
        validation_fraction: the share of the training data held out by early_stopping.
        n_iter_no_change: epochs without improvement before training stops.
        tol: the least decrease of the loss that counts as an improvement.
        random_state: seeds the weights, the shuffling and the split (an int repeats a run).
        verbose: print a line per epoch to stderr.
        warm_start: ``fit`` continues from the previous fit's weights.
        device: 'cpu' or 'cuda'.

    Fitted attributes: ``classes_``, ``n_features_in_``, ``feature_names_in_`` (given a
    DataFrame), ``loss_curve_``, ``n_iter_``, ``module_`` (the forgegrad network, which
    outputs logits).
    """

    def _loss(self):
        return nn.CrossEntropyLoss()

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """Train on X (n_samples, n_features) and labels y of any type; returns self."""
        return self._fit(X, y, self.max_iter, classes=None, incremental=self.warm_start)

    def partial_fit(
        self, X: npt.ArrayLike, y: npt.ArrayLike, classes: npt.ArrayLike | None = None
    ) -> Self:
        """One epoch over (X, y), from the current weights. The first call needs `classes`,
        every label that y will ever hold."""
        if not self._fitted_before() and classes is None:
            self._fail("partial_fit's first call needs classes=, all the labels y can hold")
        return self._fit(X, y, 1, classes=classes, incremental=True)

    def _fit(self, X, y, epochs, classes, incremental):
        self._check_params()
        continuing = incremental and self._fitted_before()
        X, y = _validate_data(self, X, y, reset=not continuing, dtype=np.float32)
        check_classification_targets(y)
        if type_of_target(y) not in ("binary", "multiclass"):
            self._fail(f"expected one label per sample, got targets of type {type_of_target(y)}")
        if continuing:
            if classes is not None and not np.array_equal(np.unique(classes), self.classes_):
                self._fail(
                    f"classes={np.unique(classes).tolist()} differ from those of the first "
                    f"call, {self.classes_.tolist()}"
                )
        else:
            self.classes_ = np.unique(y if classes is None else classes)
        unknown = np.setdiff1d(y, self.classes_)
        if len(unknown):
            self._fail(f"y holds labels {unknown.tolist()} not in classes {self.classes_.tolist()}")
        targets = np.searchsorted(self.classes_, y).astype(np.int64)
        stratify = (
            targets if self.early_stopping and epochs > 1 and _stratifiable(targets) else None
        )
        return self._train(X, targets, len(self.classes_), epochs, not continuing, stratify)

    def predict_proba(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """Class probabilities, (n_samples, n_classes), in the order of ``classes_``."""
        logits = self._outputs(X)
        logits -= logits.max(axis=1, keepdims=True)
        proba = np.exp(logits)
        return proba / proba.sum(axis=1, keepdims=True)

    def predict_log_proba(self, X: npt.ArrayLike) -> npt.NDArray[np.float64]:
        """The logarithm of ``predict_proba``."""
        return np.log(self.predict_proba(X))

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[Any]:
        """The most probable class of each sample, as a label of ``classes_``."""
        best = np.argmax(self._outputs(X), axis=1)  # checks it is fitted first
        return self.classes_[best]


def _stratifiable(targets):
    """A stratified split needs at least two samples of every class."""
    return np.bincount(targets).min() >= 2


class MLPRegressor(RegressorMixin, _BaseMLP):
    """A multi-layer perceptron regressor (linear outputs, mean squared error), with
    scikit-learn's ``MLPRegressor`` parameters; y may be (n_samples,) or (n_samples,
    n_targets). The parameters are those of ``MLPClassifier`` (the split is not stratified).

    Fitted attributes: ``n_features_in_``, ``feature_names_in_`` (given a DataFrame),
    ``loss_curve_`` (half of sklearn's squared error: forgegrad's MSELoss is the mean),
    ``n_iter_``, ``module_``.
    """

    def _loss(self):
        return nn.MSELoss()

    def fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """Train on X (n_samples, n_features) and y (n_samples,) or (n_samples, n_targets)."""
        return self._fit(X, y, self.max_iter, incremental=self.warm_start)

    def partial_fit(self, X: npt.ArrayLike, y: npt.ArrayLike) -> Self:
        """One epoch over (X, y), from the current weights (a new network on the first call)."""
        return self._fit(X, y, 1, incremental=True)

    def _fit(self, X, y, epochs, incremental):
        self._check_params()
        continuing = incremental and self._fitted_before()
        X, y = _validate_data(
            self, X, y, reset=not continuing, dtype=np.float32, multi_output=True, y_numeric=True
        )
        targets = np.asarray(y, dtype=np.float32).reshape(len(y), -1)
        if continuing and targets.shape[1] != self._n_outputs:
            self._fail(f"y has {targets.shape[1]} targets, the fitted network {self._n_outputs}")
        self._n_outputs = targets.shape[1]
        self._one_target = np.ndim(y) == 1
        return self._train(X, targets, targets.shape[1], epochs, not continuing)

    def predict(self, X: npt.ArrayLike) -> npt.NDArray[Any]:
        """Predictions, (n_samples,) for a 1-D y, else (n_samples, n_targets)."""
        outputs = self._outputs(X)
        return outputs.ravel() if self._one_target else outputs

    def __sklearn_tags__(self) -> Tags:
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags
