"""How each config field is shown as a control: the UI half of the config's field table.

The engine's field table (engine/config.py) owns help texts, bounds and choices; this table
adds only what a widget needs beyond them: its label, its kind, and for numbers that span
orders of magnitude a ladder of values (a learning rate slider from 1e-5 to 10 moves in 1-3
steps, as TensorFlow Playground's does). A field without an entry gets a widget derived from
its type, bounds and choices (ui/controls.py: a select box, a multiselect, a toggle or a number
box), so a new knob of those kinds needs no edit here or there: a page shows it once one of its
control groups lists its path. A list of numbers (widths, a pair) needs an entry here.
"""

from __future__ import annotations

from dataclasses import dataclass

from engine.config import FEATURES


@dataclass(frozen=True)
class WidgetSpec:
    """kind: select | multiselect | ladder | slider | int | number | toggle | widths | pair."""

    kind: str
    label: str
    ladder: tuple[float, ...] = ()  # kind "ladder": the values offered, ascending
    step: float | None = None  # kind "slider": step between values
    lo: float | None = None  # overrides the field's own bounds for the widget's range
    hi: float | None = None
    labels: tuple[str, ...] = ()  # kind "pair": one label per value


def _decades(lo_exp: int, hi_exp: int, mults: tuple[float, ...] = (1, 3)) -> tuple[float, ...]:
    """1e-5, 3e-5, 1e-4, ... up to 10**hi_exp."""
    vals = [round(m * 10.0**e, 12) for e in range(lo_exp, hi_exp + 1) for m in mults]
    return tuple(v for v in vals if v <= 10.0**hi_exp)


LR_LADDER = _decades(-5, 1)
RATE_LADDER = (0.0, *_decades(-5, 0))  # L1, L2 and weight decay: 0 = off
STD_LADDER = _decades(-3, 1)
EPS_LADDER = (1e-10, 1e-8, 1e-6, 1e-4, 1e-2, 0.1, 1.0)
BATCH_LADDER = (1.0, 2.0, 4.0, 8.0, 10.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0)
CLIP_LADDER = (0.0, 0.1, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0)
SAMPLES_LADDER = (50.0, 100.0, 200.0, 300.0, 500.0, 1000.0, 2000.0, 5000.0)

# What a multiselect shows for each option (ui/controls.py): the toy features' formulas, and
# the MNIST digits of data.classes and train.pretrain_classes as text (an option's label must be
# a string; an int is refused by the widget).
FEATURE_LABELS: dict[str, str] = dict(
    zip(FEATURES, ("x₁", "x₂", "x₁²", "x₂²", "x₁·x₂", "sin(x₁)", "sin(x₂)"), strict=True)
)

SPECS: dict[str, WidgetSpec] = {
    "seed": WidgetSpec("int", "Seed"),
    "device": WidgetSpec("select", "Device"),
    "data.dataset": WidgetSpec("select", "Dataset"),
    "data.n_samples": WidgetSpec("ladder", "Number of points", SAMPLES_LADDER),
    "data.noise": WidgetSpec("slider", "Noise", step=0.05),
    "data.train_fraction": WidgetSpec("slider", "Ratio of training to test data", step=0.05),
    "data.features": WidgetSpec("multiselect", "Input features"),
    "data.input_dim": WidgetSpec("int", "Input dimensions"),
    "data.train_subset": WidgetSpec("int", "Training images used (0 = all)"),
    "data.val_fraction": WidgetSpec("slider", "Validation fraction", step=0.05, lo=0.05),
    "data.normalize": WidgetSpec("select", "Input scaling"),
    "data.classes": WidgetSpec("multiselect", "Digits to learn"),
    "model.arch": WidgetSpec("select", "Architecture"),
    "model.hidden": WidgetSpec("widths", "Neurons per hidden layer"),
    "model.activation": WidgetSpec("select", "Activation"),
    "model.init": WidgetSpec("select", "Weight initialization"),
    "model.init_std": WidgetSpec("ladder", "Initial weight std", STD_LADDER),
    "model.norm": WidgetSpec("select", "Normalization"),
    "model.norm_position": WidgetSpec("select", "Normalize"),
    "model.norm_groups": WidgetSpec("int", "Groups"),
    "model.dropout": WidgetSpec("select", "Dropout"),
    "model.dropout_rate": WidgetSpec("slider", "Drop probability", step=0.05, hi=0.9),
    "model.block_size": WidgetSpec("int", "Block size", hi=7),
    "model.cutout_size": WidgetSpec("int", "Cutout size", hi=20),
    "model.maxout_pieces": WidgetSpec("int", "Maxout pieces"),
    "model.bias": WidgetSpec("toggle", "Bias terms"),
    "model.residual": WidgetSpec("toggle", "Residual connections"),
    "model.kernel_size": WidgetSpec("ladder", "Kernel size", (1.0, 3.0, 5.0, 7.0)),
    "model.pool": WidgetSpec("select", "Pooling"),
    "model.head": WidgetSpec("select", "Head"),
    "train.optimizer": WidgetSpec("select", "Optimizer"),
    "train.lr": WidgetSpec("ladder", "Learning rate", LR_LADDER),
    "train.momentum": WidgetSpec("slider", "Momentum", step=0.01, hi=0.99),
    "train.betas": WidgetSpec("pair", "Betas", labels=("β₁", "β₂")),
    "train.eps": WidgetSpec("ladder", "Epsilon", EPS_LADDER),
    "train.rho": WidgetSpec("slider", "Rho (decay)", step=0.01, hi=0.99),
    "train.weight_decay": WidgetSpec("ladder", "Weight decay", RATE_LADDER),
    "train.l1": WidgetSpec("ladder", "L1 rate", RATE_LADDER),
    "train.l2": WidgetSpec("ladder", "L2 rate", RATE_LADDER),
    "train.batch_size": WidgetSpec("ladder", "Batch size", BATCH_LADDER),
    "train.epochs": WidgetSpec("int", "Epochs"),
    "train.steps": WidgetSpec("int", "Steps (0 = use epochs)"),
    "train.schedule": WidgetSpec("select", "Learning-rate schedule"),
    "train.decay_steps": WidgetSpec("int", "Decay steps"),
    "train.decay_rate": WidgetSpec("number", "Decay rate"),
    "train.power": WidgetSpec("number", "Power"),
    "train.lr_end": WidgetSpec("ladder", "Final learning rate", (0.0, *LR_LADDER)),
    "train.warmup_steps": WidgetSpec("int", "Warmup steps"),
    "train.grad_clip": WidgetSpec("ladder", "Gradient clipping (norm, 0 = off)", CLIP_LADDER),
    "train.max_norm": WidgetSpec("ladder", "Max-norm constraint (0 = off)", CLIP_LADDER),
    "train.early_stopping_patience": WidgetSpec("int", "Early stopping patience (0 = off)"),
    "train.loss": WidgetSpec("select", "Loss"),
    "train.eval_every": WidgetSpec("int", "Evaluate every N steps (0 = each epoch)"),
    "train.augment_shift": WidgetSpec("slider", "Random shift (pixels)", step=0.5),
    "train.augment_rotation": WidgetSpec("slider", "Random rotation (degrees)", step=1.0),
    "train.augment_scale": WidgetSpec("slider", "Random zoom (± fraction)", step=0.05),
    "train.augment_elastic": WidgetSpec("slider", "Elastic warp (pixels)", step=0.25),
    "train.pretrain_epochs": WidgetSpec("int", "Pre-training epochs (0 = none)", hi=20),
    "train.pretrain_classes": WidgetSpec("multiselect", "Digits to pre-train on"),
    "train.pretrain_new_head": WidgetSpec("toggle", "New output layer after pre-training"),
    "train.freeze": WidgetSpec("int", "Frozen hidden layers (0 = none)"),
    "train.bptt": WidgetSpec("int", "Truncated BPTT: steps back (0 = all)"),
    "data.seq_len": WidgetSpec("int", "Sequence length (steps)"),
    "model.recurrent_init": WidgetSpec("select", "Recurrent weights start as"),
    "model.forget_bias": WidgetSpec("number", "LSTM forget-gate bias"),
    "train.body_lr_scale": WidgetSpec(
        "ladder", "Hidden layers' learning rate (x lr)", (0.01, 0.03, 0.1, 0.3, 1.0)
    ),
}


def field_label(path: str) -> str:
    """What a person calls a setting ("Learning rate" for train.lr); the path if unlisted.
    Search knobs of a widths field ("model.hidden.depth") get the part in brackets."""
    if path in SPECS:
        return SPECS[path].label
    base, _, part = path.rpartition(".")
    if base in SPECS and part in ("depth", "width"):
        return f"{SPECS[base].label} ({'number of layers' if part == 'depth' else 'width'})"
    return path


def ladder_options(ladder: tuple[float, ...], current: float) -> list[float]:
    """The ladder plus the current value if it is not on it (e.g. lr=0.005 from a link)."""
    values = set(ladder) | {float(current)}
    return sorted(values)


def format_number(x: float) -> str:
    """Short text for a ladder value: 0.003, 1e-05, 10."""
    if x == 0:
        return "0"
    if abs(x) >= 1e-3:
        return f"{x:g}"
    return f"{x:.0e}"
