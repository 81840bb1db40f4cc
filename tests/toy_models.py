"""Small models and reference computations shared by the core tests."""

from __future__ import annotations

import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

from gift import GIFTConfig, GIFTLinear, GIFTWrapper

D_IN, D_HIDDEN, D_OUT, RANK = 12, 18, 9, 4


class Stack(nn.Module):
    """Three 'layers', each with an up projection (d_in → hidden) and a down projection (hidden → d_out)."""

    def __init__(self, layer_cls=nn.Linear, bias: bool = True) -> None:
        super().__init__()
        make = (lambda i, o: Conv1D(o, i)) if layer_cls is Conv1D else (lambda i, o: nn.Linear(i, o, bias=bias))
        self.layers = nn.ModuleList(
            nn.ModuleDict({"up": make(D_IN, D_HIDDEN), "down": make(D_HIDDEN, D_IN), "act": nn.Tanh()})
            for _ in range(3)
        )
        self.head = nn.Linear(D_IN, D_OUT)
        if layer_cls is Conv1D:  # Conv1D initialises weights with a tiny std; make them order 1
            for p in self.parameters():
                nn.init.normal_(p, std=0.3)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = x + layer["down"](layer["act"](layer["up"](x)))
        return self.head(x)


def randomise_theta(model: GIFTWrapper, std: float = 0.2) -> None:
    torch.manual_seed(1)
    with torch.no_grad():
        for p in model.theta_parameters():
            p.normal_(std=std)


def literal_weight(layer: GIFTLinear) -> torch.Tensor:
    """Ŵ (d_out × d_in) built the slow way: W + ΔW per slice, ΔW = out(block(in(W)))."""
    base = layer.base_layer
    weight = base.weight.T if isinstance(base, Conv1D) else base.weight
    pieces, cursor = [], 0  # concatenated, not written in place, so that gradients flow to θ
    for rows, generator in layer._slices:
        pieces.append(weight[cursor : rows.start])
        pieces.append(weight[rows] + generator.out_proj(generator.block(generator.in_proj(weight[rows]))))
        cursor = rows.stop
    pieces.append(weight[cursor:])
    return torch.cat(pieces)


def reference_forward(model: GIFTWrapper, x: torch.Tensor) -> torch.Tensor:
    """The model with each GIFT layer replaced by y = Ŵ x + b, Ŵ from `literal_weight`."""
    handles = []
    for layer in model.gift_layers.values():
        weight, bias = literal_weight(layer), layer.base_layer.bias
        handles.append(layer.register_forward_hook(lambda m, i, o, w=weight, b=bias: nn.functional.linear(i[0], w, b)))
    try:
        return model(x)
    finally:
        for handle in handles:
            handle.remove()


def build(config: GIFTConfig, layer_cls=nn.Linear, bias: bool = True) -> GIFTWrapper:
    torch.manual_seed(0)
    model = GIFTWrapper(config, Stack(layer_cls, bias), head_modules=["head"]).double()
    randomise_theta(model)
    return model
