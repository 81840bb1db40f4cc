"""The import path of the original release: `from gift.gift import GIFTConfig, GIFTWrapperForCausalLM, ...`."""

from .config import GIFTConfig
from .wrapper import (
    GIFTWrapper,
    GIFTWrapperForCausalLM,
    GIFTWrapperForImageClassification,
    GIFTWrapperForSeqClassification,
)

__all__ = [
    "GIFTConfig",
    "GIFTWrapper",
    "GIFTWrapperForCausalLM",
    "GIFTWrapperForImageClassification",
    "GIFTWrapperForSeqClassification",
]
