"""Shared by the sequences lab's claim tests: each experiment's runs trained exactly as its
preset sets them up, on seeds 0, 1 and 2 (see tests/engine/test_walkthrough_claims.py)."""

from __future__ import annotations

import functools
import math
from typing import Any

import torch

from engine.bptt import state_gradients
from engine.presets import PRESETS_DIR, load_preset
from engine.trainer import Trainer

SEEDS = (0, 1, 2)
GRAD_EXAMPLES = 256  # as ui/sequence_views.py draws Gradient through time


@functools.cache
def results(preset: str, probe_every: int = 0) -> dict[str, list[dict[str, Any]]]:
    """{label: [summary for seed 0, 1, 2]}, each summary with `grads`: the first recurrent
    layer's gradient per step after training (as Gradient through time draws it), and with
    `probe_every`, `max_grad`: the largest layer gradient norm the probes saw.

    Evaluated once, at the end: the curve's evaluations cost time and change nothing in the
    training (the final numbers are the page's)."""
    torch.set_num_threads(1)
    p = load_preset(PRESETS_DIR / "labs" / "sequences" / f"{preset}.json")
    out: dict[str, list[dict[str, Any]]] = {}
    for v in p.variants:
        out[v.label] = []
        for seed in SEEDS:
            cfg = v.config.replace(seed=seed, device="cpu", **{"train.eval_every": 1_000_000})
            t = Trainer(cfg, probe_every=probe_every)
            summary = dict(t.run())
            if t.status != "diverged":
                x, y = t.val_split.x[:GRAD_EXAMPLES], t.val_split.y[:GRAD_EXAMPLES]
                summary["grads"] = state_gradients(t.model, x, y, t.loss_fn)[0]
            norms = [row.get("grad_norm") for p in t.history.probes for row in p["layers"]]
            # an infinite or NaN norm counts as infinite: the explosion went past any number
            summary["max_grad"] = max(
                (n if math.isfinite(n) else math.inf for n in norms if n is not None), default=0.0
            )
            summary["last_step"] = t.step_count
            out[v.label].append(summary)
    return out
