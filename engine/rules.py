"""Which choices apply to which network and data: one rule for the config and the sidebar.

The config refuses a choice that does not apply with the sentence `why_not` gives, and the
sidebar (`engine.config.allowed_choices`) hides the same choices, so the two cannot disagree.
The rule reads only the architecture and the dataset: what else a choice needs (BatchNorm's
batch of two, droppath's residual connections) the config checks, with the other values.
"""

from __future__ import annotations

from typing import Any

from engine.registry import ARCHS, RECURRENT, by_field, registry_for


def why_not(path: str, name: str, *, arch: str, dataset: str) -> str | None:
    """Why choice `name` of field `path` does not apply to an `arch` network trained on
    `dataset` (a sentence for a ConfigError at `path`), or None when it applies.

    Registry entries say where they apply (`applies_to`, `needs_images`, `tasks`): a recurrent
    cell here has no norm or dropout layers and its own activations, and those entries name
    the feed-forward networks. `model.arch` itself is refused where a CNN has no images or a
    recurrent network no sequences; any other choice applies everywhere.
    """
    data = registry_for("data.dataset").get(dataset).extra
    if path == "model.arch":
        if name == "cnn" and not data["images"]:
            return f"cnn needs image data ({_image_sets()}); {dataset} is not"
        if name in RECURRENT and not data.get("sequence"):
            return f"{name} reads sequences ({_sequence_sets()}); {dataset} is not one"
        if data.get("sequence") and name not in (*RECURRENT, "mlp"):
            return f"{dataset} is a set of sequences: use rnn, lstm or gru (or mlp)"
        return None
    try:
        registry = registry_for(path)
    except LookupError:  # a fixed list of choices (data.normalize, model.pool, ...)
        return None
    entry = registry.get(name)
    if arch not in entry.applies_to:
        choose = _one_of([e.name for e in registry if _fits(e, arch, data)])
        return (
            f"{entry.label} works with {' / '.join(entry.applies_to)} models, not {arch} "
            f"(choose {choose}): {entry.help}"
        )
    if entry.extra.get("needs_images") and not data["images"]:
        return f"{entry.label} needs image data ({_image_sets()})"
    tasks = entry.extra.get("tasks")
    if tasks is not None and data["task"] not in tasks:
        losses = [e.name for e in registry if data["task"] in e.extra.get("tasks", ())]
        return (
            f"{name} does not fit the {data['task']} dataset {dataset}; use "
            f"{' or '.join(losses)} for {data['task']}"
        )
    return None


def _fits(entry: Any, arch: str, data: Any) -> bool:
    """Whether `entry` applies to an `arch` network on a dataset with these `data` facts."""
    tasks = entry.extra.get("tasks")
    return (
        arch in entry.applies_to
        and (data["images"] or not entry.extra.get("needs_images"))
        and (tasks is None or data["task"] in tasks)
    )


def _one_of(names: list[str]) -> str:
    """'a', 'a or b', 'a, b or c'."""
    return " or ".join(names) if len(names) < 3 else f"{', '.join(names[:-1])} or {names[-1]}"


def switch_for(path: str) -> str | None:
    """The field whose choice switches knob `path` on or off: the registry field of the same
    section some of whose entries (not all) list the knob among their settings, e.g.
    model.dropout for model.dropout_rate, train.optimizer for train.momentum. None for a knob
    every choice uses (train.lr) or that no registry lists."""
    section, _, name = path.partition(".")
    for field, registry in by_field().items():
        if field.partition(".")[0] != section:
            continue
        users = [e for e in registry if name in e.params]
        if users and len(users) < len(registry):
            return field
    return None


def uses(switch: str, choice: Any, path: str) -> bool:
    """Whether choice `choice` of field `switch` reads knob `path` (an unknown choice: no)."""
    registry = registry_for(switch)
    if choice not in registry.names():
        return False
    return path.partition(".")[2] in registry.get(choice).params


# The knobs of data augmentation (engine/data/augment.py): each one moves an image's pixels.
AUGMENT_FIELDS = (
    "train.augment_shift",
    "train.augment_rotation",
    "train.augment_scale",
    "train.augment_elastic",
)


def augment_refusal(value: float, *, dataset: str) -> str | None:
    """Why an augmentation knob set to `value` cannot be used on `dataset` (a sentence for a
    ConfigError at the knob), or None: 0 is always fine, any other value needs images."""
    if not value or registry_for("data.dataset").get(dataset).extra.get("images"):
        return None
    return (
        f"augmentation moves the pixels of images ({_image_sets()}); {dataset} is not a set of "
        "images: set it to 0"
    )


def works_with(path: str, name: str) -> list[str]:
    """The architectures choice `name` of field `path` can be used with: those for which some
    dataset admits both the architecture and the choice (what the Components page lists)."""
    datasets = registry_for("data.dataset").names()
    if path == "data.dataset":
        datasets = [name]
    return [
        arch
        for arch in ARCHS
        if any(
            why_not("model.arch", arch, arch=arch, dataset=d) is None
            and why_not(path, name, arch=arch, dataset=d) is None
            for d in datasets
        )
    ]


def _sequence_sets() -> str:
    """The datasets of sequences, for messages."""
    return ", ".join(e.name for e in registry_for("data.dataset") if e.extra.get("sequence"))


def _image_sets() -> str:
    """The datasets of images, for messages: 'mnist, mnist_full'."""
    return ", ".join(e.name for e in registry_for("data.dataset") if e.extra.get("images"))
