"""Choosing where to train: CPU always, CUDA or Apple MPS when present."""

from __future__ import annotations

import torch

from engine.registry import ConfigError


def available_devices() -> list[str]:
    """Device names usable on this machine, best first after 'auto' is resolved."""
    names = ["cpu"]
    if torch.cuda.is_available():
        names.insert(0, "cuda")
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        names.insert(0, "mps")
    return names


def resolve_device(name: str) -> torch.device:
    """'auto' -> cuda, then mps, then cpu; an unavailable device is a ConfigError."""
    available = available_devices()
    if name == "auto":
        return torch.device(available[0])
    if name not in available:
        raise ConfigError(
            "device", f"{name} is not available on this machine; available: {', '.join(available)}"
        )
    return torch.device(name)
