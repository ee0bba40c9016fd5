"""A search never varies a knob its switch turns off (issue 14.1): the dropout rate while the
dropout is "none", momentum with plain SGD or Adam, GroupNorm's groups without GroupNorm, a
schedule's knobs under another schedule, init_std with a non-"normal" init. A space that would
only ever vary such a knob is refused, naming the switch; a space that searches the switch
too samples the knob only in the trials where the switch reads it (Optuna's define-by-run)."""

from __future__ import annotations

import math
import re

import optuna
import pytest

from engine import search
from engine.config import Config
from engine.registry import ConfigError
from engine.rules import switch_for, uses
from engine.search import Space

BASE = Config().replace(
    **{
        "device": "cpu",
        "data.n_samples": 200,
        "model.hidden": (8,),
        "train.batch_size": 20,
        "train.epochs": 2,
    }
)
optuna.logging.set_verbosity(optuna.logging.WARNING)


@pytest.mark.parametrize(
    ("knob", "switch", "on", "off"),
    [
        ("model.dropout_rate", "model.dropout", "dropout", "none"),
        ("train.momentum", "train.optimizer", "momentum", "adam"),
        ("model.norm_groups", "model.norm", "group", "batch"),
        ("train.decay_rate", "train.schedule", "exponential", "cosine"),
        ("model.init_std", "model.init", "normal", "xavier_uniform"),
    ],
)
def test_each_knob_has_its_switch(knob: str, switch: str, on: str, off: str) -> None:
    assert switch_for(knob) == switch
    assert uses(switch, on, knob) and not uses(switch, off, knob)


def test_knobs_every_choice_uses_have_no_switch() -> None:
    for knob in ("train.lr", "train.weight_decay", "model.hidden", "train.batch_size"):
        assert switch_for(knob) is None, knob


@pytest.mark.parametrize(
    ("param", "base"),
    [
        ({"field": "model.dropout_rate", "type": "float", "low": 0, "high": 0.5}, {}),
        ({"field": "train.momentum", "type": "float", "low": 0.5, "high": 0.99},
         {"train.optimizer": "adam"}),
        ({"field": "model.norm_groups", "type": "int", "low": 1, "high": 4}, {}),
        ({"field": "model.init_std", "type": "float", "low": 0.01, "high": 1},
         {"model.init": "he_normal"}),
    ],
)  # fmt: skip
def test_a_space_varying_only_a_switched_off_knob_is_refused(param: dict, base: dict) -> None:
    space = Space.from_dict({"params": [param], "max_epochs": 1})
    with pytest.raises(ConfigError, match=re.escape(str(switch_for(param["field"])))) as e:
        search.objective(BASE.replace(**base), space)
    assert e.value.field == "space.params[0].field"
    assert "would change nothing" in str(e.value)


def test_searching_the_switch_among_choices_that_ignore_the_knob_is_refused() -> None:
    space = Space.from_dict(
        {
            "params": [
                {"field": "train.momentum", "type": "float", "low": 0.5, "high": 0.99},
                {"field": "train.optimizer", "type": "categorical", "choices": ["sgd", "adam"]},
            ]
        }
    )
    with pytest.raises(ConfigError, match=r"train\.optimizer"):
        search.objective(BASE, space)


def test_the_rate_is_sampled_only_where_dropout_is_on() -> None:
    space = Space.from_dict(
        {
            "params": [
                {"field": "model.dropout_rate", "type": "float", "low": 0.1, "high": 0.5},
                {"field": "model.dropout", "type": "categorical", "choices": ["none", "dropout"]},
            ],
            "max_epochs": 1,
        }
    )
    study = search.make_study(None, "s", "random", seed=1, space=space)
    search.run_search(BASE, space, study, n_trials=8)
    trials = [t for t in study.trials if t.state == optuna.trial.TrialState.COMPLETE]
    kinds = {t.params["model.dropout"] for t in trials}
    assert kinds == {"none", "dropout"}, kinds  # both kinds ran
    for t in trials:
        cfg = Config.from_dict(t.user_attrs["config"])
        if t.params["model.dropout"] == "none":
            assert "model.dropout_rate" not in t.params  # nothing recorded that did nothing
            assert cfg.model.dropout_rate == BASE.model.dropout_rate
        else:
            assert cfg.model.dropout_rate == t.params["model.dropout_rate"]


# --------------------------------------------------------------------------------------------
# Coarse to fine (issue 13.8): narrow the space to the best trials


def test_narrowing_keeps_the_span_of_the_best_trials() -> None:
    space = Space.from_dict(
        {
            "params": [
                {"field": "train.lr", "type": "float", "low": 1e-6, "high": 1e-2, "log": True},
                {"field": "train.optimizer", "type": "categorical",
                 "choices": ["sgd", "momentum", "adam"]},
                {"field": "model.hidden", "type": "widths", "depth": [1, 4], "width": [8, 128]},
                {"field": "train.weight_decay", "type": "float", "low": 1e-8, "high": 1e-4,
                 "log": True, "grid": [1e-8, 1e-6, 1e-4]},
            ]
        }
    )  # fmt: skip
    study = optuna.create_study(direction=space.direction, sampler=optuna.samplers.RandomSampler(0))
    for _ in range(30):
        trial = study.ask()
        values = space.suggest(trial, BASE)
        # the best trials have a learning rate near 1e-3 (as in the book's search)
        study.tell(trial, -abs(math.log10(values["train.lr"]) + 3))
    narrow = search.narrowed(space, study, 5)
    best = sorted(study.trials, key=lambda t: t.value, reverse=True)[:5]
    lr, optimizer, hidden, decay = narrow.params
    lrs = [t.params["train.lr"] for t in best]
    assert (lr.low, lr.high, lr.log) == (min(lrs), max(lrs), True)
    assert lr.low > 1e-6 and lr.high < 1e-2  # narrower than before
    assert set(optimizer.choices) == {t.params["train.optimizer"] for t in best}
    depths = [t.params["model.hidden.depth"] for t in best]
    assert hidden.depth == (min(depths), max(depths))
    assert decay.grid is None  # the grid's values would not fit the new ends
    assert Space.from_dict(narrow.to_dict()) == narrow  # a valid space, as JSON too
    assert narrow.objective == space.objective


def test_narrowing_needs_a_finished_trial() -> None:
    space = Space.from_dict({"params": [{"field": "train.lr", "type": "float", "low": 0.01,
                                         "high": 0.1}]})  # fmt: skip
    study = optuna.create_study(direction=space.direction)
    with pytest.raises(ValueError, match="no finished trial"):
        search.narrowed(space, study, 3)
