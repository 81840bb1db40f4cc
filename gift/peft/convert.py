"""Saving in one API and loading in the other: PEFT adapters ↔ core `GIFTWrapper.save_pretrained` folders.

The two formats hold the same θ under the same keys (`gift_generators.<type>.…`; PEFT prefixes them with
`base_model.`), and a trained head either as core `head.<module>.…` or as a PEFT modules_to_save copy.
Both directions go through the core's own save/load code (`gift.io`), which checks every key and shape.
Loading one format with the other API's loader is refused by that loader: `GIFTWrapper.from_pretrained`
on a PEFT folder names `PeftModel.from_pretrained`; `PeftModel.from_pretrained` on a core folder finds no
adapter_config.json. Use these two functions to cross over.
"""

from __future__ import annotations

import os

import torch
from peft import PeftModel, get_peft_model
from peft.utils import ModulesToSaveWrapper
from torch import nn

from ..io import load_adapter, read_config
from ..wrapper import GIFTWrapper, GIFTWrapperForCausalLM, GIFTWrapperForSeqClassification
from .config import GIFTPeftConfig
from .tuner import adapter_generators
from .view import core_wrapper

# The core wrapper class recorded in gift_config.json, by PEFT task_type.
CORE_WRAPPERS: dict[str, type[GIFTWrapper]] = {
    "CAUSAL_LM": GIFTWrapperForCausalLM,
    "SEQ_CLS": GIFTWrapperForSeqClassification,
}


def _head_modules(base_model: nn.Module, adapter_name: str) -> list[str]:
    """The modules_to_save that hold a trained copy for this adapter: the core's `head_modules`."""
    return [
        name
        for name, module in base_model.named_modules()
        if isinstance(module, ModulesToSaveWrapper) and adapter_name in module.modules_to_save
    ]


def _core_view_of_adapter(peft_model: PeftModel, adapter_name: str) -> GIFTWrapper:
    """A core wrapper whose θ *is* the adapter's θ and whose head is the adapter's modules_to_save copy."""
    config = peft_model.peft_config[adapter_name]
    task = getattr(config.task_type, "value", config.task_type)  # a TaskType or its name
    base_model = peft_model.get_base_model()
    with torch.random.fork_rng():  # the wrapper's own, discarded θ must not move the global RNG
        wrapper = core_wrapper(
            base_model,
            config.to_gift_config(),
            wrapper_cls=CORE_WRAPPERS.get(task, GIFTWrapper),
            head_modules=_head_modules(base_model, adapter_name),
            head_adapter=adapter_name,
        )
    wrapper.gift_generators = adapter_generators(peft_model, adapter_name)  # same keys: the core built both
    return wrapper


def save_core_adapter(peft_model: PeftModel, directory: str | os.PathLike, *, adapter_name: str | None = None) -> None:
    """Write one PEFT adapter (active one by default) as `GIFTWrapper.save_pretrained` does: gift_config.json +
    gift_model.safetensors, loadable with `GIFTWrapper*.from_pretrained(backbone, directory)`."""
    adapter_name = adapter_name or peft_model.active_adapter
    if adapter_name not in peft_model.peft_config:
        raise ValueError(f"No adapter named {adapter_name!r}; adapters: {sorted(peft_model.peft_config)}.")
    _core_view_of_adapter(peft_model, adapter_name).save_pretrained(directory)


def load_core_adapter(
    model: nn.Module,
    directory: str | os.PathLike,
    *,
    adapter_name: str = "default",
    is_trainable: bool = False,
    task_type: str | None = None,
) -> PeftModel:
    """Load a `GIFTWrapper.save_pretrained` folder as a PEFT adapter named `adapter_name`.

    `model` is the plain pretrained backbone (a PeftModel is returned), or a PeftModel with GIFT adapters
    (the adapter is added to it). The core's saved `head_modules` become `modules_to_save`.
    """
    gift_config, head_modules = read_config(directory)
    peft_config = GIFTPeftConfig.from_gift_config(
        gift_config, modules_to_save=head_modules or None, task_type=task_type, inference_mode=not is_trainable
    )
    if isinstance(model, PeftModel):
        model.add_adapter(adapter_name, peft_config)
        peft_model = model
    else:
        peft_model = get_peft_model(model, peft_config, adapter_name=adapter_name)
    load_adapter(_core_view_of_adapter(peft_model, adapter_name), directory)  # every key and shape checked
    if is_trainable:
        peft_model.set_requires_grad(adapter_name)
    else:
        peft_model.eval()
    return peft_model
