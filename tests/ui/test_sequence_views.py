"""The sequences lab's gates picture: the sequence read and each gate's heat map, one column
per step, so that a marked step's bar sits over the gates it opened or closed."""

from __future__ import annotations

import altair as alt
import pytest

from engine.bptt import gate_trace
from engine.config import Config
from engine.trainer import Trainer
from ui.sequence_views import AXIS_EXTENT, GATE_UNITS, GATES_WIDTH, gates_chart, gates_table


@pytest.mark.parametrize(("arch", "gates"), [("lstm", 3), ("gru", 2)])
def test_the_sequence_and_every_gate_share_their_columns(arch: str, gates: int) -> None:
    cfg = Config.from_dict(
        {
            "data": {"dataset": "adding", "n_samples": 100, "seq_len": 12},
            "model": {"arch": arch, "hidden": [20]},
            "train": {"optimizer": "adam", "batch_size": 16, "loss": "mse"},
        }
    )
    trainer = Trainer(cfg)
    x = trainer.val_split.x[0]
    trace = gate_trace(trainer.model, x)
    assert trace is not None
    df = gates_table(x, trace)
    # the sequence (12 steps, its two marked steps) and GATE_UNITS of the 20 units per gate
    seq = df[df.g < 0]
    assert list(seq.t) == list(range(1, 13)) and seq.marked.sum() == 2
    assert len(df[df.g >= 0]) == gates * 12 * GATE_UNITS

    spec = alt.Chart.from_dict(gates_chart(df, tuple(trace.names)).to_dict()).to_dict()
    rows = spec["vconcat"]
    assert len(rows) == 1 + gates
    # same width and same y-axis extent in every row: the plots start and end at the same x
    assert {r["width"] for r in rows} == {GATES_WIDTH}
    for r in rows:
        axis = r["encoding"]["y"]["axis"]
        assert axis["minExtent"] == axis["maxExtent"] == AXIS_EXTENT
        assert r["encoding"]["x"]["field"] == "t"
    assert spec["resolve"]["scale"]["x"] == "shared"
    # each heat map shows its own gate, named on its axis
    filters = [r["transform"][0]["filter"] for r in rows[1:]]
    assert filters == [f"datum.g == {g}" for g in range(gates)]
    assert [r["encoding"]["y"]["title"] for r in rows[1:]] == [f"{n} gate" for n in trace.names]
