"""k-fold cross-validation (engine/kfold.py): the folds are disjoint, cover the training pool
and depend only on the seed; run i trains on the other folds and is scored on fold i; the
mean and standard deviation are those of the fold scores; the same config gives the same
result; k and the total training are bounded."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from engine import kfold
from engine.data import build_dataset
from engine.kfold import KFold, fold_indices, run_kfold
from engine.registry import ConfigError
from tests.engine.tiny import tiny

FAST = {"train.epochs": 2}


@pytest.mark.parametrize(("n", "k"), [(200, 5), (101, 3), (20, 10), (7, 2)])
def test_folds_are_disjoint_cover_the_pool_and_follow_the_seed(n, k):
    folds = fold_indices(n, k, seed=3)
    joined = np.concatenate(folds)
    assert len(folds) == k
    assert sorted(joined.tolist()) == list(range(n))  # disjoint and covering
    sizes = [len(f) for f in folds]
    assert max(sizes) - min(sizes) <= 1
    again = fold_indices(n, k, seed=3)
    assert all(np.array_equal(a, b) for a, b in zip(folds, again, strict=True))
    other = fold_indices(n, k, seed=4)
    assert not all(np.array_equal(a, b) for a, b in zip(folds, other, strict=True))


def test_each_run_trains_on_the_other_folds_and_is_scored_on_its_own():
    cfg = tiny(**FAST)
    run = KFold.start(cfg, 4)
    data = build_dataset(cfg.data, cfg.seed)
    pool_y = torch.cat([data.train.y, data.val.y])
    assert run.pool == len(pool_y) == 200  # train and validation points together
    seen = []
    while not run.done:
        fold = len(run.scores)
        run.step(0.001)  # a step or so at a time, as a page does
        t = run.trainer
        if t is not None and fold not in seen:
            held = run.folds[fold]
            assert len(t.val_split.y) == len(held) == 50
            assert len(t.train_split.y) == 150
            assert torch.equal(t.val_split.y, pool_y[held])
            # the scaling is fitted on the run's own training part
            assert abs(float(t.train_split.x.mean())) < 1e-5
            assert 0.0 <= run.progress <= 1.0
            seen.append(fold)
    assert sorted(set(seen)) == [0, 1, 2, 3]
    assert run.progress == 1.0
    assert [s.fold for s in run.scores] == [0, 1, 2, 3]
    assert all(s.n_val == 50 and s.n_train == 150 for s in run.scores)


def test_mean_and_std_are_those_of_the_fold_scores_and_the_seed_repeats_them():
    cfg = tiny(**FAST)
    folds_seen = []
    result = run_kfold(cfg, 3, on_fold=folds_seen.append)
    assert [f.fold for f in folds_seen] == [0, 1, 2]
    acc = [f.val_acc for f in result.folds]
    loss = [f.val_loss for f in result.folds]
    assert result.mean("val_acc") == pytest.approx(sum(acc) / 3)
    assert result.std("val_acc") == pytest.approx(
        (sum((a - sum(acc) / 3) ** 2 for a in acc) / 2) ** 0.5  # sample std, ddof=1
    )
    assert result.mean("val_loss") == pytest.approx(sum(loss) / 3)
    assert result.to_dict()["val_loss_std"] == pytest.approx(float(np.std(loss, ddof=1)))
    again = run_kfold(cfg, 3)
    assert again.to_dict() == result.to_dict()
    other = run_kfold(cfg.replace(seed=1), 3)
    assert other.to_dict() != result.to_dict()


def test_a_diverged_fold_has_no_score_and_is_left_out_of_the_mean():
    result = kfold.KFoldResult(3, 30, (
        kfold.FoldScore(0, 20, 10, "finished", 5, 0.5, 0.8),
        kfold.FoldScore(1, 20, 10, "diverged", 2, None, None),
        kfold.FoldScore(2, 20, 10, "finished", 5, 0.7, 0.6),
    ))  # fmt: skip
    assert result.scores("val_acc") == [0.8, 0.6]
    assert result.mean("val_acc") == pytest.approx(0.7)
    assert result.std("val_acc") == pytest.approx(np.std([0.8, 0.6], ddof=1))
    assert kfold.KFoldResult(1, 10, result.folds[:1]).std("val_acc") is None


def test_k_and_the_total_training_are_bounded(monkeypatch):
    cfg = tiny(**FAST)
    for k in (1, 11, 2.5, True):
        with pytest.raises(ConfigError, match=r"kfold\.k: must be a whole number from 2 to 10"):
            KFold.start(cfg, k)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="10 folds need at least 20 examples and the data"):
        KFold.start(tiny(**{"data.n_samples": 10}), 10)
    # 5 runs of 2 epochs x 8 steps (160 training points, batch 20) = 80 steps
    monkeypatch.setenv("PLAYGROUND_MAX_KFOLD_STEPS", "79")
    with pytest.raises(
        ConfigError, match=r"5 runs of up to 16 steps are 80 steps; this server allows 79"
    ):
        KFold.start(cfg, 5)
    monkeypatch.setenv("PLAYGROUND_MAX_KFOLD_STEPS", "80")
    assert KFold.start(cfg, 5).k == 5
    # the pool is held twice: 200 points x 2 features x 4 bytes x 2 = 3,200 bytes
    monkeypatch.setenv("PLAYGROUND_MAX_RUN_MB", str(3199 / 2**20))
    with pytest.raises(ConfigError, match=r"^data: cross-validation holds the 200 examples"):
        KFold.start(cfg, 5)
    monkeypatch.setenv("PLAYGROUND_MAX_RUN_MB", str(3200 / 2**20))
    assert KFold.start(cfg, 5).pool == 200


def test_the_command_line_prints_a_line_per_fold_and_the_summary(tmp_path, capsys):
    import json

    from engine.cli import main

    path = tmp_path / "tiny.json"
    path.write_text(tiny(**FAST).to_json())
    assert main(["kfold", str(path), "--k", "2"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [line.get("fold") for line in lines[:2]] == [0, 1]
    summary = lines[-1]
    assert summary["summary"] and summary["k"] == 2 and summary["pool"] == 200
    assert summary["val_acc_mean"] == pytest.approx((lines[0]["val_acc"] + lines[1]["val_acc"]) / 2)
    assert main(["kfold", str(path), "--k", "11"]) == 2
    assert "kfold.k: must be a whole number from 2 to 10" in capsys.readouterr().err
