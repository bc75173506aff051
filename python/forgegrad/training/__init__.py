"""Training a model on data: ``fit`` (epochs of minibatch steps, validation, a progress
bar), ``evaluate``, ``predict``, the per-epoch ``History``, and the callbacks
``EarlyStopping`` and ``ModelCheckpoint``.

    history = fit(model, nn.CrossEntropyLoss(), optim.Adam(model.parameters()),
                  splits.train, splits.val, epochs=20)
    history.plot("curves.png")   # train against validation: overfitting shows as a gap
    history                      # in Jupyter, a table of the epochs

One concept per file: loop.py (fit, evaluate, predict), history.py, callbacks.py,
metrics.py (what an epoch logs, over forgegrad.metrics), report.py (progress bar and
summary lines), batches.py (data to batches on the device), checks.py (argument checks).
"""

from .callbacks import Callback, EarlyStopping, ModelCheckpoint
from .history import History
from .loop import evaluate, fit, predict

__all__ = ["fit", "evaluate", "predict", "History", "Callback", "EarlyStopping", "ModelCheckpoint"]
