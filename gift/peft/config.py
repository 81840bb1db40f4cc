"""`GIFTPeftConfig`: the core `GIFTConfig` as a PEFT config (adapter_config.json)."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from peft import PeftConfig

from ..config import CONFIG_KEYS, GIFTArguments, GIFTConfig, refuse_unknown_key
from ..io import FORMAT_VERSION, check_format_version
from ._peft_compat import PEFT_TYPE

# target_modules when none are given, by transformers model_type: the attention query and value
# projections, as in the paper (Llama q_proj+v_proj; RoBERTa query+value).
DEFAULT_TARGET_MODULES: dict[str, list[str]] = {
    **dict.fromkeys(("llama", "mistral", "qwen2", "gemma"), ["q_proj", "v_proj"]),
    **dict.fromkeys(("bert", "roberta", "xlm-roberta", "vit"), ["query", "value"]),
}


@dataclass
class GIFTPeftConfig(PeftConfig, GIFTArguments):
    """GIFT as a PEFT method: Ŵ = W (I + φ ψ) on each target, one θ = (φ, ψ) per target type shared across depth.

    The GIFT arguments are `gift.config.GIFTArguments`, with its defaults, and mean exactly what they mean in
    `gift.GIFTConfig` (see its docstring); None takes the default too. They are resolved and validated by the core
    when the config is built. `target_modules=None` (the default here) picks the query/value projections of the
    model type (`DEFAULT_TARGET_MODULES`) when the adapter is injected. `modules_to_save` are trained and saved
    with θ (PEFT adds the classifier itself for task_type="SEQ_CLS").

        from gift.peft import GIFTPeftConfig
        config = GIFTPeftConfig(rank=64, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM")
    """

    target_modules: list[str] | str | None = None  # None: DEFAULT_TARGET_MODULES of the model type
    modules_to_save: list[str] | None = field(
        default=None, metadata={"help": "modules besides θ to train and save, e.g. a classification head"}
    )
    gift_format_version: int = field(
        default=FORMAT_VERSION, metadata={"help": "the GIFT adapter format (θ key layout); newer ones are refused"}
    )

    def __new__(cls, *args: Any, **kwargs: Any) -> GIFTPeftConfig:
        # The dataclass __init__ would raise a bare TypeError, which peft's loader turns into a warning and a
        # dropped key (its forward compatibility): a typo such as `rnak` in adapter_config.json or in code
        # must fail instead, naming the closest field.
        fields = [f.name for f in dataclasses.fields(cls)]
        fix = (
            f"Its GIFT keys are {list(CONFIG_KEYS)} (plus PEFT's own); fix or remove it where the config is "
            "written (code or adapter_config.json)."
        )
        refuse_unknown_key(kwargs, fields, owner="GIFTPeftConfig", choices=fields, fix=fix)
        return super().__new__(cls)

    def __post_init__(self) -> None:
        super().__post_init__()
        self.peft_type = PEFT_TYPE
        check_format_version(self.gift_format_version, "GIFTPeftConfig (adapter_config.json)")
        resolved = self._core_config()  # validates every value now, with the core's messages
        for name in CONFIG_KEYS:
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
        given = {name: getattr(self, name) for name in CONFIG_KEYS if getattr(self, name) is not None}
        if isinstance(given.get("target_modules"), set):
            given["target_modules"] = sorted(given["target_modules"])
        return GIFTConfig(**given)

    @classmethod
    def from_gift_config(cls, config: GIFTConfig, **peft_kwargs: Any) -> GIFTPeftConfig:
        """The PEFT config of a core `GIFTConfig`; `peft_kwargs` sets task_type, modules_to_save, inference_mode, …"""
        return cls(**{name: getattr(config, name) for name in CONFIG_KEYS}, **peft_kwargs)
