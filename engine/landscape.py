"""Loss landscapes of a network, after Li et al. 2018.

Li, Xu, Taylor, Studer & Goldstein 2018, "Visualizing the Loss Landscape of Neural Nets"
(NeurIPS): the loss along a 1-D line between two weight vectors (Goodfellow et al. 2015), on a
2-D slice through the trained weights along two filter-normalized random directions, and the
training trajectory projected onto the first two PCA directions of the weights' path.

Parameter sets ("snapshots") are dicts name -> Tensor keyed like `model.named_parameters()`.
A direction moves only the *weights* (Linear/Conv tensors with dim >= 2); biases and
normalization scales/shifts stay at the centre's values, as in Li et al. (sec. 4). For a
weight-normed layer (w = g·v/‖v‖, `torch.nn.utils.parametrizations.weight_norm`) the direction
moves v and leaves the magnitude g fixed: w's filter norms are g whatever v is, so this is
filter normalization built in, and the direction turns each filter without rescaling it.

Many points are evaluated at once: `LossEvaluator` runs `torch.func.functional_call` under
`torch.func.vmap` over chunks of parameter sets, model in eval mode, under `torch.no_grad()`.
Points on a line or plane, theta = base + sum_k c_k d_k, also take a shortcut that is exact up
to rounding: the first layer with parameters sees only the data, and a Linear/Conv layer is
linear in (weight, bias), so its output at every point is z_base + sum_k c_k z_k, computed
k + 1 times instead of once per point (for the MNIST MLP this layer is 70% of the work).

That is the one fast path; `naive_slice_2d` is the plain loop it is checked and timed against
(bench/bench_landscape.py). Two others were measured and removed (one shared CPU core): writing
each point's weights in place into a copy of the model was 0-20% faster than a
`functional_call` per point on the MNIST MLP with 1,000-2,000 images (the only place it ran),
about even with vmapped chunks of 8-16 there, and the same as the naive loop on a CNN; a
generic batched `losses(param_batches)` had no caller.
"""

from __future__ import annotations

import copy
import math
import time
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn
from torch.func import functional_call, vmap
from torch.nn.utils import parametrize

from engine.registry import ConfigError

Params = dict[str, Tensor]
LossFn = Callable[[Tensor, Tensor], Tensor]
Progress = Callable[[int, int], None]

# Bytes of activations one vmapped call may hold (chunk of points x examples x layer widths).
MEMORY_BUDGET = 256 * 2**20
# Most points per vmapped call. Larger chunks amortize Python overhead but push the (chunk,
# examples, width) activations out of cache; see bench/bench_landscape.py for the measurements.
MAX_CHUNK = 256
MAX_CHUNK_GPU = 1024
# CPU: points per vmapped call such that their activations stay about this size (cache-sized);
# a point with more activations than this gets a call of its own, without vmap.
CPU_CHUNK_BYTES = 4 * 2**20
# CPU: one point's activations above this size are computed over pieces of the examples.
CPU_PIECE_BYTES = 64 * 2**20
LINEAR_LAYERS = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
# Most points per side of a 2-D slice, and along a line: the grid's coefficients and losses are
# allocated up front (`--grid 100000` asked for 40 GB), and 201 x 201 is finer than any chart.
MAX_GRID = 201
MAX_LINE_POINTS = 10_001


# Parameter sets ---------------------------------------------------------------------------------


def snapshot(model: nn.Module) -> Params:
    """Detached float32 CPU copies of the model's named parameters."""
    return {n: p.detach().to("cpu", torch.float32, copy=True) for n, p in model.named_parameters()}


def _is_weight_norm_magnitude(name: str, names: Sequence[str]) -> bool:
    """True for weight norm's g: `...parametrizations.<w>.original0` next to an `original1`
    (the only two-tensor parametrization torch ships), or the old API's `weight_g`."""
    if name.endswith(".original0") and ".parametrizations." in name:
        return name[:-1] + "1" in names
    return name.endswith("weight_g")


def perturbed_names(params: Mapping[str, Tensor]) -> list[str]:
    """Names a direction moves: tensors with dim >= 2 (Linear/Conv weights, weight norm's v),
    not 1-D ones (biases, norm scales and shifts, PReLU slopes) nor weight norm's g."""
    names = list(params)
    return [
        n for n, t in params.items() if t.dim() >= 2 and not _is_weight_norm_magnitude(n, names)
    ]


def perturbable(model: nn.Module) -> list[tuple[str, Tensor]]:
    """(name, parameter) for every parameter a direction moves (see `perturbed_names`)."""
    params = dict(model.named_parameters())
    return [(n, params[n]) for n in perturbed_names(params)]


def filter_normalize(direction: Params, weights: Mapping[str, Tensor]) -> Params:
    """Scale each filter of `direction` to the norm of the same filter of `weights`.

    Li et al. 2018, eq. (1): d_ij <- d_ij / ‖d_ij‖ · ‖θ_ij‖, where filter j of a layer is an
    output unit's incoming weights (a row of a Linear weight, an output channel of a Conv
    weight). ReLU nets and BatchNorm make the loss blind to a filter's scale, so an
    unnormalized direction would move small-norm filters relatively more; after this, slices
    of differently scaled nets compare. Tensors with dim < 2 are returned as they are.
    """
    out: Params = {}
    for name, d in direction.items():
        if d.dim() < 2:
            out[name] = d.clone()
            continue
        w = weights[name].detach().to(d.device, d.dtype)
        d_norm = d.flatten(1).norm(dim=1)  # (filters,)
        w_norm = w.flatten(1).norm(dim=1)  # (filters,)
        scale = w_norm / d_norm.clamp_min(torch.finfo(d.dtype).tiny)  # (filters,)
        out[name] = d * scale.view(-1, *([1] * (d.dim() - 1)))  # (filters, ...)
    return out


def random_direction(
    model: nn.Module, generator: torch.Generator, *, center: Mapping[str, Tensor] | None = None
) -> Params:
    """A Gaussian direction, filter-normalized to `center` (default: the model's weights).

    Li et al. 2018, sec. 4: zero for the parameters a direction does not move (biases, norm
    parameters, weight norm's g). Drawn in float32 on `generator`'s device (use a CPU generator
    for results that do not depend on the device), in `named_parameters()` order, so one seed
    gives one direction. Returned on the CPU, keyed like `named_parameters()`.
    """
    weights = center if center is not None else snapshot(model)
    moved = set(perturbed_names(dict(model.named_parameters())))
    raw: Params = {}
    for name, p in model.named_parameters():
        if name in moved:
            r = torch.randn(p.shape, generator=generator, device=generator.device)
            raw[name] = r.to("cpu", torch.float32)
        else:
            raw[name] = torch.zeros(p.shape, dtype=torch.float32)
    return filter_normalize(raw, weights)


def _cpu(t: Tensor) -> Tensor:
    return t.detach().to("cpu", torch.float32)


def flatten(params: Mapping[str, Tensor], names: Sequence[str]) -> Tensor:
    """The named tensors concatenated into one float64 vector (P,)."""
    return torch.cat([params[n].detach().reshape(-1).to("cpu", torch.float64) for n in names])


def unflatten(vector: Tensor, like: Mapping[str, Tensor], names: Sequence[str]) -> Params:
    """Inverse of `flatten`: a float32 dict shaped like `like`, zero outside `names`."""
    out = {n: torch.zeros(t.shape, dtype=torch.float32) for n, t in like.items()}
    i = 0
    for n in names:
        k = out[n].numel()
        out[n] = vector[i : i + k].reshape(out[n].shape).to(torch.float32)
        i += k
    return out


# Batched evaluation -----------------------------------------------------------------------------


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Eval mode (BatchNorm running stats, no dropout) and no_grad; restores the mode after."""
    modes = [(m, m.training) for m in model.modules()]
    model.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, training in modes:
            m.training = training


class _Stop(Exception):
    """Raised by a hook to end a forward pass early."""


@dataclass
class _FirstLayer:
    """The first module with parameters to run, when its output is affine in its parameters."""

    module: nn.Module
    prefix: str  # e.g. "blocks.0.layer."
    names: tuple[str, ...]  # its parameter names in the model, e.g. ("blocks.0.layer.weight", ...)
    inputs: Tensor  # what it receives for the evaluator's examples (no parameters involved)


def _private_copy(model: nn.Module, tries: int = 5) -> nn.Module:
    """A deep copy of `model` without its forward hooks (deepcopy brings them along: a probe's,
    say). Another thread adding or removing a hook mid-copy makes deepcopy fail with a
    RuntimeError ("dictionary changed size"): copy again."""
    for attempt in range(tries):
        try:
            out = copy.deepcopy(model)
            break
        except RuntimeError:
            if attempt == tries - 1:
                raise
    for m in out.modules():
        m._forward_pre_hooks.clear()
        m._forward_hooks.clear()
    return out


class LossEvaluator:
    """The loss of one model on fixed data at many points of a line or plane at once.

    `affine_losses` maps `torch.func.functional_call` over the points with `torch.func.vmap`,
    `chunk` points per call (bounding memory: the activations of chunk x examples), in eval mode
    under no_grad. It works on a private copy of the model made with the evaluator (without the
    model's hooks), whose buffers (BatchNorm running statistics) all points share.
    `loss_fn(output, target)` must be a mean over the examples (all of engine.losses are): when
    one point's activations exceed `memory` bytes (on the CPU, the smaller CPU_PIECE_BYTES) the
    examples are split into pieces and the piece means are averaged, weighted by size. `chunk`
    None picks a size from the activations (see the constants above); 1 calls the model
    directly, without vmap.
    """

    def __init__(
        self,
        model: nn.Module,
        x: Tensor,
        y: Tensor,
        loss_fn: LossFn,
        chunk: int | None = None,
        *,
        memory: int = MEMORY_BUDGET,
    ) -> None:
        # A private copy: the app may go on training the model in another thread, and its
        # probes hang hooks on the model's layers (a hook calling .item() breaks vmap).
        self.model, self.loss_fn, self.memory = _private_copy(model), loss_fn, memory
        self.device = next(model.parameters()).device
        self.x, self.y = x.to(self.device), y.to(self.device)
        self.names = [n for n, _ in model.named_parameters()]
        per_point = self._trace()  # activation bytes of one point on all examples
        n = len(self.y)
        cpu = self.device.type == "cpu"
        # CPU: a conv net's maps for 1,000 images (~170 MB) run 1.8x faster in 3 pieces
        pieces = max(1, math.ceil(per_point / (min(memory, CPU_PIECE_BYTES) if cpu else memory)))
        size = math.ceil(n / pieces)
        self.pieces = [(i, min(i + size, n)) for i in range(0, n, size)]
        per_call = max(1, per_point * size // max(1, n))  # one point on one piece
        if cpu:
            # small chunks that stay in cache beat big batched ops (bench/bench_landscape.py)
            auto = min(MAX_CHUNK, max(1, CPU_CHUNK_BYTES // per_call))
        else:
            auto = min(MAX_CHUNK_GPU, max(1, memory // per_call))
        self.chunk = chunk if chunk is not None else auto
        if self.chunk < 1:
            raise ValueError(f"chunk must be >= 1, got {self.chunk}")

    def _trace(self) -> int:
        """One forward pass on a few examples: finds the first layer (see `_FirstLayer`) and
        returns the bytes of the activations that depend on the parameters, scaled up to all
        examples (an estimate of what one point costs in memory)."""
        owners = {
            m: prefix
            for prefix, m in self.model.named_modules()
            if next(m.parameters(recurse=False), None) is not None
        }
        calls: list[nn.Module] = []
        kept: dict[int, Tensor] = {}  # data_ptr -> output, held so no address is reused

        def pre_hook(m: nn.Module, _args: object) -> None:
            calls.append(m)

        def hook(_m: nn.Module, _args: object, out: object) -> None:
            # outputs computed before any parameter is used (e.g. flattening the input) are
            # shared by all points; containers and identities return a tensor already counted
            if calls and isinstance(out, Tensor):
                kept.setdefault(out.data_ptr(), out)

        k = min(8, len(self.y))
        handles = [m.register_forward_pre_hook(pre_hook) for m in owners]
        handles += [m.register_forward_hook(hook) for m in self.model.modules()]
        try:
            with _eval_mode(self.model):
                self.model(self.x[:k])
        finally:
            for h in handles:
                h.remove()
        self._first = self._find_first(calls, owners)
        total = sum(t.numel() * t.element_size() for t in kept.values())
        return max(1, total * len(self.y) // max(1, k))

    def _find_first(
        self, calls: list[nn.Module], owners: dict[nn.Module, str]
    ) -> _FirstLayer | None:
        """The first module with parameters of its own to run, if it is a plain Linear/Conv
        (eval-mode DropConnect included) called once per forward pass: its input depends on
        the data only, and its output is linear in (weight, bias), so `affine_losses` can
        combine it from K + 1 evaluations."""
        if not calls:
            return None
        module = calls[0]
        if (
            not isinstance(module, LINEAR_LAYERS)
            or parametrize.is_parametrized(module)
            or sum(m is module for m in calls) != 1
        ):
            return None
        captured: list[Tensor] = []

        def grab(_m: nn.Module, args: tuple[Tensor, ...]) -> None:
            captured.append(args[0].detach())
            raise _Stop  # the rest of the forward pass is not needed

        handle = module.register_forward_pre_hook(grab)
        try:
            with _eval_mode(self.model):
                self.model(self.x)
        except _Stop:
            pass
        finally:
            handle.remove()
        prefix = owners[module] + "." if owners[module] else ""
        names = tuple(prefix + n for n, _ in module.named_parameters())
        return _FirstLayer(module, prefix, names, captured[0])

    def affine_losses(
        self,
        base: Mapping[str, Tensor],
        directions: Sequence[Mapping[str, Tensor]],
        coeffs: Tensor,
        progress: Progress | None = None,
    ) -> Tensor:
        """Loss (B,) at base + sum_k coeffs[b, k] * directions[k], for coeffs (B, K).

        Parameters that no direction moves stay unbatched, and the first layer's output is
        combined from K + 1 evaluations (see the module docstring). `progress(done, total)` is
        called as chunks finish, about every 1% of the points at most.
        """
        coeffs = coeffs.to(self.device, torch.float32)
        k = coeffs.shape[1]
        if k != len(directions):
            raise ValueError(f"coeffs has {k} columns for {len(directions)} directions")
        base_d = {n: base[n].to(self.device, torch.float32) for n in self.names}
        dirs = [{n: d[n].to(self.device, torch.float32) for n in self.names} for d in directions]
        moved = [n for n in self.names if any(bool(d[n].any()) for d in dirs)]
        first = self._first
        inject: tuple[Tensor, Tensor] | None = None
        if first is not None and any(n in moved for n in first.names):
            inject = self._first_outputs(first, base_d, dirs)
            if inject is not None:
                moved = [n for n in moved if n not in first.names]
        shared = self._differing({n: base_d[n] for n in self.names if n not in moved})
        moving = {n: (base_d[n], torch.stack([d[n] for d in dirs])) for n in moved}
        return self._run(coeffs, moving, shared, inject, progress)

    def _first_outputs(
        self, first: _FirstLayer, base: Params, dirs: list[Params]
    ) -> tuple[Tensor, Tensor] | None:
        """The first layer's output at the base point (N, ...) and along each direction
        (K, N, ...): the layer is linear in (weight, bias), so the output at base + sum c_k d_k
        is out_base + sum c_k out_k."""
        local = [n[len(first.prefix) :] for n in first.names]

        def out(params: Params) -> Tensor:
            p = {ln: params[n] for ln, n in zip(local, first.names, strict=True)}
            return functional_call(first.module, p, (first.inputs,))

        with _eval_mode(self.model):
            z0 = out(base)  # (N, width, ...)
            if z0.numel() * z0.element_size() * (len(dirs) + 1) > self.memory:
                return None  # e.g. a conv layer's maps on many images: not worth the memory
            zk = torch.stack([out(d) for d in dirs])  # (K, N, width, ...)
        return z0, zk

    def _differing(self, params: Params) -> Params:
        """The entries of `params` that differ from the model's own values: functional_call
        swaps in only those (each swap costs time on every call)."""
        own = dict(self.model.named_parameters())
        return {n: v for n, v in params.items() if not torch.equal(v, own[n].detach())}

    def _run(
        self,
        coeffs: Tensor,
        moving: dict[str, tuple[Tensor, Tensor]],
        shared: Params,
        inject: tuple[Tensor, Tensor] | None,
        progress: Progress | None,
    ) -> Tensor:
        """Loss (B,) at the points of coeffs (B, K), chunk by chunk: `moving` holds each
        batched parameter's base (*shape) and directions (K, *shape), `shared` the unbatched
        values swapped in, `inject` the first layer's outputs (see `_first_outputs`)."""
        model, loss_fn, first = self.model, self.loss_fn, self._first
        state: dict[str, Tensor] = {}  # the current point's first-layer output

        def one(params: Params, c: Tensor, lo: int, hi: int) -> Tensor:
            """Loss of one point on examples lo:hi (vmap adds the chunk axis)."""
            if inject is not None:
                z0, zk = inject
                # (n, ...) + (K,) . (K, n, ...): this point's first-layer output (n, ...)
                state["z"] = z0[lo:hi] + torch.tensordot(c, zk[:, lo:hi], dims=1)
            # tie_weights=False: these nets tie no weights, and looking for ties walks every
            # module on every call
            out = functional_call(model, {**shared, **params}, (self.x[lo:hi],), tie_weights=False)
            return loss_fn(out, self.y[lo:hi])

        def skip_input(_m: nn.Module, args: tuple[Tensor, ...]) -> tuple[Tensor, ...]:
            return (args[0][:0], *args[1:])  # zero examples: its output is replaced anyway

        def injected(_m: nn.Module, _args: object, _out: Tensor) -> Tensor:
            return state["z"]

        handles = []
        if inject is not None and first is not None:
            handles = [
                first.module.register_forward_pre_hook(skip_input),
                first.module.register_forward_hook(injected),
            ]
        total, n = len(coeffs), len(self.y)
        result = torch.empty(total, dtype=torch.float32)
        every = max(1, total // 100)  # progress about every 1%: a callback may redraw a page
        try:
            with _eval_mode(model):
                for start in range(0, total, self.chunk):
                    stop = min(start + self.chunk, total)
                    c = coeffs[start:stop]  # (chunk, K)
                    params = {  # (chunk, *shape) each
                        k: b + torch.tensordot(c, d, dims=1) for k, (b, d) in moving.items()
                    }
                    acc = torch.zeros(stop - start, device=self.device)  # (chunk,)
                    for lo, hi in self.pieces:
                        if stop - start == 1:
                            # vmap over one point is a plain call (the torch.func.vmap docs:
                            # chunk_size=1 is a for-loop), without vmap's per-op overhead
                            p0 = {k: v[0] for k, v in params.items()}
                            part = one(p0, c[0], lo, hi)[None]  # (1,)
                        else:
                            f = vmap(one, in_dims=(0, 0, None, None))
                            with warnings.catch_warnings():
                                # weight norm has no batching rule yet: torch falls back to a
                                # loop over the chunk (correct, slower) and says so every call
                                warnings.filterwarnings("ignore", ".*batching rule.*_weight_norm")
                                part = f(params, c, lo, hi)  # (chunk,)
                        acc += part * ((hi - lo) / n)  # piece means, weighted by size
                    result[start:stop] = acc.cpu()
                    if progress is not None and (stop // every > start // every or stop == total):
                        progress(stop, total)
        finally:
            for h in handles:
                h.remove()
            state.clear()
        return result


# Lines and slices -------------------------------------------------------------------------------


@dataclass
class LineResult:
    """Loss at theta_a + alpha (theta_b - theta_a) for each alpha."""

    alphas: np.ndarray  # (points,), or up to 2 more: see `line`
    losses: np.ndarray  # same shape as alphas
    seconds: float


@dataclass
class SliceResult:
    """Loss on the plane center + alpha d1 + beta d2.

    Orientation: `losses[i, j]` is the loss at (alphas[j], betas[i]): rows follow beta (the
    y axis), columns follow alpha (the x axis), as an image or a contour plot expects.
    """

    alphas: np.ndarray  # (grid,)
    betas: np.ndarray  # (grid,)
    losses: np.ndarray  # (grid, grid)
    seconds: float


def _check_points(name: str, value: int, low: int, high: int) -> None:
    """ConfigError before anything is allocated when a point count is out of range."""
    if not low <= value <= high:
        raise ConfigError(name, f"must be between {low} and {high:,}, got {value:,}")


def _grid_coeffs(grid: int, span: float) -> tuple[np.ndarray, Tensor]:
    """Grid axis (grid,) and the (grid*grid, 2) (alpha, beta) pairs in row-major order of
    SliceResult.losses (beta slow, alpha fast)."""
    _check_points("grid", grid, 2, MAX_GRID)
    axis = np.linspace(-span, span, grid).round(12)  # the centre exactly 0 when on the grid
    a = torch.tensor(axis, dtype=torch.float32)
    beta, alpha = torch.meshgrid(a, a, indexing="ij")  # (grid, grid) each
    return axis, torch.stack([alpha.reshape(-1), beta.reshape(-1)], dim=1)


def line(
    model: nn.Module,
    theta_a: Mapping[str, Tensor],
    theta_b: Mapping[str, Tensor],
    x: Tensor,
    y: Tensor,
    loss_fn: LossFn,
    points: int = 41,
    span: tuple[float, float] = (-0.25, 1.25),
    progress: Progress | None = None,
    *,
    chunk: int | None = None,
) -> LineResult:
    """Loss along the line theta_a + alpha (theta_b - theta_a), alpha in `span`.

    Goodfellow, Vinyals & Saxe 2015 ("Qualitatively characterizing neural network optimization
    problems"), as used by Li et al. 2018, sec. 3: every parameter moves, biases and norm
    parameters included. alpha = 0 is theta_a and alpha = 1 is theta_b. `alphas` are `points`
    evenly spaced values over `span`, plus 0 and 1 where they lie inside it but between grid
    values (as with the defaults: steps of 0.0375), so both ends are always drawn exactly.
    """
    _check_points("points", points, 2, MAX_LINE_POINTS)
    start = time.perf_counter()
    even = np.linspace(span[0], span[1], points).round(12)  # (points,) 0 exactly, if on it
    ends = [a for a in (0.0, 1.0) if span[0] <= a <= span[1] and a not in even]
    alphas = np.sort(np.concatenate([even, ends]))  # (points,) to (points + 2,)
    diff = {n: _cpu(theta_b[n]) - _cpu(theta_a[n]) for n in theta_a}
    coeffs = torch.tensor(alphas, dtype=torch.float32)[:, None]  # (points, 1)
    ev = LossEvaluator(model, x, y, loss_fn, chunk)
    losses = ev.affine_losses(theta_a, [diff], coeffs, progress)
    return LineResult(alphas, losses.double().numpy(), time.perf_counter() - start)


def slice_2d(
    model: nn.Module,
    center: Mapping[str, Tensor],
    d1: Mapping[str, Tensor],
    d2: Mapping[str, Tensor],
    x: Tensor,
    y: Tensor,
    loss_fn: LossFn,
    grid: int = 31,
    span: float = 1.0,
    progress: Progress | None = None,
    *,
    chunk: int | None = None,
) -> SliceResult:
    """Loss on the grid x grid plane center + alpha d1 + beta d2, alpha and beta in
    [-span, span] (Li et al. 2018, sec. 4, with filter-normalized `random_direction`s, or
    sec. 7 with `pca_directions`). See SliceResult for the orientation of `losses`.
    `progress(done, total)` is called as chunks of points finish."""
    start = time.perf_counter()
    axis, coeffs = _grid_coeffs(grid, span)
    ev = LossEvaluator(model, x, y, loss_fn, chunk)
    losses = ev.affine_losses(center, [d1, d2], coeffs, progress)
    out = losses.double().numpy().reshape(grid, grid)  # (betas, alphas)
    return SliceResult(axis, axis.copy(), out, time.perf_counter() - start)


def naive_slice_2d(
    model: nn.Module,
    center: Mapping[str, Tensor],
    d1: Mapping[str, Tensor],
    d2: Mapping[str, Tensor],
    x: Tensor,
    y: Tensor,
    loss_fn: LossFn,
    grid: int = 31,
    span: float = 1.0,
    progress: Progress | None = None,
) -> SliceResult:
    """`slice_2d` the plain way: copy each point's parameters into the model and run one
    forward pass per grid point (the benchmark's baseline and the tests' oracle). The model's
    parameters are restored afterwards."""
    start = time.perf_counter()
    axis, coeffs = _grid_coeffs(grid, span)
    params = dict(model.named_parameters())
    saved = {n: p.detach().clone() for n, p in params.items()}
    dev = next(model.parameters()).device
    c = {n: center[n].to(dev) for n in params}
    a1, a2 = {n: d1[n].to(dev) for n in params}, {n: d2[n].to(dev) for n in params}
    x, y = x.to(dev), y.to(dev)
    out = torch.empty(len(coeffs), dtype=torch.float64)
    try:
        with _eval_mode(model):
            for i, (alpha, beta) in enumerate(coeffs.tolist()):
                for n, p in params.items():
                    p.copy_(c[n] + alpha * a1[n] + beta * a2[n])
                out[i] = loss_fn(model(x), y).item()
                if progress is not None:
                    progress(i + 1, len(coeffs))
    finally:
        with torch.no_grad():
            for n, p in params.items():
                p.copy_(saved[n])
    losses = out.numpy().reshape(grid, grid)  # (betas, alphas)
    return SliceResult(axis, axis.copy(), losses, time.perf_counter() - start)


# Trajectory PCA ---------------------------------------------------------------------------------


@dataclass
class PcaResult:
    """The first two PCA directions of a training trajectory and the snapshots' coordinates."""

    d1: Params  # unit vector over the moved parameters, zero elsewhere
    d2: Params
    explained: np.ndarray  # (2,) fraction of the trajectory's variance along d1, d2
    coords: np.ndarray  # (T, 2) each snapshot's (alpha, beta) in slice_2d units, final at 0


def pca_directions(
    snapshots: Sequence[Mapping[str, Tensor]],
    final: Mapping[str, Tensor],
    names: Sequence[str] | None = None,
) -> PcaResult:
    """Li et al. 2018, sec. 7: PCA of the trajectory, for plotting it on a loss contour.

    Rows of M are theta_i - theta_final over the moved parameters (`names`, default
    `perturbed_names(final)`); PCA centres M's columns (as sklearn's PCA in the paper's code)
    and takes the top two right singular vectors as unit directions d1, d2. `coords` are the
    projections (theta_i - theta_final) . d, so the final weights sit at (0, 0) and a point
    (alpha, beta) of `slice_2d(center=final, d1, d2)` is the same distance along each axis.
    Each direction's sign is chosen so that the first snapshot has a coordinate >= 0.
    """
    names = list(names) if names is not None else perturbed_names(final)
    if not names:
        raise ValueError("no parameters to project: the model has no weight matrices")
    f = flatten(final, names)  # (P,)
    m = torch.stack([flatten(s, names) - f for s in snapshots])  # (T, P) float64
    if len(m) < 3:
        raise ValueError(
            f"the trajectory PCA needs at least 3 snapshots, got {len(m)}; "
            "record more with Trainer(snapshot_every=...)"
        )
    centered = m - m.mean(dim=0)  # (T, P)
    _, s, vh = torch.linalg.svd(centered, full_matrices=False)  # s (r,), vh (r, P)
    var = s**2
    if len(s) < 2 or var[1] <= var.sum() * 1e-12:
        raise ValueError("the snapshots lie on a line: no second direction to show")
    dirs = vh[:2]  # (2, P) unit rows
    coords = m @ dirs.T  # (T, 2)
    flip = torch.where(coords[0] < 0, -1.0, 1.0).to(torch.float64)  # (2,)
    dirs, coords = dirs * flip[:, None], coords * flip
    explained = (var[:2] / var.sum()).numpy()
    return PcaResult(
        unflatten(dirs[0], final, names),
        unflatten(dirs[1], final, names),
        explained,
        coords.numpy(),
    )
