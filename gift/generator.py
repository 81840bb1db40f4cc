"""The generator θ: the two projections of GIFT and the block between them."""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from .blocks import build_block


class GIFTGenerator(nn.Module):
    """θ = (φ, ψ) for one target type, shared by every layer of that type.

    ΔW = out(block(in(W))), with in(W) = W φ (+ b_in) and out(Z) = Z ψ (+ b_out), for W ∈ R^{d_out×d_in}:

        φ ∈ R^{d_in×r} = `in_proj.weight.T`     (in_proj: d_in → r, applied to each row of W)
        ψ ∈ R^{r×d_in} = `out_proj.weight.T`    (out_proj: r → d_in)
        b_in = `in_proj.bias`, b_out = `out_proj.bias` (optional)

    ψ and b_out start at zero, so ΔW = 0 and the wrapped model equals the backbone at step 0.
    """

    def __init__(
        self,
        d_in: int,
        rank: int,
        *,
        d_out: int,
        options: dict[str, Any],
        in_bias: bool = False,
        out_bias: bool = False,
        device: torch.device | str | None = None,
        dtype: torch.dtype = torch.float32,
    ) -> None:
        super().__init__()
        self.d_in, self.d_out, self.rank = d_in, d_out, rank
        self.in_proj = nn.Linear(d_in, rank, bias=in_bias, device=device, dtype=dtype)
        self.block = build_block(options, rank=rank, d_out=d_out).to(device=device, dtype=dtype)
        self.out_proj = nn.Linear(rank, d_in, bias=out_bias, device=device, dtype=dtype)
        # True when ΔW = W φ ψ + 1 cᵀ: affine in W, so the input-side form and the exact unmerge apply.
        self.is_linear = options["block_type"] == "simple_block" and all(
            isinstance(m, nn.Identity) for m in (self.block.norm, self.block.act)
        )
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.in_proj.weight.is_meta:
            return
        self.in_proj.reset_parameters()
        for tensor in (self.in_proj.bias, self.out_proj.weight, self.out_proj.bias):
            if tensor is not None:
                nn.init.zeros_(tensor)

    @property
    def dtype(self) -> torch.dtype:
        return self.in_proj.weight.dtype

    def generated_b(self, weight: torch.Tensor) -> torch.Tensor:
        """G = block(W φ + b_in) ∈ R^{d_out×r}: the token-independent half of ΔW = G ψ (+ b_out)."""
        return self.block(self.in_proj(weight.to(self.dtype)))

    def delta(self, weight: torch.Tensor) -> torch.Tensor:
        """The literal ΔW = out(block(in(W))) ∈ R^{d_out×d_in}. Used for merging, never in the forward."""
        return self.out_proj(self.generated_b(weight))

    def affine_shift(self) -> torch.Tensor | None:
        """c with ΔW = W φ ψ + 1 cᵀ for the linear generator: c = ψᵀ b_in + b_out (None when both are absent)."""
        if self.in_proj.bias is not None:
            return self.out_proj(self.in_proj.bias)  # ψᵀ b_in + b_out
        return self.out_proj.bias

    def extra_repr(self) -> str:
        return f"d_in={self.d_in}, d_out={self.d_out}, rank={self.rank}, linear={self.is_linear}"
