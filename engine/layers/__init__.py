"""Layers torch lacks: dropout variants and maxout, each a pure function plus a thin module."""

from engine.layers.dropout import (
    Cutout,
    DropBlock,
    DropConnectConv2d,
    DropConnectLinear,
    Dropout,
    DropPath,
    SpatialDropout,
    cutout,
    drop_block,
    drop_connect_linear,
    drop_connect_weight,
    drop_path,
    dropout,
    spatial_dropout,
)
from engine.layers.maxout import Maxout, maxout

__all__ = [
    "Cutout",
    "DropBlock",
    "DropConnectConv2d",
    "DropConnectLinear",
    "DropPath",
    "Dropout",
    "Maxout",
    "SpatialDropout",
    "cutout",
    "drop_block",
    "drop_connect_linear",
    "drop_connect_weight",
    "drop_path",
    "dropout",
    "maxout",
    "spatial_dropout",
]
