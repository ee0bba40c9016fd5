"""The app's pages in one table: each page's key, script, title, icon, sidebar section and
blurb. shell.py builds the navigation from it, the home page links every entry with its blurb,
each page script takes its key from its entry, and the run store's pages name and open pages
through it, so a page is added or renamed in one place."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PageEntry:
    """One page. `key` prefixes its session-state keys (ui/state.py) and names the runs it
    stores; `section` "" puts it above the sidebar's sections (the home page alone)."""

    key: str
    path: str
    title: str
    icon: str
    section: str
    blurb: str

    @property
    def origin(self) -> str:
        """Where a run stored under this page's key came from, as the Runs page says it."""
        return f"{self.title} lab" if self.section == "Labs" else self.title


HOME = PageEntry("home", "app_pages/home.py", "Home", ":material/home:", "", "")

PLAYGROUND = PageEntry(
    "pg",
    "app_pages/playground.py",
    "Playground",
    ":material/scatter_plot:",
    "Train",
    "TensorFlow-Playground-style: pick a 2-D dataset and a small network, press Play, and "
    "see the decision boundary and every neuron take shape. Upload your own points.",
)

MNIST = PageEntry(
    "mnist",
    "app_pages/mnist.py",
    "MNIST digits",
    ":material/draw:",
    "Train",
    "Train an MLP or a CNN on handwritten digits with live curves and histograms, see "
    "which digits it gets wrong, and test it on a digit you draw or photograph.",
)

LAB_INIT = PageEntry(
    "lab_init",
    "app_pages/lab_init.py",
    "Initialization",
    ":material/tune:",
    "Labs",
    "How the starting weights decide whether signals and gradients survive a deep "
    "network: activation histograms layer by layer, vanishing and exploding gradients.",
)

LAB_OPTIMIZERS = PageEntry(
    "lab_opt",
    "app_pages/lab_optimizers.py",
    "Optimizers",
    ":material/route:",
    "Labs",
    "Race SGD, momentum, AdaGrad, RMSProp and Adam across classic loss surfaces and on "
    "MNIST, and map the loss landscape around your own trained network.",
)

LAB_NORMALIZATION = PageEntry(
    "lab_norm",
    "app_pages/lab_normalization.py",
    "Normalization",
    ":material/balance:",
    "Labs",
    "Where BatchNorm, LayerNorm and GroupNorm rescue training: bad weight scales, "
    "position before or after the activation, train versus eval mode, tiny batches.",
)

LAB_REGULARIZATION = PageEntry(
    "lab_reg",
    "app_pages/lab_regularization.py",
    "Regularization",
    ":material/shield:",
    "Labs",
    "Overfit a small training set, then compare L2, L1, weight decay, dropout and its "
    "variants, and early stopping against the same baseline.",
)

LAB_SEQUENCES = PageEntry(
    "lab_seq",
    "app_pages/lab_sequences.py",
    "Sequences",
    ":material/timeline:",
    "Labs",
    "Vanilla RNN, LSTM and GRU on the adding problem: how far back each remembers, the "
    "gradient through time step by step, the LSTM's gates, truncated BPTT and clipping.",
)

RUNS = PageEntry(
    "runs",
    "app_pages/runs.py",
    "Runs",
    ":material/database:",
    "Experiments",
    "Every finished run, kept across restarts: search, rename, delete, export its config, "
    "metrics, weights and a PyTorch script, or open it back in its trainer page.",
)

COMPARE = PageEntry(
    "compare",
    "app_pages/compare.py",
    "Compare",
    ":material/compare_arrows:",
    "Experiments",
    "Stored runs side by side (curves, final numbers, the settings that differ), and a "
    "sweep of one setting with everything else held fixed.",
)

SEARCH = PageEntry(
    "search",
    "app_pages/search.py",
    "Search",
    ":material/travel_explore:",
    "Experiments",
    "Hyperparameter search with Optuna (random, grid or TPE, with pruning): watch the "
    "accuracy against each setting, the best so far, and open the winner in its page.",
)

EVALUATION = PageEntry(
    "eval",
    "app_pages/evaluation.py",
    "Evaluation",
    ":material/fact_check:",
    "Experiments",
    "A classifier class by class: precision, recall, F1, specificity, the confusion "
    "matrix, ROC and precision-recall curves with AUC, and its confident mistakes.",
)

COMPONENTS = PageEntry(
    "components",
    "app_pages/components.py",
    "Components",
    ":material/menu_book:",
    "Learn",
    "Every initializer, activation, normalization, dropout variant, optimizer, schedule, "
    "loss and dataset the playground offers, with a one-line explanation and its source.",
)

# In the sidebar's order; the home page first (the default page, at the app's root URL).
PAGES = (
    HOME,
    PLAYGROUND,
    MNIST,
    LAB_INIT,
    LAB_OPTIMIZERS,
    LAB_NORMALIZATION,
    LAB_REGULARIZATION,
    LAB_SEQUENCES,
    RUNS,
    COMPARE,
    SEARCH,
    EVALUATION,
    COMPONENTS,
)
SECTIONS = tuple(dict.fromkeys(p.section for p in PAGES if p.section))  # the sidebar's headings
# The pages that train one run of a config, where a stored run or a searched config opens.
TRAINERS = (PLAYGROUND, MNIST)
_BY_KEY = {p.key: p for p in PAGES}


def page(key: str) -> PageEntry:
    """The page whose key is `key` (KeyError for none)."""
    return _BY_KEY[key]
