"""GIFT: Generative Interpretable Fine-Tuning (arXiv 2312.00700).

Ŵ = W (I + φ ψ) on each target linear layer, one θ = (φ, ψ) per target type shared across depth.

    from gift import GIFTConfig, GIFTWrapperForCausalLM
    model = GIFTWrapperForCausalLM(GIFTConfig(rank=64, target_modules=["q_proj", "v_proj"]), backbone)
"""

from .config import GIFTConfig
from .generator import GIFTGenerator
from .layer import GIFTLinear
from .wrapper import (
    GIFTWrapper,
    GIFTWrapperForCausalLM,
    GIFTWrapperForImageClassification,
    GIFTWrapperForSeqClassification,
    ParameterCount,
)

__all__ = [
    "GIFTConfig",
    "GIFTGenerator",
    "GIFTLinear",
    "GIFTWrapper",
    "GIFTWrapperForCausalLM",
    "GIFTWrapperForImageClassification",
    "GIFTWrapperForSeqClassification",
    "ParameterCount",
]
__version__ = "0.1.0"
