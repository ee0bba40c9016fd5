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
from typing import Any, cast

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrize

from engine.activations import ACTIVATIONS
from engine.models import Network, WeightLayer, unchanged
from engine.registry import ConfigError

# A unit counts as saturated when its output lies within this fraction of the output range from
# a bound: |tanh| > 0.9, sigmoid < 0.05 or > 0.95, where the derivative is under ~20% of its peak.
SATURATION_MARGIN = 0.05
# Histograms and mean/std of larger tensors use a fixed-stride sample of about this many values:
# the shape of a distribution of 10^5+ values is clear from 2k of them, and the probe stays
# cheap next to a training step (norms and fractions are still computed on every value).
MAX_SUMMARY_VALUES = 2048


def nice_limit(x: float) -> float:
    """Smallest of 1, 2, 5 x 10^k that is >= x (a round histogram range)."""
    if not math.isfinite(x) or x <= 0:
        return 1.0
    k = math.floor(math.log10(x))
    for m in (1, 2, 5, 10):
        if m * 10**k >= x:
            return float(m * 10**k)
    return float(10 ** (k + 1))  # pragma: no cover


def _sample(x: Tensor) -> Tensor:
    """Flattened float copy of `x`, evenly strided down to about MAX_SUMMARY_VALUES values.

    The stride is made coprime with the size of one example (units, or channels x h x w), so
    the samples visit every unit: a stride sharing a factor with the width (500 x 100 values,
    stride 25) would only ever see units 0, 25, 50 and 75.
    """
    per_example = x[0].numel() if x.dim() > 1 and len(x) else 1
    x = x.detach().flatten()
    if x.numel() > MAX_SUMMARY_VALUES:
        stride = -(-x.numel() // MAX_SUMMARY_VALUES)  # ceil(n / max)
        while math.gcd(stride, per_example) != 1:
            stride += 1
        x = x[::stride]
    return x.float()


def histograms(
    xs: list[Tensor], ranges: list[tuple[float, float]], bins: int
) -> list[dict[str, Any]]:
    """For each tensor, counts over `bins` equal bins on its (lo, hi) range, mean and std.

    Values outside the range are counted in the end bins and reported as the fraction
    `outside`; NaNs are left out. Tensors with more than MAX_SUMMARY_VALUES values are
    summarized from an evenly strided sample. All tensors share one `histc` call: tensor k is
    mapped into its own segment [k*(bins+2), (k+1)*(bins+2)) of bin units, whose first and last
    buckets catch values below and above the range. A probe summarizes a dozen small tensors,
    and on CPU the per-operation overhead, not the arithmetic, is what costs.
    """
    if not xs:
        return []
    width = bins + 2
    samples = [_sample(x) for x in xs]
    shifted = []
    for k, (x, (lo, hi)) in enumerate(zip(samples, ranges, strict=True)):
        base, scale = k * width, bins / (hi - lo)
        # u = base + 1 + (x - lo) * scale, clamped inside its segment (histc ignores NaN)
        shifted.append(torch.clamp(x * scale + (base + 1 - lo * scale), base, base + width - 1e-3))
    counts = torch.histc(torch.cat(shifted), bins=len(xs) * width, min=0, max=len(xs) * width)
    raw = torch.cat(samples)  # (total,)
    lengths = torch.tensor([len(x) for x in samples], device=raw.device)
    # Means and stds by segment reductions; the centred second moment avoids cancellation
    # when a mean is large.
    mean = torch.segment_reduce(raw, "mean", lengths=lengths)
    centred = raw - torch.repeat_interleave(mean, lengths)
    std = torch.segment_reduce(centred.square(), "mean", lengths=lengths).sqrt()
    # One transfer for everything: a single device sync.
    flat = torch.cat([counts, torch.stack([mean, std], dim=1).flatten()]).tolist()
    out = []
    for k, (x, (lo, hi)) in enumerate(zip(samples, ranges, strict=True)):
        below, *inner, above = (int(c) for c in flat[k * width : (k + 1) * width])
        m, sd = flat[len(xs) * width + 2 * k : len(xs) * width + 2 * k + 2]
        n = len(x)
        inner[0] += below
        inner[-1] += above
        out.append(
            {
                "edges": _edges(lo, hi, bins),
                "counts": inner,
                "mean": m if n else math.nan,
                "std": sd if n else math.nan,
                "outside": (below + above) / n if n else 0.0,
            }
        )
    return out


def histogram(x: Tensor, lo: float, hi: float, bins: int) -> dict[str, Any]:
    """`histograms` of one tensor."""
    return histograms([x], [(lo, hi)], bins)[0]


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
        self._before: list[Tensor] = []

    # Ranges ---------------------------------------------------------------------------------

    def _range(self, key: str, x: Tensor, bounded: bool = False) -> tuple[float, float]:
        if key not in self.ranges:
            if bounded and self.bounds is not None:
                self.ranges[key] = self.bounds
            else:
                finite = x.detach()[torch.isfinite(x.detach())]
                peak = finite.abs().max().item() if finite.numel() else 1.0
                lim = nice_limit(peak)
                # Non-negative values (ReLU outputs) get [0, lim]: all bins where the data is.
                low = 0.0 if finite.numel() and finite.min().item() >= 0 else -lim
                self.ranges[key] = (low, lim)
        return self.ranges[key]

    # Forward ---------------------------------------------------------------------------------

    @contextmanager
    def capture(self) -> Iterator[None]:
        """Record pre/post-activation summaries of the forward passes run inside the block."""
        handles = [
            block.act.register_forward_hook(self._hook(i))
            for i, block in enumerate(self.model.hidden_blocks())
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
        """Saturated and dead fractions of layer `index` now; samples of the pre/post
        activations are kept for the histograms, which `summary` computes all at once."""
        pre, post = pre.detach(), post.detach()  # (batch, units) or (batch, channels, h, w)
        self._range(f"pre{index}", pre)
        self._range(f"post{index}", post, bounded=True)
        stats: dict[str, Any] = {
            "pre": _sample(pre),
            "post": _sample(post),
            "saturated": None,
            "dead": None,
        }
        if self.bounds is not None:
            lo, hi = self.bounds
            margin = SATURATION_MARGIN * (hi - lo)
            stats["saturated"] = ((post < lo + margin) | (post > hi - margin)).float().mean().item()
        if self.can_die and pre.dim() >= 2:
            # A unit (feature or channel) is dead if it is <= 0 for every example and position.
            # all but the unit axis: (batch, units, h, w) for a CNN; a recurrent layer's
            # (batch, steps, units) has its units last
            dims = [0, 1] if pre.dim() == 3 else [0, *range(2, pre.dim())]
            per_unit = pre.amax(dim=dims)  # (units,)
            stats["dead"] = (per_unit <= 0).float().mean().item()
        return stats

    # Backward and update --------------------------------------------------------------------

    def record_grads(self) -> None:
        """Store each layer's weight-gradient norm (call after backward)."""
        grads = [_weight_grad(layer) for _, layer in self.model.weight_layers()]
        present = [g for g in grads if g is not None]
        norms = iter(torch.stack(torch._foreach_norm(present)).tolist() if present else [])
        self._grads = {i: next(norms) if g is not None else math.nan for i, g in enumerate(grads)}

    def snapshot_weights(self) -> None:
        """Copy weights before the optimizer step, to measure the relative update."""
        self._before = [layer.weight.detach().clone() for _, layer in self.model.weight_layers()]

    def snapshot(self, x: Tensor, y: Tensor, loss_fn: Any) -> list[dict[str, Any]]:
        """Summaries of one forward/backward pass on a fixed batch (x, y), leaving no trace.

        Live pages call this on the same examples at every redraw, so histograms compare over
        time. The pass runs in train mode (dropout and batch statistics as in training) but
        changes nothing: BatchNorm running statistics and the dropout generator are restored,
        and gradients are cleared, so a run's curves are the same whether or not anyone looks.
        """
        model = self.model
        with unchanged(model):
            model.train()
            model.zero_grad(set_to_none=True)
            try:
                with self.capture():
                    loss = loss_fn(model(x), y)
                loss.backward()
                self.record_grads()
                return self.summary()
            finally:
                model.zero_grad(set_to_none=True)

    def summary(self) -> list[dict[str, Any]]:
        """One dict per layer with whatever was recorded since the last summary."""
        layers = self.model.weight_layers()
        weights = [layer.weight.detach() for _, layer in layers]
        # Fused multi-tensor norms: one call for all layers instead of several ops per layer.
        w_norms = torch.stack(torch._foreach_norm(weights)).tolist()
        ratios: list[float | None] = [None] * len(weights)
        if self._before:
            deltas = torch._foreach_sub(weights, self._before)
            d = torch.stack(torch._foreach_norm(deltas))
            b = torch.stack(torch._foreach_norm(self._before)).clamp_min(1e-12)
            ratios = (d / b).tolist()
        rows: list[dict[str, Any]] = []
        tensors: list[Tensor] = []
        keys: list[tuple[int, str, str]] = []  # (row, field, range key) of each histogram
        for i, (name, _) in enumerate(layers):
            row: dict[str, Any] = {"layer": name, "index": i, **self._acts.get(i, {})}
            for part in ("pre", "post"):
                if part in row:
                    tensors.append(row[part])
                    keys.append((i, part, f"{part}{i}"))
            self._range(f"w{i}", weights[i])
            tensors.append(weights[i])
            keys.append((i, "weight", f"w{i}"))
            row["weight_norm"] = w_norms[i]
            row["grad_norm"] = self._grads.get(i)
            row["update_ratio"] = ratios[i]
            rows.append(row)
        hists = histograms(tensors, [self.ranges[key] for _, _, key in keys], self.bins)
        for (i, part, _), hist in zip(keys, hists, strict=True):
            rows[i][part] = hist
        self._acts, self._grads, self._before = {}, {}, []
        return rows


def _weight_grad(layer: WeightLayer) -> Tensor | None:
    """The weight's gradient; for a weight-normed layer, its parameters' (g, v) grads joined."""
    if parametrize.is_parametrized(layer, "weight"):
        parametrizations = cast(nn.ModuleDict, layer.parametrizations)
        params: list[Tensor] = list(parametrizations["weight"].parameters())
    else:
        params = [layer.weight]
    grads = [p.grad.flatten() for p in params if p.grad is not None]
    return torch.cat(grads) if grads else None


def probe_at_init(
    model: Network, activation: str, x: Tensor, y: Tensor, loss_fn: Any, bins: int = 30
) -> list[dict[str, Any]]:
    """Per-layer summaries of one forward/backward pass before any training step.

    The pass runs in train mode, so BatchNorm needs at least 2 examples: fewer is a
    ConfigError naming `samples` (torch would fail with "Expected more than 1 value per
    channel")."""
    if len(x) < 2 and any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        raise ConfigError(
            "samples",
            f"BatchNorm computes statistics over the batch, so probe with at least 2 examples, "
            f"not {len(x)}",
        )
    return Probes(model, activation, bins).snapshot(x, y, loss_fn)
