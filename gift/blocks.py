"""Generator blocks: what GIFT does between its two projections.

Each block maps Z = W φ ∈ R^{d_out×r} to a matrix of the same shape, treating the d_out rows of W as
tokens of width r. `simple_block` (an optional activation) is the paper's default; `mlp`, `transformer`
and `mlp_mixer` are the ablations of the original code.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"identity": nn.Identity, "relu": nn.ReLU, "gelu": nn.GELU, "silu": nn.SiLU, "tanh": nn.Tanh}


class L2Norm(nn.Module):
    """Normalise each row (token) to unit L2 norm."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.normalize(z, dim=-1)


def make_norm(kind: str, width: int) -> nn.Module:
    return {"none": nn.Identity, "l2": L2Norm, "ln": lambda: nn.LayerNorm(width)}[kind]()


class SimpleBlock(nn.Module):
    """norm, then activation: identity by default, which makes GIFT linear in W."""

    def __init__(self, rank: int, *, act_layer: str, norm_layer: str) -> None:
        super().__init__()
        self.norm = make_norm(norm_layer, rank)
        self.act = ACTIVATIONS[act_layer]()

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.act(self.norm(z))


class Mlp(nn.Module):
    def __init__(self, width: int, hidden: int, out: int | None = None) -> None:
        super().__init__()
        self.fc1 = nn.Linear(width, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, out or width)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.fc2(self.act(self.fc1(z)))


class MlpBlock(nn.Module):
    """Z + MLP(norm(Z)), hidden width r·mlp_ratio."""

    def __init__(self, rank: int, *, mlp_ratio: float, norm_layer: str) -> None:
        super().__init__()
        self.norm = make_norm(norm_layer, rank)
        self.mlp = Mlp(rank, int(rank * mlp_ratio))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z + self.mlp(self.norm(z))


class TransformerBlock(nn.Module):
    """A pre-norm ViT block whose tokens are the d_out rows of Z: self-attention, then an MLP."""

    def __init__(self, rank: int, *, num_heads: int, mlp_ratio: float, norm_layer: str) -> None:
        super().__init__()
        if rank % num_heads:
            raise ValueError(
                f"gift_parameters num_heads={num_heads} must divide rank={rank} for the transformer block."
            )
        self.num_heads = num_heads
        self.norm1 = make_norm(norm_layer, rank)
        self.qkv = nn.Linear(rank, 3 * rank)
        self.proj = nn.Linear(rank, rank)
        self.norm2 = make_norm(norm_layer, rank)
        self.mlp = Mlp(rank, int(rank * mlp_ratio))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        tokens, width = z.shape  # (d_out, r)
        q, k, v = self.qkv(self.norm1(z)).view(tokens, 3, self.num_heads, width // self.num_heads).unbind(1)
        q, k, v = (t.transpose(0, 1) for t in (q, k, v))  # (heads, d_out, r/heads)
        attended = F.scaled_dot_product_attention(q, k, v).transpose(0, 1).reshape(tokens, width)
        z = z + self.proj(attended)
        return z + self.mlp(self.norm2(z))


class MixerBlock(nn.Module):
    """MLP-Mixer: token mixing over the d_out rows (d_out → num_mixed_tokens → d_out), then channel mixing
    r → 2r → r. Its weights depend on d_out, so every layer sharing it must have the same d_out."""

    def __init__(self, rank: int, *, d_out: int, num_mixed_tokens: int, norm_layer: str) -> None:
        super().__init__()
        self.norm1 = make_norm(norm_layer, rank)
        self.token_mix = Mlp(d_out, num_mixed_tokens)
        self.norm2 = make_norm(norm_layer, rank)
        self.channel_mix = Mlp(rank, 2 * rank)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = z + self.token_mix(self.norm1(z).transpose(0, 1)).transpose(0, 1)
        return z + self.channel_mix(self.norm2(z))


def build_block(options: dict[str, Any], *, rank: int, d_out: int) -> nn.Module:
    """Build the block named by `options["block_type"]` (validated by `GIFTConfig`)."""
    kind, norm = options["block_type"], options["norm_layer"]
    if kind == "simple_block":
        return SimpleBlock(rank, act_layer=options["act_layer"], norm_layer=norm)
    make_one = {
        "mlp": lambda: MlpBlock(rank, mlp_ratio=options["mlp_ratio"], norm_layer=norm),
        "transformer": lambda: TransformerBlock(
            rank, num_heads=options["num_heads"], mlp_ratio=options["mlp_ratio"], norm_layer=norm
        ),
        "mlp_mixer": lambda: MixerBlock(
            rank, d_out=d_out, num_mixed_tokens=options["num_mixed_tokens"], norm_layer=norm
        ),
    }[kind]
    blocks = [make_one() for _ in range(options["num_blocks"])]
    return blocks[0] if len(blocks) == 1 else nn.Sequential(*blocks)
