"""A study's results: its trials as flat rows, the best so far, the best config."""

from __future__ import annotations

import math
from dataclasses import replace
from typing import Any

import optuna
from optuna.trial import FrozenTrial, TrialState

from engine.config import Config
from engine.search.params import Choice, Widths
from engine.search.space import Space


def trial_row(t: FrozenTrial) -> dict[str, Any]:
    """One trial as a flat dict: number, state (COMPLETE, PRUNED, FAIL, RUNNING, WAITING),
    status, value (None unless finite), params {Optuna name: value}, val_acc, val_loss,
    steps, epochs, seconds, error, run_id and `intermediate` {epoch: reported metric}."""
    attrs = t.user_attrs
    value = t.value if t.state == TrialState.COMPLETE else None
    return {
        "number": t.number,
        "state": t.state.name,
        "status": attrs.get("status", "running" if t.state == TrialState.RUNNING else None),
        "value": value if value is not None and math.isfinite(value) else None,
        "params": dict(t.params),
        "val_acc": attrs.get("val_acc"),
        "val_loss": attrs.get("val_loss"),
        "steps": attrs.get("steps"),
        "epochs": attrs.get("epochs"),
        "seconds": attrs.get("seconds"),
        "error": attrs.get("error"),
        "run_id": attrs.get("run_id"),  # set by whoever kept the trial's run (the UI's store)
        "intermediate": {int(k): v for k, v in t.intermediate_values.items()},
    }


def trials_table(study: optuna.Study) -> list[dict[str, Any]]:
    """Every trial of the study (all workers'), by number: `trial_row` plus each parameter
    flattened into its own column named by its field (e.g. row["train.lr"]), for charts."""
    rows = []
    for t in sorted(study.get_trials(deepcopy=False), key=lambda t: t.number):
        row = trial_row(t)
        row.update(row["params"])
        rows.append(row)
    return rows


def best_so_far(study: optuna.Study) -> list[dict[str, Any]]:
    """{number, value, best} for each complete trial in order: the best value up to it."""
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    best: float | None = None
    out = []
    for row in trials_table(study):
        v = row["value"]
        if row["state"] != "COMPLETE":
            continue
        if v is not None and (best is None or (v > best if maximize else v < best)):
            best = v
        out.append({"number": row["number"], "value": v, "best": best})
    return out


def best_trial(study: optuna.Study) -> FrozenTrial | None:
    """The best complete trial (None before one completes)."""
    try:
        return study.best_trial
    except ValueError:
        return None


def best_config(study: optuna.Study) -> Config:
    """The run config of the best complete trial, ready for the trainer pages; ValueError
    before any trial completes."""
    t = best_trial(study)
    if t is None:
        raise ValueError(f"study {study.study_name!r} has no complete trial yet")
    return Config.from_dict(t.user_attrs["config"])


def narrowed(space: Space, study: optuna.Study, k: int) -> Space:
    """`space` narrowed to the best `k` finished trials (coarse-to-fine search, as "Deep
    Learning from Scratch" 6.5 does it by hand): each range shrinks to the span of those
    trials' values (log and type kept; a grid or step, which the new ends would not fit, is
    dropped), each categorical to the choices they used, widths to their depths and widths.
    A parameter none of them sampled (a switched-off knob) is kept as it was. ValueError
    without any finished trial."""
    done = [t for t in study.trials if t.state == TrialState.COMPLETE and _finite(t.value)]
    if not done:
        raise ValueError("no finished trial to narrow the space to; run some trials first")
    maximize = space.direction == "maximize"
    best = sorted(done, key=lambda t: float(t.value or 0.0), reverse=maximize)[: max(1, k)]
    params = []
    for p in space.params:
        seen = [
            tuple(t.params[n] for n in p.names) for t in best if all(n in t.params for n in p.names)
        ]
        if not seen:
            params.append(p)
        elif isinstance(p, Choice):
            used = {s[0] for s in seen}
            params.append(replace(p, choices=tuple(c for c in p.choices or () if c in used)))
        elif isinstance(p, Widths):
            depths, widths = [s[0] for s in seen], [s[1] for s in seen]
            params.append(
                replace(p, depth=(min(depths), max(depths)), width=(min(widths), max(widths)),
                        step=None, grid=None)
            )  # fmt: skip
        else:
            values = [s[0] for s in seen]
            params.append(replace(p, low=min(values), high=max(values), step=None, grid=None))
    return Space(tuple(params), space.objective, space.max_epochs)


def _finite(value: float | None) -> bool:
    return value is not None and math.isfinite(value)
