"""Recurrent networks (engine/recurrent.py), the adding problem (engine/data/sequences.py) and
the BPTT probes (engine/bptt.py): what the sequences lab shows is what the network does."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from engine.bptt import gate_trace, state_gradients
from engine.budget import footprint
from engine.config import Config
from engine.data import build_dataset
from engine.data.sequences import ADDING_BASELINE, adding
from engine.recurrent import RecurrentBlock
from engine.registry import ConfigError
from engine.trainer import Trainer


def seq_config(arch: str = "lstm", **train: object) -> Config:
    return Config.from_dict(
        {
            "data": {"dataset": "adding", "n_samples": 200, "seq_len": 12},
            "model": {"arch": arch, "hidden": [8]},
            "train": {"optimizer": "adam", "lr": 0.01, "batch_size": 16, "loss": "mse", **train},
        }
    )


def test_the_adding_problem_marks_one_step_in_each_half_and_sums_them() -> None:
    x, y = adding(500, 20, np.random.default_rng(0))
    assert x.shape == (500, 20, 2) and y.shape == (500,)
    marks = x[:, :, 1]
    assert (marks.sum(axis=1) == 2).all()
    assert (marks[:, :10].sum(axis=1) == 1).all() and (marks[:, 10:].sum(axis=1) == 1).all()
    assert np.allclose((x[:, :, 0] * marks).sum(axis=1), y)
    # always answering the mean, 1, scores about the baseline the lab draws
    assert abs(((y - 1) ** 2).mean() - ADDING_BASELINE) < 0.02
    again, _ = adding(500, 20, np.random.default_rng(0))
    assert np.array_equal(x, again)


def test_the_dataset_is_seeded_split_and_not_rescaled() -> None:
    cfg = seq_config().data
    a, b = build_dataset(cfg, 3), build_dataset(cfg, 3)
    assert torch.equal(a.train.x, b.train.x) and a.input_shape == (12, 2)
    assert a.task == "regression" and a.test is None and len(a.train.y) == 100
    assert float(a.train.x[..., 1].max()) == 1.0  # markers stay 0/1


@pytest.mark.parametrize("arch", ["rnn", "lstm", "gru"])
def test_each_cell_trains_and_its_parameters_are_what_the_budget_counts(arch: str) -> None:
    cfg = seq_config(arch, steps=30)
    t = Trainer(cfg)
    params = sum(p.numel() for p in t.model.parameters())
    assert footprint(cfg).params == params
    first = t.evaluate()["val_loss"]
    t.run()
    assert t.status == "finished" and t.step_count == 30
    assert t.history.evals[-1]["val_loss"] < first


def test_the_fused_lstm_computes_what_the_loop_computes() -> None:
    torch.manual_seed(0)
    block = RecurrentBlock("lstm", 2, 16, True, nn.Tanh())
    x = torch.rand(8, 30, 2)
    fast = block(x)
    (fast[:, -1] ** 2).sum().backward()
    grad_fast = block.layer.weight.grad.clone()
    block.zero_grad()
    block.keep_states = True  # someone looks inside: the loop runs
    slow = block(x)
    (slow[:, -1] ** 2).sum().backward()
    assert len(block.states) == 30
    assert torch.allclose(fast, slow, atol=1e-5)
    assert torch.allclose(grad_fast, block.layer.weight.grad, atol=1e-4)


@pytest.mark.parametrize("cut", [0, 5, 10, 30])
def test_the_fused_lstm_truncates_where_the_loop_does(cut: int) -> None:
    """With train.bptt the LSTM runs torch.lstm per segment between the loop's cuts: the same
    outputs and the same (truncated) gradients as the loop."""
    torch.manual_seed(1)
    block = RecurrentBlock("lstm", 2, 8, True, nn.Tanh())
    block.bptt = cut
    x = torch.rand(4, 23, 2)
    grads = []
    for look in (False, True):  # looking inside makes it loop
        block.zero_grad()
        block.keep_states = look
        out = block(x)
        (out[:, -1] ** 2).sum().backward()
        grads.append((out.detach(), block.layer.weight.grad.clone()))
    (fast, g_fast), (slow, g_slow) = grads
    assert torch.allclose(fast, slow, atol=1e-5) and torch.allclose(g_fast, g_slow, atol=1e-5)


def test_truncated_bptt_gives_the_steps_beyond_the_cut_no_gradient() -> None:
    t = Trainer(seq_config("gru", bptt=4))
    x, y = t.val_split.x[:32], t.val_split.y[:32]
    cut = state_gradients(t.model, x, y, t.loss_fn)[0]
    assert cut.shape == (12,) and (cut[:8] == 0).all() and (cut[8:] > 0).all()
    t.apply_live(t.cfg.replace(**{"train.bptt": 0}))  # a live knob: no new trainer
    full = state_gradients(t.model, x, y, t.loss_fn)[0]
    assert (full > 0).all()


def test_the_probes_leave_no_trace() -> None:
    t = Trainer(seq_config("lstm"))
    t.model.eval()
    before = [p.detach().clone() for p in t.model.parameters()]
    state_gradients(t.model, t.val_split.x[:16], t.val_split.y[:16], t.loss_fn)
    assert not t.model.training
    assert all(p.grad is None for p in t.model.parameters())
    assert all(torch.equal(a, b) for a, b in zip(before, t.model.parameters(), strict=True))
    trace = gate_trace(t.model, t.val_split.x[0])
    assert trace is not None and trace.names == ("input", "forget", "output")
    assert trace.values["forget"].shape == (12, 8)
    assert ((trace.values["input"] > 0) & (trace.values["input"] < 1)).all()
    assert gate_trace(Trainer(seq_config("rnn")).model, t.val_split.x[0]) is None


def test_recurrent_weights_start_as_chosen() -> None:
    def block(**model: object) -> RecurrentBlock:
        cfg = Config.from_dict(
            {
                "data": {"dataset": "adding", "n_samples": 50, "seq_len": 5},
                "model": {"hidden": [6], **model},
                "train": {"loss": "mse"},
            }
        )
        return Trainer(cfg).model.hidden_blocks()[0]  # type: ignore[return-value]

    irnn = block(arch="rnn", activation="relu", recurrent_init="identity")
    assert torch.equal(irnn.recurrent_weight, torch.eye(6))
    ortho = block(arch="gru", recurrent_init="orthogonal").recurrent_weight
    for k in range(3):  # one orthogonal matrix per gate
        q = ortho[k * 6 : (k + 1) * 6]
        assert torch.allclose(q @ q.T, torch.eye(6), atol=1e-5)
    lstm = block(arch="lstm", forget_bias=2.0)
    assert torch.equal(lstm.layer.bias[6:12], torch.full((6,), 2.0))
    assert torch.equal(lstm.layer.bias[:6], torch.zeros(6))


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"data.dataset": "circle", "model.arch": "lstm"}, "model.arch", "reads sequences"),
        ({"model.arch": "cnn"}, "model.arch", "image data"),
        ({"model.arch": "lstm", "model.activation": "relu"}, "model.activation", "(choose tanh)"),
        ({"model.arch": "rnn", "model.activation": "gelu"}, "model.activation", "tanh or relu"),
        ({"model.arch": "rnn", "model.norm": "batch"}, "model.norm", "not rnn (choose none)"),
        ({"model.arch": "gru", "model.dropout": "dropout"}, "model.dropout", "(choose none)"),
        ({"model.arch": "rnn", "model.residual": True}, "model.residual", "MLP only"),
        ({"data.seq_len": 201}, "data.seq_len", "200"),
    ],
)
def test_what_does_not_fit_a_recurrent_network_is_refused_with_the_reason(
    changes: dict[str, object], field: str, words: str
) -> None:
    with pytest.raises(ConfigError) as e:
        seq_config().replace(**changes)
    assert e.value.field == field and words in str(e.value)


def test_an_mlp_reads_the_whole_sequence_at_once() -> None:
    t = Trainer(seq_config("mlp", steps=5))
    t.run()
    assert t.status == "finished"


def test_a_too_big_recurrent_network_is_refused_before_allocation() -> None:
    with pytest.raises(ConfigError) as e:
        seq_config().replace(
            **{"model.hidden": (256,), "data.seq_len": 200, "train.batch_size": 4096}
        )
    assert e.value.field == "train.batch_size" and "MB" in str(e.value)


def test_a_relu_rnns_dead_units_are_counted_per_unit_not_per_step() -> None:
    from engine.probes import Probes

    t = Trainer(seq_config("rnn").replace(**{"model.activation": "relu"}))
    block = t.model.hidden_blocks()[0]
    with torch.no_grad():
        block.layer.weight[:2].zero_()  # units 1 and 2 of 8 never fire: dead
        block.layer.bias[:2] = -1.0
        block.layer.bias[2:] = 5.0  # the other six always do
    layers = Probes(t.model, "relu").snapshot(t.val_split.x[:16], t.val_split.y[:16], t.loss_fn)
    assert layers[0]["dead"] == pytest.approx(2 / 8)
