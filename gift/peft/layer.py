"""`GIFTPeftLayer`: the PEFT tuner layer around one frozen linear layer, one core `GIFTLinear` per adapter."""

from __future__ import annotations

from typing import Any

import torch
from peft.tuners.tuners_utils import BaseTunerLayer
from torch import nn

from ..layer import GIFTLinear, layer_shape


class GIFTPeftLayer(nn.Module, BaseTunerLayer):
    """ŷ = Ŵ x + b with Ŵ = W (I + φ ψ) for the active adapter; the plain base layer when disabled.

    All the math is the core's: each named adapter owns a `gift.layer.GIFTLinear` over this layer's
    `base_layer` (which picks the cheaper exact form, merges and unmerges). θ itself is not stored here:
    an adapter's generators are registered once on the tuner (`GIFTTuner.gift_generators[name]`) and
    shared by every layer of a type across depth, like VB-LoRA's vector bank. The `GIFTLinear`s are
    kept in a plain dict, so the base layer and θ appear once in `state_dict()` and `parameters()`.

    One adapter is active (and at most one merged) at a time: Ŵ is generated from W itself, so two
    adapters have no single additive meaning.
    """

    adapter_layer_names: tuple[str, ...] = ()  # no per-layer weights: θ is shared state on the tuner
    other_param_names: tuple[str, ...] = ("gift_linears",)

    def __init__(self, base_layer: nn.Module, adapter_name: str, gift_linear: GIFTLinear) -> None:
        super().__init__()
        self.base_layer = base_layer
        self.out_features, self.in_features = layer_shape(base_layer)
        self.gift_linears: dict[str, GIFTLinear] = {}
        self._disable_adapters = False
        self.merged_adapters: list[str] = []
        self._active_adapter = adapter_name
        self.update_layer(adapter_name, gift_linear)

    def update_layer(self, adapter_name: str, gift_linear: GIFTLinear) -> None:
        assert gift_linear.base_layer is self.base_layer, "an adapter's GIFTLinear must wrap this layer's base layer"
        self.gift_linears[adapter_name] = gift_linear

    def _get_available_adapters(self) -> set[str]:
        return set(self.gift_linears)

    def _active_gift_linear(self) -> GIFTLinear | None:
        names = [name for name in self.active_adapters if name in self.gift_linears]
        if len(names) > 1:
            raise ValueError(f"GIFT runs one adapter at a time, but {names} are active; call set_adapter(name).")
        return self.gift_linears[names[0]] if names else None

    def forward(self, x: torch.Tensor, *args: Any, **kwargs: Any) -> torch.Tensor:
        if self.disable_adapters:
            if self.merged:
                self.unmerge()
            return self.base_layer(x, *args, **kwargs)
        gift_linear = None if self.merged else self._active_gift_linear()
        if gift_linear is None:  # merged (Ŵ is in the weight), or no adapter of this layer is active
            return self.base_layer(x, *args, **kwargs)
        return gift_linear(x)

    # ------------------------------------------------------------------ merge / unmerge
    def merge(self, safe_merge: bool = False, adapter_names: list[str] | None = None) -> None:
        """W ← W (I + φ ψ) for one adapter (the active one by default); `safe_merge` refuses non-finite weights."""
        names = self.active_adapters if adapter_names is None else list(adapter_names)
        names = [name for name in names if name in self.gift_linears and name not in self.merged_adapters]
        if not names:
            return
        if self.merged_adapters or len(names) > 1:
            raise ValueError(
                f"GIFT merges one adapter at a time (Ŵ is generated from W): asked to merge {names} with "
                f"{self.merged_adapters} merged. Call unmerge_adapter() first, or merge a single adapter."
            )
        name = names[0]
        gift_linear = self.gift_linears[name]
        weight = self.base_layer.weight
        original = weight.detach().clone() if safe_merge else None
        gift_linear.merge()
        if original is not None and not torch.isfinite(weight).all():
            gift_linear.unmerge()
            with torch.no_grad():
                weight.copy_(original)
            raise ValueError(
                f"Merging GIFT adapter {name!r} gives non-finite weights; the adapter seems broken. Left unmerged."
            )
        self.merged_adapters.append(name)

    def unmerge(self) -> None:
        """Restore W exactly (Woodbury for the linear generator, else the kept copy)."""
        while self.merged_adapters:
            self.gift_linears[self.merged_adapters.pop()].unmerge()

    def __repr__(self) -> str:
        return "gift." + super().__repr__()

    def extra_repr(self) -> str:
        return f"adapters={sorted(self.gift_linears)}, merged={self.merged_adapters}"
