"""The run config: one frozen dataclass tree that fully describes a run.

Each field's `metadata` (made by `_f`) is the declarative table, like TensorFlow Playground's
`state.ts`: its help text, bounds and choices drive validation, the dict/JSON round trip, the
CLI's `--set key.path=value`, and URL query parameters. Adding a knob is one edit here.
Choices that come from a registry are looked up by field path (`engine.registry.registry_for`):
each component module files its registry itself, and this module imports none of them, so they
may import it (for types) without a cycle. Which choice applies to which network and data is
one rule (`engine.rules`) that the check here and the sidebar's `allowed_choices` both use.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from engine import budget
from engine.budget import MAX_HIDDEN_LAYERS, MAX_SEQ_LEN
from engine.registry import ARCHS, ConfigError, Registry, by_field, registry_for
from engine.rules import AUGMENT_FIELDS, augment_refusal, why_not
from engine.textfiles import decode_json, one_line, shown, too_long

# --------------------------------------------------------------------------------------------
# The field table helper


def _f(
    default: Any,
    help: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    lo_open: bool = False,
    choices: tuple[str, ...] | tuple[int, ...] | None = None,
    registry: bool = False,
    live: bool = False,
) -> Any:
    """A dataclass field carrying its help text, bounds (lo <= x <= hi) and choices.

    `registry=True` means the allowed values are the names of the registry filed under this
    field's path (see `registries`). `lo_open` makes the lower bound strict (lo < x).
    `live=True` means a running trainer can take on a new value without rebuilding its network,
    optimizer state or data ("turn the knob while it trains", as in TensorFlow Playground);
    changing any other field resets the run (see `LIVE_FIELDS`).
    """
    meta = {
        "help": help,
        "lo": lo,
        "hi": hi,
        "lo_open": lo_open,
        "choices": choices,
        "registry": registry,
        "live": live,
    }
    if isinstance(default, (list, tuple)):
        frozen = tuple(default)
        return field(default_factory=lambda: frozen, metadata=meta)
    return field(default=default, metadata=meta)


def registries() -> dict[str, Registry[Any]]:
    """Field path (e.g. "train.optimizer") -> the registry whose names are its choices, in the
    order their modules were imported (the Components page's order)."""
    wanted = _registry_paths()
    return {path: reg for path, reg in by_field().items() if path in wanted}


DIGITS = tuple(range(10))  # MNIST's classes, for data.classes and train.pretrain_classes
FEATURES = ("x1", "x2", "x1^2", "x2^2", "x1x2", "sin_x1", "sin_x2")


# --------------------------------------------------------------------------------------------
# Sections


class _Section:
    """Validation shared by every section: types, bounds and choices from field metadata."""

    _path = ""  # "data", "model" or "train"

    def __post_init__(self) -> None:
        hints = _hints(type(self))
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            path = f"{self._path}.{f.name}"
            value = _coerce(path, hints[f.name], getattr(self, f.name))
            object.__setattr__(self, f.name, value)
            _check_meta(path, f.metadata, value)
        self._check()

    def _check(self) -> None:
        """Cross-field checks within the section (overridden where needed)."""


@dataclass(frozen=True)
class DataConfig(_Section):
    """What data the network sees."""

    _path = "data"
    dataset: str = _f("circle", "Which dataset to train on.", registry=True)
    n_samples: int = _f(
        500,
        "Points generated for a toy 2-D dataset, or sequences for a sequence task.",
        lo=10,
        hi=100_000,
    )
    noise: float = _f(
        0.1, "Toy data noise, as a fraction of the data scale (0 = clean).", lo=0.0, hi=1.0
    )
    train_fraction: float = _f(
        0.5,
        "Toy data: fraction of points used for training; the rest is the validation set.",
        lo=0.05,
        hi=0.95,
    )
    features: tuple[str, ...] = _f(
        ("x1", "x2"), "Toy data: input features computed from (x1, x2).", choices=FEATURES
    )
    input_dim: int = _f(
        100, "normal_noise: dimension of the standard-normal inputs.", lo=1, hi=10_000
    )
    seq_len: int = _f(
        50,
        "Sequence tasks (the adding problem): steps in each sequence, so how far back the "
        "network must remember.",
        lo=2,
        hi=MAX_SEQ_LEN,
    )
    train_subset: int = _f(
        0, "Use only the first N training images (0 = all of them).", lo=0, hi=60_000
    )
    val_fraction: float = _f(
        0.1,
        "MNIST: fraction of the training images held out for validation "
        "(the official test set stays the test set).",
        lo=0.0,
        hi=0.5,
    )
    normalize: str = _f(
        "standard",
        "Input scaling, fitted on the training split: standard (zero mean, unit variance), "
        "minmax (to [0, 1]) or none.",
        choices=("standard", "minmax", "none"),
    )
    classes: tuple[int, ...] = _f(
        DIGITS,
        "MNIST: which digits to train, validate and test on, e.g. 5,6,7,8,9 (default: all ten). "
        "The labels stay the digits, so the network keeps its ten outputs and a network "
        "pre-trained on other digits fits it.",
        lo=0,
        hi=9,
        choices=DIGITS,
    )

    def _check(self) -> None:
        if len(set(self.classes)) != len(self.classes):
            raise ConfigError("data.classes", f"digits repeat: {list(self.classes)}")
        if not self.features:
            raise ConfigError("data.features", "choose at least one input feature")
        if len(set(self.features)) != len(self.features):
            raise ConfigError("data.features", f"features repeat: {list(self.features)}")


@dataclass(frozen=True)
class ModelConfig(_Section):
    """The network: architecture and the components of each hidden block."""

    _path = "model"
    arch: str = _f(
        "mlp",
        "mlp (fully connected), cnn (conv blocks), or a recurrent network for sequences: rnn "
        "(vanilla), lstm or gru.",
        choices=ARCHS,
    )
    hidden: tuple[int, ...] = _f(
        (8, 8),
        "Widths of the hidden layers (MLP), channels per conv block (CNN) or units of each "
        "stacked recurrent layer (RNN, LSTM, GRU).",
        lo=1,
        hi=4096,
    )
    activation: str = _f("tanh", "Non-linearity after each hidden layer.", registry=True)
    init: str = _f("xavier_uniform", "How weights are drawn at the start.", registry=True)
    init_std: float = _f(
        0.01, "Standard deviation of the 'normal' initializer.", lo=0.0, hi=100.0, lo_open=True
    )
    norm: str = _f("none", "Normalization layer in each hidden block.", registry=True)
    norm_position: str = _f(
        "before",
        "Normalize before the activation (as in the BatchNorm paper) or after it.",
        choices=("before", "after"),
    )
    norm_groups: int = _f(2, "GroupNorm: number of channel groups.", lo=1, hi=1024)
    dropout: str = _f("none", "Dropout variant used for regularization.", registry=True)
    dropout_rate: float = _f(
        0.5, "Probability of dropping a unit / weight / block / path.", lo=0.0, hi=0.95
    )
    block_size: int = _f(3, "DropBlock: side of the dropped square blocks.", lo=1, hi=28)
    cutout_size: int = _f(8, "Cutout: side of the square cut out of each image.", lo=1, hi=28)
    maxout_pieces: int = _f(2, "Maxout: linear pieces per unit.", lo=2, hi=8)
    bias: bool = _f(True, "Give each layer a bias term.")
    residual: bool = _f(False, "MLP: add identity skip connections around hidden blocks.")
    kernel_size: int = _f(3, "CNN: convolution kernel size (odd).", lo=1, hi=7)
    pool: str = _f(
        "max",
        "CNN: pooling after each conv block (halves H and W).",
        choices=("max", "avg", "none"),
    )
    head: str = _f(
        "dense",
        "CNN: dense (flatten + linear) or gap (1x1 conv to classes + global average pooling).",
        choices=("dense", "gap"),
    )
    recurrent_init: str = _f(
        "same",
        "RNN, LSTM, GRU: the recurrent weights W_hh start as model.init draws them (same), as "
        "the identity matrix (identity; with ReLU, the IRNN of Le et al. 2015) or as a random "
        "orthogonal matrix (orthogonal), one per gate.",
        choices=("same", "identity", "orthogonal"),
    )
    forget_bias: float = _f(
        1.0,
        "LSTM: starting bias of the forget gate; 1 keeps the cell's memory open at the start "
        "(Gers et al. 2000, Jozefowicz et al. 2015).",
        lo=-10,
        hi=10,
    )

    def _check(self) -> None:
        if not self.hidden:
            raise ConfigError("model.hidden", "give at least one hidden layer width")
        if len(self.hidden) > MAX_HIDDEN_LAYERS:
            raise ConfigError(
                "model.hidden",
                f"at most {MAX_HIDDEN_LAYERS} hidden layers, got {len(self.hidden)}",
            )
        if self.kernel_size % 2 == 0:
            raise ConfigError("model.kernel_size", f"must be odd, got {self.kernel_size}")


@dataclass(frozen=True)
class TrainConfig(_Section):
    """How the network is optimized and regularized."""

    _path = "train"
    optimizer: str = _f("adam", "Update rule.", registry=True)
    lr: float = _f(0.01, "Learning rate.", lo=0.0, hi=100.0, lo_open=True, live=True)
    momentum: float = _f(
        0.9, "Momentum coefficient (SGD with momentum, Nesterov).", lo=0, hi=0.999, live=True
    )
    betas: tuple[float, ...] = _f(
        (0.9, 0.999),
        "Adam family: decay rates of the first and second moments.",
        lo=0,
        hi=0.9999,
        live=True,
    )
    eps: float = _f(
        1e-8,
        "Small constant added to denominators (adaptive methods).",
        lo=0,
        hi=1,
        lo_open=True,
        live=True,
    )
    rho: float = _f(
        0.9,
        "RMSProp / AdaDelta: decay of the squared-gradient average.",
        lo=0,
        hi=0.9999,
        live=True,
    )
    weight_decay: float = _f(
        0.0,
        "Optimizer weight decay (decoupled for AdamW, coupled otherwise).",
        lo=0,
        hi=1,
        live=True,
    )
    l1: float = _f(
        0.0, "L1 penalty l1 * sum|W| added to the loss (weights only).", lo=0, hi=1, live=True
    )
    l2: float = _f(
        0.0,
        "L2 penalty 0.5 * l2 * sum(W^2) added to the loss (weights only).",
        lo=0,
        hi=1,
        live=True,
    )
    batch_size: int = _f(32, "Examples per gradient step.", lo=1, hi=65_536)
    epochs: int = _f(
        20, "Passes over the training data (used when steps is 0).", lo=1, hi=10_000, live=True
    )
    steps: int = _f(
        0, "Total optimizer steps; overrides epochs when > 0.", lo=0, hi=10_000_000, live=True
    )
    schedule: str = _f("constant", "How the learning rate changes over steps.", registry=True)
    decay_steps: int = _f(
        1000,
        "Schedule: steps per decay period (piecewise, exponential) "
        "or steps to decay over (polynomial, cosine).",
        lo=1,
        hi=10_000_000,
        live=True,
    )
    decay_rate: float = _f(
        0.5, "Schedule: decay factor or rate.", lo=0, hi=10, lo_open=True, live=True
    )
    power: float = _f(1.0, "Polynomial schedule: exponent.", lo=0, hi=10, lo_open=True, live=True)
    lr_end: float = _f(
        0.0, "Schedule: final learning rate (polynomial, cosine).", lo=0, hi=100, live=True
    )
    warmup_steps: int = _f(
        100, "Warmup schedule: steps of linear warmup.", lo=1, hi=1_000_000, live=True
    )
    grad_clip: float = _f(
        0.0, "Clip the global gradient norm to this (0 = off).", lo=0, hi=1e6, live=True
    )
    bptt: int = _f(
        0,
        "RNN, LSTM, GRU: truncated backpropagation through time: gradients flow back at most "
        "this many steps from the answer (0 = through the whole sequence).",
        lo=0,
        hi=MAX_SEQ_LEN,
        live=True,
    )
    max_norm: float = _f(
        0.0,
        "Max-norm constraint on each unit's incoming weights (0 = off).",
        lo=0,
        hi=1e6,
        live=True,
    )
    early_stopping_patience: int = _f(
        0,
        "Stop after this many evaluations without a better validation loss (0 = off).",
        lo=0,
        hi=100_000,
        live=True,
    )
    loss: str = _f("cross_entropy", "Training loss.", registry=True)
    eval_every: int = _f(
        0, "Evaluate every N steps (0 = once per epoch).", lo=0, hi=10_000_000, live=True
    )
    # Data augmentation (engine/data/augment.py): training batches only, images only. Live: a
    # batch is redrawn every step, so nothing needs rebuilding when a knob turns.
    augment_shift: float = _f(
        0.0,
        "Augmentation: move each training image by up to this many pixels along each axis "
        "(0 = off).",
        lo=0,
        hi=8,
        live=True,
    )
    augment_rotation: float = _f(
        0.0,
        "Augmentation: turn each training image by up to this many degrees either way (0 = off).",
        lo=0,
        hi=45,
        live=True,
    )
    augment_scale: float = _f(
        0.0,
        "Augmentation: zoom each training image by a factor between 1 - this and 1 + this "
        "(0 = off).",
        lo=0,
        hi=0.5,
        live=True,
    )
    augment_elastic: float = _f(
        0.0,
        "Augmentation: elastic distortion, the typical local displacement in pixels of a smooth "
        "random warp (Simard et al. 2003; 0 = off).",
        lo=0,
        hi=4,
        live=True,
    )
    # Transfer learning (the Trainer's pre-training phase, then freezing and a slower body).
    pretrain_epochs: int = _f(
        0,
        "Transfer learning: first train the same network for this many epochs on the digits "
        "train.pretrain_classes (from the whole training pool, not limited by "
        "data.train_subset; same optimizer settings, constant learning rate), then start the "
        "main training from those weights with a fresh optimizer (0 = no pre-training).",
        lo=0,
        hi=100,
    )
    pretrain_classes: tuple[int, ...] = _f(
        (0, 1, 2, 3, 4),
        "Transfer learning: the MNIST digits to pre-train on, e.g. 0,1,2,3,4 (used only when "
        "train.pretrain_epochs > 0).",
        lo=0,
        hi=9,
        choices=DIGITS,
    )
    pretrain_new_head: bool = _f(
        True,
        "Transfer learning: after pre-training, give the network a new output layer (freshly "
        "drawn random weights), as when a pre-trained body is reused for new classes; "
        "off = keep the pre-trained output layer, which has learned never to answer the other "
        "digits.",
    )
    freeze: int = _f(
        0,
        "Transfer learning: keep the weights of this many leading hidden layers fixed during "
        "the main training (all of them = only the output layer learns; 0 = none). Without "
        "pre-training the frozen layers keep their random starting weights. BatchNorm's running "
        "averages in frozen layers still follow the new data.",
        lo=0,
        hi=MAX_HIDDEN_LAYERS,
    )
    body_lr_scale: float = _f(
        1.0,
        "Transfer learning: the hidden layers (the body) learn at lr x this during the main "
        "training, the output layer at lr (e.g. 0.1 for lr/10 on a pre-trained body).",
        lo=0.0,
        hi=1.0,
        lo_open=True,
    )

    def _check(self) -> None:
        if len(set(self.pretrain_classes)) != len(self.pretrain_classes):
            raise ConfigError(
                "train.pretrain_classes", f"digits repeat: {list(self.pretrain_classes)}"
            )
        if self.pretrain_epochs and not self.pretrain_classes:
            raise ConfigError(
                "train.pretrain_classes",
                "choose the digits to pre-train on (e.g. 0,1,2,3,4), or set "
                "train.pretrain_epochs to 0",
            )
        if len(self.betas) != 2:
            raise ConfigError("train.betas", f"give two values (beta1, beta2), got {self.betas}")
        if self.optimizer == "nesterov" and self.momentum == 0:
            raise ConfigError("train.momentum", "Nesterov momentum needs train.momentum > 0")


@dataclass(frozen=True)
class Config:
    """A whole run: data, model, training, seed and device."""

    seed: int = _f(0, "Seed for data, initialization and dropout.", lo=0, hi=2**31 - 1)
    device: str = _f(
        "auto",
        "Where to train: auto picks cuda, then mps, then cpu.",
        choices=("auto", "cpu", "cuda", "mps"),
    )
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        hints = _hints(Config)
        for name in ("seed", "device"):
            value = _coerce(name, hints[name], getattr(self, name))
            object.__setattr__(self, name, value)
            _check_meta(name, _fields(Config)[name].metadata, value)
        for name, cls in SECTIONS.items():
            if not isinstance(getattr(self, name), cls):
                raise ConfigError(name, f"must be a {cls.__name__}")
        _check_combinations(self)

    # Conversions ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-able dict (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Config:
        """Strict: unknown keys and bad values raise ConfigError naming the field."""
        if not isinstance(d, Mapping):
            raise ConfigError("config", f"must be a JSON object, got {type(d).__name__}")
        _reject_unknown("", d, _fields(Config))
        kwargs: dict[str, Any] = {k: v for k, v in d.items() if k not in SECTIONS}
        for name, sec_cls in SECTIONS.items():
            sub = d.get(name, {})
            if not isinstance(sub, Mapping):
                raise ConfigError(name, f"must be a JSON object, got {type(sub).__name__}")
            _reject_unknown(f"{name}.", sub, _fields(sec_cls))
            kwargs[name] = sec_cls(**sub)
        return cls(**kwargs)

    @classmethod
    def from_json(cls, text: str | bytes) -> Config:
        """Strict, like `from_dict`, from JSON text or UTF-8 bytes (a BOM is allowed); bad
        encoding, nesting or numbers are a one-line ConfigError too (see engine.textfiles)."""
        return cls.from_dict(decode_json(text, "config"))

    def get(self, path: str) -> Any:
        """Value at a dotted path such as 'train.lr'."""
        obj: Any = self
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    def replace(self, **changes: Any) -> Config:
        """A copy with dotted-path changes, e.g. `cfg.replace(**{"train.lr": 0.1})`."""
        d = self.to_dict()
        for path, value in changes.items():
            _field_at(path)  # raises on unknown path
            node = d
            *parents, last = path.split(".")
            for p in parents:
                node = node[p]
            node[last] = list(value) if isinstance(value, tuple) else value
        return Config.from_dict(d)

    def with_overrides(self, assignments: Iterable[str]) -> Config:
        """Apply CLI-style 'key.path=value' strings (values parsed by the field's type)."""
        changes: dict[str, Any] = {}
        for a in assignments:
            path, sep, text = a.partition("=")
            if not sep:
                raise ConfigError(path or a, "write overrides as key.path=value")
            changes[path.strip()] = parse_value(path.strip(), text.strip())
        return self.replace(**changes)

    def to_flat(self) -> dict[str, Any]:
        """{'section.field': JSON-typed value} for every leaf field (tuples stay tuples)."""
        return {path: self.get(path) for path in field_paths()}

    @classmethod
    def from_flat(cls, flat: Mapping[str, Any]) -> Config:
        """Inverse of `to_flat` (strict, like `from_dict`); missing fields take defaults."""
        return cls().replace(**flat)

    def to_query(self, base: Config | None = None) -> dict[str, str]:
        """Flat 'section.field' -> string, only the fields that differ from `base` (default:
        the defaults). A page whose own starting config differs from the defaults passes it as
        `base`, so that its links stay short."""
        base = base or Config()
        return {
            path: format_value(self.get(path))
            for path in field_paths()
            if self.get(path) != base.get(path)
        }

    @classmethod
    def from_query(
        cls, params: Mapping[str, str], base: Config | None = None
    ) -> tuple[Config, list[str]]:
        """Lenient: each bad or unknown parameter falls back to `base`'s value with a notice.

        Values are applied together first, since some are only valid in combination (a CNN
        needs image data); only if the whole set is refused are they applied one by one.
        """
        base = base or cls()
        parsed: dict[str, Any] = {}
        notices: list[str] = []
        for key, text in params.items():
            try:
                parsed[key] = parse_value(key, text)
            except ConfigError as e:
                notices.append(f"ignored {_quoted(key, text)}: {_one_line(e)}")
        try:
            return base.replace(**parsed), notices
        except ConfigError:
            pass
        cfg = base
        for key, value in parsed.items():
            try:
                cfg = cfg.replace(**{key: value})
            except ConfigError as e:
                notices.append(f"ignored {_quoted(key, params[key])}: {_one_line(e)}")
        return cfg, notices


def _quoted(key: str, text: str) -> str:
    """key='value' as a notice shows it: a visitor's key and value quoted and shortened (a
    newline or a control character shows as an escape); a known field's name as it is."""
    return f"{key if key.replace('.', '').replace('_', '').isalnum() else shown(key)}={shown(text)}"


def _one_line(e: ConfigError) -> str:
    """The error as one printable line, shortened: its message may quote the visitor's value."""
    return one_line(str(e), 400)


SECTIONS: dict[str, type[_Section]] = {
    "data": DataConfig,
    "model": ModelConfig,
    "train": TrainConfig,
}


# --------------------------------------------------------------------------------------------
# Field helpers


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """A class's resolved annotations (kept: get_type_hints evaluates every annotation)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _fields(cls: type) -> dict[str, dataclasses.Field[Any]]:
    return {f.name: f for f in dataclasses.fields(cls)}


def field_paths() -> list[str]:
    """Every leaf field as a dotted path, in declaration order ('seed', ..., 'train.eval_every')."""
    paths = []
    for name in _fields(Config):
        if name in SECTIONS:
            paths += [f"{name}.{f}" for f in _fields(SECTIONS[name])]
        else:
            paths.append(name)
    return paths


@cache
def _registry_paths() -> frozenset[str]:
    """The fields whose choices are a registry's names."""
    return frozenset(p for p in field_paths() if _field_at(p)[0].metadata.get("registry"))


@cache
def _choice_paths() -> tuple[str, ...]:
    """The fields that take one of a list of choices (a registry's names or a fixed tuple)."""
    return tuple(
        p
        for p in field_paths()
        if _field_at(p)[1] is str
        and (_field_at(p)[0].metadata.get("choices") or p in _registry_paths())
    )


def _field_at(path: str) -> tuple[dataclasses.Field[Any], Any]:
    """The dataclass field and its type at a dotted path, or ConfigError."""
    section, _, name = path.partition(".")
    if not name:
        if section in SECTIONS or section not in _fields(Config):
            raise ConfigError(path, f"unknown key; valid keys: {', '.join(field_paths())}")
        return _fields(Config)[section], _hints(Config)[section]
    cls = SECTIONS.get(section)
    if cls is None or name not in _fields(cls):
        raise ConfigError(path, f"unknown key; valid keys: {', '.join(field_paths())}")
    return _fields(cls)[name], _hints(cls)[name]


def field_info(path: str) -> dict[str, Any]:
    """Help text, type, default, bounds and choices of a field (what a UI control needs)."""
    f, tp = _field_at(path)
    meta = dict(f.metadata)
    if meta.get("registry"):
        meta["choices"] = tuple(registry_for(path).names())
    default = f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[operator]
    return {**meta, "type": tp, "default": default, "path": path}


def allowed_choices(path: str, *, arch: str, dataset: str) -> list[Any]:
    """The choices of field `path` that apply to an `arch` network trained on `dataset`: those
    the config's check accepts there (engine.rules), which is what a sidebar offers."""
    choices = field_info(path)["choices"]
    if choices is None:
        raise ConfigError(path, "this field has no list of choices")
    return [c for c in choices if why_not(path, c, arch=arch, dataset=dataset) is None]


# Fields a running trainer can take on (`live=True` in the table); changing any other resets it.
LIVE_FIELDS: frozenset[str] = frozenset(
    p for p in field_paths() if _field_at(p)[0].metadata.get("live")
)


def _reject_unknown(prefix: str, d: Mapping[str, Any], known: Mapping[str, Any]) -> None:
    for key in d:
        if key not in known:
            raise ConfigError(f"{prefix}{key}", f"unknown key; valid keys here: {', '.join(known)}")


def _describe(tp: Any) -> str:
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    return f"a list of {_describe(typing.get_args(tp)[0])}s"


def _coerce(path: str, tp: Any, value: Any) -> Any:
    """Check `value` against type `tp` (JSON-typed input), returning the canonical form."""
    origin = typing.get_origin(tp)
    if origin in (tuple, list):
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            raise ConfigError(path, f"must be {_describe(tp)}, got {value!r}")
        (item_tp, *_) = typing.get_args(tp)
        return tuple(_coerce(f"{path}[{i}]", item_tp, v) for i, v in enumerate(value))
    if tp is bool:
        if not isinstance(value, bool):
            raise ConfigError(path, f"must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            if isinstance(value, float) and value.is_integer():
                return int(value)
            raise ConfigError(path, f"must be an integer, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(path, f"must be a number, got {value!r}")
        if isinstance(value, int) and abs(value) > 1e308:  # float(value) would overflow
            raise ConfigError(path, f"must be a finite number, got {shown(value)}")
        if not math.isfinite(value):
            raise ConfigError(path, f"must be a finite number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ConfigError(path, f"must be a string, got {value!r}")
        return value
    if isinstance(tp, types.UnionType):  # pragma: no cover - no unions in the table today
        raise TypeError(f"unsupported field type {tp}")
    return value


def _check_meta(path: str, meta: Mapping[str, Any], value: Any) -> None:
    """Bounds and choices from the field table (applied to each item of a tuple)."""
    items = value if isinstance(value, tuple) else (value,)
    lo, hi = meta.get("lo"), meta.get("hi")
    choices: Collection[Any] | None = meta.get("choices")
    if meta.get("registry"):
        registry_for(path).get(value)  # raises ConfigError listing valid names
        return
    for v in items:
        if isinstance(v, (bool, str)):
            if choices is not None and v not in choices:
                raise ConfigError(path, f"'{v}' is not allowed; choose from: {', '.join(choices)}")
            continue
        if lo is not None and (v <= lo if meta.get("lo_open") else v < lo):
            rel = ">" if meta.get("lo_open") else ">="
            raise ConfigError(path, f"must be {rel} {lo}, got {v}")
        if hi is not None and v > hi:
            raise ConfigError(path, f"must be <= {hi}, got {v}")


def check_value(path: str, value: Any) -> Any:
    """One field's value checked as the config checks it (type, bounds, choices, registry
    names), returned in canonical form; ConfigError at `path` says what is wrong."""
    f, tp = _field_at(path)
    try:
        value = _coerce(path, tp, value)
        _check_meta(path, f.metadata, value)
    except ConfigError:
        raise
    except (TypeError, ValueError, OverflowError):  # e.g. NaN or a huge number to an int
        raise ConfigError(path, f"not a valid value for {path}") from None
    return value


def parse_value(path: str, text: str) -> Any:
    """Parse a string (CLI --set, URL query) into the JSON-typed value of field `path`."""
    _, tp = _field_at(path)
    return _parse(path, tp, text)


def _parse(path: str, tp: Any, text: str) -> Any:
    if typing.get_origin(tp) in (tuple, list):
        (item_tp, *_) = typing.get_args(tp)
        inner = text.strip().strip("[]()")
        parts = [p.strip().strip("'\"") for p in inner.split(",") if p.strip()]
        return [_parse(path, item_tp, p) for p in parts]
    if tp is bool:
        low = text.lower()
        if low in ("true", "1", "yes", "on"):
            return True
        if low in ("false", "0", "no", "off"):
            return False
        raise ConfigError(path, f"must be true or false, got {text!r}")
    if tp is int:
        message = too_long(text)  # 5,000 digits: int() would raise Python's limit error
        if message:
            raise ConfigError(path, message)
        try:
            return int(text)
        except ValueError:
            raise ConfigError(path, f"must be an integer, got {shown(text)}") from None
    if tp is float:
        try:
            return float(text)
        except ValueError:
            raise ConfigError(path, f"must be a number, got {shown(text)}") from None
    return text


def format_value(value: Any) -> str:
    """Inverse of `parse_value` (for URLs): tuples as comma lists, bools as true/false."""
    if isinstance(value, tuple):
        return ",".join(format_value(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value) if isinstance(value, float) else str(value)


# --------------------------------------------------------------------------------------------
# Combinations that make no sense are refused with a reason


def _check_combinations(cfg: Config) -> None:
    m, t = cfg.model, cfg.train
    for path in _choice_paths():  # the rule the sidebar hides choices by, so the two agree
        reason = why_not(path, cfg.get(path), arch=m.arch, dataset=cfg.data.dataset)
        if reason is not None:
            raise ConfigError(path, reason)
    if m.arch == "cnn" and m.pool != "none" and 28 >> len(m.hidden) < 1:
        raise ConfigError(
            "model.hidden",
            f"{len(m.hidden)} pooled conv blocks shrink a 28x28 image below 1 pixel; use at most 4 "
            "blocks or model.pool none",
        )
    if m.residual and m.arch != "mlp":
        raise ConfigError("model.residual", "residual connections are offered for the MLP only")
    for path, registry in registries().items():
        entry = registry.get(cfg.get(path))
        if entry.needs_batch_gt_1 and t.batch_size < 2:
            raise ConfigError(
                path,
                f"{entry.label} computes statistics over the batch, so it needs "
                "train.batch_size >= 2 (or choose layer or group norm)",
            )
    if m.norm == "group":
        bad = [w for w in m.hidden if w % m.norm_groups]
        if bad:
            raise ConfigError(
                "model.norm_groups",
                f"{m.norm_groups} groups must divide every hidden width; {bad} are not divisible",
            )
    if m.norm == "weight_norm" and m.init == "zeros":
        raise ConfigError(
            "model.init",
            "weight norm divides each weight vector by its length, which is 0 for zeros init; "
            "choose another initializer",
        )
    if m.dropout == "droppath" and not m.residual:
        raise ConfigError(
            "model.dropout", "droppath drops residual branches: set model.residual to true"
        )
    _check_transfer(cfg)
    for path in AUGMENT_FIELDS:
        reason = augment_refusal(cfg.get(path), dataset=cfg.data.dataset)
        if reason is not None:
            raise ConfigError(path, reason)
    budget.check(cfg)  # last: the arithmetic assumes a coherent config


def _check_transfer(cfg: Config) -> None:
    """Digit filters need MNIST; freezing needs that many hidden layers."""
    images = registry_for("data.dataset").get(cfg.data.dataset).extra["images"]
    t = cfg.train
    if not images and bool(cfg.data.classes) and not set(DIGITS) <= set(cfg.data.classes):
        raise ConfigError(
            "data.classes", "picks MNIST digits: choose an MNIST dataset or keep all ten"
        )
    if t.pretrain_epochs and not images:
        raise ConfigError(
            "train.pretrain_epochs",
            "pre-training uses other MNIST digits: choose an MNIST dataset or set it to 0",
        )
    if t.freeze > len(cfg.model.hidden):
        raise ConfigError(
            "train.freeze",
            f"the network has {len(cfg.model.hidden)} hidden layers, so at most "
            f"{len(cfg.model.hidden)} can be frozen, got {t.freeze}",
        )


def default_config() -> Config:
    """The default run (a small tanh MLP on the circle dataset)."""
    return Config()
