"""Turning knobs while a run trains: `Trainer.apply_live`, `resume_schedule`, and the bounded
probe history of long live runs."""

from __future__ import annotations

import math
from typing import Any

import pytest
import torch

from engine.config import LIVE_FIELDS, Config, field_info, field_paths
from engine.optimizers import OPTIMIZERS
from engine.registry import ConfigError
from engine.schedules import SCHEDULES, lr_at, resume_schedule
from engine.seeding import generator
from engine.trainer import Trainer, can_apply_live, changed_fields
from tests.engine.tiny import measured, tiny

SCHEDULE_KNOBS = {
    "train.lr": 0.1,
    "train.decay_steps": 20,
    "train.decay_rate": 0.5,
    "train.power": 2.0,
    "train.lr_end": 0.001,
    "train.warmup_steps": 10,
}


def small(**changes: Any) -> Config:
    """The tiny run for six epochs: 30 steps."""
    return tiny(**{"train.epochs": 6, **changes})


def lrs(opt: torch.optim.Optimizer, scheduler: Any, steps: int) -> list[float]:
    """What the trainer does: read the lr, take an optimizer step, step the schedule."""
    out = []
    for _ in range(steps):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        scheduler.step()
    return out


# resume_schedule -----------------------------------------------------------------------------


@pytest.mark.parametrize("name", SCHEDULES.names())
@pytest.mark.parametrize("step", [0, 1, 9, 19, 20, 21, 37])
def test_resumed_schedule_continues_where_a_full_one_would_be(name: str, step: int) -> None:
    cfg = small(**SCHEDULE_KNOBS, **{"train.schedule": name}).train
    expected = lr_at(cfg, step + 6, generator(0, "noise"))[step:]
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.5)  # some other lr
    scheduler = resume_schedule(opt, cfg, 1000, step, generator=generator(0, "noise"))
    assert scheduler.get_last_lr() == pytest.approx([expected[0]], rel=1e-9)
    assert lrs(opt, scheduler, 6) == pytest.approx(expected, rel=1e-9)


def test_resumed_schedule_replaces_an_earlier_schedules_base_lr() -> None:
    """A second resume on an optimizer that already had a schedule starts from the new lr."""
    cfg = small(**{**SCHEDULE_KNOBS, "train.schedule": "exponential"}).train
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    first = resume_schedule(opt, cfg, 1000, 0)
    lrs(opt, first, 5)
    faster = small(**{**SCHEDULE_KNOBS, "train.schedule": "exponential", "train.lr": 0.4}).train
    second = resume_schedule(opt, faster, 1000, 5)
    expected = lr_at(faster, 10)[5:]
    assert lrs(opt, second, 5) == pytest.approx(expected, rel=1e-9)


# What may change live -----------------------------------------------------------------------


def test_changed_fields_lists_dotted_paths_in_declaration_order() -> None:
    a = small()
    b = a.replace(**{"train.l2": 0.01, "seed": 3, "model.hidden": [4], "train.lr": 0.1})
    assert changed_fields(a, b) == ["seed", "model.hidden", "train.lr", "train.l2"]
    assert changed_fields(a, a) == []
    assert can_apply_live(a, a)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        ("model.hidden", [4, 4]),
        ("model.activation", "relu"),
        ("train.optimizer", "sgd"),
        ("train.batch_size", 10),
        ("train.schedule", "cosine"),
        ("train.loss", "mse"),
        ("seed", 1),
        ("data.noise", 0.3),
        ("data.features", ["x1", "x2", "x1^2"]),
        ("device", "auto"),
    ],
)
def test_fields_that_need_a_new_trainer_are_refused(path: str, value: Any) -> None:
    base = small()
    new = base.replace(**{path: value, "train.lr": 0.05})
    assert path not in LIVE_FIELDS
    assert not can_apply_live(base, new)
    t = Trainer(base)
    t.step(3)
    before = [p.detach().clone() for p in t.model.parameters()]
    with pytest.raises(ValueError, match=path.replace(".", r"\.")) as e:
        t.apply_live(new)
    assert "train.lr" not in str(e.value)  # names only what cannot change live
    assert t.cfg == base  # nothing was half-applied
    assert t.optimizer.param_groups[0]["lr"] == base.train.lr
    assert all(torch.equal(a, b) for a, b in zip(before, t.model.parameters(), strict=True))


def test_every_live_field_is_a_train_field_and_can_apply_live_agrees() -> None:
    base = small()
    assert all(path.startswith("train.") for path in LIVE_FIELDS)
    assert {"train.lr", "train.l2", "train.epochs", "train.momentum"} <= LIVE_FIELDS
    changed = base.replace(**{"train.lr": 0.2, "train.l1": 0.001, "train.grad_clip": 1.0})
    assert can_apply_live(base, changed)
    assert not can_apply_live(base, changed.replace(**{"model.hidden": [3]}))


def _another_value(cfg: Config, path: str) -> Any:
    """A value of `path` other than `cfg`'s that makes a valid config with the rest unchanged,
    picked from the field table (choices, bounds, type); None if there is none."""
    info, value = field_info(path), cfg.get(path)
    if info["choices"] and isinstance(value, tuple):  # a list of choices: one fewer
        candidates: list[Any] = [list(value[:-1])]
    elif info["choices"]:
        candidates = [c for c in info["choices"] if c != value]
    elif isinstance(value, bool):
        candidates = [not value]
    elif isinstance(value, tuple):
        candidates = [[v * 0.9 for v in value], list(value[:-1])]
    else:
        hi = info["hi"] if info["hi"] is not None else 2 * value + 2
        candidates = [value + 1, value * 2, value / 2, ((info["lo"] or 0) + hi) / 2, hi]
        if info["type"] is int:
            candidates = [int(c) for c in candidates if float(c).is_integer()]
    for candidate in candidates:
        try:
            new = cfg.replace(**{path: candidate})
        except ConfigError:
            continue
        if new.get(path) != value:
            return new.get(path)
    return None


@pytest.mark.parametrize("path", field_paths())
def test_the_field_tables_live_flag_decides_what_a_running_trainer_takes(path: str) -> None:
    """A field flagged `live` in the config's table is taken on mid-run; any other is refused
    (the rule is the table's flag, not a list kept elsewhere)."""
    # Residual connections let droppath be chosen; a CNN needs images.
    bases = [small(**{"model.residual": True}), small(**{"data.dataset": "mnist"})]
    base, value = next((b, v) for b in bases if (v := _another_value(b, path)) is not None)
    new = base.replace(**{path: value})
    assert changed_fields(base, new) == [path]
    t = Trainer(base)
    t.step(2)
    assert can_apply_live(base, new) is field_info(path)["live"]
    if field_info(path)["live"]:
        t.apply_live(new)
        assert t.cfg == new
    else:
        with pytest.raises(ValueError, match=path.replace(".", r"\.")):
            t.apply_live(new)
        assert t.cfg == base
    assert (path in LIVE_FIELDS) is field_info(path)["live"]


# Learning rate -------------------------------------------------------------------------------


@pytest.mark.parametrize("schedule", ["constant", "exponential", "cosine", "warmup"])
def test_lr_change_takes_the_new_schedules_value_and_keeps_the_state(schedule: str) -> None:
    cfg = small(**{**SCHEDULE_KNOBS, "train.schedule": schedule, "train.lr": 0.01})
    t = Trainer(cfg)
    t.step(12)
    weights = [p.detach().clone() for p in t.model.parameters()]
    state = {k: {n: v.clone() for n, v in s.items()} for k, s in t.optimizer.state.items()}
    new = cfg.replace(**{"train.lr": 0.003})
    t.apply_live(new)
    expected = lr_at(new.train, 20, generator(cfg.seed, "noise"))
    assert t.optimizer.param_groups[0]["lr"] == pytest.approx(expected[12], rel=1e-9)
    assert t.cfg == new and t.step_count == 12
    assert all(torch.equal(a, b) for a, b in zip(weights, t.model.parameters(), strict=True))
    for p, saved in state.items():  # Adam's moments and step counts are kept
        assert set(t.optimizer.state[p]) == set(saved)
        for name, value in saved.items():
            assert torch.equal(t.optimizer.state[p][name], value), name
    assert t.step(5) == 5
    assert t.history.lr[12:17] == pytest.approx(expected[12:17], rel=1e-9)
    assert all(math.isfinite(v) for v in t.history.loss)


def test_lr_change_is_what_the_next_sgd_step_uses() -> None:
    t = Trainer(small(**{"train.optimizer": "sgd", "train.lr": 0.1}))
    t.step(4)
    t.apply_live(t.cfg.replace(**{"train.lr": 0.5}))
    before = [p.detach().clone() for p in t.model.parameters()]
    t.step(1)
    for old, p in zip(before, t.model.parameters(), strict=True):
        # plain SGD: w <- w - lr * g, and .grad still holds the g of that step
        torch.testing.assert_close(p.detach(), old - 0.5 * p.grad, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("schedule", ["constant", "cosine", "noisy_linear_cosine", "piecewise"])
def test_changing_lr_and_back_without_a_step_changes_nothing(schedule: str) -> None:
    cfg = small(**{**SCHEDULE_KNOBS, "train.schedule": schedule, "train.lr": 0.01})
    straight = Trainer(cfg)
    straight.run()
    knob = Trainer(cfg)
    knob.step(7)  # mid-epoch
    knob.apply_live(cfg.replace(**{"train.lr": 0.05}))
    knob.apply_live(cfg)
    knob.run()
    assert knob.history.lr == straight.history.lr
    assert knob.history.loss == straight.history.loss
    assert measured(knob.history.evals) == measured(straight.history.evals)


# Other optimizer knobs -----------------------------------------------------------------------

# Where torch's param_group key differs from the config field: RMSprop calls the decay alpha.
TORCH_KEY = {("rmsprop", "rho"): "alpha"}
NEW_VALUES: dict[str, Any] = {
    "momentum": 0.5,
    "betas": [0.8, 0.99],
    "eps": 1e-4,
    "rho": 0.7,
    "weight_decay": 0.02,
}


CASES = [
    (entry.name, knob)
    for entry in OPTIMIZERS
    for knob in entry.params
    if knob not in ("lr",)  # lr goes through the schedule, tested above
]


@pytest.mark.parametrize(("optimizer", "knob"), CASES, ids=[f"{o}-{k}" for o, k in CASES])
def test_optimizer_knobs_reach_torch_under_its_own_names(optimizer: str, knob: str) -> None:
    cfg = small(**{"train.optimizer": optimizer})
    t = Trainer(cfg)
    t.step(3)
    value = NEW_VALUES[knob]
    t.apply_live(cfg.replace(**{f"train.{knob}": value}))
    expected = tuple(value) if isinstance(value, list) else value
    for group in t.optimizer.param_groups:
        assert group[TORCH_KEY.get((optimizer, knob), knob)] == expected
        assert group["lr"] == cfg.train.lr  # untouched
    assert t.step(2) == 2 and all(math.isfinite(v) for v in t.history.loss)


def test_every_optimizer_knob_has_a_test_value() -> None:
    knobs = {k for entry in OPTIMIZERS for k in entry.params} - {"lr"}
    assert knobs <= set(NEW_VALUES)


# Penalties, length ---------------------------------------------------------------------------


def test_l1_and_l2_changes_reach_the_penalty() -> None:
    t = Trainer(small())
    t.step(2)
    assert t.penalty() is None
    t.apply_live(t.cfg.replace(**{"train.l2": 0.1}))
    weights = t.model.penalized_weights()
    l2 = 0.5 * 0.1 * sum(float(w.detach().pow(2).sum()) for w in weights)
    assert float(t.penalty().detach()) == pytest.approx(l2, rel=1e-5)
    t.apply_live(t.cfg.replace(**{"train.l1": 0.01, "train.l2": 0.0}))
    l1 = 0.01 * sum(float(w.detach().abs().sum()) for w in weights)
    assert float(t.penalty().detach()) == pytest.approx(l1, rel=1e-5)
    t.apply_live(t.cfg.replace(**{"train.l1": 0.0}))
    assert t.penalty() is None


def test_raising_epochs_on_a_finished_run_trains_on() -> None:
    t = Trainer(small(**{"train.epochs": 2}))
    t.run()
    assert t.done and t.step_count == 10 and t.step(1) == 0
    t.apply_live(t.cfg.replace(**{"train.epochs": 4}))
    assert not t.done and t.status == "running" and t.total_steps == 20
    assert t.step(100) == 10
    assert t.status == "finished" and t.step_count == 20
    assert [e["step"] for e in t.history.evals] == [5, 10, 15, 20]


def test_lowering_epochs_below_the_current_step_finishes_the_run() -> None:
    t = Trainer(small(**{"train.epochs": 10}))
    t.step(17)
    t.apply_live(t.cfg.replace(**{"train.epochs": 3}))
    assert t.done and t.status == "finished" and "17" in t.message
    assert t.step(5) == 0 and t.step_count == 17


def test_a_run_finished_by_lowering_epochs_reports_its_last_step() -> None:
    """A run that ends normally is evaluated at its last step, so the summary's metrics belong
    to the final weights; ending it by lowering epochs must do the same."""
    t = Trainer(small(**{"train.epochs": 10}))
    t.step(17)  # evaluations at 5, 10, 15
    t.apply_live(t.cfg.replace(**{"train.epochs": 3}))
    assert t.history.evals[-1]["step"] == t.step_count == 17
    assert t.summary()["val_loss"] == pytest.approx(t.metrics(t.val_split)["loss"])


def test_steps_override_and_eval_every_apply_live() -> None:
    t = Trainer(small())
    t.step(2)
    t.apply_live(t.cfg.replace(**{"train.steps": 9, "train.eval_every": 3}))
    assert t.total_steps == 9 and t.eval_every == 3
    t.run()
    assert t.step_count == 9
    assert [e["step"] for e in t.history.evals] == [3, 6, 9]


# Bounded probe history -----------------------------------------------------------------------


def test_max_probes_thins_old_frames_and_keeps_the_newest() -> None:
    t = Trainer(small(**{"train.epochs": 20}), probe_every=1, max_probes=10)
    for _ in range(100):
        t.step(1)
        steps = [p["step"] for p in t.history.probes]
        assert len(steps) <= 10
        assert steps[-1] == t.step_count  # the newest frame is the step just taken
        assert steps == sorted(set(steps))  # increasing, no repeats
    assert t.step_count == 100
    assert steps[0] <= 5  # the start of the run stays covered
    assert len(steps) >= 5


def test_without_max_probes_every_frame_is_kept() -> None:
    t = Trainer(small(**{"train.epochs": 4}), probe_every=2)
    t.run()
    assert [p["step"] for p in t.history.probes] == list(range(2, 21, 2))
