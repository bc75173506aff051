"""The ``forgegrad`` command: ``train`` an MLP or a CNN on a built-in data set or on the
user's own table, ``bench`` the build, ``info`` about it.

    forgegrad train                        # digits, defaults that reach >= 97% test accuracy
    forgegrad train --hidden 256,256 --optimizer sgd --lr 0.05 --epochs 40 --plot curves.png
    forgegrad train --model cnn --plot-filters filters.png --plot-features features.png
    forgegrad train --task charlm --save charlm.safetensors   # a character-level GPT
    forgegrad generate charlm.safetensors --prompt "def " --tokens 400 --top-k 40
    forgegrad train --data houses.csv --target price --save model.safetensors
    forgegrad bench
    forgegrad info
    mpiexec -n 4 forgegrad train           # data-parallel over 4 processes (forgegrad[distributed])

Ctrl-C during training stops it, saves what --save asked for, and exits with status 130.
"""

import argparse
import dataclasses
import json
import os
import pathlib
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import numpy as np

from . import _C, benchmark, datasets, nn, optim, viz
from .distributed import process_group as _process_group
from .info import info
from .data import TensorDataset
from .serialization import save
from .tabular import TASKS, load_table
from .charlm import task as charlm_task
from .training import EarlyStopping, evaluate, fit, predict
from .models import ACTIVATIONS, build_cnn, build_mlp

DATASETS: dict[str, Callable[..., Any]] = {
    "digits": datasets.digits,
    "spirals": datasets.spirals,
    "synthetic": datasets.synthetic,
}
SCHEDULERS = ("none", "cosine", "step", "exponential", "plateau")
# The data sets a CNN can read: their features as (channels, height, width) images.
IMAGE_SHAPES = {"digits": (1, 8, 8), "synthetic": (1, 28, 28)}


def as_images(split, image_shape):
    """A split of flat features as a TensorDataset of (N, *image_shape) images."""
    features, labels = split.arrays
    return TensorDataset(features.reshape(-1, *image_shape), labels)


def build_optimizer(
    name: str, params: Any, lr: float, weight_decay: float, momentum: float
) -> optim.Optimizer:
    """The optimizer ``--optimizer`` names: ``"sgd"`` (with momentum), ``"adam"``, or
    AdamW for any other name.
    """
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=weight_decay)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=weight_decay)
    return optim.AdamW(params, lr=lr, weight_decay=weight_decay)


def build_scheduler(name: str, optimizer: optim.Optimizer, epochs: int) -> Any:
    """The learning-rate schedule ``--scheduler`` names over ``epochs`` epochs
    (``"cosine"``, ``"step"``, ``"exponential"``, ``"plateau"``), or None for any other
    name.
    """
    schedulers = optim.lr_scheduler
    if name == "cosine":
        return schedulers.CosineAnnealingLR(optimizer, T_max=max(epochs, 1))
    if name == "step":
        return schedulers.StepLR(optimizer, step_size=max(epochs // 3, 1), gamma=0.1)
    if name == "exponential":
        return schedulers.ExponentialLR(optimizer, gamma=0.95)
    if name == "plateau":
        return schedulers.ReduceLROnPlateau(optimizer, factor=0.5, patience=3)
    return None


class _DefaultSizes(list):
    """The default of --hidden or --channels, told apart from sizes given on the command line
    (the other model's option given is a mistake worth a message)."""

    def __str__(self) -> str:
        return ",".join(map(str, self))


def _sizes(what):
    """An argparse type: comma-separated positive ints, `what` named in the error."""

    def parse(text):
        try:
            sizes = [int(s) for s in text.split(",") if s.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected comma-separated ints, got {text!r}")
        if any(s <= 0 for s in sizes):
            raise argparse.ArgumentTypeError(f"{what} must be positive, got {text!r}")
        return sizes

    return parse


def _probability(text):
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a value in [0, 1), got {text}")
    return value


def _positive_int(text):
    value = int(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive int, got {text}")
    return value


def _non_negative_int(text):
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an int >= 0, got {text}")
    return value


def _device(requested):
    """The device to train on: auto is the GPU when one is usable, else the CPU; an explicit
    cuda without a usable GPU says why it cannot run."""
    usable = _C.cuda_device_count() > 0
    if requested == "cuda" and not usable:
        raise SystemExit(
            "forgegrad train: --device cuda: "
            + (
                "no CUDA device is usable (see `forgegrad info`)"
                if _C.cuda_compiled
                else "this build of forgegrad has no CUDA support"
            )
        )
    return "cuda" if requested == "cuda" or (requested == "auto" and usable) else "cpu"


def _check_output(option, path):
    """An output file's directory must exist before training starts, not after it."""
    directory = os.path.dirname(path) or "."
    if not os.path.isdir(directory):
        raise SystemExit(
            f"forgegrad train: {option} {path}: the directory {directory!r} does not exist"
        )
    if os.path.isdir(path):
        raise SystemExit(f"forgegrad train: {option} {path}: is a directory; give a file name")


def _check_model_options(args):
    """The options of the other model, or images the data set has not, are mistakes."""
    mine, other = ("--hidden", "--channels") if args.model == "mlp" else ("--channels", "--hidden")
    if not isinstance(getattr(args, other[2:]), _DefaultSizes):
        raise SystemExit(
            f"forgegrad train: {other} is for --model "
            f"{'cnn' if args.model == 'mlp' else 'mlp'}; the {args.model}'s "
            f"sizes are {mine}"
        )
    if args.model == "mlp":
        for option, path in (
            ("--plot-filters", args.plot_filters),
            ("--plot-features", args.plot_features),
        ):
            if path:
                raise SystemExit(
                    f"forgegrad train: {option} needs --model cnn (an MLP has no conv layers)"
                )
        return
    if args.dataset not in IMAGE_SHAPES:
        raise SystemExit(
            f"forgegrad train: --model cnn needs images; --dataset "
            f"{args.dataset} has none (use {' or '.join(sorted(IMAGE_SHAPES))})"
        )
    if not args.channels:
        raise SystemExit("forgegrad train: --channels: expected at least one conv block")
    side = min(IMAGE_SHAPES[args.dataset][1:])
    if side >> len(args.channels) == 0:
        raise SystemExit(
            f"forgegrad train: --channels {','.join(map(str, args.channels))}: "
            f"each block halves the {side}x{side} images, so at most "
            f"{side.bit_length() - 1} blocks fit"
        )


def _build_model(args, data):
    if args.model == "mlp":
        return build_mlp(
            data.num_features, args.hidden, data.num_classes, args.activation, args.dropout
        )
    return build_cnn(
        IMAGE_SHAPES[args.dataset], args.channels, data.num_classes, args.activation, args.dropout
    )


def _plot_cnn(args, model, test) -> None:
    """The first conv layer's kernels and the conv blocks' maps of the first test image."""
    try:
        if args.plot_filters:
            viz.filters(model[0][0], args.plot_filters)
            print(f"saved the first conv layer's filters to {args.plot_filters}")
        if args.plot_features:
            image, label = test.arrays[0][0], test.arrays[1][0]
            viz.feature_maps(model, image, args.plot_features)
            print(
                f"saved the conv blocks' feature maps of the first test image (a {label}) "
                f"to {args.plot_features}"
            )
    except ImportError as error:
        print(f"forgegrad train: no plot: {error}", file=sys.stderr)


def _start_distributed() -> None:
    """Under mpiexec with 2 processes or more: join the process group, so that fit trains
    data-parallel."""
    if _process_group.launched_size() >= 2:
        _process_group.init_process_group()


def _start_run(args, device):
    """What train and train_table do first: check the options and output paths, join the
    process group under mpiexec, seed; returns the device this process trains on."""
    _check_model_options(args)
    _check_outputs(args)
    _start_distributed()
    if device == "cuda" and _process_group.gpu_index() is not None:
        device = f"cuda:{_process_group.gpu_index()}"  # one GPU per rank
    _C.manual_seed(args.seed)
    return device


def _say(*args, **kwargs) -> None:
    """print, on rank 0 only when training is distributed (rank 0 speaks for all)."""
    if _process_group.rank_zero_only():
        print(*args, **kwargs)


def _check_outputs(args) -> None:
    for option, path in (
        ("--save", args.save),
        ("--plot", args.plot),
        ("--plot-filters", args.plot_filters),
        ("--plot-features", args.plot_features),
    ):
        if path:
            _check_output(option, path)


def _train_model(args, model, loss_fn, train_data, val_data):
    """fit with the command's optimizer, schedule, early stopping and progress options;
    returns the History and the seconds training took."""
    optimizer = build_optimizer(
        args.optimizer, model.parameters(), args.lr, args.weight_decay, args.momentum
    )
    scheduler = build_scheduler(args.scheduler, optimizer, args.epochs)
    callbacks = [EarlyStopping(patience=args.early_stopping)] if args.early_stopping else []
    start = time.perf_counter()
    history = fit(
        model,
        loss_fn,
        optimizer,
        train_data,
        val_data,
        epochs=args.epochs,
        batch_size=args.batch_size,
        scheduler=scheduler,
        callbacks=callbacks,
        progress=not args.no_progress,
        seed=args.seed,
        verbose=0 if args.no_progress else 1,
    )  # --no-progress: silent
    elapsed = time.perf_counter() - start
    if history.stopped_early:
        _say(
            f"early stopping after epoch {history.epochs[-1]['epoch']}; restored epoch "
            f"{callbacks[0].best_epoch}"
        )
    if history.epochs:
        last = history.epochs[-1]
        shown = ", ".join(
            f"{key} {last[key]:.1%}" if "accuracy" in key else f"{key} {last[key]:.4f}"
            for key in ("loss", "accuracy", "val_loss", "val_accuracy")
            if key in last
        )
        _say(
            f"trained {len(history)} epochs in {elapsed:.1f} s "
            f"({sum(h['samples_per_s'] for h in history.epochs) / len(history):.0f} "
            f"samples/s); last epoch: {shown}"
        )
    return history


def _save_model(args, model) -> None:
    if args.save and _process_group.rank_zero_only():
        save(model.state_dict(), args.save)
        _say(f"saved the model's state dict to {args.save}")


def _interrupted(args, model, history) -> int:
    """Ctrl-C ended training: keep what was asked for and exit as an interrupted program
    does (128 + SIGINT)."""
    _say(f"interrupted after {len(history)} complete epochs")
    _save_model(args, model)
    return 130


def _plot_history(args, history) -> None:
    if args.plot and history.epochs:
        try:
            history.plot(args.plot)
            _say(f"saved the training curves to {args.plot}")
        except ImportError as error:
            _say(f"forgegrad train: no plot: {error}", file=sys.stderr)


def train(args: argparse.Namespace) -> int:
    """``forgegrad train``: train the task, model and data ``args`` name; the exit status."""
    device = _device(args.device)
    if args.task == "charlm":
        return charlm_task.train(args, device, vars(parser().parse_args(["train"])))
    if args.data:
        return train_table(args, device)
    device = _start_run(args, device)
    try:
        data = DATASETS[args.dataset](seed=args.seed)
    except ImportError as error:
        raise SystemExit(f"forgegrad train: {error}")
    if args.model == "cnn":
        shape = IMAGE_SHAPES[args.dataset]
        data = dataclasses.replace(
            data,
            train=as_images(data.train, shape),
            val=as_images(data.val, shape),
            test=as_images(data.test, shape),
        )
    model = _build_model(args, data).to(device)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=args.label_smoothing)
    ranks = _process_group.get_world_size() if _process_group.is_initialized() else 1
    _say(
        f"{data.name}: {len(data.train)} train, {len(data.val)} validation, "
        f"{len(data.test)} test samples, {data.num_features} features, "
        f"{data.num_classes} classes; training on {device}"
        + (f", {ranks} processes of batch {args.batch_size}" if ranks > 1 else "")
    )
    _say(model)
    history = _train_model(args, model, loss_fn, data.train, data.val)
    if history.interrupted:
        return _interrupted(args, model, history)
    _save_model(args, model)
    if not _process_group.rank_zero_only():  # the plots and the test are rank 0's to show
        _process_group.destroy_process_group()
        return 0
    _plot_history(args, history)
    if args.model == "cnn":
        _plot_cnn(args, model, data.test)
    test = evaluate(model, loss_fn, data.test)
    _say(f"test accuracy: {test['accuracy'] * 100:.1f}%")
    if _process_group.is_initialized():
        _process_group.destroy_process_group()
    return 0


def train_table(args, device):
    """``forgegrad train --data FILE``: an MLP on the user's table, a classifier or a
    regressor as the target says, on standardized features."""
    if args.model != "mlp":
        raise SystemExit(
            "forgegrad train: --data reads a table of features; --model cnn "
            "needs images (--dataset digits or synthetic)"
        )
    if args.dataset != "digits":
        raise SystemExit("forgegrad train: --data and --dataset are alternatives; give one")
    device = _start_run(args, device)
    table = load_table(args.data, args.target, args.problem)
    for note in table.notes:
        print(note)
    train_set, val_set, test_set = table.split(args.seed)
    classify = table.task == "classification"
    num_features = table.features.shape[1]
    model = build_mlp(
        num_features,
        args.hidden,
        table.num_classes if classify else 1,
        args.activation,
        args.dropout,
    ).to(device)
    loss_fn = (
        nn.CrossEntropyLoss(label_smoothing=args.label_smoothing) if classify else nn.MSELoss()
    )
    print(
        f"{args.data}: {len(train_set)} train, {len(val_set)} validation, {len(test_set)} "
        f"test rows, {num_features} features standardized with the training rows' mean "
        f"and std{'' if classify else ', the target too'}; training on {device}"
    )
    print(model)
    history = _train_model(args, model, loss_fn, train_set, val_set)
    if history.interrupted:
        return _interrupted(args, model, history)
    _save_model(args, model)
    _plot_history(args, history)
    if classify:
        test = evaluate(model, loss_fn, test_set)
        print(f"test accuracy: {test['accuracy'] * 100:.1f}%")
        return 0
    mean, std = table.target_scale
    predicted = predict(model, test_set).numpy()[:, 0] * std + mean
    actual = test_set.arrays[1][:, 0] * std + mean
    error = predicted - actual
    r2 = 1 - float((error**2).sum()) / max(float(((actual - actual.mean()) ** 2).sum()), 1e-30)
    print(
        f"test {table.target_name}: MAE {np.abs(error).mean():.4g}, RMSE "
        f"{np.sqrt((error**2).mean()):.4g}, R^2 {r2:.3f}"
    )
    return 0


def bench(args: argparse.Namespace) -> int:
    """``forgegrad bench``: time the built-in cases (or run bench/ scripts); the exit status."""
    if args.scripts:
        return _bench_scripts(args)
    results = benchmark.run(repeat=args.repeat, min_time=args.min_time)
    if args.json:
        pathlib.Path(args.json).write_text(json.dumps(results, indent=2))
        print(f"wrote the tables to {args.json}")
    return 0


def _bench_scripts(args):
    """Run the checkout's bench/*.py scripts (the full suite) one after another."""
    here = [pathlib.Path.cwd() / "bench", pathlib.Path(__file__).resolve().parents[2] / "bench"]
    folder = next((d for d in here if (d / "timing.py").is_file()), None)
    if folder is None:
        raise SystemExit(
            "forgegrad bench --scripts: no bench/ folder here; run it from a "
            "checkout of forgegrad's repository (plain `forgegrad bench` runs "
            "anywhere)"
        )
    failed = []
    for script in sorted(folder.glob("*.py")):
        if script.name in ("timing.py", "gemm_tiles.py"):  # helpers; GPU tile sweep
            continue
        print(f"== {script.name}", flush=True)
        done = subprocess.run(
            [sys.executable, str(script), "--repeat", str(args.repeat)], cwd=folder
        )
        if done.returncode:
            failed.append(script.name)
    if failed:
        print(f"forgegrad bench: {', '.join(failed)} failed", file=sys.stderr)
    return 1 if failed else 0


def show_info(args: argparse.Namespace) -> int:
    """``forgegrad info``: print the build, the devices and the CPU's features; 0."""
    details = info()
    width = max(len(k) for k in details)
    for key, value in details.items():
        if isinstance(value, (list, tuple)):
            value = " ".join(map(str, value)) or "-"
        print(f"{key:<{width}}  {value}")
    return 0


EXAMPLES = """examples:
  forgegrad train                                  digits, reaches 97% test accuracy
  forgegrad train --model cnn --epochs 10          a small CNN on the digit images
  forgegrad train --data table.csv --target price  your own table (or an .npz of x and y)
  forgegrad bench                                  quick speed ratios against numpy, PyTorch
  forgegrad info                                   version, build, CPU features, GPUs
  forgegrad COMMAND --help                         a command's options
"""


class _HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows an option's default where it has one (not "(default: None)" on every flag)."""

    def _get_help_string(self, action):
        if action.default in (None, False, argparse.SUPPRESS):
            return action.help
        return super()._get_help_string(action)


def parser() -> argparse.ArgumentParser:
    """The ``forgegrad`` command line's argument parser, one subcommand per command."""
    top = argparse.ArgumentParser(
        prog="forgegrad",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="forgegrad: train neural networks with its own C++ and CUDA kernels, "
        "benchmark them, and describe the build.",
    )
    top.add_argument("--version", action="version", version=f"forgegrad {_C.__version__}")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = commands.add_parser(
        "train",
        help="train an MLP or a CNN on a data set or your own "
        "table and report the test score, or a character-level GPT "
        "(--task charlm)",
        formatter_class=_HelpFormatter,
    )
    t.add_argument(
        "--dataset",
        choices=sorted(DATASETS),
        default="digits",
        help="digits: scikit-learn's 8x8 images; spirals: 2-D; synthetic: MNIST-shaped",
    )
    t.add_argument(
        "--model",
        choices=("mlp", "cnn"),
        default="mlp",
        help="mlp: Linear layers on the flat features; cnn: conv-BatchNorm-"
        "activation-maxpool blocks on the images (digits, synthetic as 28x28)",
    )
    t.add_argument(
        "--hidden",
        type=_sizes("hidden sizes"),
        default=_DefaultSizes([256, 256]),
        help="mlp: hidden layer sizes, comma-separated",
    )
    t.add_argument(
        "--channels",
        type=_sizes("channel counts"),
        default=_DefaultSizes([32, 64]),
        help="cnn: the conv blocks' output channels, comma-separated; each block halves the image",
    )
    t.add_argument(
        "--activation",
        choices=sorted(ACTIVATIONS),
        default="relu",
        help="after each hidden layer or conv block's BatchNorm",
    )
    t.add_argument(
        "--dropout",
        type=_probability,
        default=0.2,
        help="probability, after each hidden activation (mlp) or before the "
        "classifier (cnn) (0: none)",
    )
    t.add_argument(
        "--optimizer",
        choices=("sgd", "adam", "adamw"),
        default="adam",
        help="torch.optim's formulas, fused C++ updates",
    )
    t.add_argument("--lr", type=float, default=2e-3, help="learning rate")
    t.add_argument("--momentum", type=float, default=0.9, help="SGD only")
    t.add_argument(
        "--weight-decay", type=float, default=0.0, help="L2 for sgd and adam, decoupled for adamw"
    )
    t.add_argument("--label-smoothing", type=float, default=0.1, help="of the cross-entropy loss")
    t.add_argument(
        "--batch-size",
        type=_positive_int,
        default=32,
        help="training batch size (per process under mpiexec)",
    )
    t.add_argument("--epochs", type=_positive_int, default=30, help="passes over the data")
    t.add_argument(
        "--scheduler",
        choices=SCHEDULERS,
        default="cosine",
        help="learning-rate schedule, stepped once per epoch",
    )
    t.add_argument(
        "--early-stopping",
        type=_non_negative_int,
        default=0,
        metavar="PATIENCE",
        help="stop after PATIENCE epochs without a better val_loss and restore "
        "the best weights (0: off)",
    )
    t.add_argument(
        "--seed",
        type=int,
        default=0,
        help="for the split, the initial weights, dropout and shuffles",
    )
    t.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto: the GPU when one is usable, else the CPU",
    )
    t.add_argument("--save", metavar="PATH", help="save the trained model (safetensors)")
    t.add_argument("--plot", metavar="PATH", help="plot train/validation curves (PNG)")
    t.add_argument(
        "--plot-filters",
        metavar="PATH",
        help="cnn: draw the first conv layer's learned kernels (PNG)",
    )
    t.add_argument(
        "--plot-features",
        metavar="PATH",
        help="cnn: draw each conv block's output for the first test image (PNG)",
    )
    t.add_argument("--no-progress", action="store_true", help="no progress bars")
    own = t.add_argument_group("your own data (instead of --dataset)")
    own.add_argument(
        "--data",
        metavar="FILE",
        help=".npz (arrays x and y, or name the target with --target) or .csv "
        "with a header row; features are standardized, text columns "
        "one-hot encoded",
    )
    own.add_argument(
        "--target",
        metavar="NAME",
        help="the target's column (csv; default: the last) or array (npz)",
    )
    own.add_argument(
        "--problem",
        choices=TASKS,
        default="auto",
        help="auto: classification when the target is text or at most 20 "
        "whole numbers, regression otherwise",
    )
    charlm_task.add_train_options(t)
    charlm_task.add_generate_command(commands, _device)
    t.set_defaults(run=train)

    b = commands.add_parser(
        "bench",
        help="quick speed ratios against numpy and PyTorch",
        formatter_class=_HelpFormatter,
        description="Time a few GEMMs, elementwise ops, an MLP training "
        "step and a conv layer against numpy and PyTorch "
        "(when installed), and print the ratios.",
    )
    b.add_argument(
        "--repeat", type=_positive_int, default=3, help="timing rounds; the best one counts"
    )
    b.add_argument(
        "--min-time", type=float, default=0.05, help="seconds each timing lasts at least"
    )
    b.add_argument("--json", metavar="PATH", help="also write the tables as JSON")
    b.add_argument(
        "--scripts",
        action="store_true",
        help="run the full suite instead: the bench/*.py scripts of a source "
        "checkout (from its root)",
    )
    b.set_defaults(run=bench)

    i = commands.add_parser("info", help="version, build, CPU features, threads, CUDA devices")
    i.set_defaults(run=show_info)
    return top


def main(argv: list[str] | None = None) -> int:
    """Run the ``forgegrad`` command ``argv`` (sys.argv[1:] when None) names.

    Returns:
        The exit status: 0 on success, 1 after an error (printed as ``forgegrad
        COMMAND: message``), 130 when interrupted.
    """
    args = parser().parse_args(argv)
    try:
        return args.run(args)
    except KeyboardInterrupt:  # outside training (fit ends itself cleanly on Ctrl-C)
        print(f"forgegrad {args.command}: interrupted", file=sys.stderr)
        return 130
    except (ValueError, TypeError, RuntimeError, OSError, MemoryError) as error:
        print(f"forgegrad {args.command}: {error}", file=sys.stderr)
        if _process_group.is_initialized() and _process_group.get_world_size() > 1:
            _process_group.abort_job()  # the other ranks would wait for this one for ever
        return 1


if __name__ == "__main__":
    sys.exit(main())
