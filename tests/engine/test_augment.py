"""Data augmentation (engine/data/augment.py): what each knob does to an image, that only
training batches change, that the draws follow the seed and the step, and the overfitting
experiment's claim about it."""

from __future__ import annotations

from typing import Any

import pytest
import torch

from engine.config import Config
from engine.data.augment import Augment, augment, samples, step_generator
from engine.registry import ConfigError
from engine.trainer import Trainer

ON = {
    "train.augment_shift": 2.0,
    "train.augment_rotation": 10.0,
    "train.augment_scale": 0.1,
    "train.augment_elastic": 1.0,
}
SMALL_MNIST = {
    "device": "cpu",
    "data.dataset": "mnist",
    "data.train_subset": 100,
    "model.hidden": [16],
    "train.batch_size": 20,
    "train.epochs": 1,
}


def mnist(**changes: Any) -> Config:
    """100 MNIST images, one hidden layer of 16, five steps an epoch."""
    return Config().replace(**{**SMALL_MNIST, **changes})


def blob(n: int = 4) -> torch.Tensor:
    """n copies of a bright 6x4 rectangle on blank 28x28 paper (0), (n, 1, 28, 28)."""
    x = torch.zeros(n, 1, 28, 28)
    x[:, :, 11:17, 12:16] = 1.0
    return x


def centroid_and_spread(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per image: the ink's centre (n, 2) as (row, col) and its mean distance from it (n,)."""
    ink = x[:, 0].clamp_min(0)
    rows = torch.arange(28.0).view(1, 28, 1)
    cols = torch.arange(28.0).view(1, 1, 28)
    mass = ink.sum(dim=(1, 2))
    r = (ink * rows).sum(dim=(1, 2)) / mass
    c = (ink * cols).sum(dim=(1, 2)) / mass
    dist = ((rows - r.view(-1, 1, 1)) ** 2 + (cols - c.view(-1, 1, 1)) ** 2).sqrt()
    return torch.stack((r, c), dim=1), (ink * dist).sum(dim=(1, 2)) / mass


def draw(x: torch.Tensor, aug: Augment, seed: int = 0, step: int = 0, fill: float = 0.0):
    return augment(x, aug, step_generator(seed, step), fill)


# The transform --------------------------------------------------------------------------------


def test_all_knobs_at_zero_is_the_identity() -> None:
    x = blob()
    assert draw(x, Augment()) is x
    assert not Augment.of(Config().train).active  # the default config does not augment


@pytest.mark.parametrize("knob", ["shift", "rotation", "scale", "elastic"])
def test_each_knob_moves_pixels_and_keeps_shape_dtype_and_device(knob: str) -> None:
    x = blob(8)
    aug = Augment(**{knob: {"shift": 2.0, "rotation": 15.0, "scale": 0.2, "elastic": 1.0}[knob]})
    out = draw(x, aug)
    assert out.shape == x.shape and out.dtype == x.dtype and out.device == x.device
    assert not torch.equal(out, x)
    assert torch.equal(x, blob(8))  # the input is not changed in place


def test_shift_moves_the_ink_by_at_most_the_shift_along_each_axis() -> None:
    x = blob(64)
    before, _ = centroid_and_spread(x)
    after, _ = centroid_and_spread(draw(x, Augment(shift=2.0)))
    moved = (after - before).abs()
    assert moved.max() <= 2.0 + 1e-4
    assert moved.max() > 1.0  # 64 draws in [-2, 2]: some move far


def test_zoom_changes_the_inks_spread_by_at_most_the_zoom_range() -> None:
    x = blob(64)
    _, before = centroid_and_spread(x)
    _, after = centroid_and_spread(draw(x, Augment(scale=0.3)))
    ratio = after / before
    assert ratio.min() >= 0.7 - 0.05 and ratio.max() <= 1.3 + 0.05
    assert ratio.max() - ratio.min() > 0.2


def test_rotation_keeps_the_inks_centre_and_spread() -> None:
    x = blob(16)
    centre, spread = centroid_and_spread(x)
    out = draw(x, Augment(rotation=30.0))
    new_centre, new_spread = centroid_and_spread(out)
    assert torch.allclose(new_centre, centre, atol=0.1)
    assert torch.allclose(new_spread, spread, rtol=0.05)
    assert not torch.allclose(out, x, atol=0.1)


def test_what_comes_in_from_outside_is_blank_paper() -> None:
    """Normalized images have a blank value other than 0 (-0.42 standardized): a blank image
    stays blank however far it is moved."""
    blank = torch.full((8, 1, 28, 28), -0.42)
    out = draw(blank, Augment(shift=8.0, rotation=45.0, scale=0.5, elastic=4.0), fill=-0.42)
    assert torch.allclose(out, blank, atol=1e-5)


def test_the_draws_follow_the_seed_and_the_step() -> None:
    x, aug = blob(), Augment(**{k.split("augment_")[1]: v for k, v in ON.items()})
    assert torch.equal(draw(x, aug, seed=3, step=7), draw(x, aug, seed=3, step=7))
    assert not torch.equal(draw(x, aug, seed=3, step=7), draw(x, aug, seed=3, step=8))
    assert not torch.equal(draw(x, aug, seed=3, step=7), draw(x, aug, seed=4, step=7))
    copies = samples(x[0], aug, seed=0, n=5)
    assert copies.shape == (5, 1, 28, 28)
    assert len({c.sum().item() for c in copies}) == 5


def test_a_large_batch_is_warped_in_chunks_with_the_same_result_shape() -> None:
    x = blob(1500)  # more than one CHUNK
    out = draw(x, Augment(shift=1.0))
    assert out.shape == x.shape
    assert not torch.equal(out[1100], x[1100])  # the second chunk is augmented too


# The config ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", list(ON))
def test_augmentation_is_refused_for_2d_points_with_the_reason(path: str) -> None:
    with pytest.raises(ConfigError) as e:
        Config().replace(**{path: ON[path]})  # the default data: circle points
    assert e.value.field == path
    assert "images" in str(e.value) and "circle" in str(e.value) and "set it to 0" in str(e.value)
    assert Config().replace(**{path: 0.0}).get(path) == 0.0  # off is fine anywhere
    assert mnist(**{path: ON[path]}).get(path) == ON[path]


def test_the_budget_counts_the_augmented_copy_of_a_batch(monkeypatch: pytest.MonkeyPatch) -> None:
    """A batch of 8,000 images through 100 units fits in 40 MB, but not with its moved copy
    (8,000 x 784 values more)."""
    monkeypatch.setenv("PLAYGROUND_MAX_RUN_MB", "40")
    big = {"model.hidden": [100], "train.batch_size": 8000}
    mnist(**big)
    with pytest.raises(ConfigError) as e:
        mnist(**big, **{"train.augment_rotation": 5.0})
    assert e.value.field == "train.batch_size"


# The trainer ---------------------------------------------------------------------------------


def batches_seen(cfg: Config, steps: int) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """The (x, y) each of the first `steps` training steps computed its loss on."""
    t = Trainer(cfg)
    seen: list[tuple[torch.Tensor, torch.Tensor]] = []
    inner = t._loss_and_grads

    def spy(xb: torch.Tensor, yb: torch.Tensor) -> Any:
        seen.append((xb.clone(), yb.clone()))
        return inner(xb, yb)

    t._loss_and_grads = spy  # type: ignore[method-assign]
    t.step(steps)
    return seen


def test_training_batches_are_augmented_and_their_labels_and_order_kept() -> None:
    plain, moved = batches_seen(mnist(), 3), batches_seen(mnist(**ON), 3)
    for (x0, y0), (x1, y1) in zip(plain, moved, strict=True):
        assert torch.equal(y0, y1)  # same examples, same labels
        assert x0.shape == x1.shape and not torch.equal(x0, x1)
    assert batches_seen(mnist(**ON), 3)[2][0].equal(moved[2][0])  # same seed, same batches


def test_evaluation_never_sees_augmentation() -> None:
    on, off = Trainer(mnist(**ON)), Trainer(mnist())
    assert on.evaluate() == off.evaluate()  # the untrained nets score alike
    on.step(5)
    off.model.load_state_dict(on.model.state_dict())
    for split in (on.train_split, on.val_split):
        assert on.metrics(split) == off.metrics(split)


def test_a_restored_checkpoint_continues_with_the_same_augmented_batches(tmp_path) -> None:
    straight = Trainer(mnist(**ON, **{"train.epochs": 2}))
    straight.step(8)
    first = Trainer(mnist(**ON, **{"train.epochs": 2}))
    first.step(3)
    resumed = Trainer.load(first.save(tmp_path / "run.pt"))
    resumed.step(5)
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)


def test_augmentation_can_be_turned_on_while_training() -> None:
    t = Trainer(mnist(**{"train.epochs": 2}))
    t.step(2)
    t.apply_live(t.cfg.replace(**ON))
    x, _ = t.next_batch()
    assert not torch.equal(t.augmented(x), x)
