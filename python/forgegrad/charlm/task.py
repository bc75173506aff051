"""The second main job: ``forgegrad train --task charlm`` trains the character-level GPT on the
standard library's source and ``forgegrad generate`` samples from a saved one. The library
functions behind them (train_charlm, estimate_loss, save_model, load_model) serve scripts
and tests as well.

    forgegrad train --task charlm --save charlm.safetensors
    forgegrad generate charlm.safetensors --prompt "def " --tokens 400 --temperature 0.8 --top-k 40

Training: AdamW, the learning rate rising linearly over the warm-up steps and then falling
along a cosine to a tenth of itself, gradients clipped to norm 1, batches of random windows
of the training text. Losses are cross-entropies in nats per character. A checkpoint is one
safetensors file: the state dict under "model.", and the configuration and the vocabulary in
its JSON metadata, so that generate rebuilds the model from the file alone."""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal
import argparse
import dataclasses
import math
import os
import sys
import time

import numpy as np

from .. import _C, _errors, nn, optim
from ..autograd import no_grad
from ..nn import functional as F
from ..random import Generator
from ..serialization import load, save
from .corpus import Corpus, Vocabulary, load_corpus
from .model import GPT, GPTConfig

__all__ = ["train_charlm", "estimate_loss", "save_model", "load_model", "cosine_with_warmup"]

CHECKPOINT_FORMAT = "forgegrad-charlm/1"
# The classifier options of `forgegrad train`; one given with --task charlm is a mistake.
CLASSIFIER_OPTIONS = (
    "dataset",
    "model",
    "hidden",
    "channels",
    "activation",
    "dropout",
    "optimizer",
    "momentum",
    "label_smoothing",
    "epochs",
    "scheduler",
    "early_stopping",
    "plot",
    "plot_filters",
    "plot_features",
)


def cosine_with_warmup(steps, warmup, floor: float = 0.1):
    """The lr factor of step s (0-based): (s + 1) / warmup during the warm-up, then a cosine
    from 1 down to `floor` at the last step."""

    def factor(step):
        if step < warmup:
            return (step + 1) / warmup
        progress = (step - warmup) / max(steps - 1 - warmup, 1)
        return floor + (1.0 - floor) * 0.5 * (1.0 + math.cos(math.pi * min(progress, 1.0)))

    return factor


def _as_tensor(array, device):
    return _C.from_numpy(np.ascontiguousarray(array)).to(device)


def _loss(model, inputs, targets):
    logits = model(inputs)
    return F.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1))


def estimate_loss(
    model: GPT,
    corpus: Corpus,
    split: Literal["train", "val"],
    batches: int,
    batch_size: int,
    context: int,
    seed: int = 0,
) -> float:
    """Mean cross-entropy (nats per character) of `model` over `batches` batches of `split`
    drawn from `seed`, so every call sees the same windows; eval mode without gradients,
    the model's mode restored afterwards."""
    device = next(model.parameters()).device
    rng = np.random.default_rng(seed)
    was_training = model.training
    model.eval()
    total = 0.0
    try:
        with no_grad():
            for _ in range(batches):
                x, y = corpus.batch(split, batch_size, context, rng)
                total += _loss(model, _as_tensor(x, device), _as_tensor(y, device)).item()
    finally:
        model.train(was_training)
    return total / batches


@dataclasses.dataclass
class Evaluation:
    """One line of the training log."""

    step: int
    train_loss: float  # mean of the training batches since the previous line
    val_loss: float
    seconds: float  # since training started


def train_charlm(
    model: GPT,
    corpus: Corpus,
    steps: int,
    *,
    batch_size: int = 32,
    lr: float = 2e-3,
    weight_decay: float = 0.0,
    warmup: int = 100,
    clip: float = 1.0,
    seed: int = 0,
    eval_interval: int | None = None,
    eval_batches: int = 8,
    report: Callable[[Evaluation], object] | None = None,
    progress: bool = False,
) -> list[Evaluation]:
    """Train `model` on corpus.train for `steps` AdamW steps (the learning rate of
    cosine_with_warmup, gradients clipped to norm `clip`), batches drawn from `seed`. Every
    `eval_interval` steps (default steps // 10) and after the last, it estimates the
    validation loss on `eval_batches` batches and calls report(Evaluation). progress: a
    tqdm bar on stderr. Returns the list of Evaluations."""
    if not isinstance(steps, int) or steps < 1:
        raise _errors.ValueError(f"[train_charlm] expected steps to be an int >= 1, got {steps!r}")
    context = model.config.context
    device = next(model.parameters()).device
    eval_interval = eval_interval or max(steps // 10, 1)
    optimizer = optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)
    schedule = optim.lr_scheduler.LambdaLR(optimizer, cosine_with_warmup(steps, min(warmup, steps)))
    rng = np.random.default_rng(seed)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=steps, desc="charlm", unit="step", dynamic_ncols=True, file=sys.stderr)
    log, since, losses = [], 0, []
    start = time.perf_counter()
    model.train()
    try:
        for step in range(1, steps + 1):
            x, y = corpus.batch("train", batch_size, context, rng)
            loss = _loss(model, _as_tensor(x, device), _as_tensor(y, device))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), clip)
            optimizer.step()
            schedule.step()
            losses.append(loss.item())
            if not math.isfinite(losses[-1]):
                raise RuntimeError(
                    f"[train_charlm] the training loss became {losses[-1]} at "
                    f"step {step}; lower the learning rate"
                )
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{losses[-1]:.3f}", refresh=False)
            if step % eval_interval == 0 or step == steps:
                val = estimate_loss(model, corpus, "val", eval_batches, batch_size, context)
                entry = Evaluation(
                    step, float(np.mean(losses[since:])), val, time.perf_counter() - start
                )
                since = len(losses)
                log.append(entry)
                if report is not None:
                    if bar is not None:
                        bar.clear()
                    report(entry)
                    if bar is not None:
                        bar.refresh()
    finally:
        if bar is not None:
            bar.close()
    return log


def save_model(model: GPT, vocabulary: Vocabulary, path: str | os.PathLike[str]) -> None:
    """Write `model` (a GPT) with its configuration and `vocabulary` to one safetensors file."""
    save(
        {
            "format": CHECKPOINT_FORMAT,
            "config": dataclasses.asdict(model.config),
            "vocabulary": vocabulary.chars,
            "model": model.state_dict(),
        },
        path,
    )


def load_model(path: str | os.PathLike[str], device: str = "cpu") -> tuple[GPT, Vocabulary]:
    """(GPT, Vocabulary) from a file save_model wrote, the model on `device` in eval mode."""
    saved = load(path)
    if not isinstance(saved, dict) or saved.get("format") != CHECKPOINT_FORMAT:
        raise _errors.ValueError(
            f"[load_model] {path} is not a character-level GPT saved by "
            f"forgegrad train --task charlm (expected the format "
            f"{CHECKPOINT_FORMAT!r} in its metadata)"
        )
    model = GPT(GPTConfig(**saved["config"]))
    model.load_state_dict(saved["model"])
    return model.to(device).eval(), Vocabulary(saved["vocabulary"])


def _sample(
    model, vocabulary, prompt, tokens, temperature, top_k, top_p, seed, device, use_cache=True
):
    """The `tokens` characters the model continues `prompt` with."""
    generator = Generator(device)
    if seed is None:
        generator.seed()
    else:
        generator.manual_seed(seed)
    ids = _as_tensor(vocabulary.encode(prompt).astype(np.int64)[None], device)
    out = model.generate(ids, tokens, temperature, top_k, top_p, generator, use_cache)
    return vocabulary.decode(out[0, ids.shape[1] :].cpu())


# ---------------------------------------------------------------------------- command line
def _temperature(text):
    value = float(text)
    if not 0.0 <= value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a finite temperature >= 0, got {text}")
    return value


def _fraction(text):
    value = float(text)
    if not 0.0 < value < 1.0:
        raise argparse.ArgumentTypeError(f"expected a value in (0, 1), got {text}")
    return value


def _top_p(text):
    value = float(text)
    if not 0.0 < value <= 1.0:
        raise argparse.ArgumentTypeError(f"expected a value in (0, 1], got {text}")
    return value


def add_train_options(parser) -> None:
    """`forgegrad train`'s --task and the charlm options."""
    from ..cli import _non_negative_int, _positive_int  # cli is loaded: it calls this

    group = parser.add_argument_group(
        "--task charlm",
        "a character-level GPT on the standard library's source; it also "
        "takes --lr, --batch-size, --weight-decay (AdamW's), --seed, --device, --save and "
        "--no-progress",
    )
    group.add_argument(
        "--task",
        choices=("classify", "charlm"),
        default="classify",
        help="classify: an MLP or CNN on --dataset; charlm: the GPT",
    )
    group.add_argument(
        "--corpus",
        metavar="DIR",
        default=None,
        help="train on the .py files under DIR (None: the running Python's standard library)",
    )
    group.add_argument(
        "--val-fraction",
        type=_fraction,
        default=0.05,
        help="about this share of the files is the validation text",
    )
    group.add_argument("--steps", type=_positive_int, default=600, help="training steps")
    group.add_argument("--layers", type=_positive_int, default=4, help="transformer blocks")
    group.add_argument("--heads", type=_positive_int, default=4, help="attention heads")
    group.add_argument(
        "--width", type=_positive_int, default=128, help="embedding width (a multiple of --heads)"
    )
    group.add_argument(
        "--context", type=_positive_int, default=128, help="characters the model sees"
    )
    group.add_argument(
        "--warmup",
        type=_non_negative_int,
        default=100,
        help="steps of linear learning-rate warm-up before the cosine decay",
    )
    group.add_argument(
        "--sample-tokens",
        type=_non_negative_int,
        default=400,
        help="characters generated after training (0: none)",
    )


def _check_options(args, defaults):
    given = [name for name in CLASSIFIER_OPTIONS if getattr(args, name) != defaults[name]]
    if given:
        options = ", ".join("--" + name.replace("_", "-") for name in given)
        raise SystemExit(
            f"forgegrad train: {options}: not an option of --task charlm (it "
            "takes --corpus, --val-fraction, --steps, --layers, --heads, --width, "
            "--context, --warmup, --sample-tokens, --lr, --batch-size, "
            "--weight-decay, --seed, --device, --save, --no-progress)"
        )
    if args.width % args.heads:
        raise SystemExit(
            f"forgegrad train: --width {args.width} is not a multiple of --heads {args.heads}"
        )


def train(args, device, defaults) -> int:
    """`forgegrad train --task charlm`; `defaults` holds the train command's default values."""
    _check_options(args, defaults)
    _C.manual_seed(args.seed)
    start = time.perf_counter()
    corpus = load_corpus(args.corpus, args.val_fraction)
    print(
        f"corpus: {len(corpus.train_files)} training files ({len(corpus.train):,} "
        f"characters), {len(corpus.val_files)} validation files ({len(corpus.val):,}), "
        f"{len(corpus.vocabulary)} distinct characters, from {corpus.root} "
        f"({time.perf_counter() - start:.1f} s)"
    )
    config = GPTConfig(len(corpus.vocabulary), args.context, args.layers, args.heads, args.width)
    model = GPT(config).to(device)
    parameters = sum(p.numel() for p in model.parameters())
    print(
        f"GPT: {config.layers} layers, {config.heads} heads, width {config.width}, context "
        f"{config.context}, {parameters:,} parameters; training on {device}, "
        f"{args.steps} steps of {args.batch_size} x {config.context} characters"
    )

    def report(entry) -> None:
        rate = entry.step * args.batch_size * config.context / entry.seconds
        print(
            f"step {entry.step:>{len(str(args.steps))}}/{args.steps}: train loss "
            f"{entry.train_loss:.4f}, val loss {entry.val_loss:.4f} nats/char "
            f"({entry.seconds / 60:.1f} min, {rate:,.0f} chars/s)",
            flush=True,
        )

    log = train_charlm(
        model,
        corpus,
        args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        weight_decay=args.weight_decay,
        warmup=args.warmup,
        seed=args.seed,
        report=report,
        progress=not args.no_progress,
    )
    val = estimate_loss(model, corpus, "val", 32, args.batch_size, config.context, seed=1)
    print(
        f"trained {args.steps} steps in {log[-1].seconds / 60:.1f} min; validation loss "
        f"{val:.4f} nats/char ({val / math.log(2):.3f} bits/char) over "
        f"{32 * args.batch_size * config.context:,} characters"
    )
    if args.save:
        save_model(model, corpus.vocabulary, args.save)
        print(f"saved the model, its configuration and vocabulary to {args.save}")
    if args.sample_tokens:
        text = _sample(
            model, corpus.vocabulary, "def ", args.sample_tokens, 0.8, 40, None, args.seed, device
        )
        print(f"sample (temperature 0.8, top-k 40):\ndef {text}")
    return 0


def add_generate_command(commands, device_choice) -> None:
    """The `forgegrad generate` subcommand; device_choice(requested) -> the device."""
    from ..cli import _HelpFormatter, _non_negative_int, _positive_int  # cli calls this

    g = commands.add_parser(
        "generate",
        help="continue a prompt with a GPT saved by forgegrad train --task charlm --save",
        formatter_class=_HelpFormatter,
    )
    g.add_argument("checkpoint", help="the model's .safetensors file")
    g.add_argument("--prompt", default="def ", help="the text to continue")
    g.add_argument("--tokens", type=_non_negative_int, default=400, help="characters to generate")
    g.add_argument(
        "--temperature",
        type=_temperature,
        default=0.8,
        help="divides the logits; 0: always the most likely character",
    )
    g.add_argument(
        "--top-k",
        type=_positive_int,
        default=None,
        help="draw from the k most likely characters only (None: from all)",
    )
    g.add_argument(
        "--top-p",
        type=_top_p,
        default=None,
        help="draw from the smallest set of likeliest characters holding this "
        "much probability (nucleus sampling; None: from all)",
    )
    g.add_argument(
        "--seed", type=int, default=None, help="for reproducible samples (None: a fresh one)"
    )
    g.add_argument(
        "--device",
        choices=("auto", "cpu", "cuda"),
        default="auto",
        help="auto: the GPU when one is usable, else the CPU",
    )
    g.add_argument(
        "--no-cache",
        action="store_true",
        help="run the whole context again for every character instead of keeping "
        "the keys and values (slower; the same characters)",
    )
    g.set_defaults(run=lambda args: generate(args, device_choice(args.device)))


def generate(args, device) -> int:
    """`forgegrad generate`: print the prompt and its continuation."""
    model, vocabulary = load_model(args.checkpoint, device)
    if not args.prompt:
        raise SystemExit("forgegrad generate: --prompt: expected at least one character")
    unknown = vocabulary.unknown_characters(args.prompt)
    if unknown:
        print(
            f"forgegrad generate: the characters {''.join(unknown)!r} of the prompt are not in "
            "the model's vocabulary; the model reads U+FFFD for them",
            file=sys.stderr,
        )
    print(
        args.prompt
        + _sample(
            model,
            vocabulary,
            args.prompt,
            args.tokens,
            args.temperature,
            args.top_k,
            args.top_p,
            args.seed,
            device,
            not args.no_cache,
        )
    )
    return 0
