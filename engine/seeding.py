"""Separate random streams derived from the one config seed.

Data, initialization, batch order and dropout each get their own generator so that changing one
knob (say, the dropout rate) does not change the data or the initial weights, and two runs with
one config give identical curves.
"""

from __future__ import annotations

import numpy as np
import torch

# Stream ids: arbitrary fixed constants, one per use.
STREAMS = {
    "data": 0xDA7A,
    "init": 0x1217,
    "batches": 0xBA7C,
    "dropout": 0xD209,
    "noise": 0x0153,
    "augment": 0xA06E,  # engine/data/augment.py: one seed per (run seed, step)
}


def stream_seed(seed: int, stream: str) -> int:
    """A 63-bit seed for `stream`, derived from the config seed with numpy's SeedSequence."""
    state = np.random.SeedSequence([seed, STREAMS[stream]]).generate_state(2, dtype=np.uint32)
    return int(state[0]) << 31 | int(state[1]) >> 1


def generator(seed: int, stream: str, device: torch.device | str = "cpu") -> torch.Generator:
    """A torch generator on `device` seeded for `stream`."""
    g = torch.Generator(device=device)
    g.manual_seed(stream_seed(seed, stream))
    return g
