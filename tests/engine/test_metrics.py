"""engine.metrics against scikit-learn called directly, and hand-computed values."""

from __future__ import annotations

import itertools
import math
import warnings

import numpy as np
import pytest
from sklearn import metrics as skm

from engine.metrics import (
    evaluate_classifier,
    misclassified,
    specificity_from_confusion,
    thin_curve,
    thin_indices,
)

# A hand-made 3-class example: 8 examples, 3 of them wrong (examples 2, 4 and 7).
TARGET = np.array([0, 0, 0, 1, 1, 1, 2, 2])
PROBS = np.array(
    [
        [0.7, 0.2, 0.1],  # 0 -> 0
        [0.5, 0.4, 0.1],  # 0 -> 0
        [0.2, 0.6, 0.2],  # 0 -> 1  wrong
        [0.1, 0.8, 0.1],  # 1 -> 1
        [0.3, 0.3, 0.4],  # 1 -> 2  wrong
        [0.2, 0.5, 0.3],  # 1 -> 1
        [0.1, 0.2, 0.7],  # 2 -> 2
        [0.6, 0.1, 0.3],  # 2 -> 0  wrong (confidence 0.6)
    ]
)


def test_hand_made_example_matches_sklearn_and_hand_counts() -> None:
    r = evaluate_classifier(PROBS, TARGET, labels=["a", "b", "c"])
    pred = PROBS.argmax(axis=1)
    # Confusion matrix by hand (rows = true class) and from sklearn.
    hand_cm = np.array([[2, 1, 0], [0, 2, 1], [1, 0, 1]])
    np.testing.assert_array_equal(r.confusion, hand_cm)
    np.testing.assert_array_equal(r.confusion, skm.confusion_matrix(TARGET, pred))
    assert r.accuracy == 5 / 8 == skm.accuracy_score(TARGET, pred)
    p, rec, f1, sup = skm.precision_recall_fscore_support(TARGET, pred)
    np.testing.assert_array_equal(r.precision, p)
    np.testing.assert_array_equal(r.recall, rec)
    np.testing.assert_array_equal(r.f1, f1)
    np.testing.assert_array_equal(r.support, sup)
    np.testing.assert_allclose(r.precision, [2 / 3, 2 / 3, 1 / 2])
    np.testing.assert_allclose(r.recall, [2 / 3, 2 / 3, 1 / 2])
    # Specificity TN / (TN + FP) by hand from the matrix above:
    # class a: FP = 1 (true c), negatives 5 -> TN 4; class b: FP 1, negatives 5 -> TN 4;
    # class c: FP 1 (true b), negatives 6 -> TN 5.
    np.testing.assert_allclose(r.specificity, [4 / 5, 4 / 5, 5 / 6])
    for name, ours in (("precision", r.precision), ("recall", r.recall), ("f1", r.f1)):
        sk = skm.precision_recall_fscore_support(TARGET, pred, average="macro")
        assert r.macro[name] == pytest.approx(sk[("precision", "recall", "f1").index(name)])
        assert r.macro[name] == pytest.approx(ours.mean())
    assert r.macro["specificity"] == pytest.approx((4 / 5 + 4 / 5 + 5 / 6) / 3)
    # One-vs-rest curves: exactly sklearn's arrays and areas.
    for k in range(3):
        fpr, tpr, thr = skm.roc_curve(k == TARGET, PROBS[:, k])
        np.testing.assert_array_equal(r.roc[k].x, fpr)
        np.testing.assert_array_equal(r.roc[k].y, tpr)
        np.testing.assert_array_equal(r.roc[k].thresholds, thr)
        assert r.roc[k].area == pytest.approx(skm.roc_auc_score(k == TARGET, PROBS[:, k]))
        prec, recall, thr = skm.precision_recall_curve(k == TARGET, PROBS[:, k])
        np.testing.assert_array_equal(r.pr[k].x, recall)
        np.testing.assert_array_equal(r.pr[k].y, prec)
        assert r.pr[k].area == pytest.approx(skm.average_precision_score(k == TARGET, PROBS[:, k]))
    assert r.macro_auc == pytest.approx(skm.roc_auc_score(TARGET, PROBS, multi_class="ovr"))
    assert r.macro["average_precision"] == pytest.approx(
        skm.average_precision_score(np.eye(3)[TARGET], PROBS, average="macro")
    )
    table = r.per_class_table()
    assert [row["label"] for row in table] == ["a", "b", "c", "macro avg"]
    assert table[2]["specificity"] == pytest.approx(5 / 6) and table[3]["support"] == 8
    rows = r.curve_table("roc")
    assert {row["label"] for row in rows} == {"a", "b", "c"}
    assert all(0 <= row["x"] <= 1 and 0 <= row["y"] <= 1 for row in rows)


def test_perfect_classifier_has_auc_and_ap_1() -> None:
    rng = np.random.default_rng(0)
    target = rng.integers(0, 4, size=200)
    probs = np.full((200, 4), 0.1)
    probs[np.arange(200), target] = 0.7
    r = evaluate_classifier(probs, target)
    assert r.accuracy == 1.0
    np.testing.assert_array_equal(r.roc_auc, 1.0)
    np.testing.assert_array_equal(r.average_precision, 1.0)
    np.testing.assert_array_equal(r.specificity, 1.0)
    assert r.macro_auc == 1.0
    assert np.array_equal(r.confusion, np.diag(np.bincount(target, minlength=4)))


def test_random_classifier_has_auc_near_one_half() -> None:
    rng = np.random.default_rng(1)
    target = rng.integers(0, 3, size=6000)
    probs = rng.dirichlet(np.ones(3), size=6000)  # scores independent of the targets
    r = evaluate_classifier(probs, target)
    assert r.macro_auc == pytest.approx(0.5, abs=0.02)
    assert r.accuracy == pytest.approx(1 / 3, abs=0.03)
    for k in range(3):  # average precision of a random scorer ~ the class's prevalence
        assert r.pr[k].area == pytest.approx((target == k).mean(), abs=0.03)


def test_class_absent_from_targets_is_nan_not_a_crash() -> None:
    target = np.array([0, 0, 1, 1, 0])
    probs = np.array(
        [[0.8, 0.1, 0.1], [0.2, 0.1, 0.7], [0.1, 0.8, 0.1], [0.3, 0.6, 0.1], [0.6, 0.3, 0.1]]
    )  # example 1 is predicted as class 2, which never occurs
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no sklearn UndefinedMetricWarning, no numpy warning
        r = evaluate_classifier(probs, target)
    assert r.support.tolist() == [3, 2, 0]
    assert math.isnan(r.recall[2]) and r.precision[2] == 0.0  # predicted once, wrongly
    assert math.isnan(r.roc[2].area) and math.isnan(r.pr[2].area)
    assert len(r.roc[2].x) == 0 and len(r.pr[2].x) == 0
    assert r.specificity[2] == pytest.approx(4 / 5)  # 5 negatives, one false positive
    # Macro averages skip the undefined values (sklearn's zero_division=np.nan rule).
    assert r.macro["recall"] == pytest.approx((2 / 3 + 1) / 2)
    assert r.macro_auc == pytest.approx((r.roc[0].area + r.roc[1].area) / 2)
    assert r.macro["recall"] == pytest.approx(
        skm.recall_score(
            target, probs.argmax(1), labels=[0, 1, 2], average="macro", zero_division=np.nan
        )
    )
    assert not any(row["label"] == "2" for row in r.curve_table("pr"))


def test_a_class_that_is_every_target_has_nan_specificity_and_roc() -> None:
    probs = np.array([[0.9, 0.1], [0.4, 0.6], [0.7, 0.3]])
    r = evaluate_classifier(probs, np.array([0, 0, 0]))
    assert math.isnan(r.specificity[0]) and math.isnan(r.roc[0].area)
    np.testing.assert_allclose(specificity_from_confusion(r.confusion), r.specificity)


def test_misclassified_most_confident_first() -> None:
    np.testing.assert_array_equal(misclassified(PROBS, TARGET), [2, 7, 4])  # 0.6, 0.6, 0.4
    np.testing.assert_array_equal(misclassified(PROBS, TARGET, k=1), [2])
    assert len(misclassified(np.eye(3), np.arange(3))) == 0


@pytest.mark.parametrize(
    ("probs", "target"),
    [
        (np.ones(4), np.zeros(4, int)),  # 1-D probs
        (np.full((3, 2), 0.5), np.zeros(2, int)),  # lengths differ
        (np.full((2, 2), 0.5), np.array([0, 2])),  # class index out of range
        (np.full((2, 2), 0.5), np.array([0.0, 1.0])),  # float targets
    ],
)
def test_bad_inputs_raise_clear_errors(probs: np.ndarray, target: np.ndarray) -> None:
    with pytest.raises(ValueError, match=r"probs|target"):
        evaluate_classifier(probs, target)


def test_thin_curve_keeps_end_points_and_bounds_size() -> None:
    rng = np.random.default_rng(2)
    fpr, tpr, _ = skm.roc_curve(rng.integers(0, 2, 5000), rng.random(5000))
    assert len(fpr) > 1000
    x, y = thin_curve(fpr, tpr, max_points=200)
    assert 100 <= len(x) <= 200
    assert (x[0], y[0]) == (fpr[0], tpr[0]) and (x[-1], y[-1]) == (fpr[-1], tpr[-1])
    assert np.all(np.diff(x) >= 0) and np.all(np.diff(y) >= 0)  # still a ROC curve
    idx = thin_indices(fpr, tpr, 200)
    assert np.all(np.diff(idx) > 0)  # increasing, no repeats
    short = np.array([0.0, 0.5, 1.0])
    x, y = thin_curve(short, short, max_points=200)
    np.testing.assert_array_equal(x, short)  # short curves pass through unchanged
    with pytest.raises(ValueError, match="max_points"):
        thin_curve(short, short, max_points=1)


# --------------------------------------------------------------------------------------------
# The decision threshold of a two-class problem (issue 13.5)


def _binary(n: int = 400, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    target = rng.integers(0, 2, n)
    score = np.clip(0.5 + (target - 0.5) * 0.4 + rng.normal(0, 0.25, n), 0, 1)
    return np.stack([1 - score, score], axis=1), target


def _on_segment(p: tuple, a: tuple, b: tuple) -> bool:
    cross = (b[0] - a[0]) * (p[1] - a[1]) - (b[1] - a[1]) * (p[0] - a[0])
    inside = min(a[0], b[0]) - 1e-9 <= p[0] <= max(a[0], b[0]) + 1e-9
    return abs(cross) < 1e-9 and inside and min(a[1], b[1]) - 1e-9 <= p[1] <= max(a[1], b[1]) + 1e-9


def test_a_threshold_gives_sklearns_counts_and_rates() -> None:
    from engine.metrics import at_threshold

    probs, target = _binary()
    for t in (0.1, 0.35, 0.5, 0.8):
        point = at_threshold(probs, target, t)
        called = probs[:, 1] >= t
        tn, fp, fn, tp = skm.confusion_matrix(target, called.astype(int)).ravel()
        assert (point.tp, point.fp, point.fn, point.tn) == (tp, fp, fn, tn)
        assert point.precision == pytest.approx(skm.precision_score(target, called))
        assert point.recall == pytest.approx(skm.recall_score(target, called))
        assert point.f1 == pytest.approx(skm.f1_score(target, called))
        assert point.fpr == pytest.approx(fp / (fp + tn))


def test_the_threshold_point_lies_on_the_roc_curve_and_moves_along_it() -> None:
    from engine.metrics import at_threshold, evaluate_classifier

    probs, target = _binary(seed=1)
    fpr, tpr, _ = skm.roc_curve(target, probs[:, 1], drop_intermediate=False)
    points = [at_threshold(probs, target, t) for t in np.linspace(0.05, 0.95, 19)]
    for p in points:  # (FPR, TPR) of each threshold is a vertex of sklearn's whole curve
        assert any(
            math.isclose(p.fpr, x) and math.isclose(p.recall, y)
            for x, y in zip(fpr, tpr, strict=True)
        )
    # the page draws the curve without collinear vertices: the point still lies on it
    roc = evaluate_classifier(probs, target).roc[1]
    for p in points:
        assert any(
            _on_segment((p.fpr, p.recall), (x0, y0), (x1, y1))
            for x0, y0, x1, y1 in zip(roc.x, roc.y, roc.x[1:], roc.y[1:], strict=False)
        ), p
    # raising the threshold never finds more positives nor raises more false alarms
    assert all(a.tp >= b.tp and a.fp >= b.fp for a, b in itertools.pairwise(points))
    assert points[0].recall > points[-1].recall and points[0].fpr > points[-1].fpr


def test_half_is_the_arg_max_rule_and_undefined_rates_are_nan() -> None:
    from engine.metrics import at_threshold, evaluate_classifier

    probs, target = _binary(seed=2)
    half = at_threshold(probs, target, 0.5)
    report = evaluate_classifier(probs, target)
    assert half.precision == pytest.approx(report.precision[1])
    assert half.recall == pytest.approx(report.recall[1])
    nobody = at_threshold(np.array([[0.9, 0.1], [0.8, 0.2]]), np.array([0, 1]), 0.99)
    assert nobody.tp == nobody.fp == 0 and math.isnan(nobody.precision)
    with pytest.raises(ValueError, match="threshold"):
        at_threshold(probs, target, 1.5)
