"""Dropout variants: eval is identity, train masks are seeded, scaled and shaped as the papers say.

Statistical checks use a 5-sigma tolerance from the binomial standard deviation, so with the
fixed seeds they are deterministic, and with any seed they would fail about once in 3.5 million.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import pytest
import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils import parametrizations

from engine.layers.dropout import (
    Cutout,
    DropBlock,
    DropConnectConv2d,
    DropConnectLinear,
    Dropout,
    DropPath,
    SpatialDropout,
    cutout,
    drop_block,
    drop_connect_linear,
    drop_path,
    dropout,
    spatial_dropout,
)

P = 0.3
Fn = Callable[[Tensor, bool, "torch.Generator | None"], Tensor]
ModuleFactory = Callable[["torch.Generator | None"], nn.Module]

# name -> (function with p etc. fixed, module factory); all take an (N, C, H, W) input.
VARIANTS: dict[str, tuple[Fn, ModuleFactory]] = {
    "dropout": (lambda x, t, g: dropout(x, P, t, g), lambda g: Dropout(P, generator=g)),
    "spatial": (
        lambda x, t, g: spatial_dropout(x, P, t, g),
        lambda g: SpatialDropout(P, generator=g),
    ),
    "dropblock": (
        lambda x, t, g: drop_block(x, P, 3, t, g),
        lambda g: DropBlock(P, 3, generator=g),
    ),
    "droppath": (lambda x, t, g: drop_path(x, P, t, g), lambda g: DropPath(P, generator=g)),
    "cutout": (lambda x, t, g: cutout(x, 3, t, g), lambda g: Cutout(3, generator=g)),
}
ALL = pytest.mark.parametrize("name", list(VARIANTS))

# name -> function of (x, p, training, generator) for the variants that take a rate p.
RATED: dict[str, Callable[..., Tensor]] = {
    "dropout": dropout,
    "spatial": spatial_dropout,
    "dropblock": lambda x, p, t, g=None: drop_block(x, p, 3, t, g),
    "droppath": drop_path,
}
RATED_MODULES: dict[str, Callable[[float], nn.Module]] = {
    "dropout": Dropout,
    "spatial": SpatialDropout,
    "dropblock": lambda p: DropBlock(p, 3),
    "droppath": DropPath,
    "dropconnect_linear": lambda p: DropConnectLinear(4, 3, p=p),
    "dropconnect_conv": lambda p: DropConnectConv2d(2, 3, 3, p=p),
}


def gen(seed: int) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def images(n: int = 8, c: int = 4, hw: int = 10, seed: int = 0) -> Tensor:
    """Strictly positive images, so a zero in the output can only come from a mask."""
    return torch.rand(n, c, hw, hw, generator=gen(seed)) + 0.5


def sigma5(p: float, n: int) -> float:
    """5 standard deviations of the fraction of successes in n Bernoulli(p) trials."""
    return 5 * math.sqrt(p * (1 - p) / n)


# --- every variant ---------------------------------------------------------------------------


@ALL
def test_eval_is_exactly_identity(name: str) -> None:
    fn, make = VARIANTS[name]
    x = images()
    module = make(gen(0))
    module.train()
    assert not torch.equal(module(x), x), "train mode should change the input"
    module.eval()
    assert torch.equal(module(x), x)
    assert torch.equal(fn(x, False, gen(0)), x)


@ALL
def test_mode_comes_from_parent_train_eval(name: str) -> None:
    # Only model.train()/model.eval() decide; the layer is found by nothing but self.training.
    _, make = VARIANTS[name]
    x = images()
    model = nn.Sequential(nn.Identity(), make(gen(0)))
    model.eval()
    assert torch.equal(model(x), x)
    model.train()
    assert not torch.equal(model(x), x)


@ALL
def test_same_seed_same_mask_different_seed_different(name: str) -> None:
    fn, _ = VARIANTS[name]
    x = images(n=16)
    assert torch.equal(fn(x, True, gen(1)), fn(x, True, gen(1)))
    assert not torch.equal(fn(x, True, gen(1)), fn(x, True, gen(2)))


@ALL
def test_module_draws_a_new_mask_each_step(name: str) -> None:
    _, make = VARIANTS[name]
    x = images(n=16)
    module = make(gen(3))
    assert not torch.equal(module(x), module(x))
    # ... and a module rebuilt with the same seed replays the same sequence of masks.
    module_a, module_b = make(gen(3)), make(gen(3))
    for _ in range(3):
        assert torch.equal(module_a(x), module_b(x))


@ALL
def test_mask_does_not_depend_on_dtype(name: str) -> None:
    fn, _ = VARIANTS[name]
    x = images()
    out32 = fn(x, True, gen(4))
    out64 = fn(x.double(), True, gen(4))
    assert torch.equal(out32 == 0, out64 == 0)


@ALL
def test_gradcheck_with_a_fixed_mask(name: str) -> None:
    # A fresh generator per call makes the mask a constant, so the layer is linear in x.
    fn, _ = VARIANTS[name]
    x = torch.randn(3, 2, 5, 5, generator=gen(5), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda t: fn(t, True, gen(6)), (x,))


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@ALL
def test_cpu_generator_with_cuda_input_gives_the_cpu_mask(name: str) -> None:
    fn, _ = VARIANTS[name]
    x = images()
    torch.testing.assert_close(fn(x.cuda(), True, gen(7)).cpu(), fn(x, True, gen(7)))
    cuda_gen = torch.Generator(device="cuda")
    assert fn(x.cuda(), True, cuda_gen.manual_seed(1)).device.type == "cuda"


# --- the rate p ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", list(RATED))
def test_p_zero_is_identity_in_train_mode(name: str) -> None:
    x = images()
    assert torch.equal(RATED[name](x, 0.0, True, gen(0)), x)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.2, float("nan")])
@pytest.mark.parametrize("name", list(RATED))
def test_bad_p_raises_naming_p(name: str, p: float) -> None:
    with pytest.raises(ValueError, match=r"dropout rate p must be in \[0, 1\)"):
        RATED[name](images(), p, True)


@pytest.mark.parametrize("p", [-0.1, 1.0, 1.2])
@pytest.mark.parametrize("name", list(RATED_MODULES))
def test_bad_p_in_constructor_raises_naming_p(name: str, p: float) -> None:
    with pytest.raises(ValueError, match=r"dropout rate p must be in \[0, 1\), got"):
        RATED_MODULES[name](p)


# --- dropout ---------------------------------------------------------------------------------


def test_dropout_zero_fraction_is_p_and_mean_is_preserved() -> None:
    x = torch.ones(1000, 1000)
    n = x.numel()
    out = dropout(x, P, True, gen(0))
    zero_frac = (out == 0).float().mean().item()
    assert abs(zero_frac - P) < sigma5(P, n)
    # Each element is Bernoulli(1 - p) / (1 - p): mean 1, variance p / (1 - p).
    assert abs(out.mean().item() - 1.0) < 5 * math.sqrt(P / (1 - P) / n)
    # Same semantics as torch's own dropout: kept values are exactly x / (1 - p).
    torch.testing.assert_close(out[out != 0], torch.full_like(out[out != 0], 1 / (1 - P)))
    ref = F.dropout(x, P, training=True)
    assert torch.equal(torch.unique(out), torch.unique(ref))


# --- spatial dropout -------------------------------------------------------------------------


def test_spatial_dropout_drops_whole_channels() -> None:
    x = torch.ones(64, 32, 5, 5)
    out = spatial_dropout(x, P, True, gen(0))
    per_channel = out.flatten(2)  # (n, c, h*w)
    all_zero = (per_channel == 0).all(dim=2)
    all_kept = (per_channel == 1 / (1 - P)).all(dim=2)
    assert (all_zero | all_kept).all(), "each channel must be dropped or kept as a whole"
    n = 64 * 32
    assert abs(all_zero.float().mean().item() - P) < sigma5(P, n)
    assert abs(out.mean().item() - 1.0) < 5 * math.sqrt(P / (1 - P) / n)


@pytest.mark.parametrize("shape", [(8, 5), (2, 3, 4), (1, 2, 3, 4, 5)])
def test_spatial_dropout_needs_4d_input(shape: tuple[int, ...]) -> None:
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        spatial_dropout(torch.ones(shape), P, True)


# --- DropPath --------------------------------------------------------------------------------


def test_drop_path_drops_whole_samples() -> None:
    x = torch.ones(20000, 3, 4)
    out = drop_path(x, P, True, gen(0))
    per_sample = out.flatten(1)  # (n, 12)
    all_zero = (per_sample == 0).all(dim=1)
    all_kept = (per_sample == 1 / (1 - P)).all(dim=1)
    assert (all_zero | all_kept).all(), "each sample's branch must be dropped or kept whole"
    n = x.shape[0]
    assert abs(all_zero.float().mean().item() - P) < sigma5(P, n)
    assert abs(out.mean().item() - 1.0) < 5 * math.sqrt(P / (1 - P) / n)


def test_drop_path_on_a_residual_branch_leaves_the_skip() -> None:
    x = torch.randn(4000, 6, generator=gen(1))
    branch = nn.Linear(6, 6)
    with torch.no_grad():
        out = x + drop_path(branch(x), 0.5, True, gen(2))  # (n, 6)
    dropped = torch.isclose(out, x).all(dim=1)
    assert 0 < dropped.sum() < len(x), "some samples skip the branch, others go through it"


# --- DropBlock -------------------------------------------------------------------------------


def zeros_covered_by_full_blocks(zero: Tensor, bs: int) -> Tensor:
    """Units lying in some bs x bs window that is entirely zero; zero: (n, c, h, w) of 0/1."""
    full = (F.avg_pool2d(zero, bs, stride=1) == 1).float()  # (n, c, h-bs+1, w-bs+1)
    return F.max_pool2d(F.pad(full, (bs - 1,) * 4), bs, stride=1)  # (n, c, h, w)


def test_drop_block_zeros_are_unions_of_whole_blocks() -> None:
    bs = 3
    out = drop_block(torch.ones(4, 8, 12, 12), P, bs, True, gen(0))
    zero = (out == 0).float()
    assert zero.sum() > 0
    assert torch.equal(zeros_covered_by_full_blocks(zero, bs), zero)


def test_drop_block_single_block_is_a_square() -> None:
    bs = 4
    for seed in range(200):
        out = drop_block(torch.ones(1, 1, 12, 12), 0.1, bs, True, gen(seed))
        zero = out[0, 0] == 0  # (12, 12)
        if zero.sum() == bs * bs:  # exactly one seed: distinct blocks always cover more units
            rows, cols = zero.nonzero(as_tuple=True)
            assert (rows.max() - rows.min() + 1, cols.max() - cols.min() + 1) == (bs, bs)
            return
    pytest.fail("no seed dropped exactly one block")


def test_drop_block_drops_about_p_and_keeps_the_mean() -> None:
    # The paper's gamma counts every block as bs^2 fresh units, but blocks overlap and border
    # units are covered by fewer possible blocks, so the dropped fraction is only near p (about
    # 0.097 here; the shortfall grows with p, e.g. about 0.26 for p = 0.3). Hence a small p and
    # a 20% relative tolerance instead of a binomial one.
    p = 0.1
    out = drop_block(torch.ones(32, 16, 16, 16), p, 3, True, gen(0))
    zero_frac = (out == 0).float().mean().item()
    assert abs(zero_frac - p) < 0.2 * p
    # Rescaling by the count of kept units keeps the mean exactly.
    assert abs(out.mean().item() - 1.0) < 1e-5


def test_drop_block_clamps_block_size_to_feature_map() -> None:
    # A 7x7 block on a 4x4 map becomes a 4x4 block: each map is dropped or kept as a whole.
    x = torch.ones(16, 8, 4, 4)
    out = drop_block(x, 0.5, 7, True, gen(0))
    assert out.shape == x.shape
    per_map = out.flatten(2)  # (n, c, 16)
    all_zero = (per_map == 0).all(dim=2)
    assert (all_zero | (per_map != 0).all(dim=2)).all()
    assert all_zero.any() and not all_zero.all()


def test_drop_block_rejects_bad_block_size_and_shape() -> None:
    with pytest.raises(ValueError, match="block_size must be an integer >= 1, got 0"):
        DropBlock(P, 0)
    with pytest.raises(ValueError, match="block_size must be an integer >= 1"):
        drop_block(images(), P, 0, True)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        drop_block(torch.ones(8, 5), P, 3, True)


# --- DropConnect -----------------------------------------------------------------------------


def test_drop_connect_linear_eval_equals_plain_linear() -> None:
    dc = DropConnectLinear(5, 3, p=P, generator=gen(0))
    plain = nn.Linear(5, 3)
    plain.load_state_dict(dc.state_dict())
    x = torch.randn(7, 5, generator=gen(1))
    dc.eval()
    assert torch.equal(dc(x), plain(x))
    dc.train()
    assert not torch.equal(dc(x), plain(x))


def test_drop_connect_conv_eval_equals_plain_conv() -> None:
    dc = DropConnectConv2d(2, 4, 3, padding=1, p=P, generator=gen(0))
    plain = nn.Conv2d(2, 4, 3, padding=1)
    plain.load_state_dict(dc.state_dict())
    x = torch.randn(3, 2, 6, 6, generator=gen(1))
    dc.eval()
    assert torch.equal(dc(x), plain(x))
    dc.train()
    assert not torch.equal(dc(x), plain(x))


def test_drop_connect_p_zero_is_plain_layer_in_train_mode() -> None:
    x = torch.randn(3, 2, 6, 6, generator=gen(1))
    conv = DropConnectConv2d(2, 4, 3, p=0.0)
    assert torch.equal(conv(x), F.conv2d(x, conv.weight, conv.bias))
    lin = DropConnectLinear(5, 3, p=0.0)
    xl = torch.randn(4, 5, generator=gen(2))
    assert torch.equal(lin(xl), F.linear(xl, lin.weight, lin.bias))


def effective_weight(w: Tensor, b: Tensor, seed: int) -> Tensor:
    """The dropped and rescaled weight a seed gives: feed the identity matrix, undo the bias."""
    eye = torch.eye(w.shape[1], dtype=w.dtype)
    with torch.no_grad():
        return (drop_connect_linear(eye, w, b, P, True, gen(seed)) - b).T  # (out, in)


def test_drop_connect_linear_masks_weights_with_inverted_scaling() -> None:
    w = torch.randn(200, 300, generator=gen(0), dtype=torch.float64)
    b = torch.randn(200, generator=gen(1), dtype=torch.float64)
    w_eff = effective_weight(w, b, seed=2)
    kept = w_eff != 0
    torch.testing.assert_close(w_eff[kept], w[kept] / (1 - P))
    assert abs((~kept).double().mean().item() - P) < sigma5(P, w.numel())


def test_drop_connect_linear_gradient_matches_manual() -> None:
    w = torch.randn(4, 6, generator=gen(0), dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, generator=gen(1), dtype=torch.float64, requires_grad=True)
    x = torch.randn(5, 6, generator=gen(2), dtype=torch.float64, requires_grad=True)
    r = torch.randn(5, 4, generator=gen(3), dtype=torch.float64)  # upstream gradient
    (drop_connect_linear(x, w, b, P, True, gen(9)) * r).sum().backward()
    w_eff = effective_weight(w.detach(), b.detach(), seed=9)  # same seed: same mask
    mask_scale = (w_eff != 0).double() / (1 - P)  # (out, in)
    torch.testing.assert_close(x.grad, r @ w_eff)
    torch.testing.assert_close(w.grad, mask_scale * (r.T @ x.detach()))
    torch.testing.assert_close(b.grad, r.sum(dim=0))


def test_drop_connect_linear_gradcheck() -> None:
    w = torch.randn(4, 6, generator=gen(0), dtype=torch.float64, requires_grad=True)
    b = torch.randn(4, generator=gen(1), dtype=torch.float64, requires_grad=True)
    x = torch.randn(5, 6, generator=gen(2), dtype=torch.float64, requires_grad=True)
    fn = lambda x, w, b: drop_connect_linear(x, w, b, P, True, gen(9))  # noqa: E731
    assert torch.autograd.gradcheck(fn, (x, w, b))


def test_drop_connect_conv_gradcheck() -> None:
    conv = DropConnectConv2d(2, 3, 3, padding=1, p=P, dtype=torch.float64)
    x = torch.randn(2, 2, 5, 5, generator=gen(0), dtype=torch.float64, requires_grad=True)

    def fn(t: Tensor) -> Tensor:
        conv.generator = gen(4)  # same mask on every call
        return conv(t)

    assert torch.autograd.gradcheck(fn, (x,))


def test_drop_connect_mask_is_shared_across_the_batch() -> None:
    # Documented simplification: one weight mask per forward pass, not one per example.
    lin = DropConnectLinear(50, 20, p=0.5, generator=gen(0))
    x = torch.randn(1, 50, generator=gen(1)).expand(8, 50)
    out = lin(x)
    assert torch.equal(out, out[:1].expand(8, 20))


def test_drop_connect_works_under_weight_norm() -> None:
    # The model may reparametrize the layer's weight; DropConnect must drop the computed weight.
    lin = parametrizations.weight_norm(DropConnectLinear(5, 3, p=P, generator=gen(0)))
    x = torch.randn(4, 5, generator=gen(1))
    lin.eval()
    torch.testing.assert_close(lin(x), F.linear(x, lin.weight, lin.bias))
    lin.train()
    lin(x).sum().backward()
    assert lin.parametrizations.weight.original0.grad is not None


# --- Cutout ----------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [4, 5])
def test_cutout_zeroes_one_clipped_square_per_image(size: int) -> None:
    x = images(n=200, c=3, hw=16)
    out = cutout(x, size, True, gen(0))
    zero = out == 0  # (n, c, h, w)
    assert torch.equal(zero, zero[:, :1].expand_as(zero)), "same square in every channel"
    assert torch.equal(out[~zero], x[~zero]), "pixels outside the square are not rescaled"
    whole_squares = 0
    for img in zero[:, 0]:  # (h, w)
        rows, cols = img.nonzero(as_tuple=True)
        top, bottom, left, right = rows.min(), rows.max(), cols.min(), cols.max()
        height, width = bottom - top + 1, right - left + 1
        assert img[top : bottom + 1, left : right + 1].all(), "zeros form a filled rectangle"
        assert img.sum() == height * width
        assert height <= size and width <= size
        if top > 0 and bottom < 15:  # not clipped by the top or bottom border
            assert height == size
        if left > 0 and right < 15:
            assert width == size
        whole_squares += int(img.sum() == size * size)
    assert whole_squares > 0


def test_cutout_centre_ranges_over_the_whole_image() -> None:
    # The centre is uniform over all pixels, so squares are clipped at borders and every pixel,
    # corners included, gets cut sometimes.
    out = cutout(torch.ones(2000, 1, 8, 8), 3, True, gen(0))
    assert (out == 0).any(dim=0).all()
    assert ((out == 0).flatten(1).sum(dim=1) < 9).any()


def test_cutout_rejects_non_images_and_bad_size() -> None:
    with pytest.raises(ValueError, match=r"cutout needs image-like input of shape \(N, C, H, W\)"):
        cutout(torch.ones(8, 2), 3, True)
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        Cutout(3)(torch.ones(8, 2))
    with pytest.raises(ValueError, match="cutout size must be an integer >= 1, got 0"):
        Cutout(0)
