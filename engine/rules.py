"""Which choices apply to which network and data: one rule for the config and the sidebar.

The config refuses a choice that does not apply with the sentence `why_not` gives, and the
sidebar (`engine.config.allowed_choices`) hides the same choices, so the two cannot disagree.
The rule reads only the architecture and the dataset: what else a choice needs (BatchNorm's
batch of two, droppath's residual connections) the config checks, with the other values.
"""

from __future__ import annotations

from typing import Any

from engine.registry import RECURRENT, by_field, registry_for


def why_not(path: str, name: str, *, arch: str, dataset: str) -> str | None:
    """Why choice `name` of field `path` does not apply to an `arch` network trained on
    `dataset` (a sentence for a ConfigError at `path`), or None when it applies.

    Registry entries say where they apply (`applies_to`, `needs_images`, `tasks`); `model.arch`
    itself is refused where a CNN has no images; any other choice applies everywhere.
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
    if arch in RECURRENT:
        reason = _recurrent_refusal(path, name, arch)
        if reason is not None:
            return reason
    elif arch not in entry.applies_to:
        return (
            f"{entry.label} works with {' / '.join(entry.applies_to)} models, not {arch}: "
            f"{entry.help}"
        )
    if entry.extra.get("needs_images") and not data["images"]:
        return f"{entry.label} needs image data ({_image_sets()})"
    tasks = entry.extra.get("tasks")
    if tasks is not None and data["task"] not in tasks:
        fitting = [e.name for e in registry if data["task"] in e.extra.get("tasks", ())]
        return (
            f"{name} does not fit the {data['task']} dataset {dataset}; use "
            f"{' or '.join(fitting)} for {data['task']}"
        )
    return None


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


ARCHS = ("mlp", "cnn", *RECURRENT)  # model.arch's choices
# What a recurrent cell can be built with (engine/recurrent.py): the vanilla RNN's h_t is
# tanh or ReLU of its input; the LSTM and GRU have their own tanh and sigmoid gates.
RECURRENT_ACTIVATIONS = {"rnn": ("tanh", "relu"), "lstm": ("tanh",), "gru": ("tanh",)}


def _recurrent_refusal(path: str, name: str, arch: str) -> str | None:
    """Why choice `name` of `path` does not fit a recurrent network (no norm or dropout layers
    in the cell here; its own activations), or None: the other registries (initializers,
    optimizers, schedules, losses) work with any network."""
    if path == "model.activation" and name not in RECURRENT_ACTIVATIONS[arch]:
        allowed = " or ".join(RECURRENT_ACTIVATIONS[arch])
        return f"a{'n' if arch[0] in 'lr' else ''} {arch} cell uses {allowed}, not {name}"
    if path in ("model.norm", "model.dropout") and name != "none":
        return f"the {arch} cells here have no {path.split('.')[1]} layers: choose none"
    return None


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
