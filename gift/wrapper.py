"""Wrappers that put GIFT into a backbone: generic, causal LM (HF), sequence classification (HF), timm images."""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from .config import GIFTConfig
from .generator import GIFTGenerator
from .layer import GIFTLinear, layer_shape, slice_rows
from .targets import Target, find_targets, group_by_type


@dataclass(frozen=True)
class ParameterCount:
    """Trainable parameters the way the paper counts them: θ against the backbone, task head apart."""

    gift: int  # θ: 2·d_in·r per target type (+ biases and block), independent of depth
    head: int  # the trained task head (classifier), 0 for a causal LM
    backbone: int  # every backbone parameter except the head

    @property
    def gift_percent(self) -> float:
        return 100.0 * self.gift / self.backbone if self.backbone else 0.0

    @property
    def trainable(self) -> int:
        return self.gift + self.head

    def __str__(self) -> str:
        return (
            f"GIFT θ: {self.gift:,} ({self.gift_percent:.3f}% of {self.backbone:,} backbone parameters); "
            f"head: {self.head:,}; trainable: {self.trainable:,}"
        )


def refuse_load_when_merged(wrapper: GIFTWrapper, *hook_args: Any) -> None:
    """Loading θ or W into a merged wrapper would make `unmerge()` invert the wrong Ŵ: refuse it (called by
    `gift.io.load_adapter`, and the wrapper's load_state_dict pre-hook)."""
    if wrapper.is_merged:
        raise ValueError(
            f"{type(wrapper).__name__} is merged (its base weights hold W (I + φψ)); loading an adapter or a state "
            "dict now would make unmerge() restore the wrong W. Call unmerge() first, load, then merge() again."
        )


class GIFTWrapper(nn.Module):
    """Wrap any `nn.Module`: freeze it, replace each target linear layer by a `GIFTLinear`, and own θ.

    θ lives in `self.gift_generators` (one `GIFTGenerator` per target type, or one for all with
    `share_projections`), so every trainable GIFT parameter is named `gift_generators.<type>.…`.
    `head_modules` names backbone submodules that train with θ (a classifier); everything else is frozen.
    Attributes the wrapper lacks (`config`, `device`, `generate`, …) are looked up on the backbone.
    """

    def __init__(self, config: GIFTConfig, backbone: nn.Module, *, head_modules: Sequence[str] | None = None) -> None:
        super().__init__()
        if not isinstance(config, GIFTConfig):
            raise TypeError(f"GIFTWrapper expects a GIFTConfig as its first argument, got {type(config).__name__}.")
        self.gift_config = config
        self.backbone = backbone
        self.head_modules = tuple(self._resolve_head_modules(head_modules))
        self.gift_generators = nn.ModuleDict()
        # Everything that can fail (matching, shapes, slices, generators) runs before the backbone changes,
        # so a wrap that raises leaves the caller's model exactly as it was.
        self.gift_layers: dict[str, GIFTLinear] = self._build_layers(find_targets(backbone, config))
        backbone.requires_grad_(False)
        for name in self.head_modules:
            backbone.get_submodule(name).requires_grad_(True)
        for name, layer in self.gift_layers.items():
            backbone.set_submodule(name, layer)
        self.register_load_state_dict_pre_hook(refuse_load_when_merged)

    # ------------------------------------------------------------------ construction
    def _resolve_head_modules(self, head_modules: Sequence[str] | None) -> list[str]:
        names = list(head_modules or ())
        for name in names:
            try:
                self.backbone.get_submodule(name)
            except AttributeError:
                children = [n for n, _ in self.backbone.named_children()]
                raise ValueError(
                    f"head_modules entry {name!r} is not a submodule of {type(self.backbone).__name__}; "
                    f"its top-level modules are {children}."
                ) from None
        return names

    def _build_layers(self, targets: list[Target]) -> dict[str, GIFTLinear]:
        """θ (registered on the wrapper: one generator per (type, enabled slice), or one for all with
        share_projections) and one GIFTLinear per target, not yet placed in the backbone."""
        config = self.gift_config
        slices_of: dict[str, list[tuple[int, slice]]] = {}
        wanted = {}  # (type, slice index) -> (module key, d_in, d_out of the slice, a weight for device)
        for key, members in group_by_type(targets).items():
            d_out, d_in = layer_shape(members[0].module)
            slices_of[key] = slice_rows(d_out, config.enable_gift.get(key))
            for index, rows in slices_of[key]:
                fused = f":slice{index}" if config.enable_gift.get(key) else ""
                module_key = key.replace(".", ":") + fused  # no '.' in module names
                wanted[(key, index)] = (module_key, d_in, rows.stop - rows.start, members[0].module.weight)
        if config.share_projections:
            self._check_shareable(wanted)
            wanted = {k: ("shared", *rest) for k, (_, *rest) in wanted.items()}
        for module_key, d_in, d_out, weight in wanted.values():
            if module_key not in self.gift_generators:
                self.gift_generators[module_key] = GIFTGenerator(
                    d_in,
                    config.rank,
                    d_out=d_out,
                    options=config.gift_parameters,
                    in_bias=config.in_projection_bias,
                    out_bias=config.out_projection_bias,
                    device=weight.device,
                    dtype=config.torch_dtype_of_theta,
                )
        layers = {}
        for target in targets:
            key = target.type_key
            pairs = [(rows, self.gift_generators[wanted[(key, index)][0]]) for index, rows in slices_of[key]]
            layers[target.name] = GIFTLinear(target.module, pairs)
        return layers

    def _check_shareable(self, wanted: dict) -> None:
        d_ins = {key[0]: d_in for key, (_, d_in, _, _) in wanted.items()}
        if len(set(d_ins.values())) > 1:
            raise ValueError(
                f"share_projections=True needs one input size for all targets, but they differ: {d_ins}. "
                "Set share_projections=False (one θ per target type) or target layers of equal d_in."
            )
        d_outs = {key[0]: d_out for key, (_, _, d_out, _) in wanted.items()}
        if self.gift_config.gift_parameters["block_type"] == "mlp_mixer" and len(set(d_outs.values())) > 1:
            raise ValueError(f"share_projections with the mlp_mixer block needs one d_out for all targets: {d_outs}.")

    # ------------------------------------------------------------------ delegation
    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.backbone(*args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        try:
            return super().__getattr__(name)
        except AttributeError:
            if name == "backbone":
                raise
            return getattr(self.backbone, name)

    # ------------------------------------------------------------------ parameters
    def theta_parameters(self) -> Iterator[nn.Parameter]:
        """θ: the parameters of every generator (φ, ψ and their optional biases and blocks)."""
        return self.gift_generators.parameters()

    def gift_parameters(self) -> Iterator[nn.Parameter]:
        """Deprecated name of `theta_parameters` (`gift_parameters` is the generator-block config key)."""
        warnings.warn(
            "GIFTWrapper.gift_parameters() is renamed theta_parameters(); `gift_parameters` is the config key "
            "of the generator block.",
            DeprecationWarning,
            stacklevel=2,
        )
        return self.theta_parameters()

    def head_parameters(self) -> Iterator[nn.Parameter]:
        for name in self.head_modules:
            yield from self.backbone.get_submodule(name).parameters()

    def num_trainable_parameters(self) -> ParameterCount:
        """θ and head counts, θ as a percentage of the backbone without its head (works on the meta device)."""
        head_ids = {id(p) for p in self.head_parameters()}
        backbone = sum(p.numel() for p in self.backbone.parameters() if id(p) not in head_ids)
        gift = sum(p.numel() for p in self.theta_parameters())
        head = sum(p.numel() for p in self.head_parameters())
        return ParameterCount(gift=gift, head=head, backbone=backbone)

    # ------------------------------------------------------------------ merging
    @property
    def is_merged(self) -> bool:
        """True while ΔW is folded into the base weights; loading a state dict is refused then."""
        return any(layer.merged for layer in self.gift_layers.values())

    def merge(self) -> None:
        """Fold ΔW into every wrapped layer (W ← W (I + φψ)); forward then costs what the backbone costs."""
        for layer in self.gift_layers.values():
            layer.merge()

    def unmerge(self) -> None:
        """Undo `merge`: the base weights return to the originals (to float tolerance)."""
        for layer in self.gift_layers.values():
            layer.unmerge()

    def merge_and_unload(self) -> nn.Module:
        """Merge, put the plain base layers back, and return the backbone (a normal model with Ŵ in it)."""
        self.merge()
        self._put_back_base_layers()
        return self.backbone

    def _put_back_base_layers(self) -> None:
        """The backbone's own layers back in place of the GIFTLinears (with ΔW folded in if merged)."""
        for name, layer in self.gift_layers.items():
            self.backbone.set_submodule(name, layer.base_layer)
        self.gift_layers = {}

    # ------------------------------------------------------------------ saving
    def save_pretrained(self, save_directory: str | os.PathLike) -> None:
        """Write `gift_config.json` and θ (+ the trained head) as `gift_model.safetensors`."""
        from .io import save_adapter

        save_adapter(self, save_directory)

    @classmethod
    def from_pretrained(
        cls, backbone: nn.Module, pretrained_directory: str | os.PathLike, **kwargs: Any
    ) -> GIFTWrapper:
        """Rebuild the wrapper on `backbone` from a `save_pretrained` directory, checking every key and shape."""
        from .io import load_adapter, read_config

        config, head_modules = read_config(pretrained_directory)
        kwargs.setdefault("head_modules", head_modules)
        requires_grad = [(parameter, parameter.requires_grad) for parameter in backbone.parameters()]
        wrapper = cls(config, backbone, **kwargs)
        try:
            load_adapter(wrapper, pretrained_directory)
        except BaseException:  # a load that fails leaves the caller's backbone as it was given
            wrapper._put_back_base_layers()
            for parameter, flag in requires_grad:
                parameter.requires_grad_(flag)
            raise
        return wrapper

    def adapter_state_dict(self) -> dict[str, torch.Tensor]:
        """θ as `gift_generators.<type>.…` and head tensors as `head.<module>.…`: what `save_pretrained` writes."""
        state = {f"gift_generators.{k}": v for k, v in self.gift_generators.state_dict().items()}
        for name in self.head_modules:
            for key, value in self.backbone.get_submodule(name).state_dict().items():
                state[f"head.{name}.{key}"] = value
        return state


class GIFTWrapperForCausalLM(GIFTWrapper):
    """GIFT on a transformers causal LM: `forward` (with `labels`), `generate`, gradient checkpointing.

    Works inside HF `Trainer` and accelerate like the model itself. Merge before generating for zero
    overhead, or generate unmerged: the wrapped layers then cost 2·r·d_in FLOPs per token.
    """

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> Any:
        # Named arguments, so HF Trainer (which keeps dataset columns by the forward signature) sees them.
        return self.backbone(input_ids=input_ids, attention_mask=attention_mask, labels=labels, **kwargs)

    def generate(self, *args: Any, **kwargs: Any) -> Any:
        return self.backbone.generate(*args, **kwargs)

    def activation_checkpointing_enable(
        self, activation_checkpointing_kwargs: dict | None = None, **kwargs: Any
    ) -> None:
        """Non-reentrant by default: θ is used by every layer, which reentrant checkpointing under DDP rejects."""
        checkpoint_kwargs = {"use_reentrant": False, **(activation_checkpointing_kwargs or {})}
        self.backbone.activation_checkpointing_enable(activation_checkpointing_kwargs=checkpoint_kwargs, **kwargs)

    def gradient_checkpointing_enable(self, gradient_checkpointing_kwargs: dict | None = None, **kwargs: Any) -> None:
        """The older name of `activation_checkpointing_enable`, still called by many training scripts."""
        self.activation_checkpointing_enable(gradient_checkpointing_kwargs, **kwargs)


class GIFTWrapperForSeqClassification(GIFTWrapper):
    """GIFT on a transformers sequence classifier; its classification head (`classifier` or `score`) trains."""

    def forward(
        self,
        input_ids: torch.Tensor | None = None,
        attention_mask: torch.Tensor | None = None,
        token_type_ids: torch.Tensor | None = None,
        labels: torch.Tensor | None = None,
        **kwargs: Any,
    ) -> Any:
        if token_type_ids is not None:
            kwargs["token_type_ids"] = token_type_ids  # RoBERTa and BERT take it; Llama classifiers do not
        return self.backbone(input_ids=input_ids, attention_mask=attention_mask, labels=labels, **kwargs)

    def _resolve_head_modules(self, head_modules: Sequence[str] | None) -> list[str]:
        if head_modules is None:
            found = [name for name in ("classifier", "score") if hasattr(self.backbone, name)]
            if not found:
                raise ValueError(
                    f"{type(self.backbone).__name__} has no 'classifier' or 'score' module; pass head_modules=[...]."
                )
            head_modules = found[:1]
        return super()._resolve_head_modules(head_modules)


class GIFTWrapperForImageClassification(GIFTWrapper):
    """GIFT on a timm image classifier (e.g. ViT-B/16 with target `attn:proj`); the classifier head trains."""

    def _resolve_head_modules(self, head_modules: Sequence[str] | None) -> list[str]:
        if head_modules is None:
            classifier = self.backbone.get_classifier() if hasattr(self.backbone, "get_classifier") else None
            head_modules = [n for n, m in self.backbone.named_modules() if m is classifier and n] or ["head"]
        return super()._resolve_head_modules(head_modules)
