"""Which modules of a backbone GIFT wraps, and which θ each one shares."""

from __future__ import annotations

import re
from dataclasses import dataclass

from torch import nn

from .config import GIFTConfig
from .layer import SUPPORTED_BASE_LAYERS, GIFTLinear, layer_shape


@dataclass(frozen=True)
class Target:
    name: str  # full module name in the backbone, e.g. "model.layers.3.self_attn.q_proj"
    type_key: str  # the θ it shares: the config entry ("q_proj", "attn:proj") or the regex-derived type
    module: nn.Module


def layer_index(name: str, layers_pattern: str | None) -> int | None:
    """The layer index in a module name: the number after `layers_pattern`, or the first numeric component."""
    parts = name.split(".")
    for i, part in enumerate(parts):
        if not part.isdigit():
            continue
        if layers_pattern is None or (i > 0 and parts[i - 1] == layers_pattern):
            return int(part)
    return None


def regex_type_key(name: str) -> str:
    """θ key of a regex match: the name after its last numeric component ('layers.3.self_attn.q_proj' → 'self_attn:q_proj')."""
    parts = name.split(".")
    numeric = [i for i, part in enumerate(parts) if part.isdigit()]
    tail = parts[numeric[-1] + 1 :] if numeric and numeric[-1] + 1 < len(parts) else parts
    return ":".join(tail)


def _matching_entry(name: str, config: GIFTConfig) -> str | None:
    if isinstance(config.target_modules, str):
        return regex_type_key(name) if re.fullmatch(config.target_modules, name) else None
    for entry in config.target_modules:
        suffix = entry.replace(":", ".")
        if name == suffix or name.endswith("." + suffix):
            return entry
    return None


def find_targets(backbone: nn.Module, config: GIFTConfig) -> list[Target]:
    """Every module GIFT wraps, in module order; errors name the pattern or module that is wrong."""
    targets, matched_entries = [], set()
    for name, module in backbone.named_modules():
        entry = _matching_entry(name, config) if name else None
        if entry is None:
            continue
        matched_entries.add(entry)
        layers = config.layers_to_transform
        if layers is not None and layer_index(name, config.layers_pattern) not in layers:
            continue
        if isinstance(module, GIFTLinear):
            raise ValueError(f"Module {name!r} is already wrapped by GIFT; wrap the original backbone once.")
        if not isinstance(module, SUPPORTED_BASE_LAYERS):
            raise TypeError(
                f"GIFT target {entry!r} matched {name!r}, a {type(module).__name__}; GIFT wraps nn.Linear and "
                "transformers Conv1D layers. Name the linear layers inside it instead (e.g. 'attn:proj')."
            )
        targets.append(Target(name, entry, module))
    _check_all_matched(backbone, config, matched_entries, targets)
    _check_enable_gift(config, matched_entries)
    return targets


def _check_all_matched(backbone: nn.Module, config: GIFTConfig, matched: set[str], targets: list[Target]) -> None:
    if isinstance(config.target_modules, str):
        missing = [] if matched else [config.target_modules]
    else:
        missing = [entry for entry in config.target_modules if entry not in matched]
    if missing or not targets:
        linear_names = [n for n, m in backbone.named_modules() if isinstance(m, SUPPORTED_BASE_LAYERS)]
        examples = ", ".join(linear_names[:8]) or "(the backbone has no linear layers)"
        what = f"target_modules entry {missing[0]!r}" if missing else "target_modules with layers_to_transform"
        raise ValueError(
            f"GIFT {what} matches no module of {type(backbone).__name__}. Entries are name suffixes "
            f"(':' for '.') or one regex; linear layers that exist include: {examples}."
        )


def _check_enable_gift(config: GIFTConfig, matched: set[str]) -> None:
    for key in config.enable_gift:
        if key not in matched:
            raise ValueError(
                f"enable_gift names {key!r}, which is not a matched target; matched targets: {sorted(matched)}."
            )


def group_by_type(targets: list[Target]) -> dict[str, list[Target]]:
    """Targets per θ key, checking that every layer of one type has the same shape."""
    groups: dict[str, list[Target]] = {}
    for target in targets:
        groups.setdefault(target.type_key, []).append(target)
    for key, members in groups.items():
        shapes = {layer_shape(t.module) for t in members}
        if len(shapes) > 1:
            by_shape = {shape: next(t.name for t in members if layer_shape(t.module) == shape) for shape in shapes}
            listing = "; ".join(f"{name} is (d_out, d_in)={shape}" for shape, name in by_shape.items())
            raise ValueError(
                f"GIFT target {key!r} matches layers of different shapes ({listing}). One θ per target needs one "
                "shape: split the entry into narrower suffixes."
            )
    return groups
