"""Learning-rate schedules by name, built on `torch.optim.lr_scheduler`.

Every entry's build has the signature
`build(optimizer, cfg: TrainConfig, total_steps: int, *, generator=None) -> LRScheduler`.
Schedules are per step: the trainer calls `scheduler.step()` after every optimizer step, so
"step" below is the number of optimizer steps taken so far. `total_steps` is passed for entries
that want the run length; none of the ones here uses it, so a schedule looks the same whatever
the run length: the decaying ones decay over `cfg.decay_steps` steps. `generator` feeds the
schedules that draw noise (noisy_linear_cosine); the others ignore it.

The formulas follow TensorFlow 1's decay functions (`tf.compat.v1.train.exponential_decay`,
`natural_exp_decay`, `polynomial_decay`, `cosine_decay`, `linear_cosine_decay`,
`noisy_linear_cosine_decay`), written as factors of the base lr `cfg.lr` for `LambdaLR` where
no torch class computes the same thing. An entry's `params` metadata names the TrainConfig
fields it reads, so the UI shows only those controls.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import torch
from torch.optim import Optimizer
from torch.optim.lr_scheduler import (
    ExponentialLR,
    LambdaLR,
    LRScheduler,
    StepLR,
)

from engine.registry import Registry

if TYPE_CHECKING:
    from engine.config import TrainConfig

SCHEDULES: Registry[Callable[..., LRScheduler]] = Registry("schedule", "train.schedule")

# TF's linear_cosine_decay / noisy_linear_cosine_decay constants (their defaults), fixed here to
# keep the controls few: half a cosine period over decay_steps, no floor offset (alpha), and a
# small floor beta so the lr never reaches exactly 0 (Bello et al. 2017, Neural Optimizer Search).
NUM_PERIODS = 0.5
ALPHA = 0.0
BETA = 0.001
# Noise of noisy_linear_cosine: eps_t ~ N(0, INITIAL_VARIANCE / (1 + step) ** VARIANCE_DECAY).
INITIAL_VARIANCE = 1.0
VARIANCE_DECAY = 0.55
DEFAULT_NOISE_SEED = 0


def _progress(step: int, cfg: TrainConfig) -> float:
    """Fraction of the decay horizon done, clamped to [0, 1] (TF: min(step, decay_steps))."""
    return min(step, cfg.decay_steps) / cfg.decay_steps


def _linear_cosine(step: int, cfg: TrainConfig, eps_t: float = 0.0) -> float:
    """TF's (noisy) linear cosine decay factor: (alpha + linear + eps_t) * cosine + beta."""
    frac = _progress(step, cfg)
    linear = 1.0 - frac  # (decay_steps - step) / decay_steps
    cosine = 0.5 * (1.0 + math.cos(math.pi * 2.0 * NUM_PERIODS * frac))
    return (ALPHA + linear + eps_t) * cosine + BETA


@SCHEDULES.register(
    "constant",
    label="Constant",
    help="The learning rate stays at lr for the whole run.",
)
def _constant(
    optimizer: Optimizer,
    cfg: TrainConfig,
    total_steps: int,
    *,
    generator: torch.Generator | None = None,
) -> LRScheduler:
    return LambdaLR(optimizer, lambda step: 1.0)


@SCHEDULES.register(
    "piecewise",
    label="Step decay (piecewise constant)",
    help="Multiply lr by decay_rate every decay_steps steps: "
    "lr * decay_rate ** floor(step / decay_steps) (TF exponential_decay with staircase=True).",
    params=("decay_steps", "decay_rate"),
)
def _piecewise(
    optimizer: Optimizer,
    cfg: TrainConfig,
    total_steps: int,
    *,
    generator: torch.Generator | None = None,
) -> LRScheduler:
    return StepLR(optimizer, step_size=cfg.decay_steps, gamma=cfg.decay_rate)


@SCHEDULES.register(
    "exponential",
    label="Exponential decay",
    help="Smoothly multiply lr by decay_rate every decay_steps steps: "
    "lr * decay_rate ** (step / decay_steps) (TF exponential_decay).",
    params=("decay_steps", "decay_rate"),
)
def _exponential(
    optimizer: Optimizer,
    cfg: TrainConfig,
    total_steps: int,
    *,
    generator: torch.Generator | None = None,
) -> LRScheduler:
    # A per-step factor gamma with gamma ** decay_steps == decay_rate gives the same curve.
    return ExponentialLR(optimizer, gamma=cfg.decay_rate ** (1.0 / cfg.decay_steps))


@SCHEDULES.register(
    "natural_exp",
    label="Natural exponential decay",
    help="lr * exp(-decay_rate * step / decay_steps): lr falls by a factor e every "
    "decay_steps / decay_rate steps (TF natural_exp_decay).",
    params=("decay_steps", "decay_rate"),
)
def _natural_exp(
    optimizer: Optimizer,
    cfg: TrainConfig,
    total_steps: int,
    *,
    generator: torch.Generator | None = None,
) -> LRScheduler:
    return ExponentialLR(optimizer, gamma=math.exp(-cfg.decay_rate / cfg.decay_steps))


@SCHEDULES.register(
    "polynomial",
    label="Polynomial decay",
    help="Decays over decay_steps steps from lr to lr_end along (1 - step / decay_steps) ** power "
    "(power 1 is a straight line), then stays at lr_end (TF polynomial_decay).",
    params=("decay_steps", "power", "lr_end"),
)
def _polynomial(
    optimizer: Optimizer,
    cfg: TrainConfig,
    total_steps: int,
    *,
    generator: torch.Generator | None = None,
) -> LRScheduler:
    # torch's PolynomialLR always ends at 0; TF's has an end value, so write the factor out.
    def factor(step: int) -> float:
        decayed = (cfg.lr - cfg.lr_end) * (1.0 - _progress(step, cfg)) ** cfg.power + cfg.lr_end
        return decayed / cfg.lr

    return LambdaLR(optimizer, factor)


@SCHEDULES.register(
    "cosine",
    label="Cosine decay",
    help="Decays over decay_steps steps from lr to lr_end along half a cosine: slow, fast, slow; "
    "then stays at lr_end (Loshchilov & Hutter 2017, SGDR; TF cosine_decay).",
    params=("decay_steps", "lr_end"),
)
def _cosine(
    optimizer: Optimizer,
    cfg: TrainConfig,
    total_steps: int,
    *,
    generator: torch.Generator | None = None,
) -> LRScheduler:
    # Not CosineAnnealingLR: it climbs back up after T_max; TF's version holds lr_end.
    def factor(step: int) -> float:
        cosine = 0.5 * (1.0 + math.cos(math.pi * _progress(step, cfg)))
        return (cfg.lr_end + (cfg.lr - cfg.lr_end) * cosine) / cfg.lr

    return LambdaLR(optimizer, factor)


@SCHEDULES.register(
    "linear_cosine",
    label="Linear cosine decay",
    help="A straight line times half a cosine: falls faster than cosine decay, over decay_steps "
    "steps, to 0.001 * lr (Bello et al. 2017; TF linear_cosine_decay).",
    params=("decay_steps",),
)
def _linear_cosine_entry(
    optimizer: Optimizer,
    cfg: TrainConfig,
    total_steps: int,
    *,
    generator: torch.Generator | None = None,
) -> LRScheduler:
    return LambdaLR(optimizer, lambda step: _linear_cosine(step, cfg))


@SCHEDULES.register(
    "noisy_linear_cosine",
    label="Noisy linear cosine decay",
    help="Linear cosine decay over decay_steps steps plus Gaussian noise that fades as "
    "training goes on, to help escape poor regions early (Bello et al. 2017; TF "
    "noisy_linear_cosine_decay). The noise is seeded, so runs repeat.",
    params=("decay_steps",),
)
def _noisy_linear_cosine(
    optimizer: Optimizer,
    cfg: TrainConfig,
    total_steps: int,
    *,
    generator: torch.Generator | None = None,
) -> LRScheduler:
    noise = _step_noise(generator)

    def factor(step: int) -> float:
        s = min(step, cfg.decay_steps)  # TF clamps the step before computing the variance too
        std = math.sqrt(INITIAL_VARIANCE / (1.0 + s) ** VARIANCE_DECAY)
        # TF does not clamp; a negative lr would turn descent into ascent, so floor it at 0.
        return max(0.0, _linear_cosine(step, cfg, eps_t=std * noise(step)))

    return LambdaLR(optimizer, factor)


def _step_noise(generator: torch.Generator | None) -> Callable[[int], float]:
    """step -> a standard normal draw that depends only on the step and the generator's state.

    One base seed is drawn from `generator` (default: seeded from DEFAULT_NOISE_SEED); the noise
    at step t comes from a private generator seeded base + t. So it does not depend on how often
    or in which order LambdaLR asks (once per param group), and a run resumed from a checkpoint
    (scheduler state = step count) sees the same noise as an uninterrupted one.
    """
    if generator is None:
        generator = torch.Generator().manual_seed(DEFAULT_NOISE_SEED)
    base = int(torch.randint(0, 2**62, (), generator=generator, device=generator.device))
    private = torch.Generator()

    def noise(step: int) -> float:
        private.manual_seed(base + step)
        return float(torch.randn((), generator=private))

    return noise


@SCHEDULES.register(
    "warmup",
    label="Linear warmup",
    help="Start at lr / warmup_steps and grow linearly to lr over warmup_steps steps, then stay "
    "at lr; avoids early blow-ups with large learning rates (Goyal et al. 2017).",
    params=("warmup_steps",),
)
def _warmup(
    optimizer: Optimizer,
    cfg: TrainConfig,
    total_steps: int,
    *,
    generator: torch.Generator | None = None,
) -> LRScheduler:
    # Factor (step + 1) / warmup_steps, reaching 1 at step warmup_steps - 1 and holding there.
    # Not LinearLR: it multiplies ratios step by step and ends at 0.0099999... instead of 0.01.
    return LambdaLR(optimizer, lambda step: min(1.0, (step + 1) / cfg.warmup_steps))


def build_schedule(
    optimizer: Optimizer,
    cfg: TrainConfig,
    total_steps: int,
    generator: torch.Generator | None = None,
) -> LRScheduler:
    """The schedule named by `cfg.schedule` for `optimizer`; call its step() after every step."""
    return SCHEDULES.get(cfg.schedule).build(optimizer, cfg, total_steps, generator=generator)


def lr_at(cfg: TrainConfig, steps: int, generator: torch.Generator | None = None) -> list[float]:
    """The learning rate used by each of the first `steps` optimizer steps (for plotting).

    Runs the schedule on a dummy optimizer; pass the trainer's noise generator (in the same
    state) to see the exact noisy curve a run will use.
    """
    dummy = torch.zeros(1, requires_grad=True)
    optimizer = torch.optim.SGD([dummy], lr=cfg.lr)
    scheduler = build_schedule(optimizer, cfg, steps, generator)
    lrs = []
    with warnings.catch_warnings():
        # No optimizer.step() is taken here, which torch would warn about.
        warnings.filterwarnings("ignore", message=r"Detected call of `lr_scheduler\.step\(\)`")
        for _ in range(steps):
            lrs.append(optimizer.param_groups[0]["lr"])
            scheduler.step()
    return lrs


def resume_schedule(
    optimizer: Optimizer,
    cfg: TrainConfig,
    total_steps: int,
    step: int,
    generator: torch.Generator | None = None,
) -> LRScheduler:
    """A schedule built from `cfg` that continues at `step`, with the optimizer's lr set to it.

    Used when a learning-rate knob changes mid-run: the new schedule is the one a run started
    with `cfg` would have at `step`, without replaying `step` scheduler steps. Each group's
    `initial_lr` is reset to `cfg.lr` first, because torch keeps the first one it saw.
    """
    for group in optimizer.param_groups:
        group["initial_lr"] = cfg.lr
        group["lr"] = cfg.lr
    scheduler = build_schedule(optimizer, cfg, total_steps, generator=generator)
    scheduler.last_epoch = step
    if isinstance(scheduler, LambdaLR):
        lrs = [
            base * f(step) for base, f in zip(scheduler.base_lrs, scheduler.lr_lambdas, strict=True)
        ]
    else:  # StepLR, ExponentialLR: torch's closed forms of their chainable updates
        lrs = scheduler._get_closed_form_lr()  # type: ignore[attr-defined]
    for group, lr in zip(optimizer.param_groups, lrs, strict=True):
        group["lr"] = lr
    scheduler._last_lr = list(lrs)  # what get_last_lr() reports
    return scheduler
