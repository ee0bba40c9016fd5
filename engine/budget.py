"""How much memory a run may take, checked from its config before anything is allocated.

A visitor chooses the network's size (a link can carry `model.hidden` = 32 layers of 4096), the
batch size and, for the generated data sets, how many points of how many inputs. Without a
budget one link could make the server allocate gigabytes (a 32 x 4096 network on 4096-example
evaluation chunks) and slow or kill every other session. `check` estimates, arithmetically and
from the config alone, what a run will hold at its peak, and refuses with a ConfigError that
names the field to change and the limit:

- parameters (at most MAX_PARAMS), each kept about five times over: weights, gradients, two
  optimizer moments (Adam) and a copy (the landscape's centre, a checkpoint);
- a training step's activations: every hidden unit of every example in the batch is kept a few
  times for the backward pass (pre-activation, normalized, activated, dropout mask, gradient),
  and with data augmentation on, the batch's moved copy;
- an evaluation chunk's activations, without gradients: `eval_chunk` sizes the chunks so that
  one takes about EVAL_MB (a 16-channel CNN on 4096 MNIST images at once would take 600 MB);
- generated data (toy sets and Gaussian inputs): points x inputs, raw and scaled. The MNIST
  arrays are shared by every run of the process, so they are not charged to one.

Limits are per server, from the environment (defaults sized for a 2-core, 4 GB host that
serves a class, where one training runs at a time but every session keeps its network):
PLAYGROUND_MAX_RUN_MB (peak megabytes of one run, default 256), PLAYGROUND_MAX_PARAMS (default
4,000,000: MNIST through one hidden layer of 4096 is 3.3 million). MAX_HIDDEN_LAYERS is part of
the config's rules everywhere (the sidebar, links, files, the CLI).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from engine.registry import GATES, RECURRENT, ConfigError, registry_for

if TYPE_CHECKING:
    from engine.config import Config

__all__ = [
    "MAX_HIDDEN_LAYERS",
    "Footprint",
    "check",
    "footprint",
    "max_params",
    "max_pretrain_steps",
    "max_run_mb",
    "pretrain_steps",
]

MAX_HIDDEN_LAYERS = 32
MAX_SEQ_LEN = 200  # steps of a sequence: a recurrent network loops over them in Python
SEQUENCE_FEATURES = 2  # the adding problem's value and marker
DEFAULT_RUN_MB = 256.0
DEFAULT_PARAMS = 4_000_000
EVAL_CHUNK = 4096  # examples per evaluation forward pass, at most
EVAL_MB = 48  # activations of one evaluation chunk, about
IMAGE_SHAPE = (1, 28, 28)
BYTES = 4  # float32
COPIES_PER_PARAM = 5  # weight, gradient, two optimizer moments, one copy
TENSORS_PER_UNIT_TRAIN = 6  # kept for backward: pre-act, normed, act, mask, and their gradients
TENSORS_PER_UNIT_EVAL = 3  # live at once in a no-grad forward
MAX_CLASSES = 10  # uploaded points may have up to 10 classes
MB = 1024 * 1024
DEFAULT_PRETRAIN_STEPS = 5_000  # a 256-256 MLP takes about 1 ms a step on one CPU core


def _env(name: str, default: float) -> float:
    """A positive number from the environment, else the default (a typo must not lift the cap)."""
    try:
        value = float(os.environ.get(name, default))
    except ValueError:
        return default
    return value if math.isfinite(value) and value > 0 else default


def max_run_mb() -> float:
    """Peak megabytes one run may take on this server ($PLAYGROUND_MAX_RUN_MB)."""
    return _env("PLAYGROUND_MAX_RUN_MB", DEFAULT_RUN_MB)


def max_params() -> int:
    """Trainable parameters one network may have on this server ($PLAYGROUND_MAX_PARAMS)."""
    return int(_env("PLAYGROUND_MAX_PARAMS", DEFAULT_PARAMS))


def max_pretrain_steps() -> int:
    """Pre-training steps one run may take ($PLAYGROUND_MAX_PRETRAIN_STEPS): they run before
    the first step the page shows, while the visitor waits."""
    return int(_env("PLAYGROUND_MAX_PRETRAIN_STEPS", DEFAULT_PRETRAIN_STEPS))


def pretrain_steps(cfg: Config) -> int:
    """About how many steps the run's pre-training takes (0 without it): epochs x the batches
    of the training pool's images of the pre-training digits, each digit counted as a tenth of
    the pool (MNIST's digits are each 9-11% of it)."""
    t = cfg.train
    if not t.pretrain_epochs:
        return 0
    pool = registry_for("data.dataset").get(cfg.data.dataset).extra.get("train_images", 0)
    images = pool * (1 - cfg.data.val_fraction) * len(t.pretrain_classes) / 10
    return t.pretrain_epochs * max(1, int(images) // t.batch_size)


@dataclass(frozen=True)
class Footprint:
    """What a run holds at its peak, estimated from its config."""

    params: int  # trainable parameters
    units: int  # hidden activations per example (all layers)
    widest: int  # activations per example of the widest layer
    data_bytes: int  # generated data, raw and scaled
    augment_values: int = 0  # per example: the augmented copy of its input (0 = no augmentation)

    def train_bytes(self, batch: int) -> int:
        return batch * (self.units * TENSORS_PER_UNIT_TRAIN + self.augment_values) * BYTES

    def eval_chunk(self) -> int:
        """Examples per evaluation forward pass: EVAL_CHUNK, fewer for wide networks."""
        per_example = max(self.widest, 1) * TENSORS_PER_UNIT_EVAL * BYTES
        return max(1, min(EVAL_CHUNK, EVAL_MB * MB // per_example))

    def eval_bytes(self) -> int:
        return self.eval_chunk() * self.widest * TENSORS_PER_UNIT_EVAL * BYTES

    def param_bytes(self) -> int:
        return self.params * COPIES_PER_PARAM * BYTES

    def total_bytes(self, batch: int) -> int:
        steps = max(self.train_bytes(batch), self.eval_bytes())  # one at a time
        return self.param_bytes() + steps + self.data_bytes


def _inputs(cfg: Config) -> tuple[tuple[int, ...], int, int]:
    """(input shape, outputs, generated points) for the config's data set."""
    extra = registry_for("data.dataset").get(cfg.data.dataset).extra
    n_out = MAX_CLASSES if extra.get("uploaded") else extra["n_classes"]
    if extra.get("images"):
        return IMAGE_SHAPE, n_out, 0
    if extra.get("sequence"):
        return (cfg.data.seq_len, SEQUENCE_FEATURES), n_out, cfg.data.n_samples
    n_in = cfg.data.input_dim if not extra.get("points2d") else len(cfg.data.features)
    points = 0 if extra.get("uploaded") else cfg.data.n_samples  # uploads are capped by size
    return (n_in,), n_out, points


def footprint(cfg: Config) -> Footprint:
    """The run's size, by the same arithmetic engine.models uses to build it."""
    m = cfg.model
    shape, n_out, points = _inputs(cfg)
    maxout = registry_for("model.activation").get(m.activation).extra.get("maxout")
    pieces = m.maxout_pieces if maxout else 1
    params = units = widest = 0
    if m.arch in RECURRENT:
        steps, width_in = shape
        for width in m.hidden:
            gates = GATES[m.arch]
            params += (width_in + width + 1) * gates * width
            # kept per step for backward: the gates' pre-activations and outputs, c and h
            layer = steps * width * (2 * gates + 2)
            units += layer
            widest = max(widest, layer)
            width_in = width
        params += (width_in + 1) * n_out
    elif m.arch == "mlp":
        width_in = math.prod(shape)
        for width in m.hidden:
            params += (width_in + 1) * width * pieces + 2 * width * pieces  # layer + norm
            if m.residual and width != width_in:
                params += width_in * width  # projection on the skip path
            units += width * pieces
            widest = max(widest, width * pieces, width_in)
            width_in = width
        params += (width_in + 1) * n_out
    else:
        c_in, h, w = shape
        k = m.kernel_size
        for channels in m.hidden:
            params += (c_in * k * k + 1) * channels * pieces + 2 * channels * pieces
            layer = channels * pieces * h * w
            units += layer
            widest = max(widest, layer)
            c_in = channels
            if m.pool != "none":
                h, w = max(h // 2, 1), max(w // 2, 1)
        params += (c_in * (1 if m.head == "gap" else h * w) + 1) * n_out
    data = points * math.prod(shape) * BYTES * 2
    # Augmentation (engine/data/augment.py) makes a moved copy of each training batch; its
    # grids are computed a chunk of images at a time, so only the copy grows with the batch.
    t = cfg.train
    augmenting = t.augment_shift or t.augment_rotation or t.augment_scale or t.augment_elastic
    aug = math.prod(shape) if augmenting else 0
    return Footprint(params=params, units=units, widest=widest, data_bytes=data, augment_values=aug)


def check(cfg: Config) -> None:
    """ConfigError naming the field to change when the run would exceed this server's budget."""
    fp = footprint(cfg)
    limit_params = max_params()
    if fp.params > limit_params:
        raise ConfigError(
            "model.hidden",
            f"this network has {fp.params:,} parameters; this server allows {limit_params:,} "
            "(PLAYGROUND_MAX_PARAMS): use fewer or narrower hidden layers",
        )
    limit = max_run_mb()
    if fp.data_bytes / MB > limit / 2:
        raise ConfigError(
            "data.n_samples",
            f"{cfg.data.n_samples:,} points would take {fp.data_bytes / MB:,.0f} MB; this "
            f"server allows {limit / 2:,.0f} MB of generated data (half of "
            "PLAYGROUND_MAX_RUN_MB): use fewer points or inputs",
        )
    batch = cfg.train.batch_size
    total = fp.total_bytes(batch) / MB
    if total > limit:
        field = "train.batch_size" if fp.train_bytes(batch) > fp.eval_bytes() else "model.hidden"
        fix = (
            "use a smaller batch or a smaller network"
            if field == "train.batch_size"
            else "use narrower hidden layers"
        )
        raise ConfigError(
            field,
            f"this run would need about {total:,.0f} MB (network, batch {batch} and evaluation); "
            f"this server allows {limit:,.0f} MB per run (PLAYGROUND_MAX_RUN_MB): {fix}",
        )
    steps, limit_steps = pretrain_steps(cfg), max_pretrain_steps()
    if steps > limit_steps:
        raise ConfigError(
            "train.pretrain_epochs",
            f"pre-training would take about {steps:,} steps; this server allows "
            f"{limit_steps:,} (PLAYGROUND_MAX_PRETRAIN_STEPS): use fewer epochs, fewer digits "
            "or a larger batch",
        )
