"""What ``fit`` shows while it trains: a progress bar per epoch (tqdm; without a total when
the data's length is unknown) and a summary line per epoch that fits 80 columns."""

from .. import metrics as _library


def progress_bar(batches, epoch, epochs, enabled):
    """A bar over an epoch of `batches` batches (None: unknown), or None when not shown."""
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(
        total=batches, desc=f"epoch {epoch}/{epochs}", unit="batch", dynamic_ncols=True, leave=True
    )


def number(key, value):
    """A logged value as the progress bar and summary show it, in a fixed format."""
    if _library.is_fraction(key):
        return f"{value:.2%}"
    if key == "samples_per_s":
        return f"{value:.0f}"
    if value != 0 and not 1e-3 <= abs(value) < 1e5:
        return f"{value:.3e}"
    return f"{value:.4f}"


def postfix(logs):
    """The bar's postfix: short names, fixed precision."""
    return {
        _library.short_name(key): number(key, value)
        for key, value in logs.items()
        if key not in ("epoch", "time", "lr")
    }


_WIDTH = 80  # the summary wraps to fit a terminal of this many columns


def summary(logs, epochs, show_lr):
    """The line(s) printed after an epoch, each at most 80 columns: the epoch, each logged
    value by its short name (validation next to training), the lr if a scheduler moves it,
    and the time; wrapped, indented, where one line would not hold them."""
    items = [f"epoch {logs['epoch']}/{epochs}"]
    items += [
        f"{_library.short_name(k)} {number(k, v)}"
        for k, v in logs.items()
        if k not in ("epoch", "lr", "time", "samples_per_s")
    ]
    if show_lr:
        items.append(f"lr {logs['lr']:.3g}")
    items.append(f"{logs['time']:.1f}s")
    lines, line = [], ""
    for item in items:
        item = item[: _WIDTH - 2]
        if line and len(line) + 3 + len(item) > _WIDTH:
            lines.append(line)
            line = "  " + item
        else:
            line = f"{line} - {item}" if line else item
    return "\n".join(lines + [line])
