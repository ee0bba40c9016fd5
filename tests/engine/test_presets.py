"""Presets: every shipped file loads, both file forms parse, and each playground preset teaches
what its summary says (checked on shortened runs)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from engine.cli import main
from engine.config import Config
from engine.presets import PRESETS_DIR, Preset, list_presets, load_preset, parse_preset
from engine.registry import ConfigError
from engine.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
ALL_FILES = sorted(PRESETS_DIR.rglob("*.json"))
PLAYGROUND = PRESETS_DIR / "playground"


# Loading -------------------------------------------------------------------------------------


def test_the_preset_folder_is_the_shipped_one() -> None:
    assert PRESETS_DIR == ROOT / "assets" / "presets"
    assert len(ALL_FILES) >= 11 and any(p.parent == PLAYGROUND for p in ALL_FILES)


@pytest.mark.parametrize(
    "path", ALL_FILES, ids=[str(p.relative_to(PRESETS_DIR)) for p in ALL_FILES]
)
def test_every_shipped_preset_loads_and_validates(path: Path) -> None:
    preset = load_preset(path)
    assert preset.name == path.stem
    assert isinstance(preset.config, Config)
    assert Config.from_dict(preset.config.to_dict()) == preset.config  # a valid, complete config
    Config.from_dict(preset.config.to_dict()).replace(device="cpu")  # combinations check out
    raw = json.loads(path.read_text())
    if "config" in raw:  # wrapped: the page shows a title and a summary
        assert preset.title.strip() and preset.title != preset.name
        assert len(preset.summary.strip()) > 20


def test_playground_presets_are_all_wrapped_and_listed_in_file_order() -> None:
    presets = list_presets("playground")
    assert [p.name for p in presets] == sorted(p.stem for p in PLAYGROUND.glob("*.json"))
    assert len(presets) == 8
    for p in presets:
        assert p.title.strip() and p.summary.strip(), p.name


def test_bare_and_wrapped_forms_give_the_same_config() -> None:
    cfg = {"data": {"dataset": "xor"}, "train": {"lr": 0.03}}
    bare = parse_preset("mine", json.dumps(cfg))
    wrapped = parse_preset("mine", json.dumps({"title": "T", "summary": "S", "config": cfg}))
    assert (
        bare.config
        == wrapped.config
        == Config().replace(**{"data.dataset": "xor", "train.lr": 0.03})
    )
    assert (bare.name, bare.title, bare.summary) == ("mine", "mine", "")
    assert wrapped == Preset("mine", "T", "S", bare.config)


def test_wrapped_without_title_falls_back_to_the_name() -> None:
    p = parse_preset("quiet", json.dumps({"config": {}}))
    assert (p.title, p.summary, p.config) == ("quiet", "", Config())


@pytest.mark.parametrize(
    ("text", "field"),
    [
        (json.dumps({"title": "T", "config": {}, "notes": "x"}), "notes"),
        ('{"title": "T", "config": {}', "config"),  # bad JSON
        ("", "config"),
        (json.dumps([1, 2]), "config"),
        (json.dumps({"title": "T", "config": 5}), "config"),
        (json.dumps({"title": "T", "config": {"train": {"lr": "fast"}}}), "train.lr"),
        (json.dumps({"title": "T", "config": {"model": {"width": 3}}}), "model.width"),
        (json.dumps({"data": {"noise": 5}}), "data.noise"),
        (json.dumps({"title": "T", "summary": "S"}), "title"),  # no config: read as a bare one
    ],
)
def test_bad_presets_raise_config_error_naming_the_field(text: str, field: str) -> None:
    with pytest.raises(ConfigError) as e:
        parse_preset("bad", text)
    assert e.value.field == field
    assert str(e.value).startswith(f"{field}: ")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_preset(tmp_path / "nope.json")


def test_cli_trains_a_wrapped_preset(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m engine train PRESET` (run in this process: same code, no interpreter start)."""
    path = str(PLAYGROUND / "1_tf_default.json")
    status = main(["train", path, "--set", "train.epochs=1", "--set", "device=cpu"])
    out = capsys.readouterr()
    assert status == 0, out.err
    lines = [json.loads(line) for line in out.out.splitlines()]
    summary = lines[-1]
    assert summary["summary"] is True and summary["status"] == "finished"
    assert summary["steps"] == 25  # 250 training points in batches of 10, as the preset says
    assert len(lines) == 2  # one evaluation (one epoch) and the summary


def test_cli_reports_a_bad_wrapped_preset_on_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"title": "T", "summary": "S", "config": {"train": {"lr": -1}}}))
    assert main(["train", str(bad)]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert out.err.strip() == "error: train.lr: must be > 0.0, got -1.0"


# What each playground preset teaches ---------------------------------------------------------


# What each summary says about its own config: (preset, dotted path, value).
STATED = [
    ("1_tf_default", "model.hidden", (4, 2)),
    ("1_tf_default", "model.activation", "tanh"),
    ("1_tf_default", "train.optimizer", "sgd"),
    ("1_tf_default", "train.lr", 0.03),
    ("1_tf_default", "train.batch_size", 10),
    ("2_linear_fails", "model.hidden", (1,)),
    ("2_linear_fails", "model.activation", "linear"),
    ("2_linear_fails", "data.dataset", "circle"),
    ("3_xor_hidden", "data.dataset", "xor"),
    ("3_xor_hidden", "model.hidden", (4,)),
    ("3_xor_hidden", "model.activation", "relu"),
    ("4_spiral_raw", "data.features", ("x1", "x2")),
    ("4_spiral_raw", "model.hidden", (8, 8, 8)),
    ("4_spiral_raw", "model.activation", "tanh"),
    ("4_spiral_raw", "train.optimizer", "adam"),
    (
        "5_spiral_features",
        "data.features",
        ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2"),
    ),
    ("5_spiral_features", "model.hidden", (8,)),
    ("6_three_spirals", "data.dataset", "spiral3"),
    ("6_three_spirals", "train.loss", "cross_entropy"),
    ("6_three_spirals", "model.activation", "relu"),
    ("7_overfit_noise", "train.l2", 0.0),  # "raise the L2 rate to 0.003" starts from none
    ("8_regression", "data.dataset", "reg_gauss"),
    ("8_regression", "train.loss", "mse"),
]


@pytest.mark.parametrize(("name", "path", "value"), STATED, ids=[f"{n}-{p}" for n, p, _ in STATED])
def test_summary_describes_the_config(name: str, path: str, value: Any) -> None:
    assert load_preset(PLAYGROUND / f"{name}.json").config.get(path) == value


def run(name: str, epochs: int, **changes: Any) -> Trainer:
    """Train playground preset `name` for `epochs` epochs (its own count is far longer)."""
    cfg = load_preset(PLAYGROUND / f"{name}.json").config
    assert cfg.train.epochs > epochs  # the check below is on a shortened run
    t = Trainer(cfg.replace(**{"device": "cpu", "train.epochs": epochs, **changes}))
    t.run()
    assert t.status == "finished"
    return t


def last(t: Trainer, key: str) -> float:
    return t.history.evals[-1][key]


def test_tf_default_closes_the_boundary_around_the_blob() -> None:
    t = run("1_tf_default", 40)
    assert last(t, "val_acc") > 0.95


def test_linear_model_fails_on_the_circle_until_it_gets_squares() -> None:
    linear = run("2_linear_fails", 60)
    assert linear.cfg.model.activation == "linear"
    assert 0.35 < last(linear, "val_acc") < 0.65  # a coin flip
    assert last(linear, "train_loss") > 0.6  # stalls near ln 2 = 0.69
    squares = run("2_linear_fails", 60, **{"data.features": ["x1", "x2", "x1^2", "x2^2"]})
    assert last(squares, "val_acc") > 0.95


def test_xor_needs_the_non_linear_hidden_layer() -> None:
    assert last(run("3_xor_hidden", 30), "val_acc") > 0.95
    assert last(run("3_xor_hidden", 30, **{"model.activation": "linear"}), "val_acc") < 0.65


def test_spiral_features_do_the_work_of_depth() -> None:
    feats = run("5_spiral_features", 50)
    assert feats.cfg.model.hidden == (8,)
    assert last(feats, "val_acc") > 0.95
    # The same one-layer tanh net on x1, x2 alone is 4_spiral_raw with one hidden layer, which
    # its summary says fails. (4_spiral_raw's three layers need a few hundred epochs, too slow
    # for a test.)
    shallow = run("4_spiral_raw", 50, **{"model.hidden": [8]})
    assert shallow.cfg.data.features == ("x1", "x2") and shallow.cfg.model.activation == "tanh"
    assert last(shallow, "val_acc") < 0.75


def test_three_spirals_are_learned_as_three_classes() -> None:
    t = run("6_three_spirals", 50)
    assert t.data.n_classes == 3 and t.model.weight_layers()[-1][1].weight.shape[0] == 3
    assert last(t, "val_acc") > 0.85


def test_overfitting_noise_then_l2_to_the_rescue() -> None:
    plain = run("7_overfit_noise", 100)
    val = [e["val_loss"] for e in plain.history.evals]
    assert last(plain, "train_loss") < 0.01  # memorized
    assert val[-1] > 1.5 * min(val)  # the validation loss turned up
    l2 = run("7_overfit_noise", 100, **{"train.l2": 0.003})
    assert last(l2, "val_loss") < 0.6 * last(plain, "val_loss")


def test_regression_learns_the_bumps() -> None:
    t = run("8_regression", 40)
    assert t.task == "regression" and t.cfg.train.loss == "mse"
    variance = float(t.val_split.y.var(correction=0))
    assert last(t, "val_loss") < 0.5 * variance  # well below predicting the mean
    assert last(t, "val_acc") is None
