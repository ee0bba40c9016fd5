"""Maxout (Goodfellow et al. 2013) as a pure function plus a thin `nn.Module`."""

from __future__ import annotations

from torch import Tensor, nn

__all__ = ["Maxout", "maxout"]


def maxout(x: Tensor, pieces: int, dim: int = 1) -> Tensor:
    """Max over groups of `pieces` consecutive units along `dim`.

    Goodfellow, Warde-Farley, Mirza, Courville & Bengio 2013, "Maxout Networks", ICML. The
    layer before produces `pieces` linear units per output unit; maxout keeps their max, a
    learned convex piecewise-linear activation. Convention: groups are consecutive, so output
    unit j is max(x[j*pieces : (j+1)*pieces]) along `dim` (the reshape (N, F//k, k) used by most
    implementations, not the strided x[j::F//k]). Works for (N, F) and (N, C, H, W) with dim=1;
    the output has size F // pieces along `dim`. The gradient flows to the arg-max piece only.
    """
    if isinstance(pieces, bool) or not isinstance(pieces, int) or pieces < 1:
        raise ValueError(f"maxout pieces must be an integer >= 1, got {pieces!r}")
    if not -x.dim() <= dim < x.dim():
        raise ValueError(
            f"maxout dim must be in [{-x.dim()}, {x.dim()}) for {x.dim()}-D input, got {dim}"
        )
    d = dim % x.dim()
    features = x.shape[d]
    if features % pieces:
        raise ValueError(
            f"maxout needs the number of features along dim {dim} ({features}) to be divisible "
            f"by pieces ({pieces}); make the layer before it pieces times wider"
        )
    # e.g. (N, F) -> (N, F // k, k), or (N, C, H, W) -> (N, C // k, k, H, W)
    grouped = x.unflatten(d, (features // pieces, pieces))
    return grouped.max(dim=d + 1).values  # e.g. (N, F // k) or (N, C // k, H, W)


class Maxout(nn.Module):
    """Module form of `maxout` (Goodfellow et al. 2013); no parameters of its own."""

    def __init__(self, pieces: int = 2, dim: int = 1) -> None:
        super().__init__()
        if isinstance(pieces, bool) or not isinstance(pieces, int) or pieces < 1:
            raise ValueError(f"maxout pieces must be an integer >= 1, got {pieces!r}")
        self.pieces = pieces
        self.dim = dim

    def forward(self, x: Tensor) -> Tensor:
        return maxout(x, self.pieces, self.dim)

    def extra_repr(self) -> str:
        return f"pieces={self.pieces}, dim={self.dim}"
