"""A user's own table (``.npz`` or ``.csv``) as features and a target, for ``forgegrad
train --data``: which column is the target, whether the task is classification or
regression, text columns one-hot encoded, and the split into standardized train /
validation / test sets. Every choice made is written to ``Table.notes`` so the command can
say what it did."""

import csv
import dataclasses
import math

import numpy as np

from . import _errors
from .data import TensorDataset

# A numeric target is read as class labels when its values are whole numbers and there are
# at most this many of them (digits, ratings, yes/no); otherwise as values to regress.
MAX_CLASSES = 20
# A text feature column with more distinct values than this is an id or free text, not a
# category worth a one-hot column each.
MAX_CATEGORIES = 50
# npz arrays named as one of these pairs are (features, target) without --target.
NPZ_PAIRS = (
    ("x", "y"),
    ("X", "y"),
    ("X", "Y"),
    ("features", "labels"),
    ("features", "targets"),
    ("inputs", "targets"),
    ("data", "target"),
)
TASKS = ("auto", "classification", "regression")


@dataclasses.dataclass
class Table:
    features: np.ndarray  # float32 (N, F)
    targets: np.ndarray  # int64 class ids (N,), or float32 values (N,)
    task: str  # "classification" or "regression"
    classes: list  # the original label of each class id (classification)
    feature_names: list
    target_name: str
    notes: list
    target_scale: tuple = (0.0, 1.0)  # (mean, std) that standardized a regression target

    @property
    def num_classes(self) -> int:
        """How many classes the target has (0 for a regression table)."""
        return len(self.classes)

    def split(self, seed, fraction: float = 0.15):
        """Shuffled train / validation / test TensorDatasets (``fraction`` of the rows each
        for validation and test, at least one), features standardized with the training
        rows' mean and std; a regression target too (``target_scale`` undoes it)."""
        n = len(self.targets)
        if n < 5:
            raise _errors.ValueError(
                f"[train] {n} rows are too few to split into train, "
                "validation and test sets (5 at least)"
            )
        order = np.random.default_rng(seed).permutation(n)
        held = max(1, round(n * fraction))
        parts = order[2 * held :], order[:held], order[held : 2 * held]
        mean = self.features[parts[0]].mean(axis=0)
        std = self.features[parts[0]].std(axis=0)
        std[std == 0] = 1  # a constant column stays 0 rather than dividing by zero
        features = ((self.features - mean) / std).astype(np.float32)
        targets = self.targets
        if self.task == "regression":
            t_mean, t_std = float(targets[parts[0]].mean()), float(targets[parts[0]].std())
            self.target_scale = (t_mean, t_std or 1.0)
            targets = ((targets - t_mean) / self.target_scale[1]).astype(np.float32)[:, None]
        return tuple(TensorDataset(features[p], targets[p]) for p in parts)


def load_table(path, target=None, task: str = "auto"):
    """The table at `path` (``.npz`` or ``.csv``) with column / array `target` as the
    target; `task` forces classification or regression instead of guessing."""
    if task not in TASKS:
        raise _errors.ValueError(f"[train] expected a task in {TASKS}, got {task!r}")
    name = str(path).lower()
    if name.endswith(".npz"):
        features, y, feature_names, target, notes = _read_npz(path, target)
    elif name.endswith(".csv"):
        features, y, feature_names, target, notes = _read_csv(path, target)
    else:
        raise _errors.ValueError(f"[train] --data {path}: expected a .npz or a .csv file")
    if len(y) != len(features):
        raise _errors.ValueError(
            f"[train] the target has {len(y)} rows and the features {len(features)}"
        )
    # _set_task settles the targets and the task
    table = Table(features.astype(np.float32), y, task, [], feature_names, target, notes)
    _set_task(table, y, task)
    return table


def _read_npz(path, target):
    with np.load(path, allow_pickle=False) as archive:
        arrays = {key: archive[key] for key in archive.files}
    keys = sorted(arrays)
    if target is None:
        pair = next(((x, y) for x, y in NPZ_PAIRS if x in arrays and y in arrays), None)
        if pair is None:
            raise _errors.ValueError(
                f"[train] {path} holds arrays {keys}; name the target "
                "with --target (or save them as x and y)"
            )
        x_key, target = pair
        note = f"target: array {target!r}, features: array {x_key!r}"
    else:
        if target not in arrays:
            raise _errors.ValueError(
                f"[train] --target {target}: {path} has no such array; it holds {keys}"
            )
        others = [k for k in keys if k != target]
        if len(others) != 1:
            raise _errors.ValueError(
                f"[train] expected one feature array beside the target "
                f"{target!r} in {path}, got {others}"
            )
        x_key = others[0]
        note = f"target: array {target!r}, features: array {x_key!r}"
    features, y = arrays[x_key], arrays[target]
    if features.dtype.kind not in "biuf":
        raise _errors.TypeError(
            f"[train] expected numbers in the feature array {x_key!r}, "
            f"got numpy dtype {features.dtype}"
        )
    if y.ndim != 1:
        raise _errors.ValueError(
            f"[train] expected a 1-d target array {target!r}, got shape {y.shape}"
        )
    if features.ndim == 1:
        features = features[:, None]
    elif features.ndim > 2:
        note += f" (flattened from {features.shape[1:]} to {math.prod(features.shape[1:])})"
        features = features.reshape(len(features), -1)
    names = [f"{x_key}[{i}]" for i in range(features.shape[1])]
    return features, y, names, target, [note]


def _read_csv(path, target):
    with open(path, newline="") as handle:
        rows = [row for row in csv.reader(handle) if row]
    if len(rows) < 2:
        raise _errors.ValueError(f"[train] {path}: expected a header row and data rows")
    header, rows = [h.strip() for h in rows[0]], rows[1:]
    for number, row in enumerate(rows, 2):
        if len(row) != len(header):
            raise _errors.ValueError(
                f"[train] {path}, line {number}: {len(row)} fields, the header has {len(header)}"
            )
    notes = []
    if target is None:
        target = header[-1]
        notes.append(f"target: the last column, {target!r} (choose another with --target)")
    elif target not in header:
        raise _errors.ValueError(
            f"[train] --target {target}: {path} has no such column; its columns are {header}"
        )
    else:
        notes.append(f"target: column {target!r}")
    columns = {name: [row[i].strip() for row in rows] for i, name in enumerate(header)}
    y = columns.pop(target)
    missing = [i for i, v in enumerate(y) if v == ""]
    if missing:
        notes.append(f"dropped {len(missing)} rows without a target value")
        keep = sorted(set(range(len(y))) - set(missing))
        y = [y[i] for i in keep]
        columns = {k: [v[i] for i in keep] for k, v in columns.items()}
    y_numbers = _numbers(y)
    y = np.array(y if y_numbers is None else y_numbers)
    blocks, names = [], []
    for name, values in columns.items():
        block, block_names = _encode_column(name, values, notes)
        blocks.append(block)
        names += block_names
    if not blocks:
        raise _errors.ValueError(f"[train] {path}: no feature columns besides the target")
    return np.concatenate(blocks, axis=1), y, names, target, notes


def _numbers(values):
    """The values as floats (an empty cell as NaN), or None when one is not a number."""
    try:
        return [float(v) if v != "" else math.nan for v in values]
    except ValueError:
        return None


def _encode_column(name, values, notes):
    numbers = _numbers(values)
    if numbers is not None and not all(math.isnan(v) for v in numbers):
        column = np.array(numbers)
        empty = np.isnan(column)
        if empty.any():
            column[empty] = column[~empty].mean()
            notes.append(
                f"column {name!r}: {int(empty.sum())} empty cells filled with the column's mean"
            )
        return column[:, None], [name]
    categories = sorted(set(values))
    if len(categories) > MAX_CATEGORIES:
        raise _errors.ValueError(
            f"[train] column {name!r} holds {len(categories)} different "
            f"texts (more than {MAX_CATEGORIES}): an id or free text, not "
            "a category; drop it from the file"
        )
    notes.append(f"column {name!r}: text, one-hot encoded as {len(categories)} columns")
    one_hot = (np.array(values)[:, None] == np.array(categories)[None, :]).astype(np.float64)
    return one_hot, [f"{name}={c}" for c in categories]


def _set_task(table, y, task):
    """Classification (targets as class ids 0..K-1, ``classes`` their labels) or regression
    (float targets), as `task` says or as the target's values suggest."""
    numeric = y.dtype.kind in "biuf"
    if numeric and y.dtype.kind == "f" and not np.all(np.isfinite(y)):
        raise _errors.ValueError(
            f"[train] the target {table.target_name!r} has NaN or infinite values"
        )
    labels = np.unique(y)
    whole = numeric and np.all(np.mod(y, 1) == 0)
    if task == "auto":
        if not numeric:
            task, why = "classification", "its values are text"
        elif whole and len(labels) <= MAX_CLASSES:
            task, why = (
                "classification",
                (
                    f"its values are {len(labels)} whole numbers "
                    f"(at most {MAX_CLASSES} make classes)"
                ),
            )
        else:
            task, why = (
                "regression",
                (
                    "its values are not whole numbers"
                    if not whole
                    else f"it has {len(labels)} different values (more than {MAX_CLASSES} classes)"
                ),
            )
        why += "; --problem sets it"
    else:
        why = "as --problem says"
        if task == "regression" and not numeric:
            raise _errors.ValueError(
                f"[train] cannot regress on the text target {table.target_name!r}"
            )
    table.task = task
    if task == "classification":
        if len(labels) < 2:
            raise _errors.ValueError(
                f"[train] the target {table.target_name!r} has one class only ({labels[0]!r})"
            )
        table.classes = [label.item() if hasattr(label, "item") else label for label in labels]
        table.targets = np.searchsorted(labels, y).astype(np.int64)
        shown = ", ".join(map(str, table.classes[:10])) + (", ..." if len(labels) > 10 else "")
        table.notes.append(f"task: classification into {len(labels)} classes ({shown}): {why}")
    else:
        table.targets = y.astype(np.float32)
        table.notes.append(f"task: regression: {why}")
