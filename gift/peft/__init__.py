"""GIFT as a PEFT method: `get_peft_model(model, GIFTPeftConfig(...))`, imported only when used.

    import gift.peft                      # registers peft_type "GIFT" with peft (checks the peft version)
    from gift.peft import GIFTPeftConfig
    from peft import PeftModel, get_peft_model

    model = get_peft_model(backbone, GIFTPeftConfig(rank=64, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"))
    model.save_pretrained("adapter")      # adapter_config.json + adapter_model.safetensors
    model = PeftModel.from_pretrained(fresh_backbone, "adapter")   # after `import gift.peft`

The layers and θ are the core's (`gift.layer.GIFTLinear`, `gift.generator.GIFTGenerator`); see
`gift.peft.tuner`. `save_core_adapter` / `load_core_adapter` convert to and from `GIFTWrapper` folders.
"""

from ._peft_compat import check_peft_version

check_peft_version()  # before anything below imports peft's internals

from ._peft_compat import PEFT_TYPE, register  # noqa: E402
from .config import DEFAULT_TARGET_MODULES, GIFTPeftConfig  # noqa: E402
from .convert import load_core_adapter, save_core_adapter  # noqa: E402
from .layer import GIFTPeftLayer  # noqa: E402
from .tuner import GIFTTuner, adapter_generators  # noqa: E402

register(GIFTPeftConfig, GIFTTuner)

__all__ = [
    "DEFAULT_TARGET_MODULES",
    "PEFT_TYPE",
    "GIFTPeftConfig",
    "GIFTPeftLayer",
    "GIFTTuner",
    "adapter_generators",
    "load_core_adapter",
    "save_core_adapter",
]
