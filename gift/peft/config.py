"""`GIFTPeftConfig`: the core `GIFTConfig` as a PEFT config (adapter_config.json)."""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field
from typing import Any

from peft import PeftConfig

from ..config import CONFIG_KEYS, GIFTConfig
from ..io import FORMAT_VERSION, check_format_version
from ._peft_compat import PEFT_TYPE

# target_modules when none are given, by transformers model_type: the attention query and value
# projections, as in the paper (Llama q_proj+v_proj; RoBERTa query+value).
DEFAULT_TARGET_MODULES: dict[str, list[str]] = {
    "llama": ["q_proj", "v_proj"],
    "mistral": ["q_proj", "v_proj"],
    "qwen2": ["q_proj", "v_proj"],
    "gemma": ["q_proj", "v_proj"],
    "bert": ["query", "value"],
    "roberta": ["query", "value"],
    "xlm-roberta": ["query", "value"],
    "vit": ["query", "value"],
}

# The GIFTConfig arguments this config carries. None means "the core GIFTConfig's default", so the
# defaults live in one place (gift/config.py) and a value is validated by the same code in both APIs.
GIFT_FIELDS = CONFIG_KEYS


def _help(text: str) -> dict[str, str]:
    return {"help": text}


@dataclass
class GIFTPeftConfig(PeftConfig):
    """GIFT as a PEFT method: Ŵ = W (I + φ ψ) on each target, one θ = (φ, ψ) per target type shared across depth.

    The GIFT arguments mean exactly what they mean in `gift.GIFTConfig` (see its docstring); left at None they
    take its defaults, resolved and validated when the config is built. `target_modules=None` picks the
    query/value projections of the model type (`DEFAULT_TARGET_MODULES`) when the adapter is injected.
    `modules_to_save` are trained and saved with θ (PEFT adds the classifier itself for task_type="SEQ_CLS").

        from gift.peft import GIFTPeftConfig
        config = GIFTPeftConfig(rank=64, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    """

    rank: int | None = field(default=None, metadata=_help("r, the width of the generator"))
    target_modules: list[str] | str | None = field(
        default=None, metadata=_help("module-name suffixes (':' for '.'), one θ per entry, or one regex")
    )
    dtype: str | None = field(default=None, metadata=_help("dtype of θ: float32, bfloat16 or float16"))
    gift_parameters: dict[str, Any] | None = field(default=None, metadata=_help("the block between the projections"))
    in_projection_bias: bool | None = field(default=None, metadata=_help("a bias on φ"))
    out_projection_bias: bool | None = field(default=None, metadata=_help("a bias on ψ"))
    enable_gift: dict[str, list[bool]] | None = field(
        default=None, metadata=_help("fused projections: which equal output slices get GIFT")
    )
    share_projections: bool | None = field(default=None, metadata=_help("one θ for every target"))
    layers_to_transform: list[int] | int | None = field(default=None, metadata=_help("layer indices to wrap"))
    layers_pattern: str | None = field(default=None, metadata=_help("the name of the module list of layers"))
    modules_to_save: list[str] | None = field(
        default=None, metadata=_help("modules besides θ to train and save, e.g. a classification head")
    )
    gift_format_version: int = field(
        default=FORMAT_VERSION, metadata=_help("the GIFT adapter format (θ key layout); newer ones are refused")
    )

    def __new__(cls, *args: Any, **kwargs: Any) -> GIFTPeftConfig:
        # The dataclass __init__ would raise a bare TypeError, which peft's loader turns into a warning and a
        # dropped key (its forward compatibility): a typo such as `rnak` in adapter_config.json or in code
        # must fail instead, naming the closest field.
        fields = [f.name for f in dataclasses.fields(cls)]
        unknown = [key for key in kwargs if key not in fields]
        if unknown:
            key = unknown[0]
            match = difflib.get_close_matches(key, fields, n=1)
            raise ValueError(
                f"GIFTPeftConfig got an unknown key {key!r}.{f' Did you mean {match[0]!r}?' if match else ''} "
                f"Its GIFT keys are {list(GIFT_FIELDS)} (plus PEFT's own); fix or remove {key!r} where the config "
                "is written (code or adapter_config.json)."
            )
        return super().__new__(cls)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.peft_type = PEFT_TYPE
        check_format_version(self.gift_format_version, "GIFTPeftConfig (adapter_config.json)")
        resolved = self._core_config()  # validates every value now, with the core's messages
        for name in GIFT_FIELDS:
            if name != "target_modules" or self.target_modules is not None:
                setattr(self, name, getattr(resolved, name))  # dtype comes back as a JSON-safe string

    def to_gift_config(self) -> GIFTConfig:
        """The core `GIFTConfig` with these values."""
        if self.target_modules is None:
            raise ValueError(
                "GIFTPeftConfig.target_modules is None: it is resolved from the model type when the adapter is "
                "injected (get_peft_model); pass target_modules=[...] to convert the config before that."
            )
        return self._core_config()

    def _core_config(self) -> GIFTConfig:
        given = {name: getattr(self, name) for name in GIFT_FIELDS if getattr(self, name) is not None}
        if isinstance(given.get("target_modules"), set):
            given["target_modules"] = sorted(given["target_modules"])
        return GIFTConfig(**given)

    @classmethod
    def from_gift_config(cls, config: GIFTConfig, **peft_kwargs: Any) -> GIFTPeftConfig:
        """The PEFT config of a core `GIFTConfig`; `peft_kwargs` sets task_type, modules_to_save, inference_mode, …"""
        values = {name: getattr(config, name) for name in GIFT_FIELDS}
        return cls(**values, **peft_kwargs)
