"""The sequences lab's gates picture: the sequence read and each gate's heat map, one column
per step, so that a marked step's bar sits over the gates it opened or closed."""

from __future__ import annotations

import altair as alt
import pytest

from engine.bptt import gate_trace
from engine.config import Config
from engine.trainer import Trainer
from ui.live import LiveRun
from ui.sequence_views import (
    AXIS_EXTENT,
    GATE_UNITS,
    GATES_WIDTH,
    gates_chart,
    gates_table,
    gradients_of,
)


def adding_config(arch: str) -> Config:
    return Config.from_dict(
        {
            "data": {"dataset": "adding", "n_samples": 100, "seq_len": 12},
            "model": {"arch": arch, "hidden": [20]},
            "train": {"optimizer": "adam", "batch_size": 16, "loss": "mse"},
        }
    )


@pytest.mark.parametrize(("arch", "gates"), [("lstm", 3), ("gru", 2)])
def test_the_sequence_and_every_gate_share_their_columns(arch: str, gates: int) -> None:
    trainer = Trainer(adding_config(arch))
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


def test_the_gradient_through_time_follows_a_paused_run_and_a_playing_one_every_few_seconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A backward pass over 256 sequences at every charts redraw would hold up the session's
    training: while playing, the picture is recomputed every BPTT_REFRESH_S only."""
    import ui.sequence_views as views

    clock = [100.0]
    monkeypatch.setattr(views.time, "monotonic", lambda: clock[0])
    run = LiveRun([Trainer(adding_config("lstm"))], ["LSTM"])
    first = gradients_of(run, 0)
    assert first is not None and first.shape == (12,)
    run.trainers[0].step(20)
    run.playing = True
    clock[0] += views.BPTT_REFRESH_S / 2
    assert gradients_of(run, 0) is first  # playing, and recent: the same picture
    clock[0] += views.BPTT_REFRESH_S
    playing_later = gradients_of(run, 0)
    assert playing_later is not first and not (playing_later == first).all()  # trained since
    run.trainers[0].step(5)
    run.playing = False
    assert gradients_of(run, 0) is not playing_later  # paused: always the current network
