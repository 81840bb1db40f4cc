"""`GIFTTuner`: the PEFT tuner (BaseTuner) for GIFT, with θ as state shared across depth."""

from __future__ import annotations

import re
from functools import partial
from typing import Any

import torch
from peft.tuners.tuners_utils import BaseTuner
from torch import nn

from ..io import check_tensors
from ..layer import GIFTLinear
from .config import DEFAULT_TARGET_MODULES, GIFTPeftConfig
from .layer import GIFTPeftLayer
from .view import core_wrapper

GENERATORS = "gift_generators"  # the tuner's ModuleDict: adapter name → {θ key → GIFTGenerator}


class GIFTTuner(BaseTuner):
    """Injects `GIFTPeftLayer`s and owns each adapter's θ once, in `self.gift_generators[adapter]`.

    The θ keys and shapes are the core wrapper's (`gift_generators.<type>.in_proj.weight`, …), because the
    core builds them (see `gift.peft.view`). In a PeftModel they are named
    `base_model.gift_generators.<adapter>.<type>.…` and saved as `base_model.gift_generators.<type>.…`.
    """

    prefix: str = "gift_"
    tuner_layer_cls = GIFTPeftLayer
    target_module_mapping = DEFAULT_TARGET_MODULES
    uses_shared_state: bool = True

    # ------------------------------------------------------------------ injection
    def _pre_injection_hook(self, model: nn.Module, config: GIFTPeftConfig, adapter_name: str) -> None:
        self.gift_generators = nn.ModuleDict()
        self._pending_layers: dict[str, GIFTLinear] = {}

    def inject_adapter(
        self,
        model: nn.Module,
        adapter_name: str,
        autocast_adapter_dtype: bool = True,
        low_cpu_mem_usage: bool = False,
        state_dict: dict[str, torch.Tensor] | None = None,
    ) -> None:
        """Let the core build θ and one GIFTLinear per target, then let PEFT put the layers in place."""
        if state_dict is not None:
            raise ValueError("GIFT adapters are injected from their config, not from a state_dict; use get_peft_model.")
        config = self._prepare_adapter_config(self.peft_config[adapter_name], self.get_model_config(model))
        self._check_adapter_name(adapter_name)
        target_modules = config.target_modules
        trainable_before = [(p, p.requires_grad) for p in self.gift_generators.parameters()]
        core = core_wrapper(model, config.to_gift_config())
        self.gift_generators[adapter_name] = core.gift_generators
        self._pending_layers = dict(core.gift_layers)
        try:
            super().inject_adapter(
                model, adapter_name, autocast_adapter_dtype=autocast_adapter_dtype, low_cpu_mem_usage=low_cpu_mem_usage
            )
        except BaseException:
            for module in self.model.modules():  # the layers PEFT placed before the failure
                if isinstance(module, GIFTPeftLayer):
                    module.gift_linears.pop(adapter_name, None)
            del self.gift_generators[adapter_name]
            raise
        finally:
            self._pending_layers = {}
            config.target_modules = target_modules  # PEFT may shorten long lists; the saved θ keys follow these
        for parameter, requires_grad in trainable_before:  # adding an adapter leaves the others as they were
            parameter.requires_grad_(requires_grad)

    def _prepare_adapter_config(self, peft_config: GIFTPeftConfig, model_config: dict) -> GIFTPeftConfig:
        if peft_config.target_modules is None:
            model_type = model_config.get("model_type")
            if model_type not in self.target_module_mapping:
                raise ValueError(
                    f"GIFTPeftConfig(target_modules=None) has no default for model_type {model_type!r}; pass "
                    f"target_modules=[...]. Defaults exist for: {sorted(self.target_module_mapping)}."
                )
            peft_config.target_modules = list(self.target_module_mapping[model_type])
        return peft_config

    def _check_adapter_name(self, adapter_name: str) -> None:
        # PEFT tells adapters apart by ".<name>." inside state-dict keys: a name equal to a key component
        # ("q_proj", "weight", …) would make one adapter's θ look like another's.
        components = {
            part
            for generators in self.gift_generators.values()
            for key in generators.state_dict()
            for part in key.split(".")
        }
        if "." in adapter_name or adapter_name in components | {GENERATORS, "base_model", "model"}:
            raise ValueError(
                f"Adapter name {adapter_name!r} clashes with GIFT's parameter names ({sorted(components)[:6]}…) or "
                "contains '.'; choose another name."
            )

    def _check_target_module_exists(self, peft_config: GIFTPeftConfig, key: str) -> bool:
        return key in self._pending_layers  # the core matched the targets on the unwrapped model

    def _create_and_replace(
        self,
        peft_config: GIFTPeftConfig,
        adapter_name: str,
        target: nn.Module,
        target_name: str,
        parent: nn.Module,
        current_key: str,
        parameter_name: str | None = None,
    ) -> None:
        gift_linear = self._pending_layers[current_key]
        if isinstance(target, GIFTPeftLayer):
            target.update_layer(adapter_name, gift_linear)
        else:
            self._replace_module(parent, target_name, GIFTPeftLayer(target, adapter_name, gift_linear), target)

    # ------------------------------------------------------------------ which adapter runs and trains
    def set_adapter(self, adapter_name: str | list[str], inference_mode: bool = False) -> None:
        names = [adapter_name] if isinstance(adapter_name, str) else list(adapter_name)
        if len(names) > 1:
            raise ValueError(
                f"GIFT runs one adapter at a time (each generates Ŵ from W), got {names}; call set_adapter(name)."
            )
        missing = [name for name in names if name not in self.peft_config]
        if missing:
            raise ValueError(f"Adapter {missing[0]!r} not found; adapters: {sorted(self.peft_config)}.")
        super().set_adapter(adapter_name, inference_mode=inference_mode)
        for name, generators in self.gift_generators.items():
            generators.requires_grad_(name in names and not inference_mode)

    def set_requires_grad(self, adapter_names: str | list[str], requires_grad: bool = True) -> None:
        super().set_requires_grad(adapter_names, requires_grad=requires_grad)
        for name in [adapter_names] if isinstance(adapter_names, str) else adapter_names:
            self.gift_generators[name].requires_grad_(requires_grad)

    def delete_adapter(self, adapter_name: str) -> None:
        was_active = adapter_name in self.active_adapters
        super().delete_adapter(adapter_name)
        del self.gift_generators[adapter_name]
        if was_active and self.active_adapters:  # PEFT picked another adapter: it runs, so it trains (as in LoRA)
            self.set_adapter(self.active_adapters)

    # ------------------------------------------------------------------ merging
    def _check_single_merge(self, adapter_names: list[str] | None) -> None:
        names = list(self.active_adapters if adapter_names is None else adapter_names)
        merged = sorted(
            {name for m in self.model.modules() if isinstance(m, GIFTPeftLayer) for name in m.merged_adapters}
        )
        if len(names) > 1 or (merged and merged != names):
            raise ValueError(
                f"GIFT merges one adapter at a time (Ŵ is generated from W): asked for {names} with {merged} merged. "
                "Call unmerge_adapter() first, or pass a single adapter name."
            )

    def merge_adapter(self, adapter_names: list[str] | None = None, safe_merge: bool = False) -> None:
        self._check_single_merge(adapter_names)
        super().merge_adapter(adapter_names=adapter_names, safe_merge=safe_merge)

    def merge_and_unload(
        self, progressbar: bool = False, safe_merge: bool = False, adapter_names: list[str] | None = None
    ) -> nn.Module:
        self._check_single_merge(adapter_names)
        return super().merge_and_unload(progressbar=progressbar, safe_merge=safe_merge, adapter_names=adapter_names)

    # ------------------------------------------------------------------ state dict (save / load)
    @classmethod
    def _get_adapter_state_dict(
        cls,
        model: nn.Module,
        config: GIFTPeftConfig,
        adapter_name: str,
        state_dict: dict[str, torch.Tensor],
        unwanted_adapter_names: list[str],
    ) -> dict[str, torch.Tensor]:
        pattern = _adapter_key_pattern(adapter_name)
        return {key: value for key, value in state_dict.items() if pattern.search(key)}

    @classmethod
    def _remove_adapter_name_from_key(cls, key: str, adapter_name: str) -> str:
        # base_model.gift_generators.<adapter>.q_proj.in_proj.weight → base_model.gift_generators.q_proj.in_proj.weight
        pattern = _adapter_key_pattern(adapter_name)
        if pattern.search(key):
            return pattern.sub(rf"\1{GENERATORS}.", key, count=1)
        return super()._remove_adapter_name_from_key(key, adapter_name)  # modules_to_save and the like

    @classmethod
    def _remap_adapter_state_dict_for_load(
        cls, model: nn.Module, config: GIFTPeftConfig, adapter_name: str, state_dict: dict[str, torch.Tensor]
    ) -> dict[str, torch.Tensor]:
        """Checkpoint keys → model keys, refusing a checkpoint whose θ does not match the adapter key for key,
        and any load into an adapter that is merged (its unmerge would then invert the wrong Ŵ)."""
        if any(adapter_name in m.merged_adapters for m in model.modules() if isinstance(m, GIFTPeftLayer)):
            raise ValueError(
                f"GIFT adapter {adapter_name!r} is merged: loading θ into it now would make unmerge_adapter() "
                "restore the wrong W. Call unmerge_adapter() first, load, then merge_adapter() again."
            )
        remapped = super()._remap_adapter_state_dict_for_load(model, config, adapter_name, state_dict)
        pattern = _adapter_key_pattern(adapter_name)
        saved_key = partial(cls._remove_adapter_name_from_key, adapter_name=adapter_name)  # as the checkpoint has it
        expected = {saved_key(key): value for key, value in model.state_dict().items() if pattern.search(key)}
        theta = {saved_key(key): value for key, value in remapped.items() if f"{GENERATORS}." in key}
        hint = " Was it saved with the same target_modules, rank and generator?"
        check_tensors(theta, expected, "The GIFT checkpoint", f"adapter {adapter_name!r}", hint)
        return remapped


def _adapter_key_pattern(adapter_name: str) -> re.Pattern[str]:
    """Matches the `gift_generators.<adapter>.` segment of a key (at the start or after a '.')."""
    return re.compile(rf"(^|\.){GENERATORS}\.{re.escape(adapter_name)}\.")


def adapter_generators(model: Any, adapter_name: str) -> nn.ModuleDict:
    """θ of one adapter of a PeftModel (or a GIFTTuner): {θ key → GIFTGenerator}."""
    tuner = model if isinstance(model, GIFTTuner) else model.base_model
    if not isinstance(tuner, GIFTTuner):
        raise TypeError(f"Expected a PeftModel with GIFT adapters, got one whose tuner is {type(tuner).__name__}.")
    if adapter_name not in tuner.gift_generators:
        raise ValueError(f"No GIFT adapter named {adapter_name!r}; adapters: {sorted(tuner.gift_generators)}.")
    return tuner.gift_generators[adapter_name]
