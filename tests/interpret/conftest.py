"""Small random-init timm ViTs with GIFT on attn.proj and a non-zero θ (no network)."""

from __future__ import annotations

import pytest
import torch

from gift import GIFTConfig, GIFTWrapperForImageClassification

RANK = 8


def wrapped_vit(*, rank: int = RANK, depth: int = 2, config: GIFTConfig | None = None, prompts: int = 0, **timm_kwargs):
    """vit_tiny (D=192, 3 heads) cut to `depth` blocks, GIFT on attn.proj, θ drawn at random, eval mode."""
    import timm

    torch.manual_seed(0)
    backbone = timm.create_model("vit_tiny_patch16_224", pretrained=False, depth=depth, num_classes=5, **timm_kwargs)
    if prompts:
        from gift_experiment_utils.vpt import add_visual_prompts

        add_visual_prompts(backbone, num_prompts=prompts, deep=True, dropout=0.0)
    config = config or GIFTConfig(rank=rank, target_modules=["attn:proj"])
    model = GIFTWrapperForImageClassification(config, backbone)
    with torch.no_grad():
        for parameter in model.theta_parameters():
            parameter.normal_(std=0.1)  # ψ ≠ 0, so the layer output differs from the backbone's
    return model.eval()


@pytest.fixture(scope="session")
def make_vit():
    """The factory `wrapped_vit(rank=8, depth=2, config=None, prompts=0, **timm_kwargs)`."""
    return wrapped_vit


@pytest.fixture(scope="module")
def vit():
    return wrapped_vit()
