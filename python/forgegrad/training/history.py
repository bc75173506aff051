"""``History``: what ``fit`` logged per epoch, as records and columns, with a plot of train
against validation and a table for Jupyter."""

from __future__ import annotations

import math
import os
from typing import TYPE_CHECKING

from .. import _errors
from .. import metrics as _library
from .metrics import OWN_KEYS, Mode, monitor_mode
from .report import number

if TYPE_CHECKING:
    from matplotlib.figure import Figure


class History:
    """Per-epoch records: ``history.epochs`` is a list of dicts (epoch, loss, val_loss,
    accuracy, val_accuracy, lr, time, samples_per_s); ``history["val_loss"]`` is one column.
    ``restored_epoch``: the epoch whose weights EarlyStopping restored, or None."""

    def __init__(self) -> None:
        self.epochs: list[dict[str, float]] = []  # epoch (an int), loss, val_loss, ...
        self.stopped_early = False
        self.interrupted = False
        self.restored_epoch: int | None = None  # the epoch whose weights EarlyStopping put back

    def __getitem__(self, key: str) -> list[float | None]:
        return [record.get(key) for record in self.epochs]

    def __len__(self) -> int:
        return len(self.epochs)

    @property
    def history(self) -> dict[str, list[float | None]]:
        """Every logged column, by name (Keras's ``History.history``)."""
        keys = dict.fromkeys(k for record in self.epochs for k in record)
        return {k: self[k] for k in keys}

    def best_epoch(self, monitor: str = "val_loss", mode: Mode = "auto") -> int:
        """The epoch (as logged, from 1) whose ``monitor`` value was best: the highest for
        accuracies and scores, the lowest for losses and errors (``mode='auto'``), or as
        ``mode`` ('min' or 'max') says."""
        values = [(v, i) for i, v in enumerate(self[monitor]) if v is not None]
        if not values:
            raise _errors.ValueError(f"[History] no values recorded for {monitor!r}")
        pick = max if monitor_mode(monitor, mode, "History") == "max" else min
        return int(self.epochs[pick(values)[1]]["epoch"])

    def plot(
        self, path: str | os.PathLike[str] | None = None, *, title: str | None = None
    ) -> Figure:
        """Train against validation loss and each metric per epoch (accuracies in percent),
        on a new matplotlib Figure; the epoch whose weights early stopping restored is
        marked. The Figure is returned (Jupyter shows it) and saved to `path` when one is
        given. pyplot and the matplotlib backend are not touched."""
        try:
            from matplotlib.figure import Figure
        except ImportError as error:
            raise ImportError(
                '[History.plot] needs matplotlib: pip install "forgegrad[plot]"'
            ) from error
        if not self.epochs:
            raise _errors.ValueError("[History.plot] nothing to plot: no epoch has run")
        names = ["loss"] + self._metric_names()
        figure = Figure(figsize=(5 * len(names), 4))
        axes = figure.subplots(1, len(names), squeeze=False)[0]
        epochs = self["epoch"]
        for ax, name in zip(axes, names):
            scale = 100 if _library.is_fraction(name) else 1
            for key, label in ((name, "train"), ("val_" + name, "validation")):
                values = self[key]
                if any(v is not None for v in values):
                    ax.plot(
                        epochs,
                        [math.nan if v is None else v * scale for v in values],
                        marker="o",
                        label=label,
                    )
            if self.restored_epoch is not None:
                ax.axvline(
                    self.restored_epoch,
                    color="gray",
                    linestyle="--",
                    label=f"restored (epoch {self.restored_epoch})",
                )
            ax.set_xlabel("epoch")
            ax.set_ylabel(f"{name} (%)" if scale == 100 else name)
            ax.set_title(name)
            ax.grid(alpha=0.3)
            ax.legend()
        figure.suptitle(title if title is not None else self._title())
        figure.tight_layout()
        if path is not None:
            figure.savefig(os.fspath(path), dpi=100)
        return figure

    def _metric_names(self) -> list[str]:
        """The logged metrics (not loss, lr, time, ...), without their val_ twins."""
        return [k for k in self.epochs[0] if k not in OWN_KEYS and not k.startswith("val_")]

    def _title(self) -> str:
        ending = (
            ", stopped early" if self.stopped_early else ", interrupted" if self.interrupted else ""
        )
        return f"Training history: {len(self.epochs)} epochs{ending}"

    def _summary_items(self) -> list[tuple[str, str]]:
        """(key, text) of the last epoch's values, for repr and the notebook table."""
        last = self.epochs[-1]
        return [(k, number(k, v)) for k, v in last.items() if k not in ("epoch", "time")]

    def __repr__(self) -> str:
        parts = [f"{len(self.epochs)} epochs"]
        if self.restored_epoch is not None:
            parts.append(f"restored epoch {self.restored_epoch}")
        if self.stopped_early:
            parts.append("stopped early")
        if self.interrupted:
            parts.append("interrupted")
        if self.epochs:
            parts.append("last: " + ", ".join(f"{k}={text}" for k, text in self._summary_items()))
        return f"History({'; '.join(parts)})"

    def _repr_html_(self) -> str:
        """A table of the epochs, for Jupyter; the restored epoch in bold."""
        import html

        if not self.epochs:
            return f"<p>{html.escape(repr(self))}</p>"
        keys = list(dict.fromkeys(k for record in self.epochs for k in record))
        head = "".join(f"<th>{html.escape(k)}</th>" for k in keys)
        rows = []
        for record in self.epochs:
            cells = "".join(
                "<td>{}</td>".format(
                    ""
                    if record.get(k) is None
                    else html.escape(str(record[k]) if k == "epoch" else number(k, record[k]))
                )
                for k in keys
            )
            bold = ' style="font-weight:bold"' if record["epoch"] == self.restored_epoch else ""
            rows.append(f"<tr{bold}>{cells}</tr>")
        return (
            f"<p>{html.escape(self._title())}</p><table><thead><tr>{head}</tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
        )
