"""Loss landscapes (Li et al. 2018): slices, lines, filter normalization, trajectory PCA,
the Trainer's weight snapshots and the `landscape` command."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from engine import cli
from engine import landscape as ls
from engine.config import Config
from engine.trainer import Trainer

ROOT = Path(__file__).resolve().parents[2]
CIRCLE = str(ROOT / "assets" / "presets" / "circle.json")


def directions(model: nn.Module, seed: int = 0) -> tuple[dict, dict]:
    g = torch.Generator().manual_seed(seed)
    return ls.random_direction(model, g), ls.random_direction(model, g)


def trained(steps: int = 30, **changes: object) -> Trainer:
    """A small toy-data trainer after a few steps (BatchNorm statistics no longer trivial)."""
    cfg = Config().replace(**{"device": "cpu", "train.steps": steps, **changes})
    t = Trainer(cfg)
    t.step(steps)
    return t


# The slice against a hand-computed quadratic ---------------------------------------------------


def test_slice_of_a_linear_model_with_mse_is_the_hand_computed_quadratic() -> None:
    # loss(w + a d1 + b d2) = mean((r + a u1 + b u2)^2) with r = Xw + c - y, u_k = X d_k:
    # L0 + 2a<r,u1> + 2b<r,u2> + a^2<u1,u1> + 2ab<u1,u2> + b^2<u2,u2> (<.,.> a mean).
    torch.manual_seed(0)
    model = nn.Linear(3, 1)
    x, y = torch.randn(40, 3), torch.randn(40, 1)
    d1, d2 = directions(model)
    assert not d1["bias"].any()  # the bias is not perturbed
    grid, span = 7, 1.5
    res = ls.slice_2d(model, ls.snapshot(model), d1, d2, x, y, F.mse_loss, grid=grid, span=span)

    xn, yn = x.double().numpy(), y.double().numpy()[:, 0]
    w, c = model.weight.detach().double().numpy()[0], model.bias.item()
    r = xn @ w + c - yn
    u1, u2 = xn @ d1["weight"].double().numpy()[0], xn @ d2["weight"].double().numpy()[0]
    axis = np.linspace(-span, span, grid)
    a, b = axis[None, :], axis[:, None]  # columns follow alpha, rows follow beta
    expected = (
        np.mean(r * r)
        + 2 * a * np.mean(r * u1)
        + 2 * b * np.mean(r * u2)
        + a * a * np.mean(u1 * u1)
        + 2 * a * b * np.mean(u1 * u2)
        + b * b * np.mean(u2 * u2)
    )
    np.testing.assert_allclose(res.alphas, axis)
    np.testing.assert_allclose(res.betas, axis)
    assert res.losses.shape == (grid, grid)
    np.testing.assert_allclose(res.losses, expected, rtol=1e-5, atol=1e-5)
    assert res.seconds > 0


@pytest.mark.parametrize("chunk", [1, 3, 64])
def test_affine_losses_are_the_models_loss_at_each_point(chunk) -> None:
    t = trained(10, **{"model.hidden": [6, 5], "model.activation": "relu"})
    x, y = t.train_split.x, t.train_split.y
    center = ls.snapshot(t.model)
    d1, d2 = directions(t.model, 3)
    coeffs = torch.tensor([[0.0, 0.0], [0.5, -0.25], [-1.0, 1.0], [0.3, 0.9], [2.0, 0.1]])
    ev = ls.LossEvaluator(t.model, x, y, t.loss_fn, chunk)
    fast = ev.affine_losses(center, [d1, d2], coeffs)
    model = copy.deepcopy(t.model).eval()
    expected = []
    with torch.no_grad():
        for a, b in coeffs.tolist():
            for n, p in model.named_parameters():
                p.copy_(center[n] + a * d1[n] + b * d2[n])
            expected.append(t.loss_fn(model(x), y).item())
    np.testing.assert_allclose(fast.numpy(), expected, rtol=1e-5, atol=1e-6)


def test_the_evaluator_keeps_the_model_as_it_was_when_made() -> None:
    """It works on a private copy: the model training on (weights and BatchNorm running
    statistics moving) does not disturb a landscape being computed."""
    t = trained(10, **{"model.norm": "batch"})
    x, y = t.train_split.x, t.train_split.y
    center = ls.snapshot(t.model)
    d1, d2 = directions(t.model)
    coeffs = torch.tensor([[0.0, 0.0], [0.5, -0.5]])
    ev = ls.LossEvaluator(t.model, x, y, t.loss_fn, 2)
    before = ev.affine_losses(center, [d1, d2], coeffs)
    with torch.no_grad():  # the model trains on: its weights and running statistics move
        for v in [*t.model.parameters(), *t.model.buffers()]:
            if v.is_floating_point():  # not BatchNorm's step count
                v.add_(0.5)
    np.testing.assert_allclose(ev.affine_losses(center, [d1, d2], coeffs), before, rtol=1e-6)
    moved = ls.LossEvaluator(t.model, x, y, t.loss_fn, 2)  # running statistics now differ
    assert not np.allclose(moved.affine_losses(center, [d1, d2], coeffs), before)


@pytest.mark.parametrize("chunk", [1, 4])
def test_a_probe_hook_on_the_model_does_not_reach_the_evaluation(chunk) -> None:
    """The app's probes hang hooks that call .item() on the layers of a network that may be
    training while its landscape is computed: under vmap that raised a RuntimeError."""
    t = trained(10)
    x, y = t.train_split.x, t.train_split.y
    center = ls.snapshot(t.model)
    d1, d2 = directions(t.model)
    calls = []

    def probe(_m, _args, out):
        calls.append(out.mean().item())

    handles = [m.register_forward_hook(probe) for m in t.model.modules() if m is not t.model]
    try:
        hooked = ls.slice_2d(t.model, center, d1, d2, x, y, t.loss_fn, grid=3, chunk=chunk)
    finally:
        for h in handles:
            h.remove()
    plain = ls.slice_2d(t.model, center, d1, d2, x, y, t.loss_fn, grid=3, chunk=chunk)
    assert calls == []
    np.testing.assert_allclose(hooked.losses, plain.losses, rtol=1e-6)


# Against the naive loop --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        {"model.norm": "batch", "model.dropout": "dropout", "model.activation": "relu"},
        {"model.norm": "weight_norm", "model.dropout": "dropconnect"},
        {"model.norm": "layer", "model.residual": True, "model.hidden": [6, 6, 6]},
    ],
    ids=["batchnorm-dropout", "weightnorm-dropconnect", "layernorm-residual"],
)
@pytest.mark.parametrize("chunk", [1, 4])
def test_slice_equals_the_naive_loop(changes, chunk) -> None:
    t = trained(30, **changes)
    model, x, y = t.model, t.train_split.x, t.train_split.y
    model.train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    center = ls.snapshot(model)
    d1, d2 = directions(model)
    fast = ls.slice_2d(model, center, d1, d2, x, y, t.loss_fn, grid=5, span=0.8, chunk=chunk)
    naive = ls.naive_slice_2d(model, center, d1, d2, x, y, t.loss_fn, grid=5, span=0.8)
    np.testing.assert_allclose(fast.losses, naive.losses, rtol=1e-5, atol=1e-5)
    assert len(np.unique(fast.losses.round(4))) > 10  # a landscape, not a constant
    assert model.training  # the mode is restored ...
    for k, v in model.state_dict().items():  # ... and so are weights and running statistics
        assert torch.equal(v, before[k]), k


@pytest.mark.parametrize("chunk", [1, 2])
def test_cnn_slice_equals_the_naive_loop(chunk) -> None:
    cfg = Config().replace(
        **{
            "device": "cpu",
            "data.dataset": "mnist",
            "data.train_subset": 200,
            "model.arch": "cnn",
            "model.hidden": [3, 4],
            "model.norm": "batch",
            "train.batch_size": 16,
            "train.steps": 5,
        }
    )
    t = Trainer(cfg)
    t.step(5)
    x, y = t.train_split.x[:48], t.train_split.y[:48]
    center = ls.snapshot(t.model)
    d1, d2 = directions(t.model)
    fast = ls.slice_2d(t.model, center, d1, d2, x, y, t.loss_fn, grid=3, chunk=chunk)
    naive = ls.naive_slice_2d(t.model, center, d1, d2, x, y, t.loss_fn, grid=3)
    np.testing.assert_allclose(fast.losses, naive.losses, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("chunk", [1, 4])
def test_examples_are_split_into_pieces_when_memory_is_short(chunk) -> None:
    t = trained(10)
    x, y = t.train_split.x, t.train_split.y
    center = ls.snapshot(t.model)
    d1, d2 = directions(t.model)
    whole = ls.LossEvaluator(t.model, x, y, t.loss_fn, chunk)
    split = ls.LossEvaluator(t.model, x, y, t.loss_fn, chunk, memory=4096)
    assert len(whole.pieces) == 1 and len(split.pieces) > 3
    coeffs = torch.tensor([[0.0, 0.0], [0.4, -0.7], [1.0, 1.0]])
    np.testing.assert_allclose(
        split.affine_losses(center, [d1, d2], coeffs).numpy(),
        whole.affine_losses(center, [d1, d2], coeffs).numpy(),
        rtol=1e-5,
    )


def test_progress_reaches_the_total() -> None:
    t = trained(5)
    calls: list[tuple[int, int]] = []
    d1, d2 = directions(t.model)
    x, y = t.train_split.x, t.train_split.y
    center = ls.snapshot(t.model)
    progress = lambda done, total: calls.append((done, total))  # noqa: E731
    ls.slice_2d(t.model, center, d1, d2, x, y, t.loss_fn, grid=6, progress=progress, chunk=5)
    assert calls[-1] == (36, 36) and len(calls) == 8  # ceil(36 / 5) chunks
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    calls.clear()
    ls.slice_2d(t.model, center, d1, d2, x, y, t.loss_fn, grid=6, progress=progress, chunk=1)
    assert calls[-1] == (36, 36) and [d for d, _ in calls] == sorted(d for d, _ in calls)
    calls.clear()
    ls.line(t.model, center, center, x, y, t.loss_fn, points=6, span=(0, 1.5), progress=progress)
    assert calls[-1] == (7, 7)  # 0, 0.3, ..., 1.5 and 1


# Filter normalization ----------------------------------------------------------------------------


def filter_norms(t: torch.Tensor) -> torch.Tensor:
    return t.flatten(1).norm(dim=1)


@pytest.mark.parametrize(
    "changes",
    [
        {"model.norm": "batch", "model.activation": "prelu"},
        {"model.norm": "weight_norm"},
        {"model.norm": "layer", "model.residual": True, "model.hidden": [6, 4]},
    ],
    ids=["batchnorm-prelu", "weightnorm", "layernorm-residual-projection"],
)
def test_each_filter_of_a_direction_has_the_norm_of_the_models_filter(changes) -> None:
    t = trained(5, **changes)
    params = dict(t.model.named_parameters())
    d1, d2 = directions(t.model)
    moved = dict(ls.perturbable(t.model))
    assert set(d1) == set(params) and moved
    for name, p in params.items():
        if name in moved:
            assert p.dim() >= 2
            for d in (d1, d2):
                torch.testing.assert_close(filter_norms(d[name]), filter_norms(p.detach()))
            assert not torch.allclose(d1[name], d2[name])  # two different draws
        else:  # biases, norm scales/shifts, PReLU slopes, weight norm's g
            assert not d1[name].any() and not d2[name].any(), name
    if changes["model.norm"] == "weight_norm":
        assert any(n.endswith("original0") for n in params)
        assert not any(n.endswith("original0") for n in moved)  # g stays, v turns
        assert any(n.endswith("original1") for n in moved)


def test_random_directions_are_seeded() -> None:
    t = trained(1)
    a, b = directions(t.model, 7), directions(t.model, 7)
    c = directions(t.model, 8)
    assert all(torch.equal(a[0][n], b[0][n]) for n in a[0])
    assert not all(torch.equal(a[0][n], c[0][n]) for n in a[0])


def test_filter_normalize_by_hand() -> None:
    d = {"w": torch.tensor([[3.0, 4.0], [1.0, 0.0]]), "b": torch.tensor([1.0, 2.0])}
    w = {"w": torch.tensor([[0.0, 10.0], [0.0, -2.0]]), "b": torch.tensor([5.0, 5.0])}
    out = ls.filter_normalize(d, w)
    torch.testing.assert_close(out["w"], torch.tensor([[6.0, 8.0], [2.0, 0.0]]))
    torch.testing.assert_close(out["b"], d["b"])  # 1-D tensors are left alone


# Trajectory PCA ----------------------------------------------------------------------------------


def test_pca_directions_match_numpy() -> None:
    g = torch.Generator().manual_seed(0)
    final = {"a.weight": torch.randn(4, 3, generator=g), "a.bias": torch.randn(4, generator=g)}
    drift = torch.randn(4, 3, generator=g)
    snaps = [
        {
            "a.weight": final["a.weight"] + (5 - i) * drift + 0.3 * torch.randn(4, 3, generator=g),
            "a.bias": torch.randn(4, generator=g),
        }
        for i in range(6)
    ]
    res = ls.pca_directions(snaps, final)

    m = np.stack([(s["a.weight"] - final["a.weight"]).double().numpy().ravel() for s in snaps])
    centered = m - m.mean(axis=0)
    _, sv, vt = np.linalg.svd(centered, full_matrices=False)
    explained = sv**2 / np.sum(sv**2)
    coords = m @ vt[:2].T
    signs = np.where(coords[0] < 0, -1.0, 1.0)  # the documented sign convention
    np.testing.assert_allclose(res.explained, explained[:2], rtol=1e-6)
    np.testing.assert_allclose(res.coords, coords * signs, rtol=1e-6, atol=1e-9)
    for d, v in ((res.d1, vt[0] * signs[0]), (res.d2, vt[1] * signs[1])):
        assert not d["a.bias"].any()  # biases are not projected
        np.testing.assert_allclose(d["a.weight"].numpy().ravel(), v, rtol=1e-5, atol=1e-6)
    w1, w2 = res.d1["a.weight"].double(), res.d2["a.weight"].double()
    assert w1.norm().item() == pytest.approx(1.0) and w2.norm().item() == pytest.approx(1.0)
    assert (w1 * w2).sum().item() == pytest.approx(0.0, abs=1e-6)
    assert res.explained[0] > 0.9  # the drift dominates


def test_pca_coordinates_are_in_slice_units() -> None:
    # A snapshot at final + a d1 + b d2 sits at (a, b): the trajectory overlays the slice.
    g = torch.Generator().manual_seed(1)
    final = {"w": torch.randn(5, 4, generator=g)}
    snaps = [{"w": final["w"] + torch.randn(5, 4, generator=g)} for _ in range(5)]
    res = ls.pca_directions(snaps, final)
    probe = {"w": final["w"] + 0.7 * res.d1["w"] - 1.2 * res.d2["w"]}
    again = ls.pca_directions([*snaps, probe], final)
    # projecting onto the first result's directions:
    diff = (probe["w"] - final["w"]).double()
    a = (diff * res.d1["w"].double()).sum().item()
    b = (diff * res.d2["w"].double()).sum().item()
    assert (a, b) == pytest.approx((0.7, -1.2), abs=1e-5)
    assert again.coords.shape == (6, 2)


def test_pca_needs_three_snapshots() -> None:
    final = {"w": torch.zeros(2, 2)}
    with pytest.raises(ValueError, match="at least 3 snapshots"):
        ls.pca_directions([{"w": torch.ones(2, 2)}], final)


# The 1-D line ------------------------------------------------------------------------------------


def test_line_endpoints_are_the_losses_at_both_ends() -> None:
    t = Trainer(Config().replace(**{"device": "cpu", "train.steps": 40}))
    t.step(40)
    x, y = t.train_split.x, t.train_split.y
    res = ls.line(t.model, t.initial_params, ls.snapshot(t.model), x, y, t.loss_fn)
    # 41 even steps of 0.0375 miss 0 and 1: both are added
    assert res.alphas.shape == res.losses.shape == (43,)
    assert res.alphas[0] == -0.25 and res.alphas[-1] == 1.25
    assert np.all(np.diff(res.alphas) > 0)
    i0, i1 = list(res.alphas).index(0.0), list(res.alphas).index(1.0)
    final_loss = t.metrics(t.train_split)["loss"]
    fresh = Trainer(t.cfg)  # same seed: the same initial weights
    initial_loss = fresh.metrics(fresh.train_split)["loss"]
    assert res.losses[i1] == pytest.approx(final_loss, rel=1e-5)
    assert res.losses[i0] == pytest.approx(initial_loss, rel=1e-5)
    assert res.losses[i1] < res.losses[i0]  # training lowered the loss


# Trainer snapshots -------------------------------------------------------------------------------


def test_initial_params_are_recorded_at_construction() -> None:
    t = Trainer(Config().replace(device="cpu"))
    for name, p in t.model.named_parameters():
        assert torch.equal(t.initial_params[name], p.detach())
        assert t.initial_params[name].dtype == torch.float32
    t.step(3)
    assert not torch.equal(t.initial_params["head.weight"], t.model.head.weight.detach())
    assert t.snapshots == []  # off by default


def test_snapshots_are_taken_every_n_steps_and_stay_bounded() -> None:
    cfg = Config().replace(**{"device": "cpu", "train.steps": 400})
    t = Trainer(cfg, snapshot_every=5, max_snapshots=20)
    t.step(50)
    assert [s for s, _ in t.snapshots] == list(range(5, 55, 5))
    _, params = t.snapshots[-1]
    assert all(torch.equal(params[n], p.detach()) for n, p in t.model.named_parameters())
    t.step(350)
    steps = [s for s, _ in t.snapshots]
    assert len(steps) <= 20 and steps[-1] == 400 and steps[0] == 5  # the start stays covered
    assert steps == sorted(steps)
    gaps = np.diff(steps)
    assert gaps[-1] == 5 and gaps[0] > 5  # recent ones dense, older ones thinned


def test_snapshots_survive_a_checkpoint(tmp_path) -> None:
    t = Trainer(Config().replace(**{"device": "cpu", "train.steps": 30}), snapshot_every=10)
    t.step(30)
    path = t.save(tmp_path / "run.pt")
    back = Trainer.load(path)
    assert [s for s, _ in back.snapshots] == [10, 20, 30]
    for (_, a), (_, b) in zip(back.snapshots, t.snapshots, strict=True):
        assert all(torch.equal(a[n], b[n]) for n in a)
    assert all(torch.equal(back.initial_params[n], t.initial_params[n]) for n in t.initial_params)
    assert back.snapshot_every == 10


def test_a_checkpoint_without_snapshots_still_loads(tmp_path) -> None:
    t = Trainer(Config().replace(**{"device": "cpu", "train.steps": 20}), snapshot_every=5)
    t.step(20)
    path = t.save(tmp_path / "old.pt")
    ckpt = torch.load(path, weights_only=True)
    for key in ("initial_params", "snapshots", "snapshot_every", "max_snapshots"):
        del ckpt[key]  # as written before these keys existed
    torch.save(ckpt, path)
    back = Trainer.load(path)
    assert back.snapshots == [] and back.step_count == 20
    fresh = Trainer(t.cfg)  # the seeded initialization is rebuilt
    assert all(
        torch.equal(back.initial_params[n], fresh.initial_params[n]) for n in t.initial_params
    )


# The command line --------------------------------------------------------------------------------


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = cli.main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture(scope="module")
def circle_checkpoint(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("ckpt") / "circle.pt"
    assert cli.main(["train", CIRCLE, "--set", "train.epochs=2", "--save", str(path)]) == 0
    return path


def test_cli_landscape_prints_one_json_object(capsys, circle_checkpoint) -> None:
    capsys.readouterr()
    code, out, err = run_cli(
        capsys, "landscape", str(circle_checkpoint), "--grid", "5", "--span", "0.5", "--line"
    )
    assert code == 0, err
    assert len(out.splitlines()) == 1
    d = json.loads(out)
    assert d["grid"] == 5 and d["span"] == 0.5 and d["directions"] == "random"
    assert d["alphas"] == d["betas"] == [-0.5, -0.25, 0.0, 0.25, 0.5]
    loss = np.array(d["loss"])
    assert loss.shape == (5, 5) and np.all(np.isfinite(loss))
    assert d["samples"] == 250 and d["seconds"] >= 0  # circle: 500 points, half for training
    assert len(d["line"]["alphas"]) == len(d["line"]["loss"]) == 43
    assert {0.0, 1.0} <= set(d["line"]["alphas"])
    assert "explained" not in d and "trajectory" not in d
    assert "slice: 25/25 points" in err  # progress goes to stderr
    # the centre of the slice is the trained network's loss on those samples
    t = Trainer.load(circle_checkpoint)
    n = d["samples"]
    train_part = type(t.train_split)(t.train_split.x[:n], t.train_split.y[:n])
    assert loss[2, 2] == pytest.approx(t.metrics(train_part)["loss"], rel=1e-5)


def test_cli_landscape_seed_and_samples(capsys, circle_checkpoint) -> None:
    args = ["landscape", str(circle_checkpoint), "--grid", "3", "--samples", "50"]
    a = json.loads(run_cli(capsys, *args, "--seed", "1")[1])
    b = json.loads(run_cli(capsys, *args, "--seed", "1")[1])
    c = json.loads(run_cli(capsys, *args, "--seed", "2")[1])
    assert a["samples"] == 50 and a["loss"] == b["loss"] != c["loss"]


def test_cli_landscape_pca_directions(capsys, tmp_path) -> None:
    cfg = Config().replace(**{"device": "cpu", "train.steps": 60})
    t = Trainer(cfg, snapshot_every=10)
    t.run()
    path = t.save(tmp_path / "traj.pt")
    code, out, err = run_cli(capsys, "landscape", str(path), "--grid", "4", "--directions", "pca")
    assert code == 0, err
    d = json.loads(out)
    assert d["directions"] == "pca" and len(d["explained"]) == 2
    assert 0 < d["explained"][1] <= d["explained"][0] <= 1
    traj = np.array(d["trajectory"])
    assert traj.shape == (7, 2)  # the initial weights and 6 snapshots
    assert np.abs(traj[-1]).max() < 1e-4  # the last snapshot is the final weights: the centre
    assert max(d["alphas"]) >= np.abs(traj).max()  # the slice covers the trajectory


def test_cli_landscape_pca_without_snapshots_is_a_usage_error(capsys, circle_checkpoint) -> None:
    code, out, err = run_cli(capsys, "landscape", str(circle_checkpoint), "--directions", "pca")
    assert code == 2 and out == ""
    assert err.startswith("error: --directions: pca:") and len(err.splitlines()) == 1


@pytest.mark.parametrize("content", [None, b"not a checkpoint", "json"])
def test_cli_landscape_bad_checkpoint_exits_2_with_one_line(capsys, tmp_path, content) -> None:
    path = tmp_path / "bad.pt"
    if content == "json":
        torch.save({"format": 99}, path)
    elif content is not None:
        path.write_bytes(content)
    code, out, err = run_cli(capsys, "landscape", str(path))
    assert code == 2 and out == ""
    assert err.startswith("error: checkpoint:") and len(err.splitlines()) == 1
    assert str(path) in err


@pytest.mark.parametrize(
    ("flag", "value"), [("--grid", "1"), ("--samples", "0"), ("--span", "-1"), ("--span", "nan")]
)
def test_cli_landscape_bad_numbers_exit_2(capsys, circle_checkpoint, flag, value) -> None:
    code, out, err = run_cli(capsys, "landscape", str(circle_checkpoint), flag, value)
    assert code == 2 and out == "" and err.startswith(f"error: {flag}:")
