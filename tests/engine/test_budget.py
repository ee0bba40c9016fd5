"""The size budget (issue 10.2): a visitor's network, batch or data size is refused from its
config, naming the field and the limit, before anything is allocated; what the app ships fits."""

from __future__ import annotations

import glob
import resource

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from engine import budget
from engine import landscape as ls
from engine.config import Config, ConfigError
from engine.presets import load_preset
from engine.trainer import Trainer


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: kB


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"model.hidden": [4096] * 32}, "model.hidden", "PLAYGROUND_MAX_PARAMS"),
        ({"data.dataset": "mnist", "model.hidden": [4096, 4096]}, "model.hidden", "4,000,000"),
        ({"model.hidden": [8] * 2000}, "model.hidden", "at most 32 hidden layers"),
        ({"model.hidden": [8] * 33}, "model.hidden", "at most 32 hidden layers"),
        (
            {"data.dataset": "normal_noise", "data.n_samples": 100_000, "data.input_dim": 10_000},
            "data.n_samples",
            "MB",
        ),
        (
            {
                "data.dataset": "mnist",
                "model.arch": "cnn",
                "model.hidden": [256, 256],
                "train.batch_size": 256,
            },
            "train.batch_size",
            "PLAYGROUND_MAX_RUN_MB",
        ),
    ],
)
def test_an_oversized_run_is_refused_from_its_config(
    changes: dict[str, object], field: str, words: str
) -> None:
    before = _peak_mb()
    with pytest.raises(ConfigError) as err:
        Config().replace(**changes)
    assert err.value.field == field and words in str(err.value)
    assert "\n" not in str(err.value)
    assert _peak_mb() - before < 50  # refused by arithmetic: nothing the size of the run


def test_every_shipped_preset_fits_the_default_budget() -> None:
    paths = sorted(glob.glob("assets/presets/**/*.json", recursive=True))
    assert len(paths) > 30
    for path in paths:
        cfg = load_preset(path).config  # would raise ConfigError if over the budget
        total = budget.footprint(cfg).total_bytes(cfg.train.batch_size) / budget.MB
        assert total < budget.DEFAULT_RUN_MB / 2, path  # room to spare, not just under


def test_the_limits_are_the_servers_setting(monkeypatch: pytest.MonkeyPatch) -> None:
    mnist = {"data.dataset": "mnist", "model.hidden": [512]}
    Config().replace(**mnist)
    monkeypatch.setenv("PLAYGROUND_MAX_PARAMS", "100000")
    with pytest.raises(ConfigError, match="allows 100,000"):
        Config().replace(**mnist)
    monkeypatch.setenv("PLAYGROUND_MAX_PARAMS", "lots")  # a typo keeps the default, not no cap
    Config().replace(**mnist)
    monkeypatch.setenv("PLAYGROUND_MAX_RUN_MB", "5")
    with pytest.raises(ConfigError, match="allows 5 MB"):
        Config().replace(**mnist)


def _trainable(cfg: Config) -> int:
    t = Trainer(cfg)
    return sum(p.numel() for p in t.model.parameters() if p.requires_grad)


@settings(max_examples=25, deadline=None)
@given(
    hidden=st.lists(st.integers(1, 24), min_size=1, max_size=4),
    activation=st.sampled_from(["tanh", "relu", "maxout"]),
    norm=st.sampled_from(["none", "batch", "layer"]),
    residual=st.booleans(),
    features=st.sampled_from([("x1", "x2"), ("x1", "x2", "x1^2", "sin_x1")]),
)
def test_the_parameter_count_matches_the_network_built(
    hidden: list[int], activation: str, norm: str, residual: bool, features: tuple[str, ...]
) -> None:
    cfg = Config().replace(
        **{
            "device": "cpu",
            "data.n_samples": 40,
            "data.features": list(features),
            "model.hidden": hidden,
            "model.activation": activation,
            "model.norm": norm,
            "model.residual": residual,
        }
    )
    actual, estimate = _trainable(cfg), budget.footprint(cfg).params
    # the estimate counts every possible norm parameter: never below what is built, and close
    assert actual <= estimate <= actual + 4 * sum(hidden) * cfg.model.maxout_pieces


def test_a_cnn_counts_like_the_cnn_built() -> None:
    cfg = load_preset("assets/presets/mnist/2_cnn.json").config.replace(device="cpu")
    actual, estimate = _trainable(cfg), budget.footprint(cfg).params
    assert actual <= estimate <= actual * 1.05


def test_a_wide_network_evaluates_in_smaller_chunks_with_the_same_result() -> None:
    cfg = load_preset("assets/presets/mnist/2_cnn.json").config.replace(
        device="cpu", **{"data.train_subset": 600}
    )
    t = Trainer(cfg)
    assert 1 < t.model.eval_chunk < 4096  # a 16-channel 28x28 layer: hundreds, not 4096
    chunked = t.metrics(t.val_split)
    t.model.eval_chunk = 4096
    whole = t.metrics(t.val_split)
    assert chunked["loss"] == pytest.approx(whole["loss"], rel=1e-5)
    assert chunked["acc"] == whole["acc"]


def test_a_landscape_grid_beyond_the_limit_is_refused_before_allocating() -> None:
    model = torch.nn.Linear(2, 2)
    params = ls.snapshot(model)
    x, y = torch.zeros(4, 2), torch.zeros(4, dtype=torch.long)
    loss = torch.nn.functional.cross_entropy
    before = _peak_mb()
    with pytest.raises(ConfigError, match="between 2 and 201"):
        ls.slice_2d(model, params, params, params, x, y, loss, grid=100_000)
    with pytest.raises(ConfigError, match="between 2 and 10,001"):
        ls.line(model, params, params, x, y, loss, points=10**9)
    assert _peak_mb() - before < 50
    assert ls.slice_2d(model, params, params, params, x, y, loss, grid=ls.MAX_GRID).losses.shape
