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


# --points: the user's own CSV -----------------------------------------------------------------


def write_points(path: Path, name: str, n: int) -> Path:
    """A CSV of toy points (noise-free), as the app's download writes it."""
    import numpy as np

    from engine.data import toy
    from engine.data.uploads import points_to_csv

    xy, y = getattr(toy, name)(n, 0.0, np.random.default_rng(0))
    path.write_bytes(points_to_csv(xy, y))
    return path


def main_in_process(*args: str) -> int:
    """`python -m engine ARGS` in this process (no interpreter start-up); returns the status."""
    import torch

    from engine.cli import main

    threads = torch.get_num_threads()
    try:
        return main(list(args))
    finally:
        torch.set_num_threads(threads)  # main() sets 1 thread for the process


def test_train_on_uploaded_points(tmp_path: Path) -> None:
    csv = write_points(tmp_path / "gauss.csv", "gauss", 200)
    cfg = tmp_path / "mine.json"
    cfg.write_text(json.dumps({"data": {"dataset": "uploaded"}, "train": {"epochs": 15}}))
    r = cli("train", str(cfg), "--points", str(csv), "--set", "device=cpu")
    assert r.returncode == 0, r.stderr
    lines = json_lines(r.stdout)
    summary = lines[-1]
    assert summary["status"] == "finished" and len(lines) == 16
    assert summary["steps"] == 15 * (100 // 32)  # 100 of the 200 points train, batches of 32
    assert summary["val_acc"] > 0.9


def test_points_replace_the_configs_own_dataset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import torch

    csv = write_points(tmp_path / "three.csv", "spiral3", 120)
    ckpt = tmp_path / "run.pt"
    args = ["train", str(PRESETS / "circle.json"), "--points", str(csv)]  # circle: 250 to train
    status = main_in_process(
        *args, "--set", "train.epochs=2", "--set", "device=cpu", "--save", str(ckpt)
    )
    out = capsys.readouterr()
    assert status == 0, out.err
    summary = json_lines(out.out)[-1]
    assert summary["steps"] == 2 * (60 // 10)  # 60 of the 120 uploaded points, batches of 10
    saved = torch.load(ckpt, weights_only=True)
    assert saved["config"]["data"]["dataset"] == "uploaded"
    head = [v for k, v in saved["model"].items() if k.endswith("weight")][-1]
    assert head.shape[0] == 3  # one output per class of the file, not circle's 2


@pytest.mark.parametrize(
    ("csv", "status", "message"),
    [
        ("x1,x2,label\n1,2,0\n3,4,1\n", 1, "at least 10"),
        ("x1,x2,label\n" + "1,2,0\n" * 5 + "1,abc,1\n" + "3,4,1\n" * 5, 1, "line 7"),
        (None, 1, "--points"),  # data.dataset 'uploaded' and no --points
        ("MISSING", 2, "--points: cannot read"),
    ],
    ids=["too-few-rows", "not-a-number", "no-points", "missing-file"],
)
def test_bad_points_exit_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], csv: str | None, status: int, message: str
) -> None:
    cfg = tmp_path / "mine.json"
    cfg.write_text(json.dumps({"data": {"dataset": "uploaded"}}))
    args = ["train", str(cfg)]
    if csv == "MISSING":
        args += ["--points", str(tmp_path / "nope.csv")]
    elif csv is not None:
        (tmp_path / "bad.csv").write_text(csv)
        args += ["--points", str(tmp_path / "bad.csv")]
    code = main_in_process(*args)  # an uncaught exception (a traceback) fails the test too
    out = capsys.readouterr()
    assert code == status, out.err
    assert out.out == ""
    assert len(out.err.strip().splitlines()) == 1, out.err
    assert out.err.startswith("error: ") and message in out.err


@pytest.mark.parametrize(
    ("args", "hints"),
    [
        (["fly"], ("(see python -m engine -h)",)),
        (["train"], ("(see python -m engine train -h)",)),
        (["train", "c.json", "--bogus"], ("(see python -m engine train -h)", "engine -h)")),
    ],
)
def test_usage_errors_point_to_a_help_command_that_exists(
    args: list[str], hints: tuple[str, ...], capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as e:
        main_in_process(*args)
    assert e.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.endswith(hints) and "engine engine" not in err, err


# Hostile files and values (issue 10, items 4-6 and 8) ------------------------------------------

DEEP = "[" * 100_000 + "]" * 100_000
LONG_INT = "1" * 5000
HUGE_INT = "1" + "0" * 400
SPACE = {"params": [{"field": "train.lr", "type": "float", "low": 0.001, "high": 0.1}]}


def run_main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    status = main_in_process(*args)  # an uncaught exception (a traceback) fails the test
    out = capsys.readouterr()
    return status, out.out, out.err


def assert_usage_error(result: tuple[int, str, str], *says: str) -> None:
    status, out, err = result
    assert status == 2, err
    assert out == "" and len(err.strip().splitlines()) == 1, err
    assert err.startswith("error: ") and all(s in err for s in says), err


BAD_TEXTS = {
    "not-utf8": (b'{"seed": 1, "x": "\xff"}', "not UTF-8"),
    "deep": (DEEP.encode(), "nested more than"),
    "long-int": (b'{"seed": ' + LONG_INT.encode() + b"}", "5,000 digits"),
    "huge-int-float": (b'{"train": {"lr": ' + HUGE_INT.encode() + b"}}", "train.lr:"),
}


@pytest.mark.parametrize("command", ["config", "train", "probe", "search"])
@pytest.mark.parametrize("case", sorted(BAD_TEXTS))
def test_bad_config_files_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, case: str
) -> None:
    data, says = BAD_TEXTS[case]
    cfg = tmp_path / "c.json"
    cfg.write_bytes(data)
    space = tmp_path / "space.json"
    space.write_text(json.dumps(SPACE))
    args = [command, str(cfg)] + (["--space", str(space)] if command == "search" else [])
    assert_usage_error(run_main(capsys, *args), says)


@pytest.mark.parametrize("case", sorted(BAD_TEXTS))
def test_bad_search_space_files_exit_2_with_one_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], case: str
) -> None:
    data = BAD_TEXTS[case][0]
    space = tmp_path / "space.json"
    space.write_bytes(data.replace(b'"seed"', b'"objective"').replace(b'"train"', b'"params"'))
    status, out, err = run_main(
        capsys, "search", str(PRESETS / "circle.json"), "--space", str(space)
    )
    assert_usage_error((status, out, err), "error: space")


def test_a_bom_is_accepted_by_the_cli_as_by_import(tmp_path: Path, capsys) -> None:
    from engine.export import import_config

    cfg = tmp_path / "bom.json"
    cfg.write_bytes(b'\xef\xbb\xbf{"train": {"lr": 0.5}}')
    status, out, err = run_main(capsys, "config", str(cfg), "--set", "seed=3")
    assert status == 0, err
    assert Config.from_dict(json.loads(out)) == import_config(cfg.read_bytes()).replace(seed=3)
    space = tmp_path / "space.json"
    space.write_bytes(b"\xef\xbb\xbf" + json.dumps(SPACE).encode())
    from engine.search import Space

    assert Space.from_json(space.read_bytes()).params[0].field == "train.lr"


@pytest.mark.parametrize(
    ("value", "says"),
    [
        (f"seed={LONG_INT}", "seed: an integer of 5,000 digits is too large"),
        (f"train.lr={HUGE_INT}", "train.lr: must be a finite number"),
        (f"model.hidden=8,{LONG_INT}", "model.hidden: an integer of 5,000 digits"),
        ("train.lr=1e400", "train.lr: must be a finite number"),
    ],
    ids=["long-int", "huge-float", "long-int-in-list", "1e400"],
)
def test_overrides_with_hostile_numbers_exit_2(capsys, value: str, says: str) -> None:
    assert_usage_error(run_main(capsys, "config", "--set", value), says)


def test_save_to_a_folder_or_under_a_file_is_refused_before_training(tmp_path: Path, capsys):
    preset = str(PRESETS / "circle.json")
    result = run_main(capsys, "train", preset, "--save", str(tmp_path))
    assert_usage_error(result, "--save:", "is a folder")
    blocker = tmp_path / "file.txt"
    blocker.write_text("a file, not a folder")
    result = run_main(capsys, "train", preset, "--save", str(blocker / "run.pt"))
    assert_usage_error(result, "--save: cannot write", "not a writable folder")


@pytest.mark.parametrize(
    "args",
    [
        ["search", "PRESET", "--space", "SPACE", "--seed", "-1"],
        ["search", "PRESET", "--space", "SPACE", "--seed", str(2**32)],
        ["landscape", "missing.pt", "--seed", str(2**70)],
        ["landscape", "missing.pt", "--seed", "-1"],
    ],
    ids=["search-negative", "search-2**32", "landscape-2**70", "landscape-negative"],
)
def test_seeds_out_of_range_exit_2(tmp_path: Path, capsys, args: list[str]) -> None:
    space = tmp_path / "space.json"
    space.write_text(json.dumps(SPACE))
    args = [str(PRESETS / "circle.json") if a == "PRESET" else a for a in args]
    args = [str(space) if a == "SPACE" else a for a in args]
    assert_usage_error(run_main(capsys, *args), "--seed: must be between 0 and 4294967295")


@pytest.mark.parametrize("samples", ["-5", "0"])
def test_probe_needs_at_least_one_sample(capsys, samples: str) -> None:
    result = run_main(capsys, "probe", str(PRESETS / "circle.json"), "--samples", samples)
    assert_usage_error(result, "--samples: must be at least 1")


def test_probe_of_batchnorm_on_one_sample_names_the_flag(capsys) -> None:
    args = ["probe", str(PRESETS / "circle.json"), "--set", "model.norm=batch", "--samples", "1"]
    assert_usage_error(run_main(capsys, *args), "--samples:", "BatchNorm", "at least 2")


@pytest.mark.parametrize(
    "sets",
    [
        ["data.n_samples=10", "data.train_fraction=0.05"],
        ["data.dataset=mnist", "data.train_subset=1"],
    ],
    ids=["toy-split-of-1", "mnist-subset-1"],
)
def test_batchnorm_on_a_one_example_split_is_refused_naming_the_fields(capsys, sets) -> None:
    args = [
        "train",
        str(PRESETS / "circle.json"),
        "--set",
        "model.norm=batch",
        "--set",
        "device=cpu",
    ]
    for s in sets:
        args += ["--set", s]
    field = sets[-1].split("=")[0]
    assert_usage_error(run_main(capsys, *args), "model.norm: BatchNorm", field)


def test_a_pickled_checkpoint_is_refused_without_torchs_advice(tmp_path: Path, capsys) -> None:
    import torch

    path = tmp_path / "evil.pt"
    torch.save({"format": 1, "x": Path("not a tensor")}, path)  # a class weights_only refuses
    status, out, err = run_main(capsys, "landscape", str(path))
    assert_usage_error((status, out, err), "not a playground checkpoint")
    assert "weights_only" not in err and "can still be loaded" not in err


def limited_cli(*args: str) -> subprocess.CompletedProcess[str]:
    """`python -m engine ARGS` in a child with 3 GB of address space: a read of /dev/zero
    without end fails there with a MemoryError instead of exhausting the machine."""
    import resource

    def limit() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (3 << 30, 3 << 30))

    return subprocess.run(
        [sys.executable, "-m", "engine", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,  # a FIFO read blocks forever: this fails the test instead of hanging it
        preexec_fn=limit,
    )


@pytest.mark.parametrize("special", ["fifo", "/dev/zero"])
def test_special_files_are_refused_before_reading(tmp_path: Path, special: str) -> None:
    """A FIFO blocked the CLI forever and /dev/zero was read without end, for the config, the
    --points and the --space file alike."""
    import os

    path = special
    if special == "fifo":
        path = str(tmp_path / "fifo")
        os.mkfifo(path)
    preset = str(PRESETS / "circle.json")
    space = tmp_path / "space.json"
    space.write_text(json.dumps(SPACE))
    for flag, args in (
        ("config", ["config", path]),
        ("--points", ["train", preset, "--points", path]),
        ("--space", ["search", preset, "--space", path]),
    ):
        r = limited_cli(*args)
        assert r.returncode == 2, r.stderr
        assert len(r.stderr.strip().splitlines()) == 1, r.stderr
        assert r.stderr.startswith(f"error: {flag}: cannot read {path}: it is a"), r.stderr


def test_the_config_command_checks_a_file_without_training(tmp_path: Path, capsys) -> None:
    status, out, err = run_main(capsys, "config", str(PRESETS / "circle.json"), "--set", "seed=7")
    assert status == 0, err
    expected = Config.from_dict(json.loads((PRESETS / "circle.json").read_text())).replace(seed=7)
    assert Config.from_dict(json.loads(out)) == expected


def test_a_lab_experiments_run_trains_from_the_cli_by_its_label(capsys) -> None:
    """Issue 13: every lab experiment runs from the CLI as in the browser: --variant takes one
    of the preset's runs by its label (the batch-size experiment's batch-512 run here)."""
    preset = str(PRESETS / "labs" / "optimizers" / "5_batch_size.json")
    status, out, err = run_main(
        capsys, "train", preset, "--variant", "batch 512, lr 0.05x8", "--set", "train.steps=2"
    )
    assert status == 0, err
    *evals, summary = json_lines(out)
    assert summary["status"] == "finished" and summary["steps"] == 2
    assert [row["lr"] for row in evals] == [0.4, 0.4]  # the variant's rate, evaluated each step
    result = run_main(capsys, "train", preset, "--variant", "batch 3")
    assert_usage_error(result, "--variant: no run 'batch 3'", "'batch 512'")


def test_search_takes_a_search_presets_own_space(tmp_path: Path, capsys) -> None:
    """`search assets/presets/search/1_book_6_5.json` runs the book's space without --space;
    a preset without one asks for --space."""
    storage = f"sqlite:///{tmp_path / 'search.db'}"
    book = str(PRESETS / "search" / "1_book_6_5.json")
    status, out, err = run_main(
        capsys, "search", book, "--storage", storage, "--trials", "1", "--set", "train.epochs=1"
    )
    assert status == 0, err
    trial, summary = json_lines(out)
    assert summary["trials"] == 1
    assert set(trial["params"]) == {"train.lr", "train.weight_decay"}
    assert 1e-6 <= trial["params"]["train.lr"] <= 1e-2
    result = run_main(capsys, "search", str(PRESETS / "circle.json"), "--storage", storage)
    assert_usage_error(result, "--space: is needed", "holds no search space")
