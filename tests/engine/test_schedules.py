"""LR schedules: every entry builds and resumes; each formula matches a hand computation."""

from __future__ import annotations

import dataclasses
import io
import math
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from engine.config import TrainConfig
from engine.registry import ConfigError, Entry
from engine.schedules import BETA, SCHEDULES, build_schedule, lr_at

FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}
SCHEDULE_FIELDS = ("decay_steps", "decay_rate", "power", "lr_end", "warmup_steps")
ENTRIES = pytest.mark.parametrize("entry", list(SCHEDULES), ids=SCHEDULES.names())
LR = 0.1


def train_cfg(**overrides: Any) -> Any:
    """A TrainConfig; while sibling engine modules are missing, a stand-in with its defaults."""
    try:
        return TrainConfig(**overrides)
    except ImportError:
        defaults = {
            f.name: f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
            for f in dataclasses.fields(TrainConfig)
        }
        assert set(overrides) <= set(defaults), f"unknown fields {set(overrides) - set(defaults)}"
        return SimpleNamespace(**{**defaults, **overrides})


def small(schedule: str, **overrides: Any) -> Any:
    """Short horizons so whole curves are cheap to compute."""
    base = {"lr": LR, "decay_steps": 20, "decay_rate": 0.5, "power": 2.0, "lr_end": 0.001}
    return train_cfg(schedule=schedule, **{**base, "warmup_steps": 10, **overrides})


def optimizer(lr: float = LR) -> torch.optim.Optimizer:
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=lr)


def run(scheduler: Any, opt: torch.optim.Optimizer, steps: int) -> list[float]:
    """What the trainer does: read the lr, take an optimizer step, step the schedule."""
    lrs = []
    for _ in range(steps):
        lrs.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return lrs


# Every entry -----------------------------------------------------------------------------------


@ENTRIES
def test_metadata_names_real_fields(entry: Entry[Any]) -> None:
    assert entry.label and entry.help
    assert set(entry.params) <= FIELDS


@ENTRIES
def test_lr_at_matches_a_real_training_loop(entry: Entry[Any]) -> None:
    cfg = small(entry.name)
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))], lr=cfg.lr)
    expected = run(build_schedule(opt, cfg, 60), opt, 60)
    lrs = lr_at(cfg, 60)
    assert lrs == pytest.approx(expected, rel=1e-12)
    assert len(lrs) == 60 and all(math.isfinite(v) and v >= 0 for v in lrs)


@ENTRIES
def test_params_metadata_lists_exactly_the_fields_that_change_the_curve(entry: Entry[Any]) -> None:
    other = {"decay_steps": 30, "decay_rate": 0.3, "power": 1.5, "lr_end": 0.005, "warmup_steps": 5}
    curve = lr_at(small(entry.name), 45)
    for name in SCHEDULE_FIELDS:
        changed = lr_at(small(entry.name, **{name: other[name]}), 45) != curve
        assert changed == (name in entry.params), f"{entry.name}: {name}"


@ENTRIES
def test_resumes_from_a_state_dict_like_an_uninterrupted_run(entry: Entry[Any]) -> None:
    cfg = small(entry.name)
    opt = optimizer()
    straight = run(build_schedule(opt, cfg, 40, torch.Generator().manual_seed(7)), opt, 40)

    opt = optimizer()
    first = build_schedule(opt, cfg, 40, torch.Generator().manual_seed(7))
    head = run(first, opt, 15)
    buf = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "sched": first.state_dict()}, buf)
    buf.seek(0)
    saved = torch.load(buf, weights_only=True)  # as Trainer.load does
    opt = optimizer()
    second = build_schedule(opt, cfg, 40, torch.Generator().manual_seed(7))
    opt.load_state_dict(saved["opt"])
    second.load_state_dict(saved["sched"])
    assert head + run(second, opt, 25) == pytest.approx(straight, rel=1e-12)


def test_unknown_schedule_lists_the_valid_names() -> None:
    default = train_cfg()
    cfg = SimpleNamespace(**{**{f: getattr(default, f) for f in FIELDS}, "schedule": "cyclic"})
    with pytest.raises(ConfigError, match=r"train\.schedule: unknown schedule 'cyclic'.*cosine"):
        build_schedule(optimizer(), cfg, 10)


# Formulas against hand computations ------------------------------------------------------------


def test_constant() -> None:
    lrs = lr_at(train_cfg(schedule="constant", lr=0.03), 7)
    assert lrs == [0.03] * 7


def test_piecewise_is_constant_within_a_period_then_drops_by_decay_rate() -> None:
    lrs = lr_at(small("piecewise", decay_steps=5, decay_rate=0.5), 16)
    assert lrs[0] == lrs[4] == pytest.approx(LR)  # constant within the first period
    assert lrs[5] == lrs[9] == pytest.approx(LR * 0.5)
    assert lrs[10] == pytest.approx(LR * 0.25)
    assert lrs[15] == pytest.approx(LR * 0.125)


def test_exponential_is_continuous_and_reaches_lr_times_rate_at_decay_steps() -> None:
    lrs = lr_at(small("exponential", decay_steps=10, decay_rate=0.5), 21)
    assert lrs[10] == pytest.approx(LR * 0.5)
    assert lrs[5] == pytest.approx(LR * 0.5**0.5)
    assert lrs[20] == pytest.approx(LR * 0.25)
    assert lrs[3] == pytest.approx(LR * 0.5 ** (3 / 10))


def test_natural_exp() -> None:
    lrs = lr_at(small("natural_exp", decay_steps=10, decay_rate=0.7), 31)
    for step in (0, 4, 10, 30):
        assert lrs[step] == pytest.approx(LR * math.exp(-0.7 * step / 10))


def test_polynomial() -> None:
    end = 0.02
    lrs = lr_at(small("polynomial", decay_steps=10, power=1.0, lr_end=end), 15)
    assert lrs[0] == pytest.approx(LR)
    assert lrs[5] == pytest.approx((LR + end) / 2)  # power 1: a straight line
    assert lrs[10] == lrs[14] == pytest.approx(end)  # then holds lr_end
    lrs = lr_at(small("polynomial", decay_steps=10, power=2.0, lr_end=end), 6)
    assert lrs[5] == pytest.approx((LR - end) * 0.25 + end)


def test_cosine_reaches_lr_end_at_decay_steps_and_stays() -> None:
    end = 0.01
    lrs = lr_at(small("cosine", decay_steps=10, lr_end=end), 25)
    assert lrs[0] == pytest.approx(LR)
    assert lrs[5] == pytest.approx((LR + end) / 2)
    assert lrs[2] == pytest.approx(end + (LR - end) * 0.5 * (1 + math.cos(math.pi * 0.2)))
    assert lrs[10] == lrs[24] == pytest.approx(end)  # unlike CosineAnnealingLR, no climb back


def test_linear_cosine() -> None:
    lrs = lr_at(small("linear_cosine", decay_steps=10), 13)
    assert lrs[0] == pytest.approx(LR * (1 + BETA))
    assert lrs[5] == pytest.approx(LR * (0.5 * 0.5 + BETA))  # linear 0.5 times cosine 0.5
    linear, cosine = 0.8, 0.5 * (1 + math.cos(math.pi * 0.2))
    assert lrs[2] == pytest.approx(LR * (linear * cosine + BETA))
    assert lrs[10] == lrs[12] == pytest.approx(LR * BETA)


def test_noisy_linear_cosine_is_reproducible_and_seed_dependent() -> None:
    cfg = small("noisy_linear_cosine", decay_steps=50)
    a = lr_at(cfg, 60, torch.Generator().manual_seed(3))
    b = lr_at(cfg, 60, torch.Generator().manual_seed(3))
    c = lr_at(cfg, 60, torch.Generator().manual_seed(4))
    assert a == b
    assert a != c
    assert lr_at(cfg, 60) == lr_at(cfg, 60)  # default generator is seeded too
    assert a[50:] == pytest.approx([LR * BETA] * 10)  # cosine factor 0 hides the noise


def test_noisy_linear_cosine_noise_has_tf_variance() -> None:
    # At step 50 of 100: linear 0.5, cosine 0.5, eps ~ N(0, 1 / 51 ** 0.55). Negative factors
    # are floored at 0, which only touches the lowest ~7%: check the median and the 84th
    # percentile (mean + 1 sd), which the floor does not move.
    cfg = small("noisy_linear_cosine", decay_steps=100)
    eps = []
    for seed in range(2000):
        sched = build_schedule(optimizer(), cfg, 100, torch.Generator().manual_seed(seed))
        factor = sched.lr_lambdas[0](50)
        eps.append((factor - BETA) / 0.5 - 0.5)
    q = torch.tensor(eps).quantile(torch.tensor([0.5, 0.8413])).tolist()
    sd = math.sqrt(1 / 51**0.55)
    assert q[0] == pytest.approx(0.0, abs=0.05)
    assert q[1] == pytest.approx(sd, abs=0.05)
    assert min(eps) >= -0.5 - BETA / 0.5 - 1e-12  # the lr never goes negative


def test_warmup_is_linear_then_flat() -> None:
    lrs = lr_at(small("warmup", warmup_steps=4), 7)
    assert lrs == pytest.approx([LR / 4, LR / 2, 3 * LR / 4, LR, LR, LR, LR])
    assert lr_at(small("warmup", warmup_steps=1), 3) == pytest.approx([LR] * 3)


def test_lr_at_length_and_start() -> None:
    cfg = train_cfg(schedule="constant", lr=0.02)
    assert lr_at(cfg, 0) == []
    lrs = lr_at(cfg, 100)
    assert len(lrs) == 100 and lrs[0] == 0.02
