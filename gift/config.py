"""`GIFTConfig`: where GIFT goes and what its generator looks like.

A `transformers.PretrainedConfig`, so it round-trips through JSON with `save_pretrained` /
`from_pretrained`. Every value is validated here, when the config is built, so a bad value fails
before any model is touched.
"""

from __future__ import annotations

import copy
import difflib
import functools
import os
import re
import warnings
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import torch
from transformers import PretrainedConfig

DTYPES: dict[str, torch.dtype] = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
BLOCK_TYPES = ("simple_block", "mlp", "transformer", "mlp_mixer")
ACT_LAYERS = ("identity", "relu", "gelu", "silu", "tanh")
NORM_LAYERS = ("none", "l2", "ln")


@dataclass
class GIFTArguments:
    """GIFT's arguments and their defaults, in one place. `GIFTConfig` takes these keywords (and validates them),
    the experiment engine's `method:` section inherits them, and `gift.peft.GIFTPeftConfig` resolves its unset
    fields to these defaults. Meanings: see `GIFTConfig`."""

    rank: int = 64
    target_modules: list[str] | str = field(default_factory=lambda: ["q_proj", "v_proj"])
    dtype: str = "float32"  # of θ
    gift_parameters: dict[str, Any] = field(default_factory=dict)  # the generator block; see GENERATOR_DEFAULTS
    in_projection_bias: bool = False
    out_projection_bias: bool = False
    enable_gift: dict[str, list[bool]] | None = None  # fused projections: {"attn:qkv": [True, False, True]}
    share_projections: bool = False
    layers_to_transform: list[int] | None = None
    layers_pattern: str | None = None

    def to_kwargs(self) -> dict[str, Any]:
        """The arguments as `GIFTConfig` keywords (copies, so the config never shares a list with this object)."""
        return copy.deepcopy({name: getattr(self, name) for name in CONFIG_KEYS})


# The arguments of GIFTConfig: what gift_config.json holds, and the keys a typo is matched against.
CONFIG_KEYS = tuple(item.name for item in fields(GIFTArguments))
_DEFAULT_IF_NONE = ("target_modules", "dtype", "gift_parameters")  # GIFTConfig(dtype=None) is float32, etc.

# Options of the generator block (docs/design.md#the-generator). Defaults live here and only here.
GENERATOR_DEFAULTS: dict[str, Any] = {
    "block_type": "simple_block",  # simple_block | mlp | transformer | mlp_mixer
    "act_layer": "identity",  # simple_block: activation between the projections
    "norm_layer": "none",  # none | l2 (normalise each row of W φ) | ln (LayerNorm over r)
    "mlp_ratio": 4.0,  # mlp / transformer / mlp_mixer: hidden width = r * mlp_ratio
    "num_heads": 1,  # transformer: attention heads over the d_out row-tokens (must divide r)
    "num_blocks": 1,  # mlp / transformer / mlp_mixer: blocks stacked between the projections
    "num_mixed_tokens": 64,  # mlp_mixer: token-mixing width (d_out -> this -> d_out)
}


# Arguments of transformers' from_pretrained that say where to find a file; no meaning for a local adapter folder.
_LOADER_KWARGS = frozenset(
    (
        "cache_dir",
        "force_download",
        "local_files_only",
        "token",
        "revision",
        "proxies",
        "subfolder",
        "trust_remote_code",
    )
)


def _closest(name: str, choices) -> str:
    match = difflib.get_close_matches(name, list(choices), n=1)
    return f" Did you mean {match[0]!r}?" if match else ""


def refuse_unknown_key(given, known, *, owner: str, choices, fix: str) -> None:
    """Raise ValueError for the first key of `given` not in `known`, naming the closest of `choices`, then `fix`."""
    unknown = [key for key in given if key not in known]
    if unknown:
        raise ValueError(f"{owner} got an unknown key {unknown[0]!r}.{_closest(unknown[0], choices)} {fix}")


@functools.cache
def _pretrained_config_keys() -> frozenset[str]:
    """Keys transformers' PretrainedConfig writes (to_dict) or takes from from_pretrained: accepted, never GIFT's."""
    loader_keys = {"name_or_path", "num_labels", "torch_dtype", "attn_implementation", "experts_implementation"}
    return frozenset(PretrainedConfig().to_dict()) | loader_keys | {"_commit_hash"}


def _check_bool(name: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"GIFTConfig {name} must be True or False, got {value!r} ({type(value).__name__}).")
    return value


def _is_positive_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def resolve_dtype(dtype: str | torch.dtype | None) -> str:
    """Return the canonical dtype string for `dtype` (a string such as "bfloat16" or a torch dtype)."""
    if dtype is None:
        return "float32"
    name = str(dtype).removeprefix("torch.")  # a torch dtype reads "torch.bfloat16"
    name = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16", "half": "float16"}.get(name, name)
    if name not in DTYPES:
        raise ValueError(f"GIFTConfig dtype={dtype!r} is not supported; use one of {list(DTYPES)}.")
    return name


def _validate_generator(options: dict[str, Any] | None) -> dict[str, Any]:
    options = dict(options or {})
    valid = sorted(GENERATOR_DEFAULTS)
    refuse_unknown_key(options, valid, owner="gift_parameters", choices=valid, fix=f"Valid keys: {valid}.")
    resolved = {**GENERATOR_DEFAULTS, **options}
    for key, choices in (("block_type", BLOCK_TYPES), ("act_layer", ACT_LAYERS), ("norm_layer", NORM_LAYERS)):
        value = resolved[key]
        if value is None and key == "norm_layer":
            resolved[key] = value = "none"
        if value not in choices:
            raise ValueError(
                f"gift_parameters[{key!r}]={value!r} is not one of {list(choices)}.{_closest(str(value), choices)}"
            )
    for key in ("num_heads", "num_blocks", "num_mixed_tokens"):
        if not _is_positive_int(resolved[key]):
            raise ValueError(f"gift_parameters[{key!r}] must be a positive integer, got {resolved[key]!r}.")
    ratio = resolved["mlp_ratio"]
    if not isinstance(ratio, (int, float)) or isinstance(ratio, bool) or ratio <= 0:
        raise ValueError(f"gift_parameters['mlp_ratio'] must be a positive number, got {ratio!r}.")
    return resolved


def _validate_targets(target_modules: Any) -> list[str] | str:
    if isinstance(target_modules, str):  # one regex, matched against full module names
        try:
            re.compile(target_modules)
        except re.error as error:
            raise ValueError(
                f"GIFTConfig target_modules={target_modules!r} is not a valid regular expression ({error}). "
                "Fix the pattern, or give a list of module-name suffixes such as ['q_proj', 'v_proj']."
            ) from None
        return target_modules
    if not isinstance(target_modules, (list, tuple)) or not target_modules:
        raise ValueError(
            f"GIFTConfig target_modules={target_modules!r}: give a non-empty list of module-name suffixes "
            "(':' stands for '.', e.g. ['q_proj', 'v_proj'] or ['attn:proj']) or one regex string."
        )
    if not all(isinstance(t, str) and t for t in target_modules):
        raise ValueError(f"GIFTConfig target_modules entries must be non-empty strings, got {target_modules!r}.")
    return list(target_modules)


def _validate_enable_gift(enable_gift: Any) -> dict[str, list[bool]]:
    if enable_gift is None:
        return {}
    if not isinstance(enable_gift, dict):
        raise ValueError(f"GIFTConfig enable_gift must map a target to a list of booleans, got {enable_gift!r}.")
    for target, flags in enable_gift.items():
        if not isinstance(flags, (list, tuple)) or not flags or not all(isinstance(f, bool) for f in flags):
            raise ValueError(
                f"enable_gift[{target!r}] must be a non-empty list of booleans such as [True, False, True]."
            )
        if not any(flags):
            raise ValueError(f"enable_gift[{target!r}]={flags}: enable at least one slice, or drop the target.")
    return {target: list(flags) for target, flags in enable_gift.items()}


def _validate_layers(layers_to_transform: Any, layers_pattern: Any) -> list[int] | None:
    layers = [layers_to_transform] if isinstance(layers_to_transform, int) else layers_to_transform
    if layers is not None and (
        not isinstance(layers, (list, tuple))
        or not all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in layers)
    ):
        raise ValueError(
            f"GIFTConfig layers_to_transform={layers_to_transform!r}: give a layer index, a list of "
            "indices (integers >= 0), or None for every layer."
        )
    if layers_pattern is not None and (not isinstance(layers_pattern, str) or not layers_pattern):
        raise ValueError(
            f"GIFTConfig layers_pattern={layers_pattern!r}: give the name of the module list that holds the "
            "layers (e.g. 'layers'), or None."
        )
    return None if layers is None else list(layers)


class GIFTConfig(PretrainedConfig):
    """Configuration of GIFT: Ŵ = W (I + φ ψ) on every target linear layer, one θ = (φ, ψ) per target type.

    Args:
        rank: r, the width of the generator (φ: d_in×r, ψ: r×d_in).
        target_modules: module-name suffixes (':' stands for '.', so `attn:proj` matches `blocks.3.attn.proj`),
            one θ per entry; or one regex string matched (fullmatch) against full module names, one θ per
            module name with its layer index removed (`layers.3.self_attn.q_proj` → `self_attn.q_proj`).
        dtype: dtype of θ, "float32" (default), "bfloat16" or "float16"; a torch dtype is accepted too.
        gift_parameters: the generator block between the projections; keys and defaults in `GENERATOR_DEFAULTS`.
        in_projection_bias / out_projection_bias: add a bias to φ / ψ (initialised to zero).
        enable_gift: for fused projections, which equal output slices get GIFT, e.g. {"attn:qkv": [True, False, True]};
            each enabled slice has its own θ, like q_proj and v_proj in a Llama.
        share_projections: one θ for every target (all targets must have the same d_in).
        layers_to_transform: layer indices (or one index) to wrap; None wraps every layer.
        layers_pattern: the name of the module list holding the layers ("layers", "blocks", "layer"); by default
            the first numeric component of a module name is its layer index.

    Any other key is an error naming the closest of these (transformers' own PretrainedConfig keys pass), in
    code, in `from_pretrained` overrides and in saved files alike; the three flags take only booleans.
    """

    model_type = "gift"

    def __init__(self, **kwargs: Any) -> None:  # the keywords of GIFTArguments, with its defaults
        if "gift_paramters" in kwargs:  # the misspelling of the original README, honoured
            warnings.warn(
                "GIFTConfig got 'gift_paramters' (misspelt); using it as 'gift_parameters'.", UserWarning, stacklevel=2
            )
            misspelt = kwargs.pop("gift_paramters")
            kwargs["gift_parameters"] = {**(misspelt or {}), **(kwargs.get("gift_parameters") or {})}
        given = {name: kwargs.pop(name) for name in CONFIG_KEYS if name in kwargs}
        # PretrainedConfig would keep any other keyword as an attribute, so a typo such as `rnak=8` would silently
        # leave the default in place: refuse it, naming the closest GIFTConfig argument.
        refuse_unknown_key(
            kwargs,
            _pretrained_config_keys(),
            owner="GIFTConfig",
            choices=CONFIG_KEYS,
            fix=f"Its keys are {list(CONFIG_KEYS)}; fix or remove it where the config is written (code or "
            "gift_config.json).",
        )
        kwargs.pop("torch_dtype", None)
        args = GIFTArguments().to_kwargs()
        for name, value in given.items():  # None stands for the default only where the type has no None of its own
            if value is not None or name not in _DEFAULT_IF_NONE:
                args[name] = value
        if not _is_positive_int(args["rank"]):
            raise ValueError(f"GIFTConfig rank must be an integer >= 1, got {args['rank']!r}.")
        self.rank = args["rank"]
        self.target_modules = _validate_targets(args["target_modules"])
        self.gift_dtype = resolve_dtype(args["dtype"])
        self.gift_parameters = _validate_generator(args["gift_parameters"])
        self.in_projection_bias = _check_bool("in_projection_bias", args["in_projection_bias"])
        self.out_projection_bias = _check_bool("out_projection_bias", args["out_projection_bias"])
        self.enable_gift = _validate_enable_gift(args["enable_gift"])
        self.share_projections = _check_bool("share_projections", args["share_projections"])
        self.layers_to_transform = _validate_layers(args["layers_to_transform"], args["layers_pattern"])
        self.layers_pattern = args["layers_pattern"]
        super().__init__(**kwargs)

    @classmethod
    def from_dict(cls, config_dict: dict[str, Any], **kwargs: Any) -> GIFTConfig:
        """Build from a dict (as `from_pretrained` does); keyword overrides are checked like constructor arguments.

        transformers' own `from_dict` sets overrides as attributes after construction, skipping validation,
        and drops unknown ones; here `from_pretrained(path, rnak=8)` is an error and `rank="8"` too.
        """
        return_unused_kwargs = kwargs.pop("return_unused_kwargs", False)
        for key in ("_from_auto", "_from_pipeline"):  # telemetry flags of transformers' loaders
            kwargs.pop(key, None)
        config = cls(**{**config_dict, **kwargs})
        return (config, {}) if return_unused_kwargs else config

    @classmethod
    def from_pretrained(cls, pretrained_model_name_or_path: str | os.PathLike, **kwargs: Any) -> GIFTConfig:
        """The config of an adapter folder or of a config folder; keyword overrides are checked like arguments.

        An adapter folder (`GIFTWrapper.save_pretrained`, `gift.peft.save_core_adapter`) or its `gift_config.json`:
        that file is read as `GIFTWrapper.from_pretrained` reads it (format version checked, the wrapper record
        left out); θ is not loaded. A config folder (`GIFTConfig.save_pretrained`), its `config.json` or a hub id:
        read by transformers. A local folder that has neither file is an error, where transformers would
        return the defaults.
        """
        from .io import CONFIG_NAME as ADAPTER_CONFIG_NAME
        from .io import read_config_file

        path = Path(pretrained_model_name_or_path, kwargs.get("subfolder") or "")
        adapter_file = path / ADAPTER_CONFIG_NAME if path.is_dir() else path
        if adapter_file.name == ADAPTER_CONFIG_NAME and adapter_file.is_file():
            config, _ = read_config_file(adapter_file)
            overrides = {key: value for key, value in kwargs.items() if key not in _LOADER_KWARGS}
            return cls.from_dict(config.to_dict(), **overrides) if overrides else config
        if path.is_dir() and not (path / "config.json").is_file():
            peft = (path / "adapter_config.json").is_file()
            hint = " (it holds a PEFT adapter: read it with gift.peft.GIFTPeftConfig.from_pretrained)" if peft else ""
            raise FileNotFoundError(
                f"{path} holds neither {ADAPTER_CONFIG_NAME} (an adapter, written by GIFTWrapper.save_pretrained) nor "
                f"config.json (written by GIFTConfig.save_pretrained); pass the folder that holds one of them{hint}."
            )
        return super().from_pretrained(pretrained_model_name_or_path, **kwargs)

    # `dtype` is also a PretrainedConfig attribute; keep GIFT's own under another name so transformers'
    # handling of model dtypes never rewrites it, and expose it as `config.dtype`.
    @property
    def dtype(self) -> str:  # type: ignore[override]
        return self.gift_dtype

    @dtype.setter
    def dtype(self, value: str | torch.dtype | None) -> None:
        if value is not None and "gift_dtype" in self.__dict__:
            self.gift_dtype = resolve_dtype(value)

    @property
    def torch_dtype_of_theta(self) -> torch.dtype:
        return DTYPES[self.gift_dtype]

    def to_dict(self) -> dict[str, Any]:
        output = super().to_dict()
        output["dtype"] = output.pop("gift_dtype", self.gift_dtype)
        return output
