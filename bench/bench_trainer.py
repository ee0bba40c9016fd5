"""Benchmark: the Trainer against a bare torch loop doing the same work.

Both train the same MNIST MLP 784-100-100-100-100-10 (same initial weights) with Adam on the
same batches of 128; the Trainer also probes every 10 steps. Both evaluate once, at the end, so
the comparison is of the training step itself. Prints the time ratio (target: <= 1.10) and the
toy network's steps per second. Run on purpose: `make bench`, or
`python -m bench.bench_trainer` from the repo root (not a test; timings are noisy).
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
from torch import nn

from engine.config import Config
from engine.trainer import Trainer

MNIST_MLP = {
    "device": "cpu",
    "data.dataset": "mnist",
    "model.hidden": [100, 100, 100, 100],
    "model.activation": "relu",
    "model.init": "he_normal",
    "train.optimizer": "adam",
    "train.lr": 0.001,
    "train.batch_size": 128,
}
TOY = {"device": "cpu", "data.dataset": "circle", "train.batch_size": 10}
# Plain torch optimizers with torch's own defaults, for the bare loop.
BARE_OPTIMIZERS = {"sgd": torch.optim.SGD, "adam": torch.optim.Adam}


def make_trainer(changes: dict, steps: int, probe_every: int) -> Trainer:
    cfg = Config().replace(**{**changes, "train.steps": steps, "train.eval_every": steps})
    return Trainer(cfg, probe_every=probe_every)


def time_trainer(changes: dict, steps: int, probe_every: int) -> float:
    t = make_trainer(changes, steps, probe_every)
    start = time.perf_counter()
    while not t.done:  # not t.run(): its summary also scores the test set, which bare skips
        t.step(1000)
    return time.perf_counter() - start


def time_bare(changes: dict, steps: int) -> float:
    """The same model, data and batches, trained by the plainest loop torch allows."""
    t = make_trainer(changes, steps, 0)  # borrow its model, data and batch order
    model, x_all, y_all = t.model, t.train_split.x, t.train_split.y
    batches = []
    for _ in range(steps):  # the Trainer's own batch order, as index tensors
        pos = t.step_count % t.steps_per_epoch
        if pos == 0:
            perm = torch.randperm(len(y_all), generator=t._batch_gen)
        batches.append(perm[pos * t.batch_size : (pos + 1) * t.batch_size])
        t.step_count += 1
    opt = BARE_OPTIMIZERS[t.cfg.train.optimizer](model.parameters(), lr=t.cfg.train.lr)
    loss_fn = nn.CrossEntropyLoss()
    start = time.perf_counter()
    model.train()
    for idx in batches:
        xb, yb = x_all[idx], y_all[idx]  # any loop over in-memory data gathers its batch
        loss = loss_fn(model(xb), yb)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        loss.item()  # every real loop reads the loss to log it
    model.eval()
    with torch.no_grad():  # one final evaluation, as the Trainer does
        model(x_all).argmax(1).eq(y_all).float().mean().item()
        model(t.val_split.x).argmax(1).eq(t.val_split.y).float().mean().item()
    return time.perf_counter() - start


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--steps", type=int, default=600, help="MNIST steps per timing")
    p.add_argument("--repeats", type=int, default=5)
    args = p.parse_args()
    torch.set_num_threads(1)

    time_trainer(MNIST_MLP, 50, 10), time_bare(MNIST_MLP, 50)  # warm up
    trainer_t, bare_t = [], []
    for _ in range(args.repeats):  # interleaved so drift hits both alike
        trainer_t.append(time_trainer(MNIST_MLP, args.steps, 10))
        bare_t.append(time_bare(MNIST_MLP, args.steps))
    tr, ba = statistics.median(trainer_t), statistics.median(bare_t)
    print(f"MNIST MLP 784-100x4-10, batch 128, {args.steps} steps, median of {args.repeats}:")
    print(f"  bare torch loop      {ba:7.3f} s  ({args.steps / ba:7.1f} steps/s)")
    print(f"  Trainer, probes/10   {tr:7.3f} s  ({args.steps / tr:7.1f} steps/s)")
    print(f"  ratio Trainer/bare   {tr / ba:7.3f}  (target <= 1.10)")

    toy_steps = 3000
    toy = {"trainer": [], "probes": [], "bare": []}
    for _ in range(args.repeats):  # interleaved, like the MNIST runs
        toy["trainer"].append(time_trainer(TOY, toy_steps, 0))
        toy["probes"].append(time_trainer(TOY, toy_steps, 10))
        toy["bare"].append(time_bare(TOY, toy_steps))
    # The fastest of the repeats: on a shared machine, slower runs measure the neighbours.
    toy_tr, toy_pr, toy_ba = (min(toy[k]) for k in ("trainer", "probes", "bare"))
    print(f"Toy MLP 2-8-8-2 (circle), batch 10, {toy_steps} steps, best of {args.repeats}:")
    print(f"  bare torch loop      {toy_steps / toy_ba:7.0f} steps/s")
    print(f"  Trainer              {toy_steps / toy_tr:7.0f} steps/s  ratio {toy_tr / toy_ba:.3f}")
    print(f"  Trainer, probes/10   {toy_steps / toy_pr:7.0f} steps/s  ratio {toy_pr / toy_ba:.3f}")


if __name__ == "__main__":
    main()
