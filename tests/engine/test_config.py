"""The config is a public contract: round trips, validation messages, refused combinations."""

from __future__ import annotations

import dataclasses
import json

import pytest

from engine.config import (
    Config,
    allowed_choices,
    field_info,
    field_paths,
    format_value,
    parse_value,
    registries,
)
from engine.registry import ARCHS, ConfigError, registry_for
from engine.rules import why_not

# A config where many fields differ from the defaults, of every field type.
CHANGED = {
    "seed": 7,
    "device": "cpu",
    "data.dataset": "spiral",
    "data.noise": 0.25,
    "data.features": ["x1", "x2", "sin_x1", "x1x2"],
    "model.hidden": [16, 16, 4],
    "model.activation": "relu",
    "model.init": "normal",
    "model.init_std": 0.5,
    "model.bias": False,
    "model.norm": "layer",
    "train.optimizer": "nesterov",
    "train.betas": [0.8, 0.99],
    "train.lr": 0.125,
    "train.schedule": "cosine",
    "train.l2": 0.001,
}


def changed() -> Config:
    return Config().replace(**CHANGED)


def test_defaults_validate_and_round_trip_json() -> None:
    cfg = Config()
    assert Config.from_json(cfg.to_json()) == cfg
    assert Config.from_dict(json.loads(json.dumps(cfg.to_dict()))) == cfg


def test_changed_config_round_trips_through_dict_json_and_query() -> None:
    cfg = changed()
    for path, value in CHANGED.items():
        got = cfg.get(path)
        assert (list(got) if isinstance(got, tuple) else got) == value, path
    assert Config.from_json(cfg.to_json()) == cfg
    query = cfg.to_query()
    assert set(query) == set(CHANGED)  # only non-defaults go into a URL
    back, notices = Config.from_query(query)
    assert notices == []
    assert back == cfg


@pytest.mark.parametrize("path", field_paths())
def test_every_field_has_help_and_its_default_survives_text_form(path: str) -> None:
    info = field_info(path)
    assert info["help"], f"{path} needs a help text for the UI"
    text = format_value(Config().get(path))
    value = parse_value(path, text)
    assert Config().replace(**{path: value}) == Config()


def test_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Config().train.lr = 1.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"data": {"noise": "lots"}}, "data.noise", "must be a number"),
        ({"data": {"noise": 3}}, "data.noise", "<= 1.0"),
        ({"train": {"lr": 0}}, "train.lr", "> 0.0"),
        ({"train": {"batch_size": 2.5}}, "train.batch_size", "integer"),
        ({"model": {"hidden": [8, -1]}}, "model.hidden", ">= 1"),
        ({"model": {"hidden": "8,8"}}, "model.hidden", "list"),
        ({"model": {"bias": "yes"}}, "model.bias", "true or false"),
        ({"model": {"activation": "relux"}}, "model.activation", "relu, leaky_relu"),
        ({"train": {"optimizer": "adamx"}}, "train.optimizer", "adam"),
        ({"data": {"features": ["x3"]}}, "data.features", "x1^2"),
        ({"train": {"betas": [0.9]}}, "train.betas", "two values"),
        ({"trian": {}}, "trian", "unknown key"),
        ({"train": {"learning_rate": 0.1}}, "train.learning_rate", "unknown key"),
        ({"device": "tpu"}, "device", "cuda"),
    ],
)
def test_bad_values_name_the_field_and_what_is_allowed(change, field, words) -> None:
    with pytest.raises(ConfigError) as err:
        Config.from_dict(change)
    assert err.value.field == field
    assert str(err.value).startswith(field + ":")
    assert words in str(err.value)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"model.dropout": "spatial"}, "model.dropout", "cnn"),
        ({"model.dropout": "dropblock"}, "model.dropout", "cnn"),
        ({"model.norm": "instance"}, "model.norm", "cnn"),
        ({"model.norm": "batch", "train.batch_size": 1}, "model.norm", "batch_size >= 2"),
        ({"model.dropout": "droppath"}, "model.dropout", "residual"),
        ({"model.dropout": "cutout"}, "model.dropout", "image"),
        ({"model.arch": "cnn"}, "model.arch", "image data"),
        ({"data.dataset": "reg_plane"}, "train.loss", "mse"),
        ({"model.norm": "group", "model.norm_groups": 3}, "model.norm_groups", "divide"),
        (
            {"data.dataset": "mnist", "model.arch": "cnn", "model.hidden": [4] * 5},
            "model.hidden",
            "at most 4",
        ),
        (
            {"data.dataset": "mnist", "model.arch": "cnn", "model.residual": True},
            "model.residual",
            "MLP",
        ),
    ],
)
def test_combinations_that_make_no_sense_are_refused_with_a_reason(changes, field, words) -> None:
    with pytest.raises(ConfigError) as err:
        Config().replace(**changes)
    assert err.value.field == field
    assert words in str(err.value)


def test_sensible_combinations_are_accepted() -> None:
    Config().replace(**{"data.dataset": "reg_plane", "train.loss": "mse"})
    Config().replace(**{"model.residual": True, "model.dropout": "droppath"})
    Config().replace(
        **{
            "data.dataset": "mnist",
            "model.arch": "cnn",
            "model.dropout": "dropblock",
            "model.norm": "instance",
        }
    )


def test_overrides_parse_text_by_field_type() -> None:
    cfg = Config().with_overrides(
        [
            "model.hidden=16,16,16",
            "model.bias=false",
            "train.betas=0.5,0.9",
            "train.lr=0.3",
            "data.features=x1,x2,x1^2",
        ]
    )
    assert cfg.model.hidden == (16, 16, 16)
    assert cfg.model.bias is False
    assert cfg.train.betas == (0.5, 0.9)
    assert cfg.train.lr == 0.3
    assert cfg.data.features == ("x1", "x2", "x1^2")
    with pytest.raises(ConfigError, match=r"^train\.lr: must be a number, got 'fast'"):
        Config().with_overrides(["train.lr=fast"])
    with pytest.raises(ConfigError, match=r"key\.path=value"):
        Config().with_overrides(["train.lr"])
    with pytest.raises(ConfigError, match="unknown key"):
        Config().with_overrides(["train.nope=1"])


def test_query_garbage_falls_back_to_defaults_with_notices() -> None:
    cfg, notices = Config.from_query(
        {
            "train.lr": "banana",
            "model.hidden": "8,x",
            "nope": "1",
            "data.noise": "0.3",
            "model.activation": "<script>",
        }
    )
    assert cfg == Config().replace(**{"data.noise": 0.3})
    assert len(notices) == 4
    assert any("train.lr" in n for n in notices)
    assert any("nope" in n for n in notices)


def test_field_info_lists_registry_choices() -> None:
    info = field_info("model.activation")
    assert "relu" in info["choices"] and "maxout" in info["choices"]
    assert field_info("model.norm_position")["choices"] == ("before", "after")


def test_query_values_valid_only_together_are_applied_in_any_order() -> None:
    cfg, notices = Config.from_query({"model.arch": "cnn", "data.dataset": "mnist"})
    assert notices == []
    assert (cfg.model.arch, cfg.data.dataset) == ("cnn", "mnist")
    # An invalid combination keeps what fits and names what was dropped.
    cfg, notices = Config.from_query({"model.arch": "cnn", "data.noise": "0.2"})
    assert cfg.model.arch == "mlp" and cfg.data.noise == 0.2
    assert len(notices) == 1 and "model.arch" in notices[0] and "image data" in notices[0]


# Registries and the choice rule ----------------------------------------------------------------


def test_every_registry_field_has_the_registry_its_module_filed() -> None:
    """Registries file themselves under their field when their module is imported
    (engine/__init__.py imports them all); the config lists none of those modules."""
    wanted = [p for p in field_paths() if field_info(p)["registry"]]
    assert set(registries()) == set(wanted)
    assert list(registries()) == [  # the Components page's order
        "data.dataset",
        "model.init",
        "model.activation",
        "model.norm",
        "model.dropout",
        "train.optimizer",
        "train.schedule",
        "train.loss",
    ]
    for path, registry in registries().items():
        assert registry.field_path == path and registry_for(path) is registry
    import engine.surfaces  # files "lab.surface", which is no config field: not a choice list

    assert registry_for("lab.surface") is engine.surfaces.SURFACES
    assert "lab.surface" not in registries()
    with pytest.raises(LookupError, match=r"model\.nope"):
        registry_for("model.nope")


def _choice_paths() -> list[str]:
    return ["model.arch", *(p for p in registries() if p != "data.dataset")]


def _trial(dataset: str, arch: str, path: str, name: str) -> dict[str, object]:
    """Changes that make a valid config of `arch` on `dataset` with `path` set to `name`, unless
    the rule refuses that choice: residual connections (droppath needs them) on an MLP, mse on a
    regression dataset."""
    task = registry_for("data.dataset").get(dataset).extra["task"]
    changes: dict[str, object] = {
        "data.dataset": dataset,
        "model.arch": arch,
        "train.loss": "mse" if task == "regression" else "cross_entropy",
        path: name,
    }
    return {**changes, "model.residual": changes["model.arch"] == "mlp"}


@pytest.mark.parametrize("arch", ARCHS)
@pytest.mark.parametrize("dataset", registry_for("data.dataset").names())
def test_allowed_choices_are_exactly_those_the_config_accepts(arch: str, dataset: str) -> None:
    arch_ok = arch in allowed_choices("model.arch", arch=arch, dataset=dataset)
    for path in _choice_paths():
        if path != "model.arch" and not arch_ok:
            continue  # every config of this arch on this dataset is refused at model.arch
        allowed = allowed_choices(path, arch=arch, dataset=dataset)
        assert allowed, (path, arch, dataset)
        for name in field_info(path)["choices"]:
            try:
                Config().replace(**_trial(dataset, arch, path, name))
                refused = None
            except ConfigError as e:
                refused = e
            if name in allowed:
                assert refused is None, (path, name, arch, dataset, str(refused))
            else:
                assert refused is not None and refused.field == path, (path, name, arch, dataset)
                reason = why_not(path, name, arch=arch, dataset=dataset)
                assert str(refused) == f"{path}: {reason}"


def test_the_rule_says_why_a_choice_does_not_apply() -> None:
    assert why_not("model.dropout", "spatial", arch="mlp", dataset="circle") == (
        "Spatial dropout works with cnn models, not mlp (choose none, dropout, dropconnect or "
        "droppath): Drop whole feature maps, since neighbouring pixels are correlated "
        "(Tompson et al. 2015)."
    )
    # a recurrent cell: its own activations, no norm or dropout layers (the entries say so)
    assert why_not("model.activation", "relu", arch="lstm", dataset="adding").startswith(
        "ReLU works with mlp / cnn / rnn models, not lstm (choose tanh): "
    )
    assert why_not("model.norm", "batch", arch="gru", dataset="adding").startswith(
        "BatchNorm works with mlp / cnn models, not gru (choose none): "
    )
    assert why_not("model.activation", "relu", arch="rnn", dataset="adding") is None
    assert why_not("model.dropout", "cutout", arch="mlp", dataset="xor") == (
        "Cutout needs image data (mnist, mnist_full)"
    )
    assert why_not("train.loss", "cross_entropy", arch="mlp", dataset="reg_plane") == (
        "cross_entropy does not fit the regression dataset reg_plane; use mse for regression"
    )
    assert why_not("model.arch", "cnn", arch="mlp", dataset="spiral") == (
        "cnn needs image data (mnist, mnist_full); spiral is not"
    )
    assert why_not("model.dropout", "cutout", arch="cnn", dataset="mnist") is None
    assert why_not("model.pool", "avg", arch="mlp", dataset="circle") is None  # a fixed list
    assert allowed_choices("model.pool", arch="mlp", dataset="circle") == ["max", "avg", "none"]
    assert allowed_choices("train.loss", arch="mlp", dataset="reg_gauss") == ["mse"]
    with pytest.raises(ConfigError, match="no list of choices"):
        allowed_choices("train.lr", arch="mlp", dataset="circle")
