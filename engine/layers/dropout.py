"""Dropout variants as pure functions plus thin `nn.Module`s.

Every function takes `training` and an optional `generator`; every module reads `training`
from `self.training` (set by `model.train()` / `model.eval()`) and takes `generator` in its
constructor, so the trainer can seed masks separately from data and initialization.
All variants except cutout are "inverted": kept units are scaled up at train time so that
eval mode is the identity (DropConnect: eval is the plain layer).

We write plain dropout ourselves instead of using `nn.Dropout` because `nn.Dropout` draws from
the global RNG and cannot take a generator.
"""

from __future__ import annotations

from typing import Literal

import torch
import torch.nn.functional as F
from torch import Tensor, nn

__all__ = [
    "Cutout",
    "DropBlock",
    "DropConnectConv2d",
    "DropConnectLinear",
    "DropPath",
    "Dropout",
    "SpatialDropout",
    "cutout",
    "drop_block",
    "drop_connect_linear",
    "drop_connect_weight",
    "drop_path",
    "dropout",
    "spatial_dropout",
]


# --- helpers -------------------------------------------------------------------------------


def _check_p(p: float) -> None:
    # `not (0 <= p < 1)` also rejects NaN; p = 1 would divide by zero in the 1/(1-p) scaling.
    if not 0.0 <= p < 1.0:
        raise ValueError(f"dropout rate p must be in [0, 1), got {p}")


def _check_positive_int(name: str, value: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be an integer >= 1, got {value!r}")


def _check_4d(name: str, x: Tensor) -> None:
    if x.dim() != 4:
        raise ValueError(
            f"{name} needs image-like input of shape (N, C, H, W), got shape {tuple(x.shape)}"
        )


def _same_device(a: torch.device, b: torch.device) -> bool:
    # A generator made with device "cuda" reports index 0 while tensors report "cuda:0"; treat a
    # missing index as the current device rather than as a mismatch.
    return a.type == b.type and (a.index is None or b.index is None or a.index == b.index)


def _uniform(shape: tuple[int, ...], x: Tensor, generator: torch.Generator | None) -> Tensor:
    """Uniform [0, 1) float32 samples of `shape` on `x`'s device, drawn from `generator`.

    A generator can only fill tensors on its own device, so if it lives elsewhere we draw there
    and move. float32 whatever x's dtype, so one seed gives the same mask for float and double.
    """
    if generator is None or _same_device(generator.device, x.device):
        return torch.rand(shape, generator=generator, device=x.device)
    return torch.rand(shape, generator=generator, device=generator.device).to(x.device)


def _keep_mask(shape: tuple[int, ...], p: float, x: Tensor, g: torch.Generator | None) -> Tensor:
    """Bernoulli(1 - p) keep mask of `shape` in x's dtype, already scaled by 1/(1-p)."""
    keep = _uniform(shape, x, g) >= p  # P(u >= p) = 1 - p for u ~ U[0, 1)
    return keep.to(x.dtype) / (1.0 - p)


# --- dropout -------------------------------------------------------------------------------


def dropout(
    x: Tensor, p: float, training: bool, generator: torch.Generator | None = None
) -> Tensor:
    """Inverted dropout: zero each element with probability p, scale the rest by 1/(1-p).

    Srivastava et al. 2014, "Dropout: A Simple Way to Prevent Neural Networks from
    Overfitting", JMLR 15. Same semantics as `torch.nn.functional.dropout` (mean preserved,
    identity at eval) but with an explicit generator.
    """
    _check_p(p)
    if not training or p == 0.0:
        return x
    return x * _keep_mask(tuple(x.shape), p, x, generator)  # (same shape as x)


class Dropout(nn.Module):
    """Module form of `dropout` (Srivastava et al. 2014); active only in `train()` mode."""

    def __init__(self, p: float = 0.5, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        _check_p(p)
        self.p = p
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        return dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


# --- spatial dropout -----------------------------------------------------------------------


def spatial_dropout(
    x: Tensor, p: float, training: bool, generator: torch.Generator | None = None
) -> Tensor:
    """Drop whole channels of an (N, C, H, W) tensor, scaling kept channels by 1/(1-p).

    Tompson et al. 2015, "Efficient Object Localization Using Convolutional Networks": adjacent
    pixels of a feature map are strongly correlated, so element-wise dropout barely regularizes
    conv layers; dropping entire feature maps does. Like `nn.Dropout2d`, but with a generator.
    """
    _check_p(p)
    _check_4d("spatial dropout", x)
    if not training or p == 0.0:
        return x
    n, c = x.shape[:2]
    return x * _keep_mask((n, c, 1, 1), p, x, generator)  # (n, c, 1, 1) broadcast over h, w


class SpatialDropout(nn.Module):
    """Module form of `spatial_dropout` (Tompson et al. 2015); input (N, C, H, W)."""

    def __init__(self, p: float = 0.5, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        _check_p(p)
        self.p = p
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        return spatial_dropout(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


# --- DropBlock -----------------------------------------------------------------------------


def drop_block(
    x: Tensor,
    p: float,
    block_size: int,
    training: bool,
    generator: torch.Generator | None = None,
) -> Tensor:
    """Zero contiguous block_size x block_size squares of each feature map of (N, C, H, W) x.

    Ghiasi, Lin & Le 2018, "DropBlock: A regularization method for convolutional networks".
    Block seeds are sampled only where a whole block fits (the paper's valid seed region), with
    the paper's rate gamma = p * H*W / (bs^2 * (H-bs+1)(W-bs+1)), so about a fraction p of units
    is dropped (a bit less, since blocks may overlap). Each channel gets its own mask (the paper
    found this works better than sharing one across channels). Kept units are rescaled by
    count, `x * mask * mask.numel() / mask.sum()`, as in timm's `drop_block_fast_2d`.
    A block_size larger than the feature map is clamped to the feature map's smaller side.
    """
    _check_p(p)
    _check_positive_int("block_size", block_size)
    _check_4d("DropBlock", x)
    if not training or p == 0.0:
        return x
    n, c, h, w = x.shape
    bs = min(block_size, h, w)
    valid_h, valid_w = h - bs + 1, w - bs + 1
    gamma = min(1.0, p * h * w / (bs * bs * valid_h * valid_w))
    seeds = (_uniform((n, c, valid_h, valid_w), x, generator) < gamma).to(x.dtype)
    # A seed at (i, j) marks the block's top-left corner. Zero-padding by bs-1 on every side and
    # a stride-1 max-pool of size bs spread each seed over rows i..i+bs-1 and cols j..j+bs-1,
    # giving back an (n, c, h, w) map of dropped units.
    seeds = F.pad(seeds, (bs - 1, bs - 1, bs - 1, bs - 1))  # (n, c, h + bs - 1, w + bs - 1)
    dropped = F.max_pool2d(seeds, kernel_size=bs, stride=1)  # (n, c, h, w)
    mask = 1.0 - dropped
    # Clamp so that an all-dropped mask gives zeros rather than NaN.
    return x * mask * (mask.numel() / mask.sum().clamp_min(1.0))


class DropBlock(nn.Module):
    """Module form of `drop_block` (Ghiasi et al. 2018); input (N, C, H, W)."""

    def __init__(
        self, p: float = 0.1, block_size: int = 3, *, generator: torch.Generator | None = None
    ) -> None:
        super().__init__()
        _check_p(p)
        _check_positive_int("block_size", block_size)
        self.p = p
        self.block_size = block_size
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        return drop_block(x, self.p, self.block_size, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}, block_size={self.block_size}"


# --- DropConnect ---------------------------------------------------------------------------


def drop_connect_weight(
    weight: Tensor, p: float, training: bool, generator: torch.Generator | None = None
) -> Tensor:
    """Zero each weight with probability p and scale the rest by 1/(1-p); identity at eval.

    Wan et al. 2013, "Regularization of Neural Networks using DropConnect", ICML. Two
    simplifications, both common in practice:
    - one mask per forward pass, shared by every example of the batch (the paper draws a mask
      per example, which costs a weight-sized tensor per example);
    - inverted scaling at train time, so inference uses the mean weights. The paper instead
      moment-matches a Gaussian over each unit's pre-activation at inference; mean scaling is
      the cheaper first-moment approximation.
    """
    _check_p(p)
    if not training or p == 0.0:
        return weight
    return weight * _keep_mask(tuple(weight.shape), p, weight, generator)  # (weight's shape)


def drop_connect_linear(
    x: Tensor,
    weight: Tensor,
    bias: Tensor | None,
    p: float,
    training: bool,
    generator: torch.Generator | None = None,
) -> Tensor:
    """`F.linear` with DropConnect on `weight` (Wan et al. 2013); the bias is never dropped.

    x: (batch, in_features), weight: (out_features, in_features) -> (batch, out_features).
    See `drop_connect_weight` for the shared-mask and mean-scaling simplifications.
    """
    return F.linear(x, drop_connect_weight(weight, p, training, generator), bias)


class DropConnectLinear(nn.Linear):
    """`nn.Linear` whose weights are dropped at train time (Wan et al. 2013).

    In eval mode it computes exactly what `nn.Linear` with the same parameters computes.
    """

    def __init__(
        self,
        in_features: int,
        out_features: int,
        bias: bool = True,
        *,
        p: float = 0.5,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        _check_p(p)
        super().__init__(in_features, out_features, bias=bias, device=device, dtype=dtype)
        self.p = p
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        return drop_connect_linear(x, self.weight, self.bias, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, p={self.p}"


class DropConnectConv2d(nn.Conv2d):
    """`nn.Conv2d` whose kernel weights are dropped at train time (Wan et al. 2013).

    One mask over the (out, in/groups, kh, kw) kernel per forward pass, shared by the batch and
    by every spatial position; in eval mode it computes exactly what `nn.Conv2d` computes.
    """

    def __init__(
        self,
        in_channels: int,
        out_channels: int,
        kernel_size: int | tuple[int, int],
        stride: int | tuple[int, int] = 1,
        padding: int | tuple[int, int] | str = 0,
        dilation: int | tuple[int, int] = 1,
        groups: int = 1,
        bias: bool = True,
        padding_mode: Literal["zeros", "reflect", "replicate", "circular"] = "zeros",
        *,
        p: float = 0.5,
        generator: torch.Generator | None = None,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        _check_p(p)
        super().__init__(
            in_channels,
            out_channels,
            kernel_size,
            stride=stride,
            padding=padding,
            dilation=dilation,
            groups=groups,
            bias=bias,
            padding_mode=padding_mode,
            device=device,
            dtype=dtype,
        )
        self.p = p
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        # (batch, in_channels, h, w) -> (batch, out_channels, h', w'); `_conv_forward` is what
        # nn.Conv2d.forward calls, so padding modes behave exactly as in the parent class.
        weight = drop_connect_weight(self.weight, self.p, self.training, self.generator)
        return self._conv_forward(x, weight, self.bias)

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, p={self.p}"


# --- DropPath (stochastic depth) -----------------------------------------------------------


def drop_path(
    x: Tensor, p: float, training: bool, generator: torch.Generator | None = None
) -> Tensor:
    """Zero the whole of `x` for each sample with probability p, scale the rest by 1/(1-p).

    Stochastic depth (Huang et al. 2016, "Deep Networks with Stochastic Depth") in the
    per-sample form used by timm and FractalNet's "drop-path" (Larsson et al. 2017). Apply it
    to a residual branch's output, `skip(x) + drop_path(branch(x), ...)`, so a dropped sample
    passes through the block as the identity. x: (batch, ...), one Bernoulli draw per sample.
    """
    _check_p(p)
    if not training or p == 0.0:
        return x
    shape = (x.shape[0],) + (1,) * (x.dim() - 1)  # (batch, 1, ..., 1) broadcast over the rest
    return x * _keep_mask(shape, p, x, generator)


class DropPath(nn.Module):
    """Module form of `drop_path` (Huang et al. 2016); wrap a residual branch's output."""

    def __init__(self, p: float = 0.1, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        _check_p(p)
        self.p = p
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        return drop_path(x, self.p, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"p={self.p}"


# --- Cutout --------------------------------------------------------------------------------


def cutout(
    x: Tensor, size: int, training: bool, generator: torch.Generator | None = None
) -> Tensor:
    """Zero one random size x size square per image of an (N, C, H, W) batch (all channels).

    DeVries & Taylor 2017, "Improved Regularization of Convolutional Neural Networks with
    Cutout". The square's centre is uniform over the image and the square is clipped at the
    borders, as in the paper, so near an edge less than size^2 pixels are zeroed. Rows
    cy - size//2 .. cy - size//2 + size - 1 (likewise columns), so an inside square is exactly
    size x size. No rescaling (the paper does not rescale). Identity at eval.
    """
    _check_positive_int("cutout size", size)
    _check_4d("cutout", x)
    if not training:
        return x
    n, _, h, w = x.shape
    u = _uniform((2, n), x, generator)  # (2, n): row and column of each image's centre
    cy = (u[0] * h).long().clamp_max(h - 1)  # (n,) uniform over 0..h-1
    cx = (u[1] * w).long().clamp_max(w - 1)  # (n,)
    top, left = cy - size // 2, cx - size // 2  # (n,) may be negative: clipped by the compare
    rows = torch.arange(h, device=x.device)  # (h,)
    cols = torch.arange(w, device=x.device)  # (w,)
    in_rows = (rows >= top[:, None]) & (rows < top[:, None] + size)  # (n, h)
    in_cols = (cols >= left[:, None]) & (cols < left[:, None] + size)  # (n, w)
    cut = in_rows[:, :, None] & in_cols[:, None, :]  # (n, h, w)
    return x * (~cut).to(x.dtype)[:, None]  # (n, 1, h, w) broadcast over channels


class Cutout(nn.Module):
    """Module form of `cutout` (DeVries & Taylor 2017); input images (N, C, H, W)."""

    def __init__(self, size: int = 8, *, generator: torch.Generator | None = None) -> None:
        super().__init__()
        _check_positive_int("cutout size", size)
        self.size = size
        self.generator = generator

    def forward(self, x: Tensor) -> Tensor:
        return cutout(x, self.size, self.training, self.generator)

    def extra_repr(self) -> str:
        return f"size={self.size}"
