"""Export a stored run (config JSON, metrics CSV, weights, a plain-PyTorch script) and import
a config JSON.

The script is written by `engine.codegen` (`pytorch_script`, re-exported here with its
ExportError, so the Runs page finds every export in this module).
"""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import TYPE_CHECKING, Any

from engine.codegen import ExportError, Translate, pytorch_script
from engine.config import Config
from engine.registry import ConfigError
from engine.textfiles import one_line

if TYPE_CHECKING:
    from engine.store import RunRecord, RunStore

__all__ = [
    "CSV_COLUMNS",
    "ExportError",
    "bundle_zip",
    "config_json",
    "import_config",
    "metrics_csv",
    "pytorch_script",
    "slug",
    "weights_bytes",
]

CSV_COLUMNS = ("step", "epoch", "train_loss", "train_acc", "val_loss", "val_acc", "lr")

# ----------------------------------------------------------------------------------------------
# Config, metrics, weights


def config_json(record: RunRecord) -> str:
    """The run's config as pretty JSON: what `python -m engine train` and `import_config` read."""
    return json.dumps(record.config, indent=2) + "\n"


def _history(record: RunRecord) -> dict[str, Any]:
    if "evals" not in record.history:
        raise ExportError(
            f"run {record.id} was read without its history; read it with RunStore.get(run_id) "
            "(RunStore.list leaves histories out)"
        )
    return record.history


def metrics_csv(record: RunRecord) -> str:
    """One row per stored evaluation: step, epoch, train_loss, train_acc, val_loss, val_acc,
    lr (empty cells where a value does not exist, e.g. accuracy for regression)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in _history(record)["evals"]:
        writer.writerow(["" if row.get(c) is None else row[c] for c in CSV_COLUMNS])
    return out.getvalue()


def weights_bytes(store: RunStore, run_id: int) -> bytes:
    """The run's final state_dict as a `torch.save` file (CPU tensors): `weights.pt`."""
    return store.weights_blob(run_id)


def slug(record: RunRecord) -> str:
    """A file-name stem for the run's exports, e.g. 'run-12-mlp-8-8-tanh-adam-0.01-circle'.

    Letters, digits, '-' and '.' only (nothing Windows refuses: <>:"/\\|?* or control
    characters), and never a '.' or '-' at the end: "name." + ".json" would be "name..json",
    and Windows drops a folder name's trailing dot, which breaks the zip's paths."""
    text = "".join(
        c if (c.isalnum() and c.isprintable()) or c in ".-" else "-"
        for c in str(record.name).split(" #")[0]
    )
    words = [w.strip(".") for w in text.lower().split("-")]
    stem = "-".join([f"run-{int(record.id)}", *[w for w in words if w][:16]])[:80]
    return stem.rstrip(".-")


def bundle_zip(store: RunStore, run_id: int, tr: Translate | None = None) -> bytes:
    """A zip of config.json, metrics.csv, weights.pt and model.py (the script loads the
    weights.pt beside it; `tr` puts its prose in the reader's language)."""
    record = store.get(run_id)
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        folder = slug(record)
        z.writestr(f"{folder}/config.json", config_json(record))
        z.writestr(f"{folder}/metrics.csv", metrics_csv(record))
        z.writestr(f"{folder}/weights.pt", weights_bytes(store, run_id))
        z.writestr(f"{folder}/model.py", pytorch_script(record, *([tr] if tr else [])))
    return buf.getvalue()


# ----------------------------------------------------------------------------------------------
# Import


def import_config(text: str | bytes) -> Config:
    """A run config from JSON text: a bare config or a preset file (with title, summary, ...;
    a lab preset gives its base config). ConfigError naming the field on bad input, its
    message one line (the page quotes it)."""
    from engine.presets import parse_preset

    try:
        return parse_preset("import", text).config
    except ConfigError as e:
        message = one_line(str(e).removeprefix(f"{e.field}: "))
        raise ConfigError(one_line(e.field, 200), message) from None
