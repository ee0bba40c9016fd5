"""Optimizers: every entry builds from the config and descends; updates match the formulas."""

from __future__ import annotations

import dataclasses
from types import SimpleNamespace
from typing import Any

import pytest
import torch

from engine.config import TrainConfig
from engine.optimizers import OPTIMIZERS, build_optimizer, lean_step
from engine.registry import ConfigError, Entry

FIELDS = {f.name for f in dataclasses.fields(TrainConfig)}
ENTRIES = pytest.mark.parametrize("entry", list(OPTIMIZERS), ids=OPTIMIZERS.names())
# Config field -> the param-group keys torch may store it under (RMSprop calls rho "alpha").
TORCH_KEYS = {"rho": ("rho", "alpha")}


def train_cfg(**overrides: Any) -> Any:
    """A TrainConfig; while sibling engine modules are missing, a stand-in with its defaults."""
    try:
        return TrainConfig(**overrides)
    except ImportError:
        defaults = {
            f.name: f.default_factory() if f.default is dataclasses.MISSING else f.default  # type: ignore[misc]
            for f in dataclasses.fields(TrainConfig)
        }
        assert set(overrides) <= set(defaults), f"unknown fields {set(overrides) - set(defaults)}"
        return SimpleNamespace(**{**defaults, **overrides})


def quadratic_setup() -> tuple[torch.nn.Linear, Any]:
    """A linear model (two parameter tensors) and its convex quadratic least-squares loss."""
    torch.manual_seed(0)
    model = torch.nn.Linear(3, 1, dtype=torch.float64)  # float64: AdaDelta's first step is ~1e-6
    x = torch.randn(16, 3, dtype=torch.float64)
    t = x @ torch.tensor([[1.0], [-2.0], [0.5]], dtype=torch.float64) + 0.3

    def loss() -> torch.Tensor:
        return (model(x) - t).pow(2).mean()

    return model, loss


@ENTRIES
def test_every_optimizer_builds_from_defaults_and_lowers_a_quadratic(entry: Entry[Any]) -> None:
    model, loss = quadratic_setup()
    opt = entry.build(model.parameters(), train_cfg(optimizer=entry.name))
    before = [p.detach().clone() for p in model.parameters()]
    first = loss()
    opt.zero_grad()
    first.backward()
    opt.step()
    assert loss().item() < first.item()
    for p, p0 in zip(model.parameters(), before, strict=True):
        assert not torch.equal(p, p0)


@ENTRIES
def test_params_metadata_names_real_fields(entry: Entry[Any]) -> None:
    assert entry.label and entry.help
    assert set(entry.params) <= FIELDS
    assert {"lr", "weight_decay"} <= set(entry.params)  # every optimizer reads both
    assert set(entry.extra.get("suggested", {})) <= FIELDS


@ENTRIES
def test_every_field_in_params_reaches_the_optimizer(entry: Entry[Any]) -> None:
    values = {
        "lr": 0.123,
        "momentum": 0.77,
        "betas": (0.81, 0.987),
        "eps": 3e-7,
        "rho": 0.66,
        "weight_decay": 0.042,
    }
    cfg = train_cfg(optimizer=entry.name, **values)
    group = entry.build([torch.nn.Parameter(torch.ones(2))], cfg).param_groups[0]
    for name in entry.params:
        keys = [k for k in TORCH_KEYS.get(name, (name,)) if k in group]
        assert keys, f"{entry.name}: {name} did not reach the optimizer ({sorted(group)})"
        got = group[keys[0]]
        assert (tuple(got) if name == "betas" else got) == pytest.approx(values[name])


@ENTRIES
def test_uses_foreach(entry: Entry[Any]) -> None:
    opt = entry.build([torch.nn.Parameter(torch.ones(2))], train_cfg(optimizer=entry.name))
    assert opt.param_groups[0]["foreach"] is True


def test_momentum_and_nesterov_use_cfg_momentum_and_sgd_does_not() -> None:
    p = [torch.nn.Parameter(torch.ones(2))]
    g = build_optimizer(p, train_cfg(optimizer="momentum", momentum=0.7)).param_groups[0]
    assert (g["momentum"], g["nesterov"]) == (0.7, False)
    g = build_optimizer(p, train_cfg(optimizer="nesterov", momentum=0.7)).param_groups[0]
    assert (g["momentum"], g["nesterov"]) == (0.7, True)
    g = build_optimizer(p, train_cfg(optimizer="sgd", momentum=0.7)).param_groups[0]
    assert g["momentum"] == 0


def test_adam_family_uses_betas_and_rmsprop_alpha_is_rho() -> None:
    p = [torch.nn.Parameter(torch.ones(2))]
    for name, cls in [
        ("adam", torch.optim.Adam),
        ("adamw", torch.optim.AdamW),
        ("nadam", torch.optim.NAdam),
    ]:
        opt = build_optimizer(p, train_cfg(optimizer=name, betas=(0.8, 0.95)))
        assert type(opt) is cls
        assert tuple(opt.param_groups[0]["betas"]) == (0.8, 0.95)
    opt = build_optimizer(p, train_cfg(optimizer="rmsprop", rho=0.6))
    assert isinstance(opt, torch.optim.RMSprop)
    assert opt.param_groups[0]["alpha"] == 0.6


def test_nesterov_without_momentum_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match=r"train\.momentum"):
        build_optimizer(
            [torch.nn.Parameter(torch.ones(2))], train_cfg(optimizer="nesterov", momentum=0.0)
        )


def test_unknown_optimizer_lists_the_valid_names() -> None:
    # Bypasses TrainConfig's own name check, to test the registry lookup itself.
    default = train_cfg()
    cfg = SimpleNamespace(**{**{f: getattr(default, f) for f in FIELDS}, "optimizer": "adamax2"})
    with pytest.raises(ConfigError, match=r"train\.optimizer: unknown optimizer 'adamax2'.*adam"):
        build_optimizer([torch.nn.Parameter(torch.ones(2))], cfg)


def test_accepts_param_groups() -> None:
    a, b = torch.nn.Parameter(torch.ones(2)), torch.nn.Parameter(torch.ones(2))
    opt = build_optimizer([{"params": [a]}, {"params": [b], "lr": 0.5}], train_cfg(lr=0.1))
    assert [g["lr"] for g in opt.param_groups] == [0.1, 0.5]


# Updates against hand computations --------------------------------------------------------------
# Loss 0.5 * sum(c * p^2) has gradient c * p, so each step's gradient is known by hand.

C = torch.tensor([1.0, 4.0, -0.5], dtype=torch.float64)


def _step(opt: torch.optim.Optimizer, p: torch.nn.Parameter) -> torch.Tensor:
    """One optimizer step on 0.5 * sum(C * p^2); returns the gradient it used."""
    opt.zero_grad()
    (0.5 * (C * p * p).sum()).backward()
    g = p.grad.detach().clone()
    opt.step()
    return g


def _param() -> torch.nn.Parameter:
    return torch.nn.Parameter(torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64))


def test_sgd_step_is_p_minus_lr_g() -> None:
    p = _param()
    p0 = p.detach().clone()
    g = _step(build_optimizer([p], train_cfg(optimizer="sgd", lr=0.1)), p)
    torch.testing.assert_close(p.detach(), p0 - 0.1 * g)


def test_sgd_weight_decay_is_coupled() -> None:
    p = _param()
    p0 = p.detach().clone()
    g = _step(build_optimizer([p], train_cfg(optimizer="sgd", lr=0.1, weight_decay=0.01)), p)
    torch.testing.assert_close(p.detach(), p0 - 0.1 * (g + 0.01 * p0))


@pytest.mark.parametrize("nesterov", [False, True])
def test_two_momentum_steps_match_the_torch_formula(nesterov: bool) -> None:
    lr, mu = 0.05, 0.9
    name = "nesterov" if nesterov else "momentum"
    p = _param()
    opt = build_optimizer([p], train_cfg(optimizer=name, lr=lr, momentum=mu))
    expected = p.detach().clone()
    buf = torch.zeros_like(expected)
    for k in range(2):
        g = C * expected  # gradient at the current point
        buf = g if k == 0 else mu * buf + g  # torch: the first step sets the buffer to g
        update = g + mu * buf if nesterov else buf
        expected = expected - lr * update
        _step(opt, p)
        torch.testing.assert_close(p.detach(), expected)


def test_adam_first_step_moves_each_parameter_by_lr_sign_g() -> None:
    p = _param()
    p0 = p.detach().clone()
    g = _step(build_optimizer([p], train_cfg(optimizer="adam", lr=0.01)), p)
    # Bias correction makes m_hat = g and v_hat = g^2, so the step is lr * g / (|g| + eps).
    torch.testing.assert_close(p.detach(), p0 - 0.01 * g.sign(), rtol=0, atol=1e-9)


def test_adamw_decay_is_decoupled() -> None:
    lr, wd = 0.01, 0.1
    p = _param()
    p0 = p.detach().clone()
    g = _step(build_optimizer([p], train_cfg(optimizer="adamw", lr=lr, weight_decay=wd)), p)
    # Loshchilov & Hutter 2019: shrink by lr * wd, then the Adam step of the raw gradient.
    torch.testing.assert_close(p.detach(), p0 * (1 - lr * wd) - lr * g.sign(), rtol=0, atol=1e-9)


@pytest.mark.parametrize(
    ("name", "extra"),
    [("sgd", {}), ("sgd", {"weight_decay": 0.01}), ("momentum", {}), ("nesterov", {})],
)
def test_lean_step_updates_exactly_as_step_does(name: str, extra: dict[str, Any]) -> None:
    """The Trainer's fast update (the functional SGD torch's step calls) leaves the weights
    and momentum buffers bit for bit where `step()` does, step after step."""
    torch.manual_seed(3)
    ref = torch.nn.Linear(4, 3)
    lean = torch.nn.Linear(4, 3)
    lean.load_state_dict(ref.state_dict())
    cfg = train_cfg(optimizer=name, lr=0.05, momentum=0.9, **extra)
    ref_opt, lean_opt = (
        build_optimizer(ref.parameters(), cfg),
        build_optimizer(lean.parameters(), cfg),
    )
    for _ in range(4):
        x = torch.randn(8, 4)
        for model in (ref, lean):
            model.zero_grad(set_to_none=True)
            model(x).pow(2).sum().backward()
        ref_opt.step()
        assert lean_step(lean_opt)
        for a, b in zip(ref.parameters(), lean.parameters(), strict=True):
            assert torch.equal(a, b)
            if name != "sgd":
                assert torch.equal(
                    ref_opt.state[a]["momentum_buffer"], lean_opt.state[b]["momentum_buffer"]
                )


def test_lean_step_leaves_other_optimizers_to_step() -> None:
    p = _param()
    p0 = p.detach().clone()
    p.grad = torch.ones_like(p)
    assert not lean_step(build_optimizer([p], train_cfg(optimizer="adam")))
    assert torch.equal(p.detach(), p0)  # nothing was done
