"""Maxout: the max over groups of consecutive units, with correct shapes, errors and gradients."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from engine.layers.maxout import Maxout, maxout


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def manual_maxout(x: torch.Tensor, pieces: int) -> torch.Tensor:
    """Oracle: loop over output units, max over channels j*k .. j*k + k - 1 along dim 1."""
    groups = [
        x[:, j * pieces : (j + 1) * pieces].max(dim=1).values for j in range(x.shape[1] // pieces)
    ]
    return torch.stack(groups, dim=1)


@pytest.mark.parametrize("shape", [(5, 12), (3, 6, 4, 5)], ids=["mlp", "cnn"])
@pytest.mark.parametrize("pieces", [1, 2, 3])
def test_maxout_equals_manual_max_over_groups(shape: tuple[int, ...], pieces: int) -> None:
    x = torch.randn(shape, generator=gen(0))
    out = maxout(x, pieces)
    assert out.shape == (shape[0], shape[1] // pieces, *shape[2:])
    torch.testing.assert_close(out, manual_maxout(x, pieces), rtol=0, atol=0)
    torch.testing.assert_close(Maxout(pieces)(x), out, rtol=0, atol=0)


def test_maxout_groups_consecutive_units() -> None:
    # Consecutive groups (1, 5) and (3, 2) give (5, 3); strided groups (1, 3), (5, 2) would not.
    x = torch.tensor([[1.0, 5.0, 3.0, 2.0]])
    assert maxout(x, 2).tolist() == [[5.0, 3.0]]


def test_maxout_negative_dim_matches_positive() -> None:
    x = torch.randn(4, 9, generator=gen(1))
    torch.testing.assert_close(maxout(x, 3, dim=-1), maxout(x, 3, dim=1), rtol=0, atol=0)


def test_maxout_after_a_wider_linear_layer() -> None:
    # The model makes the layer before maxout `pieces` times wider; maxout brings it back.
    net = nn.Sequential(nn.Linear(3, 4 * 2), Maxout(2))
    assert net(torch.randn(7, 3, generator=gen(2))).shape == (7, 4)


def test_non_divisible_features_raise_naming_both_numbers() -> None:
    with pytest.raises(ValueError, match=r"\(10\).*pieces \(3\)"):
        maxout(torch.zeros(2, 10), 3)
    with pytest.raises(ValueError, match=r"\(10\).*pieces \(3\)"):
        Maxout(3)(torch.zeros(2, 10, 4, 4))


@pytest.mark.parametrize("pieces", [0, -2])
def test_bad_pieces_raise(pieces: int) -> None:
    with pytest.raises(ValueError, match="pieces must be an integer >= 1"):
        Maxout(pieces)
    with pytest.raises(ValueError, match="pieces must be an integer >= 1"):
        maxout(torch.zeros(2, 4), pieces)


def test_bad_dim_raises() -> None:
    with pytest.raises(ValueError, match="dim must be in"):
        maxout(torch.zeros(2, 4), 2, dim=2)


@pytest.mark.parametrize("shape", [(4, 6), (2, 6, 3, 3)], ids=["mlp", "cnn"])
def test_maxout_gradcheck(shape: tuple[int, ...]) -> None:
    # Distinct random values: no ties, so maxout is differentiable at every test point.
    x = torch.randn(shape, generator=gen(3), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: maxout(t, 3), (x,))


def test_gradient_flows_only_to_the_winning_piece() -> None:
    x = torch.randn(5, 8, generator=gen(4), requires_grad=True)
    maxout(x, 4).sum().backward()
    winners = x.detach().unflatten(1, (2, 4)).argmax(dim=2)  # (5, 2)
    expected = nn.functional.one_hot(winners, 4).flatten(1).to(x.dtype)  # (5, 8)
    torch.testing.assert_close(x.grad, expected, rtol=0, atol=0)
