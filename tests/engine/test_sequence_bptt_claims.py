"""sequences/2_truncated_bptt and 3_exploding_clipping: the numbers their walkthroughs print,
on seeds 0, 1 and 2."""

from __future__ import annotations

import pytest
from seq_claims import results

pytestmark = pytest.mark.slow


def test_truncated_bptt_cuts_the_gradient_but_still_learns() -> None:
    """ "every step more than 10 before the answer gets a gradient of exactly zero. Yet it
    learns the task: after 1,000 steps its validation loss is between 0.007 and 0.013 on seeds
    0 to 2, far below the 0.167 of always answering 1, though about ten times the full run's
    0.0005 to 0.0012.\""""
    r = results("2_truncated_bptt")
    for cut, full in zip(r["truncated at 10 steps"], r["full BPTT"], strict=True):
        g = cut["grads"]  # steps 1..50; the cut keeps the last 10
        assert (g[:40] == 0).all() and (g[40:] > 0).all()
        assert (full["grads"] > 0).all()
        assert 0.005 < cut["val_loss"] < 0.015  # measured 0.0125, 0.0080, 0.0072
        assert 0.0003 < full["val_loss"] < 0.0015  # 0.0007, 0.0012, 0.0005
        assert cut["val_loss"] > 4 * full["val_loss"]  # "about ten times": 18, 7, 14


def test_clipping_stops_the_explosion_but_not_the_vanishing() -> None:
    """ "Without clipping the run diverges early, before step 150 on seeds 0 to 2: a few steps
    multiply the gradient norm past 1e18 ... Clipped at 1, no step is longer than 1 and the run
    trains to the end. But ... its validation loss ends between 0.16 and 0.21\""""
    r = results("3_exploding_clipping", probe_every=1)
    for run in r["no clipping"]:  # diverged at steps 63, 138, 61; norms 4e18, 7e18, 2e19
        assert run["status"] == "diverged" and run["last_step"] < 150
        assert run["max_grad"] > 1e18
    for run in r["clip at 1"]:  # 0.1831, 0.1661, 0.2029; largest norm 0.98, 0.99, 0.99
        assert run["status"] == "finished" and run["max_grad"] <= 1.0 + 1e-6
        assert 0.16 < run["val_loss"] < 0.21
