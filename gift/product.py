"""One autograd node for a frozen linear layer under the linear GIFT generator, and what each form costs.

Training through `GIFTLinear` with plain autograd builds 4–5 nodes per layer and leaves the engine to sum
the two contributions to the input gradient (one more pass over a T×d_in tensor). `GIFTProduct` does the
base layer and GIFT's rank-r products in one `autograd.Function` with a hand-written backward: the input
gradient dy W + dc ψᵀ is one GEMM accumulated into another, and where the layer input needs no gradient
(the first block of a model on frozen embeddings) it never forms dy W at all, which plain autograd does
for the input-side form. The math is the same as `GIFTLinear`'s docstring; tests/core/test_product.py checks
values and gradients against the literal W (I + φ ψ) and counts the products each form runs.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


class GIFTProduct(torch.autograd.Function):
    """ŷ = W x + b + W φ ψ x for a frozen W, in one of two exact orders.

    Arguments map to `GIFTLinear`'s symbols: `weight` W (d_out, d_in), `bias` b or None, `phi_t` = φᵀ
    (r, d_in) = `in_proj.weight`, `psi_t` = ψᵀ (d_in, r) = `out_proj.weight`, all of one dtype.

    * input-side: c = ψ x, ŷ = W (x + φ c) + b
    * generated-B: c = ψ x, G = W φ (d_out, r), ŷ = W x + b + G c

    Backward, with dy the output gradient (c, φ, ψ and G as above):
        dx = dy W + dc ψᵀ,  dc = dy G = (dy W) φ,  dψᵀ = xᵀ dc,  dφᵀ = cᵀ (dy W) = (dyᵀ c)ᵀ W,  db = Σ dy
    each product taken in whichever order is cheaper given what the forward kept and what needs a gradient.
    W itself must not need one (`GIFTLinear` routes trainable base weights through plain autograd).
    """

    @staticmethod
    def forward(ctx, x, weight, bias, phi_t, psi_t, input_side: bool):  # noqa: ANN001, ANN205 (autograd API)
        flat = x.reshape(-1, x.shape[-1])  # (N, d_in)
        coefficients = flat @ psi_t  # ψ x: (N, r)
        if input_side:
            generated = None
            out = F.linear(torch.addmm(flat, coefficients, phi_t), weight, bias)  # W (x + φ ψ x) + b
        else:
            generated = weight @ phi_t.T  # G = W φ: (d_out, r)
            out = F.linear(flat, weight, bias).addmm_(coefficients, generated.T)  # W x + b + G ψ x
        ctx.save_for_backward(flat, coefficients, weight, phi_t, psi_t, generated)
        ctx.input_shape = x.shape
        return out.view(*x.shape[:-1], out.shape[-1])

    @staticmethod
    def backward(ctx, grad_out):  # noqa: ANN001, ANN205 (autograd API)
        flat, coefficients, weight, phi_t, psi_t, generated = ctx.saved_tensors
        need_x, _, need_bias, need_phi, need_psi, _ = ctx.needs_input_grad
        grad = grad_out.reshape(-1, grad_out.shape[-1])  # dy: (N, d_out)
        tokens, (d_out, d_in) = grad.shape[0], weight.shape
        grad_x = grad_phi_t = grad_psi_t = grad_bias = None
        if need_x:
            grad_x = grad @ weight  # dy W: the frozen layer's own input gradient, (N, d_in)
            if need_phi:
                if tokens * d_in <= tokens * d_out + d_out * d_in:
                    grad_phi_t = coefficients.T @ grad_x  # cᵀ (dy W): (r, d_in)
                else:
                    grad_phi_t = (grad.T @ coefficients).T @ weight  # (dyᵀ c)ᵀ W
            grad_c = grad @ generated if generated is not None else grad_x @ phi_t.T  # dc: (N, r)
            if need_psi:
                grad_psi_t = flat.T @ grad_c  # (d_in, r)
            grad_x.addmm_(grad_c, psi_t.T)  # dy W + dc ψᵀ, accumulated by the GEMM
            grad_x = grad_x.view(ctx.input_shape)
        elif need_phi or need_psi:
            # No input gradient: never form dy W (N·d_out·d_in); go through G, d_out·d_in·r, instead.
            if generated is None:
                generated = weight @ phi_t.T
            if need_phi:
                grad_phi_t = (grad.T @ coefficients).T @ weight
            if need_psi:
                grad_psi_t = flat.T @ (grad @ generated)
        if need_bias:
            grad_bias = grad.sum(0)
        return grad_x, None, grad_bias, grad_phi_t, grad_psi_t, None


def form_costs(
    tokens: int,
    d_in: int,
    d_out: int,
    rank: int,
    *,
    backward: bool,
    single_node: bool = True,
    input_grad: bool = True,
    cached: bool = False,
) -> tuple[int, int]:
    """Multiply-adds GIFT adds to one call of a d_in → d_out layer: (input-side form, generated-B form).

    `backward`: a training call, forward + backward; else a forward under no_grad (`cached`: G is already
    held). `single_node`: through `GIFTProduct`; else through plain autograd. `input_grad`: the layer input needs
    a gradient. W is frozen, so no term has a weight gradient of W; the base layer's own cost (forward
    and, with `input_grad`, dy W) is not counted. N = tokens, d = d_in.
    """
    n, d, r = tokens, d_in, rank
    weight_sized = d_out * d * r  # G = W φ, or dφᵀ = dGᵀ W
    if not backward:
        return 2 * n * d * r, n * r * (d + d_out) + (0 if cached else weight_sized)
    if single_node and input_grad:
        # input-side: ψx, φc; dc, dc ψᵀ, dψ. generated-B: ψx, G, Gc; dc, dc ψᵀ, dψ. Both: dφ by the cheaper route.
        grad_phi = min(n * d * r, n * d_out * r + weight_sized)
        return 5 * n * d * r + grad_phi, 3 * n * d * r + 2 * n * d_out * r + weight_sized + grad_phi
    if single_node:
        # Both forms: dc = dy G, dG = dyᵀ c, dφᵀ = dGᵀ W, dψ; the input-side form builds G in backward.
        return (
            3 * n * d * r + 2 * n * d_out * r + 2 * weight_sized,
            2 * n * d * r + 3 * n * d_out * r + 2 * weight_sized,
        )
    # Plain autograd: the input-side form always forms dy W (the edited input needs its gradient), which
    # is free only when the floor needs it too; generated-B is LoRA's count with B = G, G and dφ = Wᵀ dG.
    generated_b = 3 * n * r * (d + d_out) + 2 * weight_sized
    if input_grad:
        return 6 * n * d * r, generated_b
    return 5 * n * d * r + n * d_out * d, generated_b - n * d * r
