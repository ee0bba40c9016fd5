"""Classification metrics for the Evaluation page, computed with scikit-learn.

`evaluate_classifier(probs, target)` returns a `ClassifierReport`: accuracy, per-class and
macro precision, recall, F1 and specificity, the confusion matrix, and one-vs-rest ROC and
precision-recall curves with their areas. Every number comes from `sklearn.metrics`
(precision_recall_fscore_support, confusion_matrix, roc_curve, auc, precision_recall_curve,
average_precision_score) except specificity, which sklearn lacks and which is read off the
confusion matrix: for class k, specificity = TN / (TN + FP), where FP is the column sum minus
the diagonal and TN = N - TP - FP - FN (the examples that are neither class k nor predicted k).

Undefined values are NaN, never a crash or a silent 0:
- a class absent from the targets has recall NaN (0 / 0), and NaN ROC AUC and average
  precision (no positives, so no curve: its curve arrays are empty); its precision is NaN too
  unless the network predicted it (then 0: every such prediction is wrong), and its F1 follows
  sklearn (2TP / (2TP + FP + FN), NaN only when that is 0 / 0);
- specificity is NaN when there are no negatives (every target is class k);
- macro averages are the mean over the classes where the value is defined (NaN ignored), which
  is sklearn's rule with `zero_division=np.nan`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn import metrics as skm

if TYPE_CHECKING:
    from engine.data import Split
    from engine.models import Network

Array = np.ndarray[Any, Any]
MAX_CURVE_POINTS = 200  # points per curve sent to a chart


@dataclass(frozen=True)
class Curve:
    """One class's one-vs-rest curve: x/y (ROC: fpr/tpr; PR: recall/precision), the score
    thresholds where it bends, and its area (ROC AUC or average precision; NaN if undefined)."""

    x: Array
    y: Array
    thresholds: Array
    area: float

    def thinned(self, max_points: int = MAX_CURVE_POINTS) -> tuple[Array, Array]:
        """(x, y) with at most `max_points` points, end points kept (see `thin_curve`)."""
        return thin_curve(self.x, self.y, max_points)


@dataclass(frozen=True)
class ClassifierReport:
    """Everything the Evaluation page shows for one split. Arrays are per class (C,), in label
    order; `confusion[i, j]` counts examples of true class i predicted as class j."""

    labels: tuple[str, ...]
    n: int
    accuracy: float
    precision: Array
    recall: Array
    f1: Array
    specificity: Array
    support: Array
    confusion: Array
    roc: tuple[Curve, ...]
    pr: tuple[Curve, ...]
    macro: dict[str, float] = field(default_factory=dict)

    @property
    def roc_auc(self) -> Array:
        """Per-class one-vs-rest ROC AUC (NaN for a class absent from the targets)."""
        return np.array([c.area for c in self.roc])

    @property
    def average_precision(self) -> Array:
        """Per-class average precision (area under the PR curve, sklearn's step-wise sum)."""
        return np.array([c.area for c in self.pr])

    @property
    def macro_auc(self) -> float:
        """Mean one-vs-rest ROC AUC over the classes present in the targets."""
        return self.macro["roc_auc"]

    def per_class_table(self) -> list[dict[str, Any]]:
        """One row per class (label, precision, recall, f1, specificity, support, roc_auc,
        average_precision) plus a last `macro avg` row; NaN where undefined."""
        rows = [
            {
                "label": label,
                "precision": float(self.precision[k]),
                "recall": float(self.recall[k]),
                "f1": float(self.f1[k]),
                "specificity": float(self.specificity[k]),
                "support": int(self.support[k]),
                "roc_auc": self.roc[k].area,
                "average_precision": self.pr[k].area,
            }
            for k, label in enumerate(self.labels)
        ]
        rows.append({"label": "macro avg", **self.macro, "support": int(self.support.sum())})
        return rows

    def curve_table(self, kind: str, max_points: int = MAX_CURVE_POINTS) -> list[dict[str, Any]]:
        """Tidy rows {label, x, y} of every class's thinned curve, for one chart; `kind` is
        "roc" (x = false positive rate, y = true positive rate) or "pr" (x = recall, y =
        precision). Classes without a curve (absent from the targets) have no rows."""
        if kind not in ("roc", "pr"):
            raise ValueError(f"kind must be 'roc' or 'pr', got {kind!r}")
        curves = self.roc if kind == "roc" else self.pr
        rows = []
        for label, c in zip(self.labels, curves, strict=True):
            x, y = c.thinned(max_points)
            rows += [
                {"label": label, "x": float(a), "y": float(b)} for a, b in zip(x, y, strict=True)
            ]
        return rows


def evaluate_classifier(
    probs: Array, target: Array, labels: list[str] | tuple[str, ...] | None = None
) -> ClassifierReport:
    """Metrics of class probabilities `probs` (N, C) against integer targets (N,) in 0..C-1.

    The prediction is the arg-max class; the curves use each class's probability as its score.
    `labels` names the classes (default "0".."C-1"). See the module docstring for the
    definitions and for what is NaN.
    """
    probs, target, labels = _check_inputs(probs, target, labels)
    n, c = probs.shape
    classes = list(range(c))
    pred = probs.argmax(axis=1)
    precision, recall, f1, support = skm.precision_recall_fscore_support(
        target, pred, labels=classes, zero_division=np.nan
    )
    cm = skm.confusion_matrix(target, pred, labels=classes)  # (C, C), rows = true class
    specificity = specificity_from_confusion(cm)
    roc, pr = [], []
    for k in classes:
        positives = target == k  # (N,) one-vs-rest labels
        roc.append(_roc(positives, probs[:, k]))
        pr.append(_pr(positives, probs[:, k]))
    macro = {
        "precision": _nanmean(precision),
        "recall": _nanmean(recall),
        "f1": _nanmean(f1),
        "specificity": _nanmean(specificity),
        "roc_auc": _nanmean(np.array([r.area for r in roc])),
        "average_precision": _nanmean(np.array([p.area for p in pr])),
    }
    return ClassifierReport(
        labels=labels,
        n=n,
        accuracy=float(skm.accuracy_score(target, pred)),
        precision=precision.astype(float),
        recall=recall.astype(float),
        f1=f1.astype(float),
        specificity=specificity,
        support=support.astype(np.int64),
        confusion=cm,
        roc=tuple(roc),
        pr=tuple(pr),
        macro=macro,
    )


@dataclass(frozen=True)
class ThresholdPoint:
    """A binary classifier's counts and rates when it says "positive" for a score of at
    least `threshold` (the arg-max rule of a two-class network is the threshold 0.5)."""

    threshold: float
    tp: int
    fp: int
    fn: int
    tn: int
    precision: float  # TP / (TP + FP); NaN when nothing is called positive
    recall: float  # TP / (TP + FN), the true-positive rate; NaN without positives
    f1: float
    fpr: float  # FP / (FP + TN), the false-positive rate; NaN without negatives


def at_threshold(
    probs: Array, target: Array, threshold: float, positive: int = 1
) -> ThresholdPoint:
    """Counts, precision, recall, F1 and false-positive rate of class `positive` against the
    rest when an example is called positive at score >= `threshold` (the point the Evaluation
    page's slider moves along the ROC and precision-recall curves)."""
    probs, target, _ = _check_inputs(probs, target, None)
    if not 0 <= positive < probs.shape[1]:
        raise ValueError(f"positive must be a class in 0..{probs.shape[1] - 1}, got {positive}")
    if not (isinstance(threshold, (int, float)) and 0.0 <= threshold <= 1.0):
        raise ValueError(f"threshold must be a number in [0, 1], got {threshold!r}")
    actual = target == positive
    called = probs[:, positive] >= threshold
    tn, fp, fn, tp = (
        int(v) for v in skm.confusion_matrix(actual, called, labels=[False, True]).ravel()
    )
    precision, recall, f1, _ = skm.precision_recall_fscore_support(
        actual, called, labels=[True], zero_division=np.nan
    )
    fpr = fp / (fp + tn) if fp + tn else math.nan
    return ThresholdPoint(
        float(threshold), tp, fp, fn, tn, float(precision[0]), float(recall[0]), float(f1[0]), fpr
    )


def evaluate_model(
    model: Network, split: Split, labels: list[str] | tuple[str, ...] | None = None
) -> ClassifierReport:
    """`evaluate_classifier` on a classification network's predictions over `split`."""
    from engine.inspection import predict

    p = predict(model, split)
    return evaluate_classifier(p.probs, p.target, labels)


def specificity_from_confusion(cm: Array) -> Array:
    """Per-class TN / (TN + FP) of a confusion matrix (rows = true class); NaN where a class
    has no negatives."""
    cm = np.asarray(cm, dtype=np.int64)
    tp = np.diag(cm)
    fp = cm.sum(axis=0) - tp  # predicted k, truly another class
    fn = cm.sum(axis=1) - tp  # truly k, predicted another class
    tn = cm.sum() - tp - fp - fn
    denom = tn + fp  # every example whose true class is not k
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, tn / np.maximum(denom, 1), np.nan)


def misclassified(probs: Array, target: Array, k: int | None = None) -> Array:
    """Indices of the wrongly classified examples, the most confident mistakes first (by the
    probability given to the predicted class; ties keep index order); at most `k` of them."""
    probs = np.asarray(probs)
    target = np.asarray(target)
    if probs.ndim != 2 or target.shape != (probs.shape[0],):
        raise ValueError(
            f"probs must be (N, C) and target (N,), got {probs.shape} and {target.shape}"
        )
    pred = probs.argmax(axis=1)
    wrong = np.flatnonzero(pred != target)
    confidence = probs[wrong, pred[wrong]]
    order = np.argsort(-confidence, kind="stable")
    out = wrong[order]
    return out if k is None else out[:k]


def thin_indices(x: Array, y: Array, max_points: int = MAX_CURVE_POINTS) -> Array:
    """Indices of at most `max_points` points spread evenly along the curve's length (in the
    units of x and y), always including the first and the last point."""
    if max_points < 2:
        raise ValueError(f"max_points must be at least 2, got {max_points}")
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    n = len(x)
    if n <= max_points:
        return np.arange(n)
    # Even spacing in arc length, not in index: a ROC curve's thresholds crowd where the
    # curve is flat, and index spacing would spend the points there and cut its corners.
    step = np.hypot(np.diff(x), np.diff(y))  # (n-1,)
    s = np.concatenate([[0.0], np.cumsum(np.nan_to_num(step))])  # (n,)
    if s[-1] <= 0:
        return np.array([0, n - 1])
    targets = np.linspace(0.0, s[-1], max_points)
    idx = np.searchsorted(s, targets, side="left").clip(0, n - 1)
    idx[0], idx[-1] = 0, n - 1
    return np.unique(idx)


def thin_curve(x: Array, y: Array, max_points: int = MAX_CURVE_POINTS) -> tuple[Array, Array]:
    """A curve downsampled to at most `max_points` points for plotting; end points kept."""
    x, y = np.asarray(x), np.asarray(y)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-D of one length, got {x.shape} and {y.shape}")
    idx = thin_indices(x, y, max_points)
    return x[idx], y[idx]


# --------------------------------------------------------------------------------------------


def _check_inputs(
    probs: Array, target: Array, labels: list[str] | tuple[str, ...] | None
) -> tuple[Array, Array, tuple[str, ...]]:
    probs = np.asarray(probs, dtype=float)
    target = np.asarray(target)
    if probs.ndim != 2 or probs.shape[1] < 2:
        raise ValueError(f"probs must be (N, C) with C >= 2 classes, got shape {probs.shape}")
    n, c = probs.shape
    if target.shape != (n,):
        raise ValueError(f"target must be ({n},) to match probs, got shape {target.shape}")
    if n == 0:
        raise ValueError("no examples to evaluate")
    if not np.issubdtype(target.dtype, np.integer):
        raise ValueError(f"target must hold integer class indices, got {target.dtype}")
    if target.min() < 0 or target.max() >= c:
        raise ValueError(f"target values must be class indices 0..{c - 1}")
    names = tuple(str(k) for k in range(c)) if labels is None else tuple(map(str, labels))
    if len(names) != c:
        raise ValueError(f"give {c} labels (one per column of probs), got {len(names)}")
    return probs, target.astype(np.int64), names


def _roc(positives: Array, score: Array) -> Curve:
    """One-vs-rest ROC curve of one class; empty with NaN area when a side has no examples
    (sklearn would warn and return NaN rates)."""
    if positives.all() or not positives.any():
        return _empty_curve()
    fpr, tpr, thresholds = skm.roc_curve(positives, score)
    return Curve(fpr, tpr, thresholds, float(skm.auc(fpr, tpr)))


def _pr(positives: Array, score: Array) -> Curve:
    """Precision-recall curve of one class, x = recall and y = precision, with the average
    precision; empty with NaN area when the class has no positives."""
    if not positives.any():
        return _empty_curve()
    precision, recall, thresholds = skm.precision_recall_curve(positives, score)
    ap = float(skm.average_precision_score(positives, score))
    return Curve(recall, precision, thresholds, ap)


def _empty_curve() -> Curve:
    empty = np.zeros(0)
    return Curve(empty, empty, empty, math.nan)


def _nanmean(values: Array) -> float:
    values = np.asarray(values, dtype=float)
    return float(np.nanmean(values)) if np.isfinite(values).any() else math.nan
