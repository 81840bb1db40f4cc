"""Saving and loading GIFT adapters: a JSON config and safetensors, every key and shape checked."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from safetensors.torch import load_file, save_file

from .config import GIFTConfig
from .layer import layer_shape

if TYPE_CHECKING:
    from .wrapper import GIFTWrapper

CONFIG_NAME = "gift_config.json"
WEIGHTS_NAME = "gift_model.safetensors"


def _atomic_write(path: Path, write) -> None:
    tmp = path.with_name(path.name + ".tmp")
    write(tmp)
    os.replace(tmp, path)


def _layer_shapes(wrapper: GIFTWrapper) -> dict[str, list[int]]:
    return {name: list(layer_shape(layer.base_layer)) for name, layer in wrapper.gift_layers.items()}


def save_adapter(wrapper: GIFTWrapper, directory: str | os.PathLike) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    config = wrapper.gift_config.to_dict()
    config["gift_wrapper"] = {
        "class": type(wrapper).__name__,
        "head_modules": list(wrapper.head_modules),
        "layers": _layer_shapes(wrapper),  # wrapped module → (d_out, d_in), checked against the backbone on load
    }
    _atomic_write(directory / CONFIG_NAME, lambda p: p.write_text(json.dumps(config, indent=2, sort_keys=True)))
    state = {k: v.detach().to("cpu").contiguous() for k, v in wrapper.adapter_state_dict().items()}
    _atomic_write(directory / WEIGHTS_NAME, lambda p: save_file(state, str(p), metadata={"format": "pt"}))


def _files(directory: str | os.PathLike) -> tuple[Path, Path]:
    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    for path in (config_path, weights_path):
        if not path.is_file():
            hint = (
                " (it holds a PEFT adapter: load it with PeftModel.from_pretrained)"
                if (directory / "adapter_config.json").is_file()
                else ""
            )
            raise FileNotFoundError(f"{path} does not exist{hint}; write it with GIFTWrapper.save_pretrained(dir).")
    return config_path, weights_path


def read_config(directory: str | os.PathLike) -> tuple[GIFTConfig, list[str]]:
    """The saved GIFTConfig and the head modules the adapter was saved with."""
    config_path, _ = _files(directory)
    raw = json.loads(config_path.read_text())
    wrapper_info = raw.pop("gift_wrapper", {})
    for key in ("transformers_version", "model_type"):
        raw.pop(key, None)
    return GIFTConfig(**raw), list(wrapper_info.get("head_modules", []))


def load_adapter(wrapper: GIFTWrapper, directory: str | os.PathLike) -> None:
    """Load θ and head tensors into `wrapper`; a missing, extra or mis-shaped key is an error naming it."""
    config_path, weights_path = _files(directory)
    saved_layers = json.loads(config_path.read_text()).get("gift_wrapper", {}).get("layers", {})
    current_layers = _layer_shapes(wrapper)
    if saved_layers and saved_layers != current_layers:
        names = sorted(set(saved_layers) | set(current_layers))
        name = next(n for n in names if saved_layers.get(n) != current_layers.get(n))
        raise ValueError(
            f"The adapter in {directory} was saved for another backbone: layer {name!r} is "
            f"{saved_layers.get(name, 'absent')} (d_out, d_in) there and {current_layers.get(name, 'absent')} here."
        )
    loaded = load_file(str(weights_path))
    expected = wrapper.adapter_state_dict()
    missing, extra = sorted(set(expected) - set(loaded)), sorted(set(loaded) - set(expected))
    if missing or extra:
        raise ValueError(
            f"{weights_path} does not match the wrapper: missing keys {missing[:5]}, extra keys {extra[:5]}."
        )
    for key, target in expected.items():
        if loaded[key].shape != target.shape:
            raise ValueError(
                f"{weights_path}: {key!r} has shape {tuple(loaded[key].shape)}, the wrapper expects {tuple(target.shape)}."
            )
    with torch.no_grad():
        for key, target in expected.items():
            target.copy_(loaded[key].to(device=target.device, dtype=target.dtype))
