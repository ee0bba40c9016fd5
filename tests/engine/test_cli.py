"""`python -m engine`: JSON lines on stdout, one-line errors with exit status 2."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from engine.config import Config

ROOT = Path(__file__).resolve().parents[2]
PRESETS = ROOT / "assets" / "presets"


def cli(*args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def json_lines(out: str) -> list[dict]:
    return [json.loads(line) for line in out.splitlines()]


def test_config_prints_the_default_config() -> None:
    r = cli("config")
    assert r.returncode == 0
    assert Config.from_dict(json.loads(r.stdout)) == Config()


def test_train_circle_reaches_095_and_prints_one_line_per_evaluation(tmp_path) -> None:
    ckpt = tmp_path / "circle.pt"
    r = cli("train", str(PRESETS / "circle.json"), "--set", "device=cpu", "--save", str(ckpt))
    assert r.returncode == 0, r.stderr
    lines = json_lines(r.stdout)
    evals, summary = lines[:-1], lines[-1]
    assert len(evals) == 30  # one evaluation per epoch
    for row in evals:
        assert {"step", "epoch", "train_loss", "train_acc", "val_loss", "val_acc"} <= set(row)
    assert summary["summary"] is True and summary["status"] == "finished"
    assert summary["val_acc"] >= 0.95
    assert summary["steps"] == evals[-1]["step"] and summary["seconds"] > 0
    assert "test_acc" not in summary  # toy data has no test set
    assert ckpt.exists() and summary["checkpoint"] == str(ckpt)


def test_train_with_probes_and_overrides() -> None:
    r = cli(
        "train",
        str(PRESETS / "circle.json"),
        "--set",
        "train.epochs=2",
        "--set",
        "model.activation=relu",
        "--probes",
    )
    assert r.returncode == 0, r.stderr
    lines = json_lines(r.stdout)
    assert len(lines) == 3
    layers = lines[0]["layers"]
    assert [x["layer"] for x in layers] == ["hidden 1", "hidden 2", "output"]
    assert {"pre", "post", "dead", "saturated", "grad_norm", "weight_norm", "update_ratio"} <= set(
        layers[0]
    )


@pytest.mark.slow
def test_embedded_mnist_mlp_reaches_090_test_accuracy() -> None:
    r = cli("train", str(PRESETS / "mnist_mlp.json"), "--set", "device=cpu")
    assert r.returncode == 0, r.stderr
    summary = json_lines(r.stdout)[-1]
    assert summary["status"] == "finished"
    assert summary["test_acc"] >= 0.90, summary


def test_probe_reports_layers_at_initialization() -> None:
    r = cli(
        "probe",
        str(PRESETS / "circle.json"),
        "--set",
        "model.hidden=16,16,16,16,16",
        "--set",
        "model.init=normal",
        "--set",
        "model.init_std=0.01",
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert len(out["layers"]) == 6
    stds = [layer["post"]["std"] for layer in out["layers"][:-1]]
    assert stds[-1] < stds[0] / 100  # tiny init: activations vanish layer by layer


@pytest.mark.parametrize(
    ("args", "field"),
    [
        (["train", "missing.json"], "config: cannot read missing.json"),
        (["train", "{bad}"], "config:"),
        (["train", "PRESET", "--set", "train.lr=fast"], "train.lr: must be a number"),
        (["train", "PRESET", "--set", "model.activation=nope"], "model.activation: unknown"),
        (["train", "PRESET", "--set", "train.lr"], "key.path=value"),
        (["probe", "PRESET", "--set", "data.colour=red"], "data.colour: unknown key"),
        (["train", "PRESET", "--set", "device=tpu"], "device:"),
        (["fly"], "invalid choice"),
        (["train"], "required"),
    ],
)
def test_bad_input_exits_2_with_one_line_naming_the_field(args, field, tmp_path) -> None:
    args = [str(PRESETS / "circle.json") if a == "PRESET" else a for a in args]
    if args[-1] == "{bad}":
        bad = tmp_path / "bad.json"
        bad.write_text('{"train": {"lr": 0.1,}}')
        args[-1] = str(bad)
    r = cli(*args)
    assert r.returncode == 2
    assert r.stdout == ""  # stdout is only ever JSON
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert field in r.stderr


def test_bad_value_inside_the_file(tmp_path) -> None:
    f = tmp_path / "c.json"
    f.write_text(json.dumps({"data": {"noise": 5}}))
    r = cli("train", str(f))
    assert r.returncode == 2
    assert r.stderr.strip() == "error: data.noise: must be <= 1.0, got 5.0"
