"""Recurrent networks (vanilla RNN, LSTM, GRU), unrolled over time step by step.

Each layer is a `RecurrentBlock` that maps a batch of sequences (batch, T, inputs) to its hidden
states (batch, T, units); stacked layers read the whole sequence of the layer below; the head
reads the last hidden state (sequence -> one answer, the notes' "序列到类别" mode).

Why unrolled here rather than `nn.RNN`/`nn.LSTM`: the lab's BPTT picture needs the gradient of
the loss with respect to the state at *every* step, and the LSTM's gates, which those fused
modules never expose; a loop also lets truncated BPTT cut the graph every k steps. The cell's
weights are one `nn.Linear` over [x_t, h_{t-1}] (gates stacked as torch does: LSTM i, f, g, o;
GRU r, z, n), so penalties, probes and pictures treat it like any other layer. The input part is
applied to the whole sequence at once (one matrix product); only the recurrent part loops.

The block's `act` module runs once over the stacked states after the loop, so the probes'
activation hooks see the whole sequence in one call: the RNN's pre-activations z_t and their
tanh/ReLU, the LSTM's cell states c_t and tanh(c_t), the GRU's hidden states (identity).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from typing import Protocol

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from engine.registry import GATES, RECURRENT

__all__ = ["GATES", "GATE_NAMES", "RECURRENT", "LastStep", "RecurrentBlock"]


class RecurrentSettings(Protocol):
    """What the recurrent layers read of engine.config.ModelConfig (not imported here: the
    config imports the budget, which reads GATES)."""

    @property
    def hidden(self) -> tuple[int, ...]: ...
    @property
    def bias(self) -> bool: ...
    @property
    def recurrent_init(self) -> str: ...
    @property
    def forget_bias(self) -> float: ...


# The gates a forward keeps (keep_gates), in the order it stacks them: each in (0, 1)
GATE_NAMES = {"lstm": ("input", "forget", "output"), "gru": ("reset", "update")}


class RecurrentBlock(nn.Module):
    """One recurrent layer over a whole sequence; see the module docstring."""

    layer: nn.Linear
    act: nn.Module

    def __init__(self, cell: str, n_in: int, units: int, bias: bool, act: nn.Module) -> None:
        super().__init__()
        self.cell, self.n_in, self.units = cell, n_in, units
        self.layer = nn.Linear(n_in + units, GATES[cell] * units, bias=bias)
        self.act = act
        # For the ReLU RNN: h_t = relu(z_t); tanh otherwise (LSTM and GRU fix their own).
        self.relu = isinstance(act, nn.ReLU)
        self.bptt = 0  # truncated BPTT: cut the graph every this many steps (0 = full); Trainer
        # What the next forward keeps for the probes (engine/bptt.py): the per-step states with
        # their gradients (`keep_states`), the gates (`keep_gates`).
        self.keep_states = False
        self.keep_gates = False
        self.states: list[Tensor] = []
        self.gates: list[Tensor] = []

    @property
    def recurrent_weight(self) -> Tensor:
        """W_hh as a view of the layer's weight: (gates x units, units)."""
        return self.layer.weight[:, self.n_in :]

    def forward(self, x: Tensor) -> Tensor:
        cut = self.bptt if self.training and self.bptt else 0
        looked_at = self.keep_states or self.keep_gates or self.act._forward_hooks
        if self.cell == "lstm" and not looked_at:
            return self._fused_lstm(x, cut)
        return self._unrolled(x, cut)

    def _fused_lstm(self, x: Tensor, cut: int = 0) -> Tensor:
        """The same LSTM through torch's own kernel (torch.lstm, nn.LSTM's; the same gate
        order and equations), about four times faster than the loop below on a CPU: used
        whenever nobody looks inside. With truncated BPTT, one call per segment between the
        loop's cuts, the state passed on detached (the same graph as the loop's)."""
        w, bias = self.layer.weight, self.layer.bias
        params = [w[:, : self.n_in], w[:, self.n_in :]]
        if bias is not None:  # torch's cell adds an input and a recurrent bias: ours is one
            params += [bias, torch.zeros_like(bias)]
        h = x.new_zeros(1, x.shape[0], self.units)
        c = torch.zeros_like(h)
        steps = x.shape[1]
        # the loop cuts before step t where (steps - t) % cut == 0: segments end there
        bounds = [0, *range(steps % cut or cut, steps, cut), steps] if cut else [0, steps]
        outs = []
        for start, end in itertools.pairwise(bounds):
            if start:
                h, c = h.detach(), c.detach()
            out, h, c = torch.lstm(
                x[:, start:end], (h, c), params, bias is not None, 1, 0.0, self.training,
                False, True,
            )  # fmt: skip
            outs.append(out)
        return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)

    def _unrolled(self, x: Tensor, cut: int) -> Tensor:
        """The step-by-step loop: keeps the states and gates the probes ask for, and cuts the
        graph every `cut` steps (truncated BPTT)."""
        batch, steps, _ = x.shape
        w = self.layer.weight
        zx = F.linear(x, w[:, : self.n_in], self.layer.bias)  # (batch, T, gates x units)
        w_hh = w[:, self.n_in :].t()  # (units, gates x units): h @ w_hh in one addmm per step
        n = self.units
        h = x.new_zeros(batch, self.units)
        c = x.new_zeros(batch, self.units)
        kept: list[Tensor] = []  # per step: z (RNN), c (LSTM), h (GRU)
        out_gates: list[Tensor] = []  # LSTM: o_t, for the outputs o_t tanh(c_t)
        gates: list[Tensor] = []
        # unbind, not zx[:, t]: each indexing's backward would write a zero tensor the size of
        # the whole sequence (O(T^2) work); unbind's backward stacks the T gradients once.
        if self.cell == "gru":  # the input's parts of r and u, and of the candidate
            zx_ru, zx_n = zx[..., : 2 * n].unbind(1), zx[..., 2 * n :].unbind(1)
        else:
            zxs = zx.unbind(1)
        for t in range(steps):
            if cut and t and (steps - t) % cut == 0:
                h, c = h.detach(), c.detach()  # no gradient flows further back than this
            if self.cell == "rnn":
                z = torch.addmm(zxs[t], h, w_hh)
                h = torch.relu(z) if self.relu else torch.tanh(z)
                state = z
            elif self.cell == "lstm":
                z = torch.addmm(zxs[t], h, w_hh)
                # one sigmoid over all four blocks (the cell block's is unused): fewer ops per
                # step, which is what a step of a small cell costs
                i, f, _, o = torch.sigmoid(z).chunk(4, dim=1)
                c = f * c + i * torch.tanh(z[:, 2 * n : 3 * n])
                h = o * torch.tanh(c)
                state = c
                out_gates.append(o)
                if self.keep_gates:
                    gates.append(torch.stack([i, f, o]).detach())
            else:  # GRU (torch's form: the reset gate scales the recurrent part of n)
                hh_ru, hh_n = torch.mm(h, w_hh).split([2 * n, n], dim=1)
                r, u = torch.sigmoid(zx_ru[t] + hh_ru).chunk(2, dim=1)
                cand = torch.tanh(torch.addcmul(zx_n[t], r, hh_n))
                # (1 - u) cand + u h, in fewer operations: each costs a small cell more
                # than its arithmetic
                h = torch.addcmul(cand, u, h - cand)
                state = h
                if self.keep_gates:
                    gates.append(torch.stack([r, u]).detach())
            if self.keep_states and state.requires_grad:
                state.retain_grad()
            kept.append(state)
        self.states = kept if self.keep_states else []
        self.gates = gates
        stacked = torch.stack(kept, dim=1)  # (batch, T, units)
        if self.cell == "rnn":
            return self.act(stacked)  # the same h_t the loop computed, in one call
        if self.cell == "lstm":
            return torch.stack(out_gates, dim=1) * self.act(stacked)  # o_t tanh(c_t)
        return self.act(stacked)


class LastStep(nn.Module):
    """(batch, T, units) -> (batch, units): the last hidden state, which the head reads."""

    def forward(self, x: Tensor) -> Tensor:
        return x[:, -1]


def recurrent_layers(
    arch: str,
    m: RecurrentSettings,
    input_shape: tuple[int, ...],
    n_out: int,
    activation: Callable[[], nn.Module],
) -> tuple[list[RecurrentBlock], nn.Module]:
    """The stacked layers (one per width in `model.hidden`) and the head on the last state;
    `activation` makes the vanilla RNN's (model.activation's module)."""
    if len(input_shape) != 2:
        raise ValueError(f"{arch} needs sequences (steps, inputs), got shape {input_shape}")
    blocks: list[RecurrentBlock] = []
    n_in = input_shape[1]
    for units in m.hidden:
        # the RNN's h_t = act(z_t); the LSTM's outputs o_t tanh(c_t); the GRU's h_t as it is
        cell_act = {"rnn": activation, "lstm": nn.Tanh}.get(arch, nn.Identity)
        act = cell_act()
        blocks.append(RecurrentBlock(arch, n_in, units, m.bias, act))
        n_in = units
    return blocks, nn.Sequential(LastStep(), nn.Linear(n_in, n_out, bias=m.bias))


def init_recurrent(blocks: list[RecurrentBlock], m: RecurrentSettings, g: torch.Generator) -> None:
    """After the model's initializer: the recurrent weights by `model.recurrent_init` and the
    LSTM's forget-gate bias (`model.forget_bias`)."""
    with torch.no_grad():
        for block in blocks:
            n = block.units
            w_hh = block.layer.weight[:, block.n_in :]  # a view: writes go to the weight
            for k in range(GATES[block.cell]):
                part = w_hh[k * n : (k + 1) * n]  # (units, units) for gate k
                if m.recurrent_init == "identity":
                    part.copy_(torch.eye(n))
                elif m.recurrent_init == "orthogonal":
                    q, r = torch.linalg.qr(torch.randn(n, n, generator=g))
                    part.copy_(q * torch.sign(torch.diagonal(r)))  # Haar-uniform (Mezzadri)
            if block.cell == "lstm" and block.layer.bias is not None:
                block.layer.bias[n : 2 * n] = m.forget_bias  # gates i, f, g, o: f is 2nd
