"""The app's pages in one table: shell.py builds the navigation from it and the home page links
every entry with its blurb, so a new page is added in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageEntry:
    """One page: its script, title, icon, sidebar section and a one-line blurb."""

    path: str
    title: str
    icon: str
    section: str
    blurb: str


PAGES = (
    PageEntry(
        "app_pages/playground.py",
        "Playground",
        ":material/scatter_plot:",
        "Train",
        "TensorFlow-Playground-style: pick a 2-D dataset and a small network, press Play, and "
        "see the decision boundary and every neuron take shape. Upload your own points.",
    ),
    PageEntry(
        "app_pages/mnist.py",
        "MNIST digits",
        ":material/draw:",
        "Train",
        "Train an MLP or a CNN on handwritten digits with live curves and histograms, see "
        "which digits it gets wrong, and test it on a digit you draw or photograph.",
    ),
    PageEntry(
        "app_pages/lab_init.py",
        "Initialization",
        ":material/tune:",
        "Labs",
        "How the starting weights decide whether signals and gradients survive a deep "
        "network: activation histograms layer by layer, vanishing and exploding gradients.",
    ),
    PageEntry(
        "app_pages/lab_optimizers.py",
        "Optimizers",
        ":material/route:",
        "Labs",
        "Race SGD, momentum, AdaGrad, RMSProp and Adam across classic loss surfaces and on "
        "MNIST, and map the loss landscape around your own trained network.",
    ),
    PageEntry(
        "app_pages/lab_normalization.py",
        "Normalization",
        ":material/balance:",
        "Labs",
        "Where BatchNorm, LayerNorm and GroupNorm rescue training: bad weight scales, "
        "position before or after the activation, train versus eval mode, tiny batches.",
    ),
    PageEntry(
        "app_pages/lab_regularization.py",
        "Regularization",
        ":material/shield:",
        "Labs",
        "Overfit a small training set, then compare L2, L1, weight decay, dropout and its "
        "variants, and early stopping against the same baseline.",
    ),
    PageEntry(
        "app_pages/runs.py",
        "Runs",
        ":material/database:",
        "Experiments",
        "Every finished run, kept across restarts: search, rename, delete, export its config, "
        "metrics, weights and a PyTorch script, or open it back in its trainer page.",
    ),
    PageEntry(
        "app_pages/compare.py",
        "Compare",
        ":material/compare_arrows:",
        "Experiments",
        "Stored runs side by side (curves, final numbers, the settings that differ), and a "
        "sweep of one setting with everything else held fixed.",
    ),
    PageEntry(
        "app_pages/search.py",
        "Search",
        ":material/travel_explore:",
        "Experiments",
        "Hyperparameter search with Optuna (random, grid or TPE, with pruning): watch the "
        "accuracy against each setting, the best so far, and open the winner in its page.",
    ),
    PageEntry(
        "app_pages/evaluation.py",
        "Evaluation",
        ":material/fact_check:",
        "Experiments",
        "A classifier class by class: precision, recall, F1, specificity, the confusion "
        "matrix, ROC and precision-recall curves with AUC, and its confident mistakes.",
    ),
    PageEntry(
        "app_pages/components.py",
        "Components",
        ":material/menu_book:",
        "Learn",
        "Every initializer, activation, normalization, dropout variant, optimizer, schedule, "
        "loss and dataset the playground offers, with a one-line explanation and its source.",
    ),
)
SECTIONS = ("Train", "Labs", "Experiments", "Learn")
