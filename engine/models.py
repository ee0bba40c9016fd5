"""The networks: an MLP (optionally residual), a small CNN and recurrent networks
(engine/recurrent.py), built from a ModelConfig.

Both are a `Network`: an input stem, a list of hidden `Block`s and an output head. A Block is
layer -> [norm] -> activation -> [norm] -> dropout -> [pool]; the probes hook each block's
`act` module, whose input is the pre-activation and whose output is the post-activation.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import Tensor, nn
from torch.nn.utils import parametrizations

from engine.activations import ACTIVATIONS
from engine.config import ModelConfig
from engine.initializers import init_weight
from engine.layers.dropout import DropConnectConv2d, DropConnectLinear
from engine.norms import NORMS
from engine.recurrent import RECURRENT, RecurrentBlock, init_recurrent, recurrent_layers
from engine.regularizers import DROPOUTS
from engine.seeding import generator

# A layer with a weight the probes, penalties and pictures read (DropConnect and weight norm
# keep these classes).
WeightLayer = nn.Linear | nn.Conv2d


class Block(nn.Module):
    """One hidden layer with its norm, activation, dropout and (CNN) pooling."""

    # Declared for the type checker: nn.Module's attribute lookup is typed Tensor | Module.
    layer: WeightLayer
    norm: nn.Module
    act: nn.Module
    drop: nn.Module
    pool: nn.Module

    def __init__(
        self,
        layer: WeightLayer,
        norm: nn.Module,
        act: nn.Module,
        drop: nn.Module,
        pool: nn.Module,
        norm_before: bool,
    ) -> None:
        super().__init__()
        self.layer, self.norm, self.act, self.drop, self.pool = layer, norm, act, drop, pool
        self.norm_before = norm_before

    def forward(self, x: Tensor) -> Tensor:
        z = self.layer(x)  # (batch, units) or (batch, channels, h, w)
        if self.norm_before:
            z = self.norm(z)
        a = self.act(z)
        if not self.norm_before:
            a = self.norm(a)
        return self.pool(self.drop(a))


class Residual(nn.Module):
    """x -> skip(x) + branch_drop(block(x)); skip is identity, or a projection if widths differ."""

    block: Block
    skip: nn.Module
    branch_drop: nn.Module

    def __init__(self, block: Block, skip: nn.Module, branch_drop: nn.Module) -> None:
        super().__init__()
        self.block, self.skip, self.branch_drop = block, skip, branch_drop

    @property
    def act(self) -> nn.Module:
        return self.block.act

    @property
    def layer(self) -> WeightLayer:
        return self.block.layer

    def forward(self, x: Tensor) -> Tensor:
        return self.skip(x) + self.branch_drop(self.block(x))


class Network(nn.Module):
    """stem (input dropout such as cutout, flatten for the MLP) -> hidden blocks -> head."""

    stem: nn.Sequential
    head: nn.Module

    def __init__(
        self,
        stem: nn.Sequential,
        blocks: list[Block | Residual] | list[RecurrentBlock],
        head: nn.Module,
        dropout_generator: torch.Generator,
    ) -> None:
        super().__init__()
        self.stem = stem
        self.blocks = nn.ModuleList(blocks)
        self.head = head
        # The dropout layers' mask stream, kept so checkpoints can save and restore its state.
        self.dropout_generator = dropout_generator
        self.eval_chunk = 4096  # examples per no-grad forward pass; the Trainer sizes it

    def train(self, mode: bool = True) -> Network:
        """Set training mode on every module, as nn.Module.train does, without its walk:
        that recursion (with nn.Module's checked __setattr__ on each module) took ~80 us on
        a toy network, and the live view switches modes several times per frame. No module
        here overrides train(), so setting the flag is all it does. (Not cached: weight
        norm adds modules after the network is built.)"""
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def forward(self, x: Tensor) -> Tensor:
        x = self.stem(x)
        for block in self.blocks:
            x = block(x)
        return self.head(x)

    def weight_layers(self) -> list[tuple[str, WeightLayer]]:
        """(name, layer) for every hidden layer and the output layer, input to output."""
        layers = [(f"hidden {i + 1}", b.layer) for i, b in enumerate(self.hidden_blocks())]
        head = [m for m in self.head.modules() if isinstance(m, (nn.Linear, nn.Conv2d))]
        return [*layers, ("output", head[-1])]

    def hidden_blocks(self) -> list[Block | Residual | RecurrentBlock]:
        """The hidden blocks, input to output (what `blocks` holds, typed)."""
        return list(self.blocks)  # type: ignore[arg-type]  # a ModuleList iterates as Module

    def penalized_weights(self) -> list[Tensor]:
        """Weight matrices that L1/L2 penalties apply to (not biases, not norm scales)."""
        return [m.weight for _, m in self.weight_layers()]


def _linear(
    n_in: int, n_out: int, bias: bool, m: ModelConfig, g: torch.Generator | None
) -> WeightLayer:
    if m.dropout == "dropconnect":
        return DropConnectLinear(n_in, n_out, bias=bias, p=m.dropout_rate, generator=g)
    return nn.Linear(n_in, n_out, bias=bias)


def _conv(n_in: int, n_out: int, m: ModelConfig, g: torch.Generator | None) -> WeightLayer:
    k = m.kernel_size
    if m.dropout == "dropconnect":
        return DropConnectConv2d(
            n_in, n_out, k, padding=k // 2, bias=m.bias, p=m.dropout_rate, generator=g
        )
    return nn.Conv2d(n_in, n_out, k, padding=k // 2, bias=m.bias)


def _block(
    arch: str, layer: WeightLayer, width: int, m: ModelConfig, g: torch.Generator | None
) -> Block:
    drop_entry = DROPOUTS.get(m.dropout)
    drop = drop_entry.build(m, g) if drop_entry.extra["where"] == "activation" else nn.Identity()
    pool: nn.Module = nn.Identity()
    if arch == "cnn" and m.pool != "none":
        pool = nn.MaxPool2d(2) if m.pool == "max" else nn.AvgPool2d(2)
    return Block(
        layer=layer,
        norm=NORMS.get(m.norm).build(arch, width, m),
        act=ACTIVATIONS.get(m.activation).build(m),
        drop=drop,
        pool=pool,
        norm_before=m.norm_position == "before",
    )


def _mlp(
    m: ModelConfig, n_in: int, n_out: int, g: torch.Generator | None
) -> tuple[list[Block | Residual], nn.Module]:
    pieces = m.maxout_pieces if ACTIVATIONS.get(m.activation).extra.get("maxout") else 1
    where = DROPOUTS.get(m.dropout).extra["where"]
    blocks: list[Block | Residual] = []
    width_in = n_in
    for i, width in enumerate(m.hidden):
        # Maxout takes the max over `pieces` linear units, so the layer is `pieces` times wider.
        layer = _linear(width_in, width * pieces, m.bias, m, g)
        block = _block("mlp", layer, width * pieces, m, g)
        if m.residual and i > 0:
            skip = nn.Identity() if width == width_in else nn.Linear(width_in, width, bias=False)
            branch = DROPOUTS.get(m.dropout).build(m, g) if where == "branch" else nn.Identity()
            blocks.append(Residual(block, skip, branch))
        else:
            blocks.append(block)
        width_in = width
    return blocks, nn.Linear(width_in, n_out, bias=m.bias)


def _cnn(
    m: ModelConfig, shape: tuple[int, ...], n_out: int, g: torch.Generator | None
) -> tuple[list[Block | Residual], nn.Module]:
    pieces = m.maxout_pieces if ACTIVATIONS.get(m.activation).extra.get("maxout") else 1
    c_in, h, w = shape
    blocks: list[Block | Residual] = []
    for channels in m.hidden:
        blocks.append(_block("cnn", _conv(c_in, channels * pieces, m, g), channels * pieces, m, g))
        c_in = channels
        if m.pool != "none":
            h, w = h // 2, w // 2
    if h < 1 or w < 1:
        raise ValueError("too many pooled conv blocks for the image size; use fewer blocks")
    if m.head == "gap":
        # Network-in-Network head (Lin et al. 2014): 1x1 conv to class maps, then average them.
        head = nn.Sequential(
            nn.Conv2d(c_in, n_out, 1, bias=m.bias), nn.AdaptiveAvgPool2d(1), nn.Flatten()
        )
    else:
        head = nn.Sequential(nn.Flatten(), nn.Linear(c_in * h * w, n_out, bias=m.bias))
    return blocks, head


def build_model(
    m: ModelConfig,
    input_shape: tuple[int, ...],
    n_outputs: int,
    seed: int,
    device: torch.device | str = "cpu",
) -> Network:
    """Build and initialize the network for inputs of `input_shape` (without the batch axis).

    Initialization draws from the seed's "init" stream and dropout masks from its "dropout"
    stream (on `device`), so the same seed gives the same network and the same masks.
    """
    drop_gen = generator(seed, "dropout", device)
    stem_parts: list[nn.Module] = []
    if DROPOUTS.get(m.dropout).extra["where"] == "input":
        stem_parts.append(DROPOUTS.get(m.dropout).build(m, drop_gen))
    # torch's own default init (used by `torch_default`) draws from the global RNG: fork and seed
    # it so that construction is reproducible without disturbing the caller's RNG state.
    blocks: list[Block | Residual] | list[RecurrentBlock]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(generator(seed, "init").initial_seed())
        if m.arch == "mlp":
            stem_parts.append(nn.Flatten())
            blocks, head = _mlp(m, math.prod(input_shape), n_outputs, drop_gen)
        elif m.arch in RECURRENT:
            act = ACTIVATIONS.get(m.activation)
            blocks, head = recurrent_layers(
                m.arch, m, input_shape, n_outputs, activation=lambda: act.build(m)
            )
        else:
            if len(input_shape) != 3:
                raise ValueError(f"cnn needs (channels, h, w) inputs, got shape {input_shape}")
            blocks, head = _cnn(m, input_shape, n_outputs, drop_gen)
    net = Network(nn.Sequential(*stem_parts), blocks, head, drop_gen)
    g = _initialize(net, m, seed)
    recurrent = [b for b in blocks if isinstance(b, RecurrentBlock)]
    if recurrent:  # continues the init stream, so W_hh draws differ from the other weights'
        init_recurrent(recurrent, m, g)
    if NORMS.get(m.norm).extra.get("reparam"):
        for _, layer in net.weight_layers()[:-1]:
            parametrizations.weight_norm(layer)
    return net.to(device)


def _initialize(net: Network, m: ModelConfig, seed: int) -> torch.Generator:
    """Apply the chosen initializer to every Linear/Conv weight; zero the biases. Returns the
    init stream where it stopped."""
    g = generator(seed, "init")
    if m.init == "torch_default":
        return g
    for module in net.modules():
        if isinstance(module, (nn.Linear, nn.Conv2d)):
            init_weight(m.init, module.weight, m.init_std, g)
            if module.bias is not None:
                nn.init.zeros_(module.bias)
    return g


@contextmanager
def unchanged(model: Network) -> Iterator[None]:
    """Run a look at the model (a forward pass in train mode, say) without leaving a trace:
    BatchNorm's running statistics and other buffers, the dropout generator's state and the
    train/eval mode are restored on exit, so training curves do not depend on who looked."""
    buffers = [b.detach().clone() for b in model.buffers()]
    gen = model.dropout_generator
    gen_state = gen.get_state()
    was_training = model.training
    try:
        yield
    finally:
        with torch.no_grad():
            for b, saved in zip(model.buffers(), buffers, strict=True):
                b.copy_(saved)
        gen.set_state(gen_state)
        model.train(was_training)
