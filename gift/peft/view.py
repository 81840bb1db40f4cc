"""A PEFT-wrapped model seen as its plain backbone, so the core builds (or saves, or loads) GIFT for it.

The tuner never re-implements target matching, θ grouping, fused slices or generator construction: it
builds a core `GIFTWrapper` over a *view* of the model — empty containers named and typed like its
modules, whose leaves are the model's own layers (a GIFT layer shows its base layer, a
modules_to_save wrapper shows one adapter's trained copy) — and takes the wrapper's generators and
`GIFTLinear`s. The model itself is never modified by this; only the view is.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from peft.utils import ModulesToSaveWrapper
from torch import nn

from ..config import GIFTConfig
from ..wrapper import GIFTWrapper
from .layer import GIFTPeftLayer


@functools.cache
def _container_class(name: str) -> type[nn.Module]:
    """An empty module class named like a model's class (so core error messages name the real type)."""
    return type(name, (nn.Module,), {"__doc__": f"Empty stand-in for a {name} in a GIFT view."})


def _view_of(child: nn.Module, head_adapter: str | None) -> nn.Module:
    if isinstance(child, GIFTPeftLayer):
        return child.base_layer
    if isinstance(child, ModulesToSaveWrapper):
        if head_adapter is not None and head_adapter in child.modules_to_save:  # (a ModuleDict: no .get)
            return child.modules_to_save[head_adapter]
        return child.original_module
    if next(child.children(), None) is None:
        return child  # a leaf: the model's own layer
    return unwrapped_view(child, head_adapter=head_adapter)


def unwrapped_view(model: nn.Module, *, head_adapter: str | None = None) -> nn.Module:
    """`model` as it was before PEFT wrapped it, sharing its layers; `head_adapter` picks modules_to_save copies."""
    view = _container_class(type(model).__name__)()
    for name, child in model.named_children():
        view.add_module(name, _view_of(child, head_adapter))
    return view


def core_wrapper(
    model: nn.Module,
    config: GIFTConfig,
    *,
    wrapper_cls: type[GIFTWrapper] = GIFTWrapper,
    head_modules: Sequence[str] = (),
    head_adapter: str | None = None,
) -> GIFTWrapper:
    """A core wrapper over the view of `model`: its `gift_generators` and `gift_layers` are exactly the core's."""
    view = unwrapped_view(model, head_adapter=head_adapter)
    states = [(parameter, parameter.requires_grad) for parameter in model.parameters()]
    try:
        return wrapper_cls(config, view, head_modules=list(head_modules))
    finally:  # the core wrapper freezes its backbone (the view, whose leaves are the model's layers): undo that
        for parameter, requires_grad in states:
            parameter.requires_grad_(requires_grad)
