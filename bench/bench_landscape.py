"""Benchmark: a 2-D loss-landscape slice, batched (`slice_2d`) against the naive loop.

Trains the MNIST MLP 784-100-100-100-100-10 briefly (or loads a checkpoint), then times a
31x31 slice along two filter-normalized random directions on the first 1,000 training images
with `engine.landscape.slice_2d` and with `naive_slice_2d` (copy each point's weights into
the model, one forward pass per point). The naive loop is timed on a smaller grid and
extrapolated per point (every point costs the same). Also sweeps the points per vmapped call
(`chunk`) and repeats the comparison on the toy network, where vmap's batching pays most.
Targets: speed-up >= 5x, and the 31x31 MNIST slice under 15 s on a 2-core CPU.
Run on purpose: `python -m bench.bench_landscape` from the repo root (not a test).
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np
import torch

from bench.bench_trainer import MNIST_MLP, TOY  # the networks the trainer bench times
from engine import landscape as ls
from engine.config import Config
from engine.trainer import Trainer


def trained(changes: dict, steps: int, checkpoint: str | None = None) -> Trainer:
    if checkpoint:
        return Trainer.load(checkpoint, device="cpu")
    cfg = Config().replace(**{**changes, "train.steps": steps, "train.eval_every": steps})
    t = Trainer(cfg)
    while not t.done:
        t.step(1000)
    return t


def best(fn: Callable[[], float], repeats: int) -> float:
    """The fastest of `repeats` runs: on a shared machine, slower runs measure the neighbours."""
    return min(fn() for _ in range(repeats))


def compare(t: Trainer, samples: int, grid: int, naive_grid: int, repeats: int, sweep: list[int]):
    model, loss_fn = t.model, t.loss_fn
    x, y = t.train_split.x[:samples], t.train_split.y[:samples]
    center = ls.snapshot(model)
    g = torch.Generator().manual_seed(0)
    d1, d2 = ls.random_direction(model, g), ls.random_direction(model, g)
    auto = ls.LossEvaluator(model, x, y, loss_fn).chunk

    def fast(n: int, chunk: int | None = None) -> float:
        return ls.slice_2d(model, center, d1, d2, x, y, loss_fn, grid=n, chunk=chunk).seconds

    def naive(n: int) -> float:
        return ls.naive_slice_2d(model, center, d1, d2, x, y, loss_fn, grid=n).seconds

    fast(3), naive(3)  # warm up
    a = ls.slice_2d(model, center, d1, d2, x, y, loss_fn, grid=naive_grid)
    b = ls.naive_slice_2d(model, center, d1, d2, x, y, loss_fn, grid=naive_grid)
    diff = float(np.abs(a.losses - b.losses).max())

    sweep_grid = 11
    per_chunk = {
        c: best(lambda c=c: fast(sweep_grid, c), repeats) / sweep_grid**2 * 1e3 for c in sweep
    }
    points, naive_points = grid * grid, naive_grid * naive_grid
    fast_s, naive_s = [], []
    for _ in range(repeats):  # interleaved so drift hits both alike
        fast_s.append(fast(grid))
        naive_s.append(naive(naive_grid) / naive_points * points)  # extrapolated per point
    return auto, per_chunk, min(fast_s), min(naive_s), diff


def matmul_floor(t: Trainer, samples: int, repeats: int) -> float:
    """Seconds per point of the matrix products behind the first layer alone (every point
    needs them: its weights differ), on random inputs: a floor for any exact method."""
    layers = [m for _, m in t.model.weight_layers()[1:]]
    hs = [torch.randn(samples, m.weight.shape[1]) for m in layers]

    def once() -> float:
        start = time.perf_counter()
        for _ in range(20):
            for h, m in zip(hs, layers, strict=True):
                torch.addmm(m.bias, h, m.weight.detach().T)
        return (time.perf_counter() - start) / 20

    return best(once, repeats)


def report(title: str, result, grid: int, naive_grid: int, target_s: float | None) -> None:
    auto, per_chunk, fast_s, naive_s, diff = result
    points = grid * grid
    sweep = "  ".join(f"{c}: {ms:.3f}" for c, ms in per_chunk.items())
    print(title)
    print(f"  ms per point by chunk (11x11 grid): {sweep}   (auto picks {auto})")
    print(
        f"  naive loop      {naive_s:7.2f} s  ({naive_s / points * 1e3:6.3f} ms/point; "
        f"timed on {naive_grid}x{naive_grid} = {naive_grid**2} points, extrapolated to {points})"
    )
    print(
        f"  slice_2d        {fast_s:7.2f} s  ({fast_s / points * 1e3:6.3f} ms/point, chunk {auto})"
    )
    ratio = naive_s / fast_s
    print(f"  speed-up        {ratio:7.2f}x (target >= 5x: {'met' if ratio >= 5 else 'NOT met'})")
    if target_s is not None:
        ok = "yes" if fast_s < target_s else "NO"
        print(f"  {grid}x{grid} slice under {target_s:g} s: {ok}")
    print(f"  max |slice_2d - naive| on the {naive_grid}x{naive_grid} grid: {diff:.2e}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--checkpoint", help="an MNIST MLP checkpoint instead of training one")
    p.add_argument("--grid", type=int, default=31)
    p.add_argument("--naive-grid", type=int, default=9, help="grid the naive loop is timed on")
    p.add_argument("--samples", type=int, default=1000)
    p.add_argument("--repeats", type=int, default=3)
    p.add_argument("--steps", type=int, default=300, help="training steps before slicing")
    args = p.parse_args()
    torch.set_num_threads(1)

    start = time.perf_counter()
    mnist = trained(MNIST_MLP, args.steps, args.checkpoint)
    took = time.perf_counter() - start
    print(f"(MNIST MLP after {mnist.step_count} training steps, {took:.1f} s; torch threads 1)")
    res = compare(mnist, args.samples, args.grid, args.naive_grid, args.repeats, [1, 2, 4, 8, 16])
    n = min(args.samples, len(mnist.train_split.y))
    grid = f"{args.grid}x{args.grid}"
    title = f"MNIST MLP 784-100x4-10, {n} images, {grid} slice, best of {args.repeats}:"
    report(title, res, args.grid, args.naive_grid, 15.0)
    floor = matmul_floor(mnist, n, args.repeats)
    print(
        f"  floor: layers 2-5's matrix products alone take {floor * 1e3:.3f} ms/point, so no "
        f"exact method beats {res[3] / (floor * args.grid**2):.1f}x here"
    )

    toy = trained(TOY, args.steps)
    res = compare(toy, args.samples, args.grid, args.naive_grid, args.repeats, [1, 16, 64, 256])
    n = min(args.samples, len(toy.train_split.y))
    title = f"Toy MLP 2-8-8-2 (circle), {n} points, {grid} slice, best of {args.repeats}:"
    report(title, res, args.grid, args.naive_grid, None)


if __name__ == "__main__":
    main()
