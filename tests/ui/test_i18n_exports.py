"""A stored run's PyTorch script speaks the reader's language (issue 12): with the Chinese
translation its docstring, comments and notes are Chinese, the code is the same and still
runs; without one (the CLI) it is English as before."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
import torch
from zh_check import untranslated

from engine.codegen import pytorch_script
from engine.export import bundle_zip, weights_bytes
from engine.store import RunRecord, RunStore
from engine.trainer import Trainer
from tests.engine.tiny import tiny
from tests.zh_words import HAN
from ui import i18n


def chinese(text: str) -> str:
    return i18n.text_in("zh", text)


@pytest.fixture(scope="module")
def stored(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunStore, RunRecord]:
    store = RunStore(tmp_path_factory.mktemp("store") / "runs.db")
    trainer = Trainer(tiny(**{"model.dropout": "dropout", "data.features": ["x1", "x2", "x1^2"]}))
    trainer.run()
    return store, store.get(store.save(trainer, page="playground"))


def code_lines(script: str) -> list[str]:
    """The script without comments and docstrings: what runs."""
    tree = ast.parse(script)
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        first = body[0] if isinstance(body, list) and body else None
        if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
            first.value.value = ""
    return ast.unparse(tree).splitlines()


def test_the_script_in_chinese_has_chinese_prose_and_the_same_code(
    stored: tuple[RunStore, RunRecord], tmp_path: Path
) -> None:
    store, record = stored
    english, zh = pytorch_script(record), pytorch_script(record, chinese)
    assert not HAN.search(english)
    doc = ast.get_docstring(ast.parse(zh)) or ""
    assert doc.startswith(
        chinese("Run {id} of the neural-network playground, rebuilt with plain PyTorch.").format(
            id=record.id
        )
    )
    comments = [line for line in zh.splitlines() if line.startswith("# ")]
    assert comments and all(HAN.search(line) for line in comments)
    assert HAN.search(zh.split("def build_model")[1].split('"""')[1])  # the dropout note
    assert code_lines(zh) == code_lines(english)

    # it still runs: rebuild the network and load the weights
    (tmp_path / "weights.pt").write_bytes(weights_bytes(store, record.id))
    namespace: dict = {"__name__": "model"}
    exec(compile(zh, "model.py", "exec"), namespace)
    model = namespace["build_model"]()
    model.load_state_dict(torch.load(tmp_path / "weights.pt", weights_only=True))


def test_the_zip_carries_the_chinese_script(stored: tuple[RunStore, RunRecord]) -> None:
    import io
    import zipfile

    store, record = stored
    with zipfile.ZipFile(io.BytesIO(bundle_zip(store, record.id, chinese))) as z:
        script = next(n for n in z.namelist() if n.endswith("model.py"))
        assert HAN.search(z.read(script).decode())


def test_every_sentence_of_the_script_has_chinese() -> None:
    assert not untranslated(["engine/codegen.py"])
