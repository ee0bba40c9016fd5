"""Exports of a stored run (config JSON, metrics CSV, weights, standalone script) and import."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
import subprocess
import sys
import zipfile
from pathlib import Path
from subprocess import PIPE
from typing import Any

import pytest
import torch

from engine.activations import ACTIVATIONS
from engine.config import Config
from engine.data import mnist
from engine.export import (
    CSV_COLUMNS,
    ExportError,
    bundle_zip,
    config_json,
    import_config,
    metrics_csv,
    pytorch_script,
    slug,
    weights_bytes,
)
from engine.models import build_model
from engine.norms import NORMS
from engine.presets import PRESETS_DIR
from engine.registry import ConfigError
from engine.regularizers import DROPOUTS
from engine.store import RunRecord, RunStore
from engine.trainer import Trainer
from tests.engine.tiny import outputs

ROOT = Path(__file__).resolve().parents[2]
TOY = {
    "data.dataset": "circle",
    "data.n_samples": 200,
    "data.features": ["x1", "x2", "x1^2", "sin_x2"],
    "model.hidden": [8, 6],
    "model.activation": "relu",
    "model.norm": "batch",
    "model.dropout": "dropout",
    "model.dropout_rate": 0.2,
    "model.residual": True,
    "train.batch_size": 20,
    "train.epochs": 3,
    "device": "cpu",
}
CNN = {
    "data.dataset": "mnist",
    "data.train_subset": 200,
    "model.arch": "cnn",
    "model.hidden": [4, 6],
    "model.activation": "relu",
    "model.norm": "batch",
    "train.batch_size": 20,
    "train.steps": 6,
    "device": "cpu",
}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> RunStore:
    return RunStore(tmp_path_factory.mktemp("store") / "runs.db")


@pytest.fixture(scope="module")
def toy_run(store: RunStore) -> tuple[Trainer, RunRecord]:
    t = Trainer(Config().replace(**TOY))
    t.run()
    return t, store.get(store.save(t, page="pg"))


@pytest.fixture(scope="module")
def cnn_run(store: RunStore) -> tuple[Trainer, RunRecord]:
    t = Trainer(Config().replace(**CNN))
    t.run()
    return t, store.get(store.save(t, page="mnist"))


# ---------------------------------------------------------------------------------------------
# Config JSON and metrics CSV


def test_config_json_round_trips(toy_run: tuple[Trainer, RunRecord]) -> None:
    t, rec = toy_run
    text = config_json(rec)
    assert Config.from_json(text) == t.cfg
    assert import_config(text) == t.cfg
    assert import_config(text.encode()) == t.cfg


def test_metrics_csv_has_one_row_per_evaluation(toy_run: tuple[Trainer, RunRecord]) -> None:
    t, rec = toy_run
    rows = list(csv.reader(io.StringIO(metrics_csv(rec))))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert len(rows) - 1 == len(t.history.evals) == 3
    for row, ev in zip(rows[1:], t.history.evals, strict=True):
        assert int(row[0]) == ev["step"]
        assert [float(v) for v in row[1:]] == [ev[c] for c in CSV_COLUMNS[1:]]  # full precision


def test_metrics_csv_leaves_missing_values_empty(store: RunStore) -> None:
    cfg = Config().replace(
        **{"data.dataset": "reg_plane", "train.loss": "mse", "train.epochs": 2, "device": "cpu"}
    )
    t = Trainer(cfg)
    t.run()
    rows = list(csv.DictReader(io.StringIO(metrics_csv(store.get(store.save(t))))))
    assert len(rows) == 2 and rows[0]["train_acc"] == rows[0]["val_acc"] == ""  # regression
    assert float(rows[-1]["val_loss"]) == t.history.evals[-1]["val_loss"]


def test_exports_need_a_record_with_its_history(
    store: RunStore, toy_run: tuple[Trainer, RunRecord]
) -> None:
    listed = next(r for r in store.list() if r.id == toy_run[1].id)
    with pytest.raises(ExportError, match=r"RunStore.get"):
        metrics_csv(listed)


def test_weights_bytes_is_a_state_dict_file(
    store: RunStore, toy_run: tuple[Trainer, RunRecord]
) -> None:
    t, rec = toy_run
    state = torch.load(io.BytesIO(weights_bytes(store, rec.id)), weights_only=True)
    assert state.keys() == t.model.state_dict().keys()
    assert all(torch.equal(state[k], v) for k, v in t.model.state_dict().items())


def test_bundle_holds_all_four_files(store: RunStore, toy_run: tuple[Trainer, RunRecord]) -> None:
    _, rec = toy_run
    assert slug(rec) == f"run-{rec.id}-mlp-8-6-relu-batch-norm-dropout-0.2-adam-0.01-circle"
    with zipfile.ZipFile(io.BytesIO(bundle_zip(store, rec.id))) as z:
        names = sorted(n.split("/", 1)[1] for n in z.namelist())
        assert names == ["config.json", "metrics.csv", "model.py", "weights.pt"]
        assert z.read(f"{slug(rec)}/metrics.csv").decode() == metrics_csv(rec)


# ---------------------------------------------------------------------------------------------
# The standalone script


def test_scripts_run_standalone_and_reproduce_the_outputs(
    store: RunStore,
    toy_run: tuple[Trainer, RunRecord],
    cnn_run: tuple[Trainer, RunRecord],
    tmp_path: Path,
) -> None:
    """Both scripts run at once, with `python -I` from a folder outside the repository: no
    playground code can be imported there, only torch."""
    assert not tmp_path.resolve().is_relative_to(ROOT)
    procs = []
    for (t, rec), name in ((toy_run, "mlp"), (cnn_run, "cnn")):
        folder = tmp_path / name
        folder.mkdir()
        script = pytorch_script(rec)
        assert "engine" not in script.replace("playground", "")
        (folder / "model.py").write_text(script)
        (folder / "weights.pt").write_bytes(weights_bytes(store, rec.id))
        torch.save(t.val_split.x[:64].clone(), folder / "x.pt")
        cmd = [sys.executable, "-I", "model.py", "--check", "x.pt", "--out", "y.pt"]
        proc = subprocess.Popen(cmd, cwd=folder, stdout=PIPE, stderr=PIPE, text=True)
        procs.append((t, folder, proc))
    probe = subprocess.run(
        [sys.executable, "-I", "-c", "import engine"], cwd=tmp_path, capture_output=True
    )
    assert probe.returncode != 0  # the scripts really ran without the playground
    for t, folder, proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "parameters loaded from" in out and "Network(" in out
        got = torch.load(folder / "y.pt", weights_only=True)
        expected = outputs(t, t.val_split.x[:64])
        assert torch.allclose(got, expected, atol=1e-5, rtol=1e-5)
        assert (got.argmax(1) == expected.argmax(1)).all()


def test_script_preprocess_matches_the_playground_inputs(
    toy_run: tuple[Trainer, RunRecord], cnn_run: tuple[Trainer, RunRecord]
) -> None:
    t, rec = toy_run
    ns = load_script(pytorch_script(rec))
    raw = torch.from_numpy(t.data.val_xy)
    assert torch.allclose(ns["preprocess"](raw), t.val_split.x, atol=1e-6)
    t, rec = cnn_run
    ns = load_script(pytorch_script(rec))
    images = torch.tensor(mnist.load_embedded().train_x[-len(t.val_split.y) :])
    assert torch.allclose(ns["preprocess"](images), t.val_split.x, atol=1e-5)


def load_script(source: str) -> dict[str, Any]:
    """The script's namespace, as an import would give it (main() does not run)."""
    ns: dict[str, Any] = {"__name__": "exported_model"}
    exec(compile(source, "model.py", "exec"), ns)
    return ns


def record_for(cfg: Config, input_shape: list[int], n_outputs: int) -> RunRecord:
    """A RunRecord as the store would give it, for a network that was never trained."""
    n = input_shape[0] if len(input_shape) == 1 else 1
    io_ = {
        "input_shape": input_shape,
        "n_outputs": n_outputs,
        "task": "classification",
        "feature_names": list(cfg.data.features) if len(input_shape) == 1 else [],
        "normalize": "standard",
        "shift": [0.0] * n if len(input_shape) == 1 else 0.0,
        "scale": [1.0] * n if len(input_shape) == 1 else 1.0,
    }
    return RunRecord(
        1, "test", "2025-01-01T00:00:00+00:00", "cli", "finished", cfg.to_dict(), {},
        {}, 0, 0.0, None, None, None, True, io_,
    )  # fmt: skip


def assert_script_rebuilds(changes: dict[str, Any]) -> None:
    """Build the engine's network, give its parameters and buffers non-trivial values, and check
    that the exported script's network loads them strictly and computes the same outputs."""
    cfg = Config().replace(device="cpu", **changes)
    images = cfg.model.arch == "cnn" or cfg.data.dataset == "mnist"
    shape = [1, 28, 28] if images else [len(cfg.data.features)]
    if cfg.data.dataset == "adding":
        shape = [cfg.data.seq_len, 2]
    net = build_model(cfg.model, tuple(shape), 3, cfg.seed)
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(8, *shape, generator=gen)
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.1 * torch.randn(p.shape, generator=gen))
        net.train()
        net(x)  # BatchNorm running statistics move away from 0 and 1
        net.eval()
        expected = net(x)
    ns = load_script(pytorch_script(record_for(cfg, shape, 3)))
    model = ns["build_model"]()
    model.load_state_dict(net.state_dict(), strict=True)
    model.eval()
    # the engine's LSTM runs torch's fused kernel, the script a loop: the order of float sums
    tol = 1e-5 if cfg.model.arch == "lstm" else 1e-6
    with torch.no_grad():
        assert torch.allclose(model(x), expected, atol=tol), changes


MLP_BASE = {"data.dataset": "circle", "model.hidden": [8, 6], "train.batch_size": 8}
CNN_BASE = {"data.dataset": "mnist", "model.arch": "cnn", "model.hidden": [4, 6]}
SEQ_BASE = {"data.dataset": "adding", "data.seq_len": 7, "train.loss": "mse"}


@pytest.mark.parametrize("activation", ACTIVATIONS.names())
@pytest.mark.parametrize("arch", ["mlp", "cnn"])
def test_every_activation_exports(arch: str, activation: str) -> None:
    base = MLP_BASE if arch == "mlp" else CNN_BASE
    assert_script_rebuilds({**base, "model.activation": activation, "model.norm": "batch"})


def _applies(registry: Any, arch: str) -> list[str]:
    return [n for n in registry.names() if arch in registry.get(n).applies_to]


@pytest.mark.parametrize(
    ("arch", "norm", "position"),
    [
        (arch, norm, pos)
        for arch in ("mlp", "cnn")
        for norm in _applies(NORMS, arch)
        for pos in ("before", "after")
    ],
)
def test_every_norm_exports(arch: str, norm: str, position: str) -> None:
    base = MLP_BASE if arch == "mlp" else CNN_BASE
    assert_script_rebuilds({**base, "model.norm": norm, "model.norm_position": position})


@pytest.mark.parametrize(
    ("arch", "dropout"),
    [(arch, d) for arch in ("mlp", "cnn") for d in _applies(DROPOUTS, arch)],
)
def test_every_dropout_variant_exports(arch: str, dropout: str) -> None:
    base = MLP_BASE if arch == "mlp" else CNN_BASE
    changes: dict[str, Any] = {**base, "model.dropout": dropout}
    if dropout == "droppath":
        changes["model.residual"] = True
    if dropout == "cutout" and arch == "mlp":
        changes.update({"data.dataset": "mnist", "model.hidden": [16]})
    assert_script_rebuilds(changes)


@pytest.mark.parametrize(
    "changes",
    [
        {**MLP_BASE, "model.residual": True, "model.hidden": [8, 8, 4]},  # identity + projection
        {**MLP_BASE, "model.residual": True, "model.norm": "weight_norm", "model.bias": False},
        {**MLP_BASE, "model.activation": "maxout", "model.dropout": "dropconnect"},
        {**MLP_BASE, "model.norm": "weight_norm", "model.dropout": "dropconnect"},
        {**CNN_BASE, "model.head": "gap", "model.pool": "avg"},
        {**CNN_BASE, "model.pool": "none", "model.kernel_size": 5, "model.bias": False},
        {**CNN_BASE, "model.activation": "maxout", "model.norm": "group"},
        *(
            {**SEQ_BASE, "model.arch": arch, "model.hidden": [6, 5], "model.bias": bias}
            for arch in ("rnn", "lstm", "gru")
            for bias in (True, False)
        ),
        {**SEQ_BASE, "model.arch": "rnn", "model.activation": "relu"},
        {**SEQ_BASE, "model.arch": "mlp"},
    ],
)
def test_architectures_export(changes: dict[str, Any]) -> None:
    assert_script_rebuilds(changes)


def test_script_is_readable(toy_run: tuple[Trainer, RunRecord]) -> None:
    _, rec = toy_run
    script = pytorch_script(rec)
    assert "nn.Linear(in_features=4, out_features=8)" in script
    assert "norm=nn.BatchNorm1d(8)" in script and "nn.ReLU()" in script
    assert "skip=nn.Linear(in_features=8, out_features=6, bias=False)" in script
    assert "Left out: Dropout (inverted) (model.dropout = dropout), which acts only in" in script
    assert "weights_only=True" in script and "load_state_dict(state)" in script
    assert len(script.splitlines()) < 160


def test_unknown_modules_are_refused_by_name() -> None:
    from engine.codegen import _module_code

    class Mystery(torch.nn.Module):
        pass

    with pytest.raises(ExportError, match="cannot write Mystery as plain PyTorch"):
        _module_code(Mystery())

    class Odd(torch.nn.Linear):  # a torch class whose description is not constructor code
        def extra_repr(self) -> str:
            return "<two by three>"

    with pytest.raises(ExportError, match="cannot write Odd as plain PyTorch"):
        _module_code(Odd(2, 3))
    odd = torch.nn.Linear(2, 3)
    odd.extra_repr = lambda: "<two by three>"  # type: ignore[method-assign]
    assert _module_code(odd) == "nn.Linear(in_features=2, out_features=3)"  # the class's own


# ---------------------------------------------------------------------------------------------
# Import


@pytest.mark.parametrize(
    "path", sorted(PRESETS_DIR.rglob("*.json")), ids=lambda p: str(p.relative_to(PRESETS_DIR))
)
def test_import_accepts_every_shipped_preset(path: Path) -> None:
    data = json.loads(path.read_text())
    expected = Config.from_dict(data.get("config", data))
    assert import_config(path.read_text()) == expected
    assert import_config(path.read_bytes()) == expected


def test_import_accepts_a_partial_config_and_a_bom() -> None:
    cfg = import_config(b'\xef\xbb\xbf{"train": {"lr": 0.5}}')
    assert cfg == Config().replace(**{"train.lr": 0.5})


@pytest.mark.parametrize(
    ("text", "field", "says"),
    [
        ("{not json", "config", "not valid JSON"),
        ("", "config", "the file is empty"),
        ("[1, 2]", "config", "must be a JSON object"),
        ('{"train": {"lr": "fast"}}', "train.lr", "must be a number, got 'fast'"),
        ('{"train": {"lr": -1}}', "train.lr", "must be > 0"),
        ('{"model": {"activation": "swishy"}}', "model.activation", "swishy"),
        ('{"model": {"colour": "red"}}', "model.colour", "unknown key"),
        ('{"model": {"arch": "cnn"}}', "model.arch", "cnn needs image data"),
        ('{"title": "x", "config": {}, "extra": 1}', "extra", "unknown key in a preset"),
        (b"\xff\xfe{}", "config", "not UTF-8"),
    ],
)
def test_import_rejects_bad_input_naming_the_field(
    text: str | bytes, field: str, says: str
) -> None:
    with pytest.raises(ConfigError) as info:
        import_config(text)
    assert info.value.field == field
    assert says in str(info.value)


# ---------------------------------------------------------------------------------------------
# Hostile stored strings and names (issue 10, item 8)

NASTY = (
    'a\x00b "q" """t""" \'s\' back\\slash\nnew line\r\x85\u2028 tab\t\x1b[1m \u00fc \U0001f642 .'
)
WINDOWS_BAD = set('<>:"/\\|?*') | {chr(c) for c in range(32)}


def test_scripts_with_hostile_stored_strings_compile_and_run(
    store: RunStore, toy_run: tuple[Trainer, RunRecord], tmp_path: Path
) -> None:
    """A NUL byte in a run name made the script uncompilable, and a stored string was written
    into a comment as it was: a newline in it ended the comment and the rest became code."""
    import dataclasses

    _, rec = toy_run
    planted = 'standard\nraise SystemExit("stored text ran as code")\n#'
    nasty = dataclasses.replace(
        rec,
        name=NASTY,
        created=NASTY,
        page=NASTY,
        status=NASTY,
        io={**rec.io, "normalize": planted},
    )
    script = pytorch_script(nasty)
    compile(script, "model.py", "exec")
    (tmp_path / "model.py").write_text(script)
    (tmp_path / "weights.pt").write_bytes(weights_bytes(store, rec.id))
    r = subprocess.run(
        [sys.executable, "-I", "model.py"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "parameters loaded from" in r.stdout and "stored text ran" not in r.stdout + r.stderr


@pytest.mark.parametrize(
    "name",
    ["adam 0.", "lr 0.01...", 'a<b>c:d"e/f\\g|h?i*j\x00k\x1fl.', "...", "x " * 99 + ".", NASTY],
    ids=["trailing-dot", "trailing-dots", "windows-bad", "only-dots", "long", "nasty"],
)
def test_export_file_and_folder_names_are_safe_everywhere(
    store: RunStore, toy_run: tuple[Trainer, RunRecord], name: str
) -> None:
    t, _ = toy_run
    run_id = store.save(t, page="pg")
    # The store refuses control characters in new names; a database written before that
    # rule may still hold them, so they are planted with SQL as such a file would have them.
    with sqlite3.connect(store.path) as con:
        con.execute("UPDATE runs SET name = ? WHERE id = ?", (name, run_id))
    rec = store.get(run_id)
    stem = slug(rec)
    assert stem.startswith(f"run-{run_id}") and not stem.endswith((".", "-", " "))
    assert not f"{stem}.json".endswith("..json")
    assert not WINDOWS_BAD & set(stem), stem
    with zipfile.ZipFile(io.BytesIO(bundle_zip(store, run_id))) as z:
        folders = {n.split("/", 1)[0] for n in z.namelist()}
    assert folders == {stem}
