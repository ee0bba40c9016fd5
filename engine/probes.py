"""Probes: what happens inside each layer, reduced to small summaries on the device.

Forward hooks on each hidden block's activation module see the pre-activation (its input) and
the post-activation (its output). They are attached only for the steps being probed, so other
steps pay nothing. Raw activations never leave this module: each becomes a histogram with fixed
bin edges (chosen at the first probe, then kept so frames are comparable over time), mean, std,
the saturated fraction (sigmoid/tanh near their bounds, where the gradient vanishes) and the
dead fraction (ReLU-like units negative for every example, which pass no gradient).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from engine.activations import ACTIVATIONS
from engine.models import Network

# A unit counts as saturated when its output lies within this fraction of the output range from
# a bound: |tanh| > 0.9, sigmoid < 0.05 or > 0.95, where the derivative is under ~20% of its peak.
SATURATION_MARGIN = 0.05


def nice_limit(x: float) -> float:
    """Smallest of 1, 2, 5 x 10^k that is >= x (a round histogram range)."""
    if not math.isfinite(x) or x <= 0:
        return 1.0
    k = math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * 10**k >= x:
            return float(m * 10**k)
    return float(10 ** (k + 1))  # pragma: no cover


def histogram(x: Tensor, lo: float, hi: float, bins: int) -> dict[str, Any]:
    """Counts over `bins` equal bins on [lo, hi] (values outside are clamped into the end bins),
    plus mean, std and the fraction that fell outside."""
    x = x.detach().float().flatten()
    x = x[torch.isfinite(x)]
    if x.numel() == 0:
        return {
            "edges": _edges(lo, hi, bins),
            "counts": [0] * bins,
            "mean": math.nan,
            "std": math.nan,
            "outside": 0.0,
        }
    outside = ((x < lo) | (x > hi)).float().mean()
    counts = torch.histc(x.clamp(lo, hi), bins=bins, min=lo, max=hi)
    stats = torch.stack([x.mean(), x.std(unbiased=False), outside]).tolist()
    return {
        "edges": _edges(lo, hi, bins),
        "counts": [int(c) for c in counts.tolist()],
        "mean": stats[0],
        "std": stats[1],
        "outside": stats[2],
    }


def _edges(lo: float, hi: float, bins: int) -> list[float]:
    return [lo + (hi - lo) * i / bins for i in range(bins + 1)]


class Probes:
    """Per-layer summaries for one network.

    Use: `with probes.capture(): out = model(x)`; then after `loss.backward()` call
    `probes.record_grads()`, before `optimizer.step()` call `probes.snapshot_weights()`, and
    after it `probes.summary()` returns one dict per layer (hidden layers, then the output).
    """

    def __init__(self, model: Network, activation: str, bins: int = 30) -> None:
        self.model = model
        self.bins = bins
        entry = ACTIVATIONS.get(activation)
        self.bounds: tuple[float, float] | None = entry.extra.get("bounds")
        self.can_die = bool(entry.extra.get("can_die"))
        self.ranges: dict[str, tuple[float, float]] = {}  # fixed at first sight, then kept
        self._acts: dict[int, dict[str, Any]] = {}
        self._grads: dict[int, float] = {}
        self._before: dict[int, Tensor] = {}

    # Ranges ---------------------------------------------------------------------------------

    def _range(self, key: str, x: Tensor, bounded: bool = False) -> tuple[float, float]:
        if key not in self.ranges:
            if bounded and self.bounds is not None:
                self.ranges[key] = self.bounds
            else:
                finite = x.detach()[torch.isfinite(x.detach())]
                peak = finite.abs().max().item() if finite.numel() else 1.0
                lim = nice_limit(peak)
                self.ranges[key] = (-lim, lim)
        return self.ranges[key]

    # Forward ---------------------------------------------------------------------------------

    @contextmanager
    def capture(self) -> Iterator[None]:
        """Record pre/post-activation summaries of the forward passes run inside the block."""
        handles = [
            block.act.register_forward_hook(self._hook(i))
            for i, block in enumerate(self.model.blocks)
        ]
        try:
            yield
        finally:
            for h in handles:
                h.remove()

    def _hook(self, index: int):
        def hook(module: nn.Module, inputs: tuple[Tensor, ...], output: Tensor) -> None:
            self._acts[index] = self.activation_stats(index, inputs[0], output)

        return hook

    def activation_stats(self, index: int, pre: Tensor, post: Tensor) -> dict[str, Any]:
        """Histograms of pre/post activations, saturated and dead fractions for layer `index`."""
        pre, post = pre.detach(), post.detach()  # (batch, units) or (batch, channels, h, w)
        stats: dict[str, Any] = {
            "pre": histogram(pre, *self._range(f"pre{index}", pre), self.bins),
            "post": histogram(post, *self._range(f"post{index}", post, True), self.bins),
            "saturated": None,
            "dead": None,
        }
        if self.bounds is not None:
            lo, hi = self.bounds
            margin = SATURATION_MARGIN * (hi - lo)
            stats["saturated"] = ((post < lo + margin) | (post > hi - margin)).float().mean().item()
        if self.can_die and pre.dim() >= 2:
            # A unit (feature or channel) is dead if it is <= 0 for every example and position.
            per_unit = pre.transpose(0, 1).reshape(pre.shape[1], -1).amax(dim=1)  # (units,)
            stats["dead"] = (per_unit <= 0).float().mean().item()
        return stats

    # Backward and update --------------------------------------------------------------------

    def record_grads(self) -> None:
        """Store each layer's weight-gradient norm (call after backward)."""
        for i, (_, layer) in enumerate(self.model.weight_layers()):
            g = _weight_grad(layer)
            self._grads[i] = float(g.norm()) if g is not None else math.nan

    def snapshot_weights(self) -> None:
        """Copy weights before the optimizer step, to measure the relative update."""
        self._before = {
            i: layer.weight.detach().clone()
            for i, (_, layer) in enumerate(self.model.weight_layers())
        }

    def summary(self) -> list[dict[str, Any]]:
        """One dict per layer with whatever was recorded since the last summary."""
        out = []
        for i, (name, layer) in enumerate(self.model.weight_layers()):
            w = layer.weight.detach()
            row: dict[str, Any] = {"layer": name, "index": i}
            row.update(self._acts.get(i, {}))
            row["weight"] = histogram(w, *self._range(f"w{i}", w), self.bins)
            row["weight_norm"] = float(w.norm())
            row["grad_norm"] = self._grads.get(i)
            before = self._before.get(i)
            row["update_ratio"] = (
                float((w - before).norm() / before.norm().clamp_min(1e-12))
                if before is not None
                else None
            )
            out.append(row)
        self._acts, self._grads, self._before = {}, {}, {}
        return out


def _weight_grad(layer: nn.Module) -> Tensor | None:
    """The weight's gradient; for a weight-normed layer, its parameters' (g, v) grads joined."""
    if parametrize.is_parametrized(layer, "weight"):
        params = list(layer.parametrizations.weight.parameters())
    else:
        params = [layer.weight]
    grads = [p.grad.flatten() for p in params if p.grad is not None]
    return torch.cat(grads) if grads else None


def probe_at_init(
    model: Network, activation: str, x: Tensor, y: Tensor, loss_fn: Any, bins: int = 30
) -> list[dict[str, Any]]:
    """Per-layer summaries of one forward/backward pass before any training step."""
    probes = Probes(model, activation, bins)
    model.train()
    model.zero_grad(set_to_none=True)
    with probes.capture():
        loss = loss_fn(model(x), y)
    loss.backward()
    probes.record_grads()
    rows = probes.summary()
    model.zero_grad(set_to_none=True)
    return rows
