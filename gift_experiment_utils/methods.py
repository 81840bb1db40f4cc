"""Fine-tuning methods by name, applied to the same backbone so that only the adapter differs.

    gift    the library in `gift/`: θ = (φ, ψ) per target type, backbone frozen
    lora    PEFT LoRA (rank, alpha, dropout, targets), backbone frozen
    bitfit  biases only (all biases, or those of nn.Linear layers)
    vpt     deep visual prompts for a timm ViT (see vpt.py)
    full    every parameter
    linear  the task head only

The task head (`TaskModel.head_modules`) trains with every method. Parameters are counted one way for
all of them: `method` = trainable parameters outside the head (θ, LoRA A/B, biases, prompts, the whole
backbone for `full`), `backbone` = the backbone's own parameters without the head, before any adapter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from torch import nn

from .config import BitFitMethod, GIFTMethod, LoRAMethod, MethodSection, VPTMethod
from .task import TaskModel


@dataclass(frozen=True)
class ParamCount:
    method: int  # trainable, outside the head
    head: int  # trainable head parameters
    backbone: int  # backbone parameters without the head (the denominator of the paper's "Params %")

    @property
    def method_percent(self) -> float:
        return 100.0 * self.method / self.backbone if self.backbone else 0.0

    @property
    def method_percent_of_total(self) -> float:
        """Of the adapted model, adapter / (backbone + adapter): how LLM-Adapters, DoRA and LoReFT print the
        LLM tables' Params % (0.826 % for their LoRA on LLaMA-7B, 0.832 % of the backbone alone)."""
        total = self.backbone + self.method
        return 100.0 * self.method / total if total else 0.0

    @property
    def trainable(self) -> int:
        return self.method + self.head

    def to_dict(self) -> dict[str, float]:
        percents = {"method_percent": self.method_percent, "method_percent_of_total": self.method_percent_of_total}
        return {**asdict(self), **percents, "trainable": self.trainable}


@dataclass
class AdaptedModel:
    module: nn.Module  # what the loop trains and evaluates
    head_param_ids: set[int]  # id() of the head's parameters, for the optimizer's head group
    count: ParamCount
    export: Callable[[nn.Module, Path], None]  # write the trained adapter in its library's format


def head_parameters(module: nn.Module, head_modules: list[str]) -> list[nn.Parameter]:
    params: list[nn.Parameter] = []
    for name in head_modules:
        try:
            params += list(module.get_submodule(name).parameters())
        except AttributeError:
            children = [n for n, _ in module.named_children()]
            raise ValueError(
                f"TaskModel.head_modules entry {name!r} is not a submodule; top-level modules: {children}."
            ) from None
    return params


def apply_method(method: MethodSection, task_model: TaskModel) -> AdaptedModel:
    """Freeze/adapt `task_model.module` as `method` says; count parameters before and after."""
    backbone = task_model.module
    head = head_parameters(backbone, task_model.head_modules)
    head_ids = {id(p) for p in head}
    backbone_count = sum(p.numel() for p in backbone.parameters() if id(p) not in head_ids)
    builder = _BUILDERS[method.name]
    module, export = builder(method, task_model)
    for param in head:
        param.requires_grad_(True)
    trainable = [p for p in module.parameters() if p.requires_grad]
    if not trainable:
        raise ValueError(f"method.name={method.name!r} left no parameter to train; check method.target_modules.")
    count = ParamCount(
        method=sum(p.numel() for p in trainable if id(p) not in head_ids),
        head=sum(p.numel() for p in trainable if id(p) in head_ids),
        backbone=backbone_count,
    )
    return AdaptedModel(module=module, head_param_ids=head_ids, count=count, export=export)


def trainable_state(module: nn.Module) -> dict[str, torch.Tensor]:
    return {name: p.detach().cpu().clone() for name, p in module.named_parameters() if p.requires_grad}


def _save_trainable(module: nn.Module, folder: Path) -> None:
    from safetensors.torch import save

    from gift.io import atomic_write

    folder.mkdir(parents=True, exist_ok=True)
    state = {k: v.contiguous() for k, v in trainable_state(module).items()}
    atomic_write(folder / "trainable.safetensors", save(state))


# ---------------------------------------------------------------------------------------------- builders
def _gift(method: GIFTMethod, task_model: TaskModel) -> tuple[nn.Module, Callable]:
    import gift

    wrappers = {
        "base": gift.GIFTWrapper,
        "causal_lm": gift.GIFTWrapperForCausalLM,
        "seq_cls": gift.GIFTWrapperForSeqClassification,
        "image_cls": gift.GIFTWrapperForImageClassification,
    }
    config = gift.GIFTConfig(
        rank=method.rank,
        target_modules=method.target_modules,
        dtype=method.dtype,
        gift_parameters=dict(method.gift_parameters),
        in_projection_bias=method.in_projection_bias,
        out_projection_bias=method.out_projection_bias,
        share_projections=method.share_projections,
        enable_gift=method.enable_gift,
        layers_to_transform=method.layers_to_transform,
        layers_pattern=method.layers_pattern,
    )
    model = wrappers[task_model.gift_wrapper](config, task_model.module, head_modules=task_model.head_modules)
    return model, lambda module, folder: module.save_pretrained(folder)


def _lora(method: LoRAMethod, task_model: TaskModel) -> tuple[nn.Module, Callable]:
    from peft import LoraConfig, get_peft_model

    targets = (
        [t.replace(":", ".") for t in method.target_modules]
        if isinstance(method.target_modules, list)
        else method.target_modules
    )
    config = LoraConfig(
        r=method.rank,
        lora_alpha=method.alpha,
        lora_dropout=method.dropout,
        target_modules=targets,
        layers_to_transform=method.layers_to_transform,
        bias="none",
    )
    model = get_peft_model(task_model.module, config)  # freezes everything but A and B
    return model, _save_peft


def _save_peft(module: nn.Module, folder: Path) -> None:
    module.save_pretrained(folder)  # A and B in PEFT's format
    _save_trainable(module, folder)  # and the head, which PEFT does not save


def _bitfit(method: BitFitMethod, task_model: TaskModel) -> tuple[nn.Module, Callable]:
    model = task_model.module
    model.requires_grad_(False)
    for module in model.modules():
        if method.scope == "linear" and not isinstance(module, nn.Linear):
            continue
        bias = getattr(module, "bias", None)
        if isinstance(bias, nn.Parameter):
            bias.requires_grad_(True)
    return model, _save_trainable


def _vpt(method: VPTMethod, task_model: TaskModel) -> tuple[nn.Module, Callable]:
    from .vpt import add_visual_prompts

    model = task_model.module
    model.requires_grad_(False)
    add_visual_prompts(model, num_prompts=method.num_prompts, deep=method.deep, dropout=method.dropout)
    return model, _save_trainable


def _full(method: MethodSection, task_model: TaskModel) -> tuple[nn.Module, Callable]:
    task_model.module.requires_grad_(True)
    return task_model.module, _save_trainable


def _linear(method: MethodSection, task_model: TaskModel) -> tuple[nn.Module, Callable]:
    task_model.module.requires_grad_(False)
    return task_model.module, _save_trainable


_BUILDERS: dict[str, Callable[[MethodSection, TaskModel], tuple[nn.Module, Callable]]] = {
    "gift": _gift,
    "lora": _lora,
    "bitfit": _bitfit,
    "vpt": _vpt,
    "full": _full,
    "linear": _linear,
}
