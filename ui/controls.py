"""The sidebar control set shared by the trainer pages: widgets -> one validated Config.

Controls are built from the engine's field table and registries: select boxes list the choices
that apply to the current architecture and data (`engine.config.allowed_choices`: the rule by
which the config refuses the others), registry entries each with its one-line help, and a field
that only some entries read (momentum, betas, init std, GroupNorm groups, a schedule's decay
steps, ...) is shown only while a selected entry reads it (`Entry.params`).

State: the page's values live in one flat dict {"train.lr": 0.03, ...} in session state (the
"canonical" values); widgets are views of it. The canonical dict survives a widget being hidden
(Streamlit forgets hidden widgets' values) and is what the URL mirrors (ui/urlstate.py).
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from engine.budget import MAX_HIDDEN_LAYERS
from engine.config import Config, ConfigError, allowed_choices, field_info, registries
from engine.device import available_devices
from ui import i18n
from ui.state import forget, skey
from ui.text import plain
from ui.widgets import FEATURE_LABELS, SPECS, WidgetSpec, format_number, ladder_options


@dataclass(frozen=True)
class Group:
    """A titled block of fields in the sidebar, shown in this order."""

    title: str
    fields: tuple[str, ...]
    expanded: bool = True


@dataclass(frozen=True)
class PageControls:
    """What one trainer page offers: its key prefix, starting config, groups and datasets."""

    page: str
    base: Config
    groups: tuple[Group, ...]
    datasets: tuple[str, ...]


# ---------------------------------------------------------------------------------------------
# Which fields apply


def _owners(name: str) -> list[str]:
    """Registry fields (e.g. 'train.optimizer') with an entry that reads field `name`."""
    return [path for path, reg in registries().items() if any(name in e.params for e in reg)]


def is_visible(path: str, values: Mapping[str, Any]) -> bool:
    """Whether field `path` matters for the current values (hidden fields keep their value)."""
    section, _, name = path.partition(".")
    arch = values["model.arch"]
    special = {
        "model.norm_position": values["model.norm"] not in ("none", "weight_norm"),
        "model.kernel_size": arch == "cnn",
        "model.pool": arch == "cnn",
        "model.head": arch == "cnn",
        "model.residual": arch == "mlp",
    }
    if path in special:
        return special[path]
    owners = [o for o in _owners(name) if o.startswith(section + ".")]
    if not owners:
        return True
    regs = registries()
    return any(name in regs[o].get(values[o]).params for o in owners)


def points_key(page: str) -> str:
    """Session key of the user's uploaded points on `page` (set by ui/uploads.py)."""
    return skey(page, "points")


def options_for(
    path: str, values: Mapping[str, Any], datasets: Sequence[str], page: str = ""
) -> list[Any]:
    """The choices a select box offers for `path` given the other current values.

    The `uploaded` dataset is offered only once the user has uploaded points on the page.
    """
    if path == "data.dataset":
        has_points = st.session_state.get(points_key(page)) is not None
        return [d for d in datasets if d != "uploaded" or has_points]
    if path == "device":
        return ["auto", *available_devices()]
    # The engine's rule: what the config would refuse here with a reason is not offered.
    return allowed_choices(path, arch=values["model.arch"], dataset=values["data.dataset"])


CHOICE_LABELS = {
    "model.arch": {
        "mlp": "MLP (fully connected)",
        "cnn": "CNN (convolutional)",
        "rnn": "RNN (vanilla recurrent)",
        "lstm": "LSTM (long short-term memory)",
        "gru": "GRU (gated recurrent unit)",
    },
    "model.recurrent_init": {
        "same": "as the other weights (model.init)",
        "identity": "identity matrix",
        "orthogonal": "random orthogonal matrix",
    },
    "model.pool": {"max": "Max pooling", "avg": "Average pooling", "none": "No pooling"},
    "model.head": {"dense": "Flatten + dense", "gap": "Global average pooling"},
    "model.norm_position": {"before": "before the activation", "after": "after the activation"},
    "data.normalize": {
        "standard": "Standardize (mean 0, std 1)",
        "minmax": "Min-max to [0, 1]",
        "none": "None (raw values)",
    },
    "device": {"cpu": "CPU", "cuda": "GPU (CUDA)", "mps": "Apple GPU (MPS)"},
}


def label_of(path: str, value: Any) -> str:
    """Display text of a choice: the registry label, a table label, or the value itself."""
    if path == "device" and value == "auto":
        return i18n.t("Automatic ({device})").format(
            device=label_of("device", available_devices()[0])
        )
    if value in CHOICE_LABELS.get(path, {}):
        return i18n.choice_label(path, value, CHOICE_LABELS[path][value])
    regs = registries()
    if path in regs and value in regs[path]:
        return i18n.entry_label(path, value, regs[path].get(value).label)
    return str(value)


# ---------------------------------------------------------------------------------------------
# Canonical values and notices


def values_key(page: str) -> str:
    return skey(page, "values")


def widget_key(page: str, path: str, part: int | None = None) -> str:
    return skey(page, f"w.{path}" + ("" if part is None else f".{part}"))


def get_values(page: str) -> dict[str, Any]:
    return st.session_state[values_key(page)]


def set_values(page: str, changes: Mapping[str, Any]) -> None:
    """Change canonical values and make their widgets show them on the next render.

    Call before the widgets are drawn in a run (e.g. from a button's on_click callback):
    Streamlit refuses changes to a widget's state after the widget has been drawn.
    """
    values = get_values(page)
    for path, value in changes.items():
        values[path] = tuple(value) if isinstance(value, list) else value
        forget(page, f"w.{path}")  # its widgets (every part of it: widget_key)


def add_notice(page: str, text: str) -> None:
    notices: list[str] = st.session_state.setdefault(skey(page, "notices"), [])
    if text not in notices:
        notices.append(text)


def pop_notices(page: str) -> list[str]:
    """The page's notices, taken (each shows once), in the session's language."""
    return [i18n.message(text) for text in st.session_state.pop(skey(page, "notices"), [])]


# ---------------------------------------------------------------------------------------------
# Widgets


def _seed_widget(key: str, value: Any, valid: Callable[[Any], bool] | None = None) -> None:
    """Put `value` in a widget's state before it is drawn, unless the user's own (valid) value
    is already there."""
    if key not in st.session_state or (valid is not None and not valid(st.session_state[key])):
        st.session_state[key] = value


def _entry_help(path: str, value: Any) -> str:
    """A registry entry's one-line help, in the session's language."""
    return i18n.entry_help(path, value, registries()[path].get(value).help)


def _help(path: str, value: Any, field_help: str) -> str:
    regs = registries()
    if path in regs and value in regs[path]:
        return f"{field_help} {label_of(path, value)}: {_entry_help(path, value)}"
    return field_help


def _bounds(path: str, spec: WidgetSpec) -> tuple[float | None, float | None]:
    """The widget's (lo, hi) as floats (Streamlit wants one numeric type per widget)."""
    info = field_info(path)
    lo = spec.lo if spec.lo is not None else info["lo"]
    hi = spec.hi if spec.hi is not None else info["hi"]
    return (None if lo is None else float(lo)), (None if hi is None else float(hi))


def _render_field(pc: PageControls, path: str, values: dict[str, Any]) -> None:
    """Draw the control of one field and store its value in `values`."""
    spec = SPECS.get(path) or _derived_spec(path)
    # The label and help in the session's language (ui/i18n.py); keys and values stay as they are.
    spec = dataclasses.replace(
        spec,
        label=i18n.field_label(path, spec.label),
        labels=i18n.pair_labels(path, spec.labels),
    )
    key = widget_key(pc.page, path)
    value = values[path]
    info = field_info(path)
    info = {**info, "help": i18n.field_help(path, info["help"])}
    if spec.kind == "select":
        options = options_for(path, values, pc.datasets, pc.page)
        if value not in options:
            fallback = info["default"] if info["default"] in options else options[0]
            if path != "data.dataset":
                add_notice(
                    pc.page,
                    i18n.t("{choice} does not apply here; {field} is now {fallback}.").format(
                        choice=label_of(path, value),
                        field=spec.label.lower(),
                        fallback=label_of(path, fallback),
                    ),
                )
            value = fallback
        _seed_widget(key, value, lambda v: v in options)
        value = st.selectbox(
            spec.label,
            options,
            # looked up now, in this run's language (a lambda would ask whenever it is called)
            format_func={v: label_of(path, v) for v in options}.__getitem__,
            key=key,
            help=_help(path, st.session_state[key], info["help"]),
        )
        if path in registries() and path != "data.dataset":
            st.caption(_entry_help(path, value))
    elif spec.kind == "multiselect":
        options = list(info["choices"])
        _seed_widget(key, list(value), lambda v: all(x in options for x in v))
        chosen = st.multiselect(
            spec.label,
            options,
            format_func=lambda v: FEATURE_LABELS.get(v, str(v)),  # str: digits are ints
            key=key,
            help=info["help"],
        )
        value = tuple(chosen) if chosen else value  # at least one feature: keep the last set
        if not chosen:
            st.caption(":orange[" + i18n.t("Choose at least one; the previous choice stays.") + "]")
    elif spec.kind == "ladder":
        is_int = info["type"] is int
        options = ladder_options(spec.ladder, value)
        options = [int(o) for o in options] if is_int else options
        _seed_widget(key, value, lambda v: v in options)
        value = st.select_slider(
            spec.label, options, format_func=format_number, key=key, help=info["help"]
        )
    elif spec.kind == "slider":
        lo, hi = _bounds(path, spec)
        lo, hi = float(lo or 0.0), float(hi if hi is not None else 1.0)
        _seed_widget(key, min(max(float(value), lo), hi))
        value = st.slider(spec.label, lo, hi, step=spec.step, key=key, help=info["help"])
    elif spec.kind in ("int", "number"):
        lo, hi = _bounds(path, spec)
        if spec.kind == "int":
            lo_i, hi_i = int(lo) if lo is not None else None, int(hi) if hi is not None else None
            _seed_widget(key, int(value))
            value = int(
                st.number_input(
                    spec.label, min_value=lo_i, max_value=hi_i, step=1, key=key, help=info["help"]
                )
            )
        else:
            _seed_widget(key, float(value))
            value = float(
                st.number_input(
                    spec.label, min_value=lo, max_value=hi, format="%g", key=key, help=info["help"]
                )
            )
    elif spec.kind == "toggle":
        _seed_widget(key, bool(value))
        value = st.toggle(spec.label, key=key, help=info["help"])
    elif spec.kind == "widths":
        if values["model.arch"] == "cnn":  # the same field counts channels for a CNN
            spec = WidgetSpec("widths", i18n.t("Channels per conv block"))
        cnn = values["model.arch"] == "cnn"
        value = _widths_input(pc.page, path, spec, value, info["help"], cnn)
    elif spec.kind == "pair":
        value = _pair_input(pc.page, path, spec, value, info["help"])
    values[path] = value


def _derived_spec(path: str) -> WidgetSpec:
    """A widget for a field ui/widgets.SPECS does not list, from its type, bounds and choices:
    a select box, a multiselect (a list of choices), a toggle or a number box. Other types (a
    list of numbers: widths, a pair, ...) have no one obvious widget and need an entry there."""
    info = field_info(path)
    label = path.split(".")[-1].replace("_", " ").capitalize()
    if info["choices"]:
        listed = typing.get_origin(info["type"]) is tuple
        return WidgetSpec("multiselect" if listed else "select", label)
    kinds = {bool: "toggle", int: "int", float: "number"}
    if info["type"] not in kinds:
        raise LookupError(f"{path}: no widget follows from its type; add one to ui/widgets.SPECS")
    return WidgetSpec(kinds[info["type"]], label)


def parse_widths(text: str) -> tuple[int, ...]:
    """'8, 8, 4' -> (8, 8, 4); ValueError with a message a student can act on."""
    parts = [p for p in text.replace(";", ",").replace(" ", ",").split(",") if p]
    if not parts:
        raise ValueError("give at least one layer width, e.g. 8, 8")
    try:
        widths = tuple(int(p) for p in parts)
    except ValueError:
        raise ValueError(
            f"use whole numbers separated by commas, e.g. 8, 8 (got {text!r})"
        ) from None
    if any(w < 1 or w > 4096 for w in widths):
        raise ValueError("each width must be between 1 and 4096")
    if len(widths) > MAX_HIDDEN_LAYERS:
        raise ValueError(f"at most {MAX_HIDDEN_LAYERS} hidden layers")
    return widths


def _widths_input(
    page: str, path: str, spec: WidgetSpec, value: tuple[int, ...], help: str, cnn: bool
) -> tuple[int, ...]:
    key = widget_key(page, path)
    _seed_widget(key, ", ".join(str(w) for w in value))
    text = st.text_input(
        spec.label, key=key, help=f"{help} {i18n.t('Comma-separated, e.g. 8, 8, 4.')}"
    )
    try:
        widths = parse_widths(text)
    except ValueError as e:
        kept = ", ".join(map(str, value))
        st.error(
            plain(
                i18n.t("Neurons per hidden layer: {error}. Keeping {kept}.").format(
                    error=e, kept=kept
                )
            )
        )
        return value
    nouns = (
        ("{n} conv block", "{n} conv blocks") if cnn else ("{n} hidden layer", "{n} hidden layers")
    )
    st.caption(i18n.t(nouns[len(widths) > 1]).format(n=len(widths)))
    return widths


def _pair_input(
    page: str, path: str, spec: WidgetSpec, value: tuple[float, ...], help: str
) -> tuple[float, ...]:
    cols = st.columns(2)
    out = []
    lo, hi = _bounds(path, spec)
    for i, (col, label) in enumerate(zip(cols, spec.labels, strict=True)):
        key = widget_key(page, path, i)
        _seed_widget(key, float(value[i]))
        with col:
            out.append(
                float(
                    st.number_input(
                        label, min_value=lo, max_value=hi, format="%g", key=key, help=help
                    )
                )
            )
    return tuple(out)


# ---------------------------------------------------------------------------------------------
# The whole sidebar


def render_controls(pc: PageControls) -> tuple[Config | None, str | None]:
    """Draw the page's control groups in the sidebar; return (config, None) or (None, error).

    A refused combination (BatchNorm with batch size 1, ...) returns the config error's
    message, which says why, and leaves the canonical values as the user set them.
    """
    values = get_values(pc.page)
    with st.sidebar:
        for group in pc.groups:
            with st.expander(i18n.t(group.title), expanded=group.expanded):
                for path in group.fields:
                    if is_visible(path, values):
                        _render_field(pc, path, values)
    try:
        return Config.from_flat(values), None
    except ConfigError as e:
        return None, str(e)
