"""Saving and loading GIFT adapters: a JSON config and safetensors, every key, shape and format version checked.

Every file is written atomically (`atomic_write`), so a save that is killed or fails leaves the previous
complete file in place, never a half-written one.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import torch
from safetensors import safe_open
from safetensors.torch import save

from .config import CONFIG_KEYS, GIFTConfig
from .layer import layer_shape
from .wrapper import GIFTWrapper, refuse_load_when_merged

CONFIG_NAME = "gift_config.json"
WEIGHTS_NAME = "gift_model.safetensors"
# The layout of both files. Bump it when a key or tensor name changes meaning; loading refuses newer versions.
# Files written before the version was recorded have version 1's layout and load as version 1.
FORMAT_VERSION = 1
VERSION_KEY = "gift_format_version"  # in gift_config.json, and in the safetensors header metadata


def atomic_write(path: Path, data: bytes) -> None:
    """Write `data` so that `path` holds either its old complete content or the new one: write a temporary
    file in the same folder, fsync it, then os.replace it over `path` (atomic on POSIX and Windows)."""
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    if os.name == "posix":  # make the rename itself durable
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def check_format_version(found: Any, source: str | Path) -> None:
    """Refuse a format version this gift cannot read; `source` names the file (or config) it came from."""
    version = 1 if found is None else found  # no version: written before versions were recorded
    if isinstance(version, str) and version.isdigit():
        version = int(version)  # safetensors metadata holds strings
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise ValueError(f"{source} has {VERSION_KEY}={found!r}, which is not a GIFT format version (1, 2, …).")
    if version > FORMAT_VERSION:
        from . import __version__

        raise ValueError(
            f"{source} was written in GIFT adapter format version {version}, but gift {__version__} reads versions "
            f"up to {FORMAT_VERSION}. Upgrade gift (pip install -U gift-peft) to load it."
        )


def check_tensors(loaded: dict, expected: dict, source: str | Path, target: str, hint: str = "") -> None:
    """Refuse `loaded` unless it holds exactly the keys of `expected`, each with its shape; `hint` ends the error."""
    missing, extra = sorted(set(expected) - set(loaded)), sorted(set(loaded) - set(expected))
    if missing or extra:
        raise ValueError(f"{source} does not match {target}: missing keys {missing[:5]}, extra keys {extra[:5]}.{hint}")
    for key, value in loaded.items():
        if value.shape != expected[key].shape:
            raise ValueError(
                f"{source}: {key!r} has shape {tuple(value.shape)}; {target} expects "
                f"{tuple(expected[key].shape)}.{hint}"
            )


def _layer_shapes(wrapper: GIFTWrapper) -> dict[str, list[int]]:
    return {name: list(layer_shape(layer.base_layer)) for name, layer in wrapper.gift_layers.items()}


def save_adapter(wrapper: GIFTWrapper, directory: str | os.PathLike) -> None:
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    # GIFTConfig's own keys only: transformers' PretrainedConfig fields are not part of the adapter.
    config = {key: value for key, value in wrapper.gift_config.to_dict().items() if key in CONFIG_KEYS}
    config[VERSION_KEY] = FORMAT_VERSION
    config["gift_wrapper"] = {
        "class": type(wrapper).__name__,
        "head_modules": list(wrapper.head_modules),
        "layers": _layer_shapes(wrapper),  # wrapped module → (d_out, d_in), checked against the backbone on load
    }
    state = {k: v.detach().to("cpu").contiguous() for k, v in wrapper.adapter_state_dict().items()}
    metadata = {"format": "pt", VERSION_KEY: str(FORMAT_VERSION)}
    atomic_write(directory / WEIGHTS_NAME, save(state, metadata=metadata))
    atomic_write(directory / CONFIG_NAME, json.dumps(config, indent=2, sort_keys=True).encode())


def _files(directory: str | os.PathLike) -> tuple[Path, Path]:
    directory = Path(directory)
    config_path, weights_path = directory / CONFIG_NAME, directory / WEIGHTS_NAME
    peft = (directory / "adapter_config.json").is_file()
    hint = " (it holds a PEFT adapter: load it with PeftModel.from_pretrained)" if peft else ""
    for path in (config_path, weights_path):
        if not path.is_file():
            raise FileNotFoundError(f"{path} does not exist{hint}; write it with GIFTWrapper.save_pretrained(dir).")
    return config_path, weights_path


def _read_json(config_path: Path) -> dict[str, Any]:
    raw = json.loads(config_path.read_text())
    check_format_version(raw.pop(VERSION_KEY, None), config_path)
    return raw


def read_config_file(config_path: Path) -> tuple[GIFTConfig, dict[str, Any]]:
    """The GIFTConfig in a gift_config.json and its `gift_wrapper` record (the wrapper class, head modules and
    layer shapes); the format version is checked, and a bad key or value names the file."""
    raw = _read_json(config_path)
    wrapper_info = raw.pop("gift_wrapper", {})
    for key in ("transformers_version", "model_type"):
        raw.pop(key, None)
    try:
        return GIFTConfig(**raw), wrapper_info
    except (TypeError, ValueError) as error:
        raise type(error)(f"{config_path}: {error}") from error


def read_config(directory: str | os.PathLike) -> tuple[GIFTConfig, list[str]]:
    """The saved GIFTConfig and the head modules the adapter was saved with; an unknown key is an error."""
    config_path, _ = _files(directory)
    config, wrapper_info = read_config_file(config_path)
    return config, list(wrapper_info.get("head_modules", []))


def load_adapter(wrapper: GIFTWrapper, directory: str | os.PathLike) -> None:
    """Load θ and head tensors into `wrapper`; a missing, extra or mis-shaped key is an error naming it.

    Refused while the wrapper is merged: unmerge() inverts W (I + φψ) with the θ it was merged with.
    """
    refuse_load_when_merged(wrapper)
    config_path, weights_path = _files(directory)
    saved_layers = _read_json(config_path).get("gift_wrapper", {}).get("layers", {})
    current_layers = _layer_shapes(wrapper)
    if saved_layers and saved_layers != current_layers:
        names = sorted(set(saved_layers) | set(current_layers))
        name = next(n for n in names if saved_layers.get(n) != current_layers.get(n))
        raise ValueError(
            f"The adapter in {directory} was saved for another backbone: layer {name!r} is "
            f"{saved_layers.get(name, 'absent')} (d_out, d_in) there and {current_layers.get(name, 'absent')} here."
        )
    with safe_open(str(weights_path), framework="pt") as handle:
        check_format_version((handle.metadata() or {}).get(VERSION_KEY), weights_path)
        loaded = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118 (not iterable)
    expected = wrapper.adapter_state_dict()
    check_tensors(loaded, expected, weights_path, "the wrapper")
    with torch.no_grad():
        for key, target in expected.items():
            target.copy_(loaded[key].to(device=target.device, dtype=target.dtype))
