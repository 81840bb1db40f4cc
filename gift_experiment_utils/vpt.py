"""Visual prompt tuning (VPT, Jia et al. 2022) for timm Vision Transformers, added with hooks.

Deep VPT: before block l, the P prompt tokens of block l sit right after the prefix (CLS) tokens:

    block 0:    [cls, patches]            -> [cls, prompts_0, patches]          (sequence grows by P)
    block l>0:  [cls, out_prompts, patches] -> [cls, prompts_l, patches]        (replaced, not added)
    after the last block the prompt tokens are dropped, so pooling and head see the usual sequence.

Shallow VPT keeps the prompts of block 0 through the network. The prompts live in
`model.visual_prompts` (a registered module, so the optimizer, checkpoints and DDP see them);
initialised uniformly in ±sqrt(6 / (3·patch_area + D)) as in VPT.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class VisualPrompts(nn.Module):
    def __init__(self, depth: int, num_prompts: int, dim: int, patch_area: int, dropout: float) -> None:
        super().__init__()
        bound = math.sqrt(6.0 / (3 * patch_area + dim))
        self.prompts = nn.Parameter(torch.empty(depth, num_prompts, dim).uniform_(-bound, bound))  # (depth, P, D)
        self.dropout = nn.Dropout(dropout)

    def tokens(self, layer: int, batch_size: int) -> torch.Tensor:
        return self.dropout(self.prompts[layer]).unsqueeze(0).expand(batch_size, -1, -1)  # (B, P, D)


def add_visual_prompts(model: nn.Module, *, num_prompts: int, deep: bool, dropout: float) -> VisualPrompts:
    """Attach prompts to `model` (a timm ViT) in place; returns the prompt module."""
    needed = ("blocks", "embed_dim", "num_prefix_tokens", "patch_embed")
    if not all(hasattr(model, attr) for attr in needed):
        raise ValueError(
            f"method.name=vpt needs a timm VisionTransformer (with {', '.join(needed)}); got {type(model).__name__}. "
            "Use another method for this model."
        )
    blocks, prefix = list(model.blocks), model.num_prefix_tokens
    patch = model.patch_embed.patch_size
    patch_area = patch[0] * patch[1] if isinstance(patch, (tuple, list)) else patch * patch
    prompts = VisualPrompts(len(blocks) if deep else 1, num_prompts, model.embed_dim, patch_area, dropout)
    prompts.to(device=model.patch_embed.proj.weight.device)
    model.visual_prompts = prompts

    def put(layer: int, replaced: int):
        """Pre-hook of a block: prompts_layer right after the prefix tokens, in place of the `replaced` there."""

        def hook(module: nn.Module, args: tuple) -> tuple:
            x = args[0]  # (B, prefix + replaced + N, D)
            tokens = prompts.tokens(layer, x.shape[0]).to(x.dtype)
            return (torch.cat([x[:, :prefix], tokens, x[:, prefix + replaced :]], dim=1), *args[1:])

        return hook

    def drop(module: nn.Module, args: tuple, output: torch.Tensor) -> torch.Tensor:
        return torch.cat([output[:, :prefix], output[:, prefix + num_prompts :]], dim=1)  # (B, prefix + N, D)

    blocks[0].register_forward_pre_hook(put(0, replaced=0))  # inserted: the sequence grows by P
    if deep:
        for layer, block in enumerate(blocks[1:], start=1):
            block.register_forward_pre_hook(put(layer, replaced=num_prompts))
    blocks[-1].register_forward_hook(drop)
    return prompts
