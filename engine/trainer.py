"""The Trainer: owns model, optimizer, schedule, data and history, and advances in steps.

It never blocks forever (`step(n)`, `run_for(seconds)`), is seeded (same config => same
history), stops with status `diverged` when the loss stops being finite, supports early
stopping, and saves/loads checkpoints (config + state dicts, loaded with weights_only=True).
"""

from __future__ import annotations

import copy
import math
import pickle
import time
import warnings
from collections.abc import Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from engine import budget
from engine.config import LIVE_FIELDS, Config, field_paths, registries
from engine.data import Dataset, Split, build_dataset
from engine.data.augment import Augment, augment, step_generator
from engine.data.datasets import data_rng, pretrain_split
from engine.data.uploads import UploadedPoints
from engine.device import resolve_device
from engine.landscape import snapshot as param_snapshot
from engine.losses import LOSSES
from engine.manual_backward import ManualMLPStep
from engine.models import Network, build_model
from engine.optimizers import build_optimizer, lean_step, transfer_groups
from engine.probes import Probes
from engine.recurrent import RecurrentBlock
from engine.registry import ConfigError
from engine.schedules import build_schedule, resume_schedule
from engine.seeding import STREAMS, generator

STATUSES = ("ready", "running", "finished", "early_stopped", "diverged")
TRAIN_EVAL_MAX = 10_000  # train metrics use at most the first 10k training examples
CHECKPOINT_FORMAT = 1
MAX_SNAPSHOTS = 200  # weight snapshots kept for the loss-landscape trajectory
# Training splits up to this many values (16 MB of float32) get one shuffled copy per epoch.
SHUFFLED_COPY_MAX = 4_000_000


def changed_fields(old: Config, new: Config) -> list[str]:
    """Dotted paths of the fields whose values differ between two configs."""
    return [path for path in field_paths() if old.get(path) != new.get(path)]


def can_apply_live(old: Config, new: Config) -> bool:
    """True when a trainer built from `old` can switch to `new` without a reset: every field
    that differs is flagged `live` in the config's field table (engine.config.LIVE_FIELDS)."""
    return all(path in LIVE_FIELDS for path in changed_fields(old, new))


@dataclass
class History:
    """Per-step loss and learning rate; per-evaluation metrics; per-probe layer summaries."""

    step: list[int] = field(default_factory=list)
    loss: list[float] = field(default_factory=list)  # data loss, without L1/L2 penalties
    lr: list[float] = field(default_factory=list)
    evals: list[dict[str, Any]] = field(default_factory=list)
    probes: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {k: copy.deepcopy(v) for k, v in self.__dict__.items()}


class Trainer:
    """Train one network described by a Config, a few steps at a time."""

    def __init__(
        self,
        cfg: Config,
        *,
        probe_every: int = 0,
        dataset: Dataset | None = None,
        max_probes: int | None = None,
        snapshot_every: int = 0,
        max_snapshots: int = MAX_SNAPSHOTS,
        manual_backward: bool = True,
        pretrain: bool = True,
    ):
        """`dataset` replaces the one `cfg.data` describes (e.g. a user's uploaded points);
        `max_probes` bounds the probe history (older frames are thinned out, for live pages
        that train for a long time); None keeps every frame. `snapshot_every` > 0 keeps a
        copy of the weights every that many steps in `snapshots` (for the loss-landscape
        trajectory, Li et al. 2018), at most `max_snapshots` of them (older ones thinned).
        `manual_backward=False` trains a plain MLP through autograd too (for the tests that
        compare the two; see engine/manual_backward.py). With `train.pretrain_epochs` the
        network is pre-trained here, before the first step (see `_pretrain`); `pretrain=False`
        skips that, for a trainer whose weights are loaded next (`restore`)."""
        self.cfg = cfg
        self.max_probes = max_probes
        self.snapshot_every = snapshot_every
        self.max_snapshots = max_snapshots
        t = cfg.train
        self.device = resolve_device(cfg.device)
        data = dataset if dataset is not None else build_dataset(cfg.data, cfg.seed)
        self.data = data
        self.train_split = _to(data.train, self.device)
        self.val_split = _to(data.val, self.device)
        self.test_split = _to(data.test, self.device) if data.test is not None else None
        self.task = data.task
        n_out = self._n_out = data.n_classes if data.task == "classification" else 1
        self.model: Network = build_model(cfg.model, data.input_shape, n_out, cfg.seed, self.device)
        # Evaluation chunks sized to the network's widest layer (engine.budget): 4096 examples
        # for a small MLP, a few hundred for a CNN, so evaluating never spikes the memory.
        self.model.eval_chunk = budget.footprint(cfg).eval_chunk()
        self._set_bptt()
        self.loss_fn = LOSSES.get(t.loss).build(data.n_classes)
        # Transfer learning: pre-train (one row per epoch in pretrain_log), then freeze the
        # leading hidden layers and give the body its own learning rate (lr x body_lr_scale).
        self.pretrain_log: list[dict[str, float]] = []
        if t.pretrain_epochs and pretrain:
            self._pretrain()
        # The weights before any step (cheap: one copy), for the initial -> final loss line:
        # after pre-training, the pre-trained weights the main training starts from.
        self.initial_params: dict[str, Tensor] = param_snapshot(self.model)
        self.snapshots: list[tuple[int, dict[str, Tensor]]] = []  # (step, params)
        frozen = {id(p) for b in self.model.hidden_blocks()[: t.freeze] for p in b.parameters()}
        head = {id(p) for p in self.model.head.parameters()}
        for p in self.model.parameters():
            p.requires_grad_(id(p) not in frozen)
        self._params = [p for p in self.model.parameters() if id(p) not in frozen]
        self.optimizer = build_optimizer(
            transfer_groups(
                [p for p in self._params if id(p) in head],
                [p for p in self._params if id(p) not in head],
                t.body_lr_scale,
                t.lr,
            ),
            t,
        )
        self._manual = (
            ManualMLPStep.for_model(self.model, cfg.model.activation, t.loss, data.task)
            if manual_backward
            else None
        )

        n_train = len(self.train_split.y)
        _check_batch_size(cfg, n_train)
        # Full batches only (drop the ragged last one) so BatchNorm never sees a batch of 1.
        self.batch_size = min(t.batch_size, n_train)
        self.steps_per_epoch = max(1, n_train // self.batch_size)
        self.total_steps = t.steps or t.epochs * self.steps_per_epoch
        self.scheduler = build_schedule(
            self.optimizer, t, self.total_steps, generator=generator(cfg.seed, "noise")
        )
        self.eval_every = t.eval_every or self.steps_per_epoch
        self._batch_gen = generator(cfg.seed, "batches")  # CPU: same order on every device
        self._perm: Tensor | None = None
        self._epoch_data: tuple[Tensor, Tensor] | None = None  # this epoch's shuffled split
        self._augment_gen: torch.Generator | None = None  # reseeded every augmented step
        self._augment = (cfg.train, Augment.of(cfg.train))  # (read from, settings)

        self.probe_every = 0
        self.probes: Probes | None = None
        self.enable_probes(probe_every)
        self.history = History()
        self.step_count = 0
        self.seconds = 0.0  # time spent inside step()
        self._step_start: float | None = None  # when the step() under way began
        self._test_cache: tuple[int, dict[str, float | None]] | None = None  # (step, metrics)
        self.status = "ready"
        self.message = ""
        self._best_val = math.inf
        self._best_state: dict[str, Tensor] | None = None
        self._best_step = 0
        self._stale_evals = 0
        self._pretrain_outcome()

    def enable_probes(self, every: int) -> None:
        """Probe every `every` steps from now on (0 turns probes off)."""
        self.probe_every = every
        self.probes = Probes(self.model, self.cfg.model.activation) if every else None

    # Stepping --------------------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self.status in ("finished", "early_stopped", "diverged")

    @property
    def epoch(self) -> float:
        return self.step_count / self.steps_per_epoch

    def next_batch(self) -> tuple[Tensor, Tensor]:
        """The next minibatch: a fresh seeded permutation each epoch (same for every run).

        A small training split is shuffled once per epoch and each batch is then a slice of
        it (a view): two index operations per epoch instead of two per step, which on a toy
        network was a tenth of the step. A large split (the full MNIST) is gathered batch by
        batch, to avoid a second copy of it."""
        pos = self.step_count % self.steps_per_epoch
        if pos == 0 or self._perm is None:
            n = len(self.train_split.y)
            self._perm = torch.randperm(n, generator=self._batch_gen).to(self.device)
            small = self.train_split.x.numel() <= SHUFFLED_COPY_MAX
            self._epoch_data = (
                (self.train_split.x[self._perm], self.train_split.y[self._perm]) if small else None
            )
        lo, hi = pos * self.batch_size, (pos + 1) * self.batch_size
        if self._epoch_data is not None:
            return self._epoch_data[0][lo:hi], self._epoch_data[1][lo:hi]
        idx = self._perm[lo:hi]
        return self.train_split.x[idx], self.train_split.y[idx]

    def augmented(self, x: Tensor) -> Tensor:
        """Training batch `x` as this step trains on it: moved at random by the config's
        augmentation (train.augment_*), with draws fixed by the seed and the step number; x
        itself when augmentation is off. Evaluation never calls this."""
        if self._augment[0] is not self.cfg.train:  # a live change: read the knobs again
            self._augment = (self.cfg.train, Augment.of(self.cfg.train))
        aug = self._augment[1]
        if not aug.active:
            return x
        self._augment_gen = step_generator(self.cfg.seed, self.step_count, self._augment_gen)
        blank = float(-self.data.shift / self.data.scale)  # pixel value 0, normalized
        return augment(x, aug, self._augment_gen, fill=blank)

    def penalty(self) -> Tensor | None:
        """Explicit L1 / L2 penalties on weight matrices: l1*sum|W| + 0.5*l2*sum(W^2)."""
        t = self.cfg.train
        if not (t.l1 or t.l2):
            return None
        weights = self.model.penalized_weights()
        total = torch.zeros((), device=self.device)
        if t.l1:
            total = total + t.l1 * sum(w.abs().sum() for w in weights)
        if t.l2:
            total = total + 0.5 * t.l2 * sum(w.pow(2).sum() for w in weights)
        return total

    def step(self, n: int = 1) -> int:
        """Take up to `n` optimizer steps; returns how many were taken."""
        taken = 0
        self._step_start = start = time.perf_counter()
        try:
            while taken < n and not self.done:
                self._one_step()
                taken += 1
        finally:
            self.seconds += time.perf_counter() - start
            self._step_start = None
        return taken

    @property
    def seconds_now(self) -> float:
        """Seconds spent training so far, counting the step() under way (evaluations run
        inside it, and their rows record when they happened)."""
        running = 0.0 if self._step_start is None else time.perf_counter() - self._step_start
        return self.seconds + running

    def run_for(self, seconds: float) -> int:
        """Train for about `seconds` of wall time (at least one step unless done)."""
        deadline = time.perf_counter() + seconds
        taken = 0
        while not self.done:
            taken += self.step(1)
            if time.perf_counter() >= deadline:
                break
        return taken

    def run(self) -> dict[str, Any]:
        """Train to the end (or divergence / early stop) and return the summary."""
        while not self.done:
            self.step(1000)
        return self.summary()

    def _one_step(self) -> None:
        self.status = "running"
        model, t = self.model, self.cfg.train
        # Probe the steps that end at multiples of probe_every, so that with
        # probe_every == eval_every each evaluation has a probe of the same step.
        probing = self.probes is not None and (self.step_count + 1) % self.probe_every == 0
        probes = self.probes if probing else None
        xb, yb = self.next_batch()
        xb = self.augmented(xb)
        if not model.training:  # train() walks every module: skip it unless eval() ran
            model.train()
        with probes.capture() if probes is not None else nullcontext():
            data_loss, pen = self._loss_and_grads(xb, yb)
        if t.grad_clip:  # the trainable parameters' norm: frozen ones take no step
            torch.nn.utils.clip_grad_norm_(self._params, t.grad_clip)
        if probes is not None:
            probes.record_grads()
            probes.snapshot_weights()
        lr = self.optimizer.param_groups[0]["lr"]
        # A schedule's first step follows a real optimizer.step(): torch checks that order.
        if self.scheduler._step_count <= 1 or not lean_step(self.optimizer):
            self.optimizer.step()
        self.scheduler.step()
        if t.max_norm:
            self._apply_max_norm(t.max_norm)
        self.step_count += 1

        # One sync per step (two with a penalty): cheap on CPU, and needed to catch divergence now.
        data_value = data_loss.item()
        value = data_value if pen is None else data_value + pen.item()
        self.history.step.append(self.step_count)
        self.history.loss.append(data_value)
        self.history.lr.append(lr)
        if not math.isfinite(value):
            self._diverged(value, lr)
            return
        if probes is not None:
            self.history.probes.append({"step": self.step_count, "layers": probes.summary()})
            if self.max_probes and len(self.history.probes) > self.max_probes:
                self._thin_probes()
        if self.snapshot_every and self.step_count % self.snapshot_every == 0:
            self.snapshots.append((self.step_count, param_snapshot(self.model)))
            if len(self.snapshots) > self.max_snapshots:
                self.snapshots = _thinned(self.snapshots)
        if self.step_count % self.eval_every == 0 or self.step_count >= self.total_steps:
            self.evaluate()
            if self.done:
                return
        if self.step_count >= self.total_steps:
            self.status = "finished"
            self.message = f"finished {self.step_count} steps"

    def _loss_and_grads(self, xb: Tensor, yb: Tensor) -> tuple[Tensor, Tensor | None]:
        """The batch's data loss and penalty, with every parameter's `.grad` set to the
        gradient of their sum: by hand for a plain MLP (engine/manual_backward.py), else
        through autograd."""
        if self._manual is not None:
            data_loss = self._manual(xb, yb)
            with torch.no_grad():
                pen = self.penalty()
                self._add_penalty_grads()
            return data_loss, pen
        data_loss = self.loss_fn(self.model(xb), yb)
        pen = self.penalty()
        for p in self._params:  # optimizer.zero_grad(set_to_none=True), without its overhead
            p.grad = None
        (data_loss if pen is None else data_loss + pen).backward()
        return data_loss.detach(), None if pen is None else pen.detach()

    def _add_penalty_grads(self) -> None:
        """Add the gradients of the L1 and L2 penalties (see `penalty`) to the weights'."""
        t = self.cfg.train
        for w in self.model.penalized_weights() if t.l1 or t.l2 else ():
            grad = w.grad
            assert grad is not None, "penalty gradients are added after the backward pass"
            if t.l1:
                grad.add_(torch.sign(w), alpha=t.l1)  # d(l1·|w|)/dw; sign(0) = 0 as autograd
            if t.l2:
                grad.add_(w, alpha=t.l2)  # d(0.5·l2·w²)/dw

    def _thin_probes(self) -> None:
        """Drop every other frame of the older half: recent frames stay dense, the whole run
        stays covered, and memory stays bounded however long a live page trains."""
        self.history.probes = _thinned(self.history.probes)

    def apply_live(self, cfg: Config) -> None:
        """Switch to `cfg` mid-run, keeping weights, optimizer state and data.

        Only fields flagged `live` in the config's table may differ (see `can_apply_live`); a
        ValueError names any other. Optimizer hyperparameters are copied from a fresh optimizer
        built with the new config, so every optimizer's own names (momentum, betas, alpha, rho,
        ...) are handled alike, and the schedule is rebuilt at the current step.
        """
        fixed = [p for p in changed_fields(self.cfg, cfg) if p not in LIVE_FIELDS]
        if fixed:
            raise ValueError(f"these fields need a new trainer: {', '.join(fixed)}")
        dummy = torch.zeros(1, requires_grad=True)
        fresh = build_optimizer([dummy], cfg.train).param_groups[0]
        for group in self.optimizer.param_groups:
            group.update({k: v for k, v in fresh.items() if k not in ("params", "initial_lr")})
        self.cfg = cfg
        self._set_bptt()
        self._resume_schedule()
        self.total_steps = cfg.train.steps or cfg.train.epochs * self.steps_per_epoch
        self.eval_every = cfg.train.eval_every or self.steps_per_epoch
        if self.status in ("finished", "running", "ready"):
            more = self.step_count < self.total_steps
            last = self.history.evals[-1]["step"] if self.history.evals else None
            if not more and self.step_count and last != self.step_count:
                self.evaluate()  # a run always ends with the metrics of its last step
            self.status = ("running" if self.step_count else "ready") if more else "finished"
            self.message = "" if more else f"finished {self.step_count} steps"

    def _set_bptt(self) -> None:
        """Tell the recurrent layers how far back gradients may flow (train.bptt)."""
        for block in self.model.hidden_blocks():
            if isinstance(block, RecurrentBlock):
                block.bptt = self.cfg.train.bptt

    def _resume_schedule(self) -> None:
        """A new learning-rate schedule of the config, at the current step (the optimizer's
        learning rate becomes the schedule's value there)."""
        self.scheduler = resume_schedule(
            self.optimizer,
            self.cfg.train,
            self.total_steps,
            self.step_count,
            generator=generator(self.cfg.seed, "noise"),
        )
        self._scale_body_lr()

    def _scale_body_lr(self) -> None:
        """Give each optimizer group its share of the schedule's learning rate: the body's
        group (`lr_scale` < 1, see engine.optimizers.transfer_groups) learns at lr x scale at
        every step. The schedules see only train.lr, so their base rates are scaled here."""
        for i, group in enumerate(self.optimizer.param_groups):
            scale = group.get("lr_scale", 1.0)
            if scale == 1.0:
                continue
            group["initial_lr"] = self.cfg.train.lr * scale
            group["lr"] = self.scheduler.get_last_lr()[i] * scale
            self.scheduler.base_lrs[i] = self.cfg.train.lr * scale
            self.scheduler._last_lr[i] = group["lr"]

    # Transfer learning -----------------------------------------------------------------------

    def _pretrain(self) -> None:
        """Train the network on the digits train.pretrain_classes for train.pretrain_epochs
        epochs, before the main training: every image of those digits in the training pool,
        in batches of train.batch_size drawn from the run's own seeded stream, with a fresh
        optimizer of the run's settings at a constant learning rate (no schedule, no
        augmentation), all layers learning. The main training then starts from these weights
        with a new optimizer. Each epoch's mean batch loss and accuracy go to pretrain_log."""
        t, model = self.cfg.train, self.model
        split = _to(pretrain_split(self.cfg.data, t.pretrain_classes, self.data), self.device)
        n = len(split.y)
        batch = min(t.batch_size, n)
        per_epoch = max(1, n // batch)
        params = list(model.parameters())
        optimizer = build_optimizer(params, t)
        order = _pretrain_generator(self.cfg.seed)
        model.train()
        for epoch in range(1, t.pretrain_epochs + 1):
            perm = torch.randperm(n, generator=order).to(self.device)
            losses, correct = torch.zeros((), device=self.device), 0
            for i in range(per_epoch):
                idx = perm[i * batch : (i + 1) * batch]
                xb, yb = split.x[idx], split.y[idx]
                out = model(xb)
                loss = self.loss_fn(out, yb)
                pen = self.penalty()
                for p in params:
                    p.grad = None
                (loss if pen is None else loss + pen).backward()
                if t.grad_clip:
                    torch.nn.utils.clip_grad_norm_(params, t.grad_clip)
                optimizer.step()
                if t.max_norm:
                    self._apply_max_norm(t.max_norm)
                losses += loss.detach()
                correct += int((out.argmax(dim=1) == yb).sum())
            mean = float(losses) / per_epoch
            self.pretrain_log.append(
                {
                    "epoch": epoch,
                    "steps": epoch * per_epoch,
                    "loss": mean,
                    "acc": correct / (per_epoch * batch),
                }
            )
            if not math.isfinite(mean):
                break
        for p in params:
            p.grad = None
        if t.pretrain_new_head:
            # A new output layer, freshly drawn: not the run's own starting head, which the body
            # has adapted to during pre-training (the head itself moves little in a few epochs).
            fresh = build_model(
                self.cfg.model,
                self.data.input_shape,
                self._n_out,
                _head_seed(self.cfg.seed),
                self.device,
            )
            model.head.load_state_dict(fresh.head.state_dict())

    @property
    def pretrain_steps(self) -> int:
        """Optimizer steps the pre-training took (0 without it)."""
        return int(self.pretrain_log[-1]["steps"]) if self.pretrain_log else 0

    def _pretrain_outcome(self) -> None:
        """Say what the pre-training did (the status message of a ready run), or stop the run
        as diverged if its loss stopped being finite."""
        if not self.pretrain_log:
            return
        last, t = self.pretrain_log[-1], self.cfg.train
        digits = ", ".join(str(c) for c in t.pretrain_classes)
        if not math.isfinite(last["loss"]):
            self.status = "diverged"
            self.message = (
                f"pre-training on the digits {digits} diverged in epoch {last['epoch']:.0f}: "
                f"the loss became {last['loss']}. Lower the learning rate (it was {t.lr:g})."
            )
            return
        self.message = (
            f"pre-trained on the digits {digits} for {t.pretrain_epochs} epochs "
            f"({self.pretrain_steps} steps): training loss {last['loss']:.3g}, "
            f"accuracy {last['acc']:.1%}"
        )

    def _apply_max_norm(self, c: float) -> None:
        """Max-norm constraint (Srivastava et al. 2014): each unit's incoming weights |w| <= c."""
        with torch.no_grad():
            for _, layer in self.model.weight_layers():
                w = layer.weight
                if isinstance(w, torch.nn.Parameter) and w.requires_grad:  # frozen stay put
                    # rows of a Linear / output filters of a Conv are the units' incoming weights
                    w.copy_(torch.renorm(w, p=2, dim=0, maxnorm=c))

    def _diverged(self, value: float, lr: float) -> None:
        self.status = "diverged"
        self.message = (
            f"training diverged at step {self.step_count}: the loss became {value}. "
            f"Lower the learning rate (it was {lr:g}), turn on gradient clipping "
            "(train.grad_clip) or add normalization."
        )

    # Evaluation -------------------------------------------------------------------------------

    @torch.no_grad()
    def metrics(self, split: Split) -> dict[str, float | None]:
        """Mean loss and accuracy of the model in eval mode on `split` (accuracy is None for
        regression; both are None for an empty split)."""
        if self.model.training:  # eval() walks every module; two splits in a row need one
            self.model.eval()
        total_loss, correct, n = 0.0, 0, len(split.y)
        if n == 0:  # e.g. data.val_fraction = 0: there is nothing to measure
            return {"loss": None, "acc": None}
        chunk = self.model.eval_chunk
        for i in range(0, n, chunk):
            x, y = split.x[i : i + chunk], split.y[i : i + chunk]
            out = self.model(x)
            total_loss += self.loss_fn(out, y).item() * len(y)
            if self.task == "classification":
                correct += int((out.argmax(dim=1) == y).sum())
        loss = total_loss / max(n, 1)
        acc = correct / max(n, 1) if self.task == "classification" else None
        return {"loss": loss, "acc": acc}

    def evaluate(self) -> dict[str, Any]:
        """Record train/validation loss and accuracy now; handles early stopping."""
        train_part = Split(self.train_split.x[:TRAIN_EVAL_MAX], self.train_split.y[:TRAIN_EVAL_MAX])
        tr, va = self.metrics(train_part), self.metrics(self.val_split)
        row = {
            "step": self.step_count,
            "epoch": round(self.epoch, 4),
            "train_loss": tr["loss"],
            "train_acc": tr["acc"],
            "val_loss": va["loss"],
            "val_acc": va["acc"],
            "lr": self.optimizer.param_groups[0]["lr"],
            "seconds": round(self.seconds_now, 4),
        }
        self.history.evals.append(row)
        # Weights can blow up while the batches' loss stays finite (every unit dead after a
        # huge step): the evaluation's loss is then inf or nan, and the run has diverged.
        bad = next(
            (v for v in (tr["loss"], va["loss"]) if v is not None and not math.isfinite(v)), None
        )
        if bad is not None:
            self._diverged(bad, row["lr"])
            return row
        self._track_best(va["loss"])
        return row

    def _track_best(self, val_loss: float | None) -> None:
        patience = self.cfg.train.early_stopping_patience
        if not patience or val_loss is None:
            return
        if val_loss < self._best_val:
            self._best_val, self._best_step, self._stale_evals = val_loss, self.step_count, 0
            self._best_state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}
            return
        self._stale_evals += 1
        if self._stale_evals >= patience and self._best_state is not None:
            # Restore the best weights, as the early-stopped model is meant to be the best one.
            self.model.load_state_dict(self._best_state)
            self.status = "early_stopped"
            self.message = (
                f"stopped early at step {self.step_count}: no better validation loss in "
                f"{patience} evaluations; restored the best weights from step {self._best_step}"
            )

    def summary(self) -> dict[str, Any]:
        """Status, steps, seconds and final metrics (test metrics when a test set exists)."""
        last = self.history.evals[-1] if self.history.evals else {}
        out: dict[str, Any] = {
            "summary": True,
            "status": self.status,
            "message": self.message,
            "steps": self.step_count,
            "epochs": round(self.epoch, 4),
            "seconds": round(self.seconds, 3),
            "train_loss": last.get("train_loss"),
            "train_acc": last.get("train_acc"),
            "val_loss": last.get("val_loss"),
            "val_acc": last.get("val_acc"),
        }
        if self.status == "early_stopped":
            out["best_step"] = self._best_step
        if self.pretrain_log:  # what the main training started from (the CLI prints it)
            last = self.pretrain_log[-1]
            out["pretrain_steps"] = self.pretrain_steps
            out["pretrain_loss"], out["pretrain_acc"] = last["loss"], last["acc"]
        if self.test_split is not None and self.status != "diverged":
            te = self.test_metrics()
            out["test_loss"], out["test_acc"] = te["loss"], te["acc"]
        return out

    def test_metrics(self) -> dict[str, float | None]:
        """Loss and accuracy on the test set (both None without one), computed once per step
        count: a finished run's table asks on every redraw, and 10,000 images take a while."""
        if self.test_split is None:
            return {"loss": None, "acc": None}
        if self._test_cache is None or self._test_cache[0] != self.step_count:
            self._test_cache = (self.step_count, self.metrics(self.test_split))
        return self._test_cache[1]

    # Checkpoints ------------------------------------------------------------------------------

    def save(self, path: str | Path) -> Path:
        """Write config, weights, optimizer/schedule state and history to `path`."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(
            {
                "format": CHECKPOINT_FORMAT,
                "config": self.cfg.to_dict(),
                "model": self.model.state_dict(),
                "optimizer": self.optimizer.state_dict(),
                "scheduler": self.scheduler.state_dict(),
                "step": self.step_count,
                "status": self.status,
                "history": self.history.to_dict(),
                "batch_rng": self._batch_gen.get_state(),
                "dropout_rng": self.model.dropout_generator.get_state(),
                "perm": self._perm.cpu() if self._perm is not None else None,
                "points": self._points_for_checkpoint(),
                "initial_params": self.initial_params,
                "snapshots": [{"step": step, "params": p} for step, p in self.snapshots],
                "snapshot_every": self.snapshot_every,
                "max_snapshots": self.max_snapshots,
            },
            path,
        )
        return path

    def _points_for_checkpoint(self) -> dict[str, Any] | None:
        """The user's own points of an `uploaded` run, in their original file order (the
        seeded shuffle undone), so `load` rebuilds the identical split; None otherwise."""
        if self.cfg.data.dataset != "uploaded" or self.data.train_xy is None:
            return None
        d = self.data
        xy = np.concatenate([d.train_xy, d.val_xy])  # (n, 2), shuffled order
        y = torch.cat([d.train.y, d.val.y]).cpu().numpy()
        order = data_rng(self.cfg.seed).permutation(len(y))
        undo = np.argsort(order)
        return {
            "xy": torch.from_numpy(xy[undo]),
            "y": torch.from_numpy(y[undo]),
            "k": d.n_classes,
            "names": list(d.class_names),  # plain strings: a weights_only load reads them
        }

    @classmethod
    def load(cls, path: str | Path, *, device: str | None = None) -> Trainer:
        """Rebuild a Trainer from a checkpoint (weights_only=True: no code is unpickled)."""
        try:
            with warnings.catch_warnings():  # e.g. "Detected pickle protocol 4": noise here
                warnings.simplefilter("ignore")
                ckpt = torch.load(Path(path), map_location="cpu", weights_only=True)
        except pickle.UnpicklingError as e:
            # torch's message advises retrying with weights_only=False, which would run the
            # file's code: the right advice is that this is not a checkpoint of ours
            why = (
                "it holds Python objects that a checkpoint never holds (refused unopened)"
                if "weights only" in str(e).lower()
                else "not a PyTorch file"
            )
            raise ValueError(f"{path} is not a playground checkpoint: {why}") from None
        if not isinstance(ckpt, dict) or ckpt.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"{path} is not a playground checkpoint (format {CHECKPOINT_FORMAT})")
        saved = SavedRun(
            config=ckpt["config"],
            weights=ckpt["model"],
            history=ckpt["history"],
            step=int(ckpt["step"]),
            status=ckpt["status"],
            points=points_from_saved(ckpt["points"]) if ckpt.get("points") is not None else None,
            optimizer=ckpt["optimizer"],
            scheduler=ckpt["scheduler"],
            batch_rng=ckpt["batch_rng"],
            dropout_rng=ckpt["dropout_rng"],
            perm=ckpt.get("perm"),
            # Optional keys (checkpoints written before snapshots existed lack them): without
            # them `initial_params` stays the seeded initialization that construction rebuilds,
            # which is the run's own since the config and seed are the same.
            initial_params=ckpt.get("initial_params"),
            snapshots=ckpt.get("snapshots", []),
            snapshot_every=int(ckpt.get("snapshot_every", 0)),
            max_snapshots=int(ckpt.get("max_snapshots", MAX_SNAPSHOTS)),
        )
        return cls.restore(saved, device=device)

    @classmethod
    def restore(cls, saved: SavedRun, *, device: str | None = None, **kwargs: Any) -> Trainer:
        """The Trainer of a saved run (a checkpoint file, a stored run), as it was saved.

        `device` overrides the saved one; `kwargs` go to `Trainer` (probe_every, ...). What the
        save lacks is what a new Trainer starts with: without optimizer state, momentum and
        adaptive averages restart and the learning-rate schedule resumes at the saved step.
        """
        cfg = Config.from_dict(saved.config)
        if device is not None:
            cfg = cfg.replace(device=device)
        dataset = None
        if saved.points is not None:  # an `uploaded` run carries its points
            dataset = build_dataset(cfg.data, cfg.seed, saved.points)
        # The saved weights replace whatever pre-training would give: skip it.
        trainer = cls(cfg, dataset=dataset, pretrain=False, **kwargs)
        trainer.model.load_state_dict(saved.weights)
        trainer.history = History(**saved.history)
        trainer.step_count = saved.step
        trainer.seconds = saved.seconds
        trainer.status = saved.status if saved.status in STATUSES else "ready"
        trainer.message = saved.message
        if saved.optimizer is not None:
            trainer.optimizer.load_state_dict(saved.optimizer)
        if saved.scheduler is not None:
            trainer.scheduler.load_state_dict(saved.scheduler)
        else:
            trainer._resume_schedule()
        if saved.batch_rng is not None:
            trainer._batch_gen.set_state(saved.batch_rng)
        if saved.dropout_rng is not None:
            trainer.model.dropout_generator.set_state(saved.dropout_rng.to(torch.uint8))
        if saved.perm is not None:
            trainer._perm = saved.perm.to(trainer.device)
        if saved.initial_params is not None:
            trainer.initial_params = dict(saved.initial_params)
        trainer.snapshots = [(int(s["step"]), dict(s["params"])) for s in saved.snapshots]
        if saved.snapshot_every is not None:
            trainer.snapshot_every = saved.snapshot_every
        if saved.max_snapshots is not None:
            trainer.max_snapshots = saved.max_snapshots
        return trainer


@dataclass
class SavedRun:
    """What a saved run holds, from a checkpoint file (`Trainer.save`) or the run store
    (engine/store.py): the one input of `Trainer.restore`. A field left None is one the save
    does not keep (the store keeps no optimizer state, random generators or snapshots)."""

    config: Mapping[str, Any]  # Config.to_dict()
    weights: Mapping[str, Tensor]  # the model's state_dict
    history: Mapping[str, Any]  # History.to_dict()
    step: int
    status: str
    message: str = ""
    seconds: float = 0.0
    points: UploadedPoints | None = None  # an `uploaded` run's own points
    optimizer: dict[str, Any] | None = None  # state_dicts
    scheduler: dict[str, Any] | None = None
    batch_rng: Tensor | None = None  # generator states
    dropout_rng: Tensor | None = None
    perm: Tensor | None = None  # this epoch's order of the training examples
    initial_params: Mapping[str, Tensor] | None = None
    snapshots: Sequence[Mapping[str, Any]] = ()  # [{"step": int, "params": {...}}]
    snapshot_every: int | None = None
    max_snapshots: int | None = None


def points_from_saved(p: Mapping[str, Any]) -> UploadedPoints:
    """An `uploaded` run's points from what `Trainer._points_for_checkpoint` saved."""
    k = int(p["k"])
    names = [str(n) for n in p.get("names") or []]  # older checkpoints have none: the numbers
    if len(names) != k:
        names = [str(i) for i in range(k)]
    return UploadedPoints(p["xy"].numpy(), p["y"].numpy(), k, tuple(names))


def _check_batch_size(cfg: Config, n_train: int) -> None:
    """Refuse, before anything trains, a training split too small for the batches it needs:
    none at all, or one example with a component that computes statistics over the batch
    (BatchNorm fails on a batch of 1; validation can only check train.batch_size, not the
    split that data.n_samples x data.train_fraction or data.train_subset leaves)."""
    d = cfg.data
    if d.dataset == "uploaded":
        source = "the uploaded points"
    elif registries()["data.dataset"].get(d.dataset).extra.get("images"):
        source = f"data.train_subset {d.train_subset}, data.val_fraction {d.val_fraction:g}"
    else:
        source = f"data.n_samples {d.n_samples} x data.train_fraction {d.train_fraction:g}"
    if n_train == 0:
        raise ConfigError("data", f"the training split is empty ({source}); use more data")
    if min(cfg.train.batch_size, n_train) >= 2:
        return
    for path in ("model.activation", "model.norm", "model.dropout"):
        entry = registries()[path].get(cfg.get(path))
        if entry.needs_batch_gt_1:
            raise ConfigError(
                path,
                f"{entry.label} computes statistics over the batch, so it needs at least 2 "
                f"training examples, and the training split has {n_train} ({source}): use "
                "more data, or choose layer or group norm",
            )


def _pretrain_generator(seed: int) -> torch.Generator:
    """The pre-training batches' stream: a child of the batch-order stream (the run's own
    batches stay those of a run without pre-training, so the variants compare fairly)."""
    state = np.random.SeedSequence([seed, STREAMS["batches"], 1]).generate_state(2, np.uint32)
    return torch.Generator().manual_seed(int(state[0]) << 31 | int(state[1]) >> 1)


def _head_seed(seed: int) -> int:
    """The seed of the new output layer drawn after pre-training (a child of the run's seed)."""
    return int(np.random.SeedSequence([seed, STREAMS["init"], 1]).generate_state(1)[0]) >> 1


def _to(split: Split, device: torch.device) -> Split:
    return Split(split.x.to(device), split.y.to(device))


def _thinned(frames: list[Any]) -> list[Any]:
    """Every other item of the older half, then the newer half as it is."""
    half = len(frames) // 2
    return frames[:half:2] + frames[half:]
