"""Data augmentation for images: random shifts, rotations, scaling and elastic distortion.

Each training batch is redrawn through one sampling grid per image (`F.affine_grid`'s idea,
written out so that the elastic field can be added to it) and `F.grid_sample`, on the batch's
own device; torchvision is not a dependency. The elastic distortion follows Simard, Steinkraus
& Platt (2003): a smooth random displacement field, here random displacements at a 5x5 grid
of control points interpolated bicubically to every pixel. Cutout is a dropout variant of the
network instead (model.dropout = cutout, engine/layers/dropout.py).

The draws of step k depend only on the run's seed and k (`step_seed`), not on the steps before,
and are made on the CPU: a run restored from a checkpoint draws what it would have drawn
without stopping (no generator state is saved), and a run augments alike on every device.
Only training batches are augmented (engine.trainer); evaluation sees the images as they are.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from engine.seeding import STREAMS

if TYPE_CHECKING:
    from engine.config import TrainConfig

ELASTIC_POINTS = 5  # control points per side of the elastic displacement field
CHUNK = 1024  # images warped at once: bounds the grids' memory for a large batch


@dataclass(frozen=True)
class Augment:
    """How far each training image is moved, from the config's train.augment_* fields.

    shift: largest move in pixels, drawn uniformly in [-shift, shift] along each axis;
    rotation: largest turn in degrees, uniform in [-rotation, rotation];
    scale: largest relative zoom, the factor uniform in [1 - scale, 1 + scale];
    elastic: the elastic field's displacement at its control points, standard deviation in
    pixels (0 = none).
    """

    shift: float = 0.0
    rotation: float = 0.0
    scale: float = 0.0
    elastic: float = 0.0

    @classmethod
    def of(cls, t: TrainConfig) -> Augment:
        return cls(t.augment_shift, t.augment_rotation, t.augment_scale, t.augment_elastic)

    @property
    def active(self) -> bool:
        """False when every knob is 0: the batch is then passed through untouched."""
        return bool(self.shift or self.rotation or self.scale or self.elastic)


def step_seed(seed: int, step: int) -> int:
    """A 63-bit seed for the draws of training step `step` of a run seeded `seed`."""
    sequence = np.random.SeedSequence([seed, STREAMS["augment"], step])
    state = sequence.generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def step_generator(seed: int, step: int, reuse: torch.Generator | None = None) -> torch.Generator:
    """A CPU generator seeded for step `step` (`reuse` is reseeded rather than a new one made:
    the trainer keeps one per run). The draws are made on the CPU, a few numbers per image, so
    that a run augments alike on every device (as its batch order is); the warp runs on the
    batch's device."""
    g = reuse if reuse is not None else torch.Generator()
    g.manual_seed(step_seed(seed, step))
    return g


def augment(x: Tensor, aug: Augment, generator: torch.Generator, fill: float = 0.0) -> Tensor:
    """Images x (N, C, H, W) moved at random as `aug` says, a new tensor of x's shape, dtype
    and device (x itself when `aug` is off). `fill` is the value of a blank pixel (the
    background): what moves in from outside the image. `generator` is a CPU generator."""
    if not aug.active or len(x) == 0:
        return x
    if x.dim() != 4:
        raise ValueError(f"augmentation needs images (N, C, H, W), got shape {tuple(x.shape)}")
    return torch.cat([_warp(part, aug, generator, fill) for part in x.split(CHUNK)])


def _warp(x: Tensor, aug: Augment, g: torch.Generator, fill: float) -> Tensor:
    n, _, h, w = x.shape
    dev, dt = x.device, x.dtype

    def uniform(limit: float) -> Tensor:  # (n,) uniform in [-limit, limit]
        return ((torch.rand(n, generator=g) * 2 - 1) * limit).to(dev, dt)

    # Where each output pixel reads the input, in pixels from the image's centre: the inverse
    # of the move (turn by a, zoom by s, then shift by t) is q = R(-a) (p - t) / s.
    angle = uniform(math.radians(aug.rotation))
    zoom = 1 + uniform(aug.scale)
    tx, ty = uniform(aug.shift), uniform(aug.shift)
    cos, sin = (torch.cos(angle) / zoom).view(n, 1, 1), (torch.sin(angle) / zoom).view(n, 1, 1)
    ys = torch.arange(h, device=dev, dtype=dt) - (h - 1) / 2
    xs = torch.arange(w, device=dev, dtype=dt) - (w - 1) / 2
    px = xs.view(1, 1, w) - tx.view(n, 1, 1)
    py = ys.view(1, h, 1) - ty.view(n, 1, 1)
    qx = cos * px + sin * py
    qy = -sin * px + cos * py
    if aug.elastic:
        k = ELASTIC_POINTS
        coarse = (torch.randn(n, 2, k, k, generator=g) * aug.elastic).to(dev, dt)
        field = F.interpolate(coarse, size=(h, w), mode="bicubic", align_corners=True)
        qx = qx + field[:, 0]
        qy = qy + field[:, 1]
    # grid_sample's coordinates (align_corners=False): pixel centres at (2i + 1) / w - 1.
    grid = torch.stack((qx * (2 / w), qy * (2 / h)), dim=-1)
    # Shifted by the background so that what comes in from outside (zeros) is blank paper.
    out = F.grid_sample(x - fill, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return out.add_(fill)


def samples(image: Tensor, aug: Augment, seed: int, n: int, fill: float = 0.0) -> Tensor:
    """`n` augmented copies of one image (C, H, W), one seeded draw each (for showing what
    the knobs do)."""
    out = [augment(image[None], aug, step_generator(seed, k), fill) for k in range(n)]
    return torch.cat(out) if out else image[None][:0]
