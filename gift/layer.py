"""`GIFTLinear`: a frozen linear layer whose weight is generated from itself, computed without ΔW."""

from __future__ import annotations

import torch
from torch import nn
from transformers.pytorch_utils import Conv1D

from .generator import GIFTGenerator
from .product import GIFTProduct, form_costs

SUPPORTED_BASE_LAYERS = (nn.Linear, Conv1D)
FORMS = ("input_side", "generated_b")


def weight_out_in(layer: nn.Module) -> torch.Tensor:
    """The base weight as W ∈ R^{d_out×d_in} (a view: Conv1D stores Wᵀ)."""
    return layer.weight.T if isinstance(layer, Conv1D) else layer.weight


def layer_shape(layer: nn.Module) -> tuple[int, int]:
    d_out, d_in = weight_out_in(layer).shape
    return d_out, d_in


def autocast_casts(device_type: str, dtypes: set[torch.dtype]) -> bool:
    """True when autocast is on for the device type and would cast tensors of all these dtypes to its own
    (it leaves float64 alone; it does not exist for meta tensors)."""
    return (
        torch.amp.is_autocast_available(device_type)
        and torch.is_autocast_enabled(device_type)
        and torch.float64 not in dtypes
    )


def add_product(base: torch.Tensor, left: torch.Tensor, right: torch.Tensor) -> torch.Tensor:
    """base + left @ right for base (..., n), left (..., k), right (k, n).

    When the dtypes agree, or autocast picks one dtype for all three, it is one `addmm` over the flattened
    leading dims: the GEMM accumulates the product into its copy of `base`, with no (..., n) temporary and
    no separate elementwise pass (its backward hands the gradient to `base` untouched). Otherwise, e.g. fp32
    θ on a bf16 model without autocast, the product is computed in `left`'s dtype and cast.
    """
    dtypes = {base.dtype, left.dtype, right.dtype}
    if len(dtypes) > 1 and not autocast_casts(base.device.type, dtypes):
        return base + (left @ right).to(base.dtype)
    flat = torch.addmm(base.reshape(-1, base.shape[-1]), left.reshape(-1, left.shape[-1]), right)
    return flat.view(base.shape)


class GIFTLinear(nn.Module):
    """y = Ŵ x + b with Ŵ = W (I + φ ψ), i.e. ŷ = W x + b + ΔW x, ΔW = out(block(in(W))).

    Symbols → variables: W = `base_layer.weight` (transposed for `Conv1D`), b = `base_layer.bias`;
    φ, ψ, b_in, b_out and the block live in the shared `GIFTGenerator` (see its docstring). ΔW is never
    materialised in the forward; one of two exact forms is used per call, whichever costs fewer FLOPs:

    * input-side form, for the linear generator on an unsliced layer:
          ŷ = W (x + φ (ψ x)) + b + 1 (b_inᵀ ψ x + b_outᵀ x)
      the unchanged base layer is called on an edited input: 2·r·d_in extra FLOPs per token.
    * generated-B form, for any generator and for output slices of fused projections:
          ŷ_s = W_s x + b_s + G_s (ψ x) + 1 b_outᵀ x,   G_s = block(W_s φ + b_in) ∈ R^{d_out_s×r}
      LoRA with a generated B: r·(d_in + d_out) per token plus d_out·d_in·r once per call. Under
      `torch.no_grad` (evaluation, generation) G_s is cached until θ or W changes.

    Training a linear generator without biases on a frozen, plain base layer runs either form as one
    autograd node with a hand-written backward (`gift.product.GIFTProduct`, which also counts the costs);
    everything else goes through plain autograd with the same math. `layer.single_node = False` forces plain
    autograd (an escape hatch, and the baseline of `benchmarks.head_to_head`).

    `slices` holds (row range, generator) pairs: one pair covering all rows for a plain target, one per
    enabled slice for a fused projection such as timm's `attn.qkv`.
    """

    def __init__(self, base_layer: nn.Module, slices: list[tuple[slice, GIFTGenerator]]) -> None:
        super().__init__()
        if not isinstance(base_layer, SUPPORTED_BASE_LAYERS):
            raise TypeError(f"GIFTLinear wraps nn.Linear or transformers Conv1D, got {type(base_layer).__name__}.")
        self.base_layer = base_layer
        self.d_out, self.d_in = layer_shape(base_layer)
        # Generators are owned (registered) by the wrapper, once; layers keep plain references so θ is one
        # object across depth and appears once in state_dict / parameters().
        self._slices = list(slices)
        self.merged = False
        self.single_node = True
        self._cache: dict[int, tuple[tuple, torch.Tensor]] = {}
        self._originals: dict[int, torch.Tensor] = {}

    @property
    def generators(self) -> list[GIFTGenerator]:
        return [generator for _, generator in self._slices]

    @property
    def weight(self) -> torch.Tensor:
        return self.base_layer.weight

    @property
    def bias(self) -> torch.Tensor | None:
        return self.base_layer.bias

    def extra_repr(self) -> str:
        rows = ", ".join(f"{s.start}:{s.stop}" for s, _ in self._slices)
        return f"d_in={self.d_in}, d_out={self.d_out}, rows=[{rows}], merged={self.merged}"

    # ------------------------------------------------------------------ forward
    def forward(self, x: torch.Tensor, *, form: str | None = None) -> torch.Tensor:
        """ŷ for input x (..., d_in). `form` ("input_side" or "generated_b") forces one exact form, for
        benchmarks and tests; by default each call takes the one with fewer multiply-adds."""
        if self.merged:
            return self.base_layer(x)
        if form is not None and form not in FORMS:
            raise ValueError(f"form={form!r} is not a GIFT form; choose one of {FORMS} or None (the cheaper).")
        if form == "input_side" and not self._input_side_applies():
            raise ValueError(
                "form='input_side' needs the linear generator on a whole (unsliced) layer; this layer "
                f"({self.extra_repr()}) only has the generated-B form."
            )
        node_args = self._node_arguments(x)
        input_side = (
            self._input_side_is_cheaper(x, single_node=node_args is not None) if form is None else form == "input_side"
        )
        if node_args is not None:
            return GIFTProduct.apply(*node_args, input_side)
        return self._forward_input_side(x) if input_side else self._forward_generated_b(x)

    def _input_side_applies(self) -> bool:
        (rows, generator), *rest = self._slices
        return not rest and generator.is_linear and rows.stop - rows.start == self.d_out

    def _input_side_is_cheaper(self, x: torch.Tensor, *, single_node: bool) -> bool:
        if not self._input_side_applies():
            return False
        # E.g. Llama-3-8B v_proj (4096→1024), r=64, single node: generated-B from 683 tokens on. The choice assumes
        # the input needs a gradient even where it does not (the single node's backward adapts to that instead), so
        # the output never depends bit for bit on x.requires_grad: a frozen, reloaded copy of a model being
        # trained reproduces its outputs exactly.
        input_side, generated_b = form_costs(
            x.numel() // self.d_in,
            self.d_in,
            self.d_out,
            self._slices[0][1].rank,
            backward=torch.is_grad_enabled(),
            single_node=single_node,
            input_grad=True,
            cached=self._cache_is_valid(0),
        )
        return input_side <= generated_b

    def _node_arguments(self, x: torch.Tensor) -> tuple | None:
        """(x, W, b, φᵀ, ψᵀ) for `GIFTProduct`, in one dtype, or None where plain autograd must run.

        The single autograd node calls no module: it applies when the base layer is exactly `nn.Linear` or `Conv1D`
        (no subclass such as a quantised linear), has no hooks or patched forward (accelerate offloading,
        DeepSpeed ZeRO-3), its weight is frozen, and the generator is linear without biases. Under
        autocast all five are cast to the autocast dtype first, as autocast would cast them op by op.
        """
        if not (self.single_node and torch.is_grad_enabled() and self._input_side_applies()):
            return None
        generator, base = self._slices[0][1], self.base_layer
        if generator.in_proj.bias is not None or generator.out_proj.bias is not None:
            return None
        if type(base) not in SUPPORTED_BASE_LAYERS or base._forward_hooks or base._forward_pre_hooks:
            return None
        weight = weight_out_in(base)
        if "forward" in vars(base) or weight.requires_grad:
            return None
        tensors = [x, weight, base.bias, generator.in_proj.weight, generator.out_proj.weight]
        dtypes = {t.dtype for t in tensors if t is not None}
        if autocast_casts(x.device.type, dtypes):
            dtype = torch.get_autocast_dtype(x.device.type)
            return tuple(None if t is None else t.to(dtype) for t in tensors)
        if len(dtypes) > 1:
            return None  # e.g. fp32 θ on a bf16 model: the autograd forms compute θ's products in θ's dtype
        return tuple(tensors)

    def _forward_input_side(self, x: torch.Tensor) -> torch.Tensor:
        # Called once per token per layer in unmerged generation: look each module attribute up once and
        # skip same-dtype casts, which cost as much as the two rank-r products at one token.
        generator = self._slices[0][1]
        in_proj, out_proj = generator.in_proj, generator.out_proj
        in_weight, out_weight = in_proj.weight, out_proj.weight  # φᵀ: (r, d_in), ψᵀ: (d_in, r)
        x_theta = x if x.dtype == in_weight.dtype else x.to(in_weight.dtype)
        coefficients = x_theta @ out_weight  # ψ x: (..., r)
        out = self.base_layer(add_product(x, coefficients, in_weight))  # W (x + φ ψ x) + b
        shift = None if in_proj.bias is None else coefficients @ in_proj.bias  # b_inᵀ ψ x: (...)
        if out_proj.bias is not None:  # + b_outᵀ x
            shift = x_theta @ out_proj.bias if shift is None else shift + x_theta @ out_proj.bias
        return out if shift is None else out + shift.unsqueeze(-1).to(out.dtype)

    def _forward_generated_b(self, x: torch.Tensor) -> torch.Tensor:
        out = self.base_layer(x)
        weight = weight_out_in(self.base_layer)
        updates = []
        for index, (rows, generator) in enumerate(self._slices):
            x_theta = x.to(generator.dtype)
            generated = self._generated_b(index, weight[rows], generator)  # G_s: (d_out_s, r)
            coefficients = x_theta @ generator.out_proj.weight  # ψ x: (..., r)
            out_bias = generator.out_proj.bias
            bias_term = None if out_bias is None else (x_theta @ out_bias).unsqueeze(-1)  # b_outᵀ x: (..., 1)
            if rows.stop - rows.start == self.d_out:  # the whole layer: W x + b + G ψ x in one addmm
                out = add_product(out, coefficients, generated.T)
                return out if bias_term is None else out + bias_term.to(out.dtype)
            update = coefficients @ generated.T  # G_s ψ x: (..., d_out_s)
            updates.append((rows, (update if bias_term is None else update + bias_term).to(out.dtype)))
        pieces, cursor = [], 0  # concatenate slice updates with zero gaps: no in-place writes on autograd outputs
        for rows, update in updates + [(slice(self.d_out, self.d_out), None)]:
            if rows.start > cursor:
                pieces.append(out.new_zeros(*out.shape[:-1], rows.start - cursor))
            if update is not None:
                pieces.append(update)
            cursor = rows.stop
        return out + torch.cat(pieces, dim=-1)

    # ------------------------------------------------------------------ the G cache
    def _cache_key(self, index: int) -> tuple:
        rows, generator = self._slices[index]
        tensors = [self.base_layer.weight, *generator.parameters()]
        return tuple((t.data_ptr(), t._version, t.device, t.dtype) for t in tensors)

    def _cache_is_valid(self, index: int) -> bool:
        entry = self._cache.get(index)
        return entry is not None and not torch.is_grad_enabled() and entry[0] == self._cache_key(index)

    def _generated_b(self, index: int, weight_rows: torch.Tensor, generator: GIFTGenerator) -> torch.Tensor:
        if torch.is_grad_enabled():
            self._cache.pop(index, None)
            return generator.generated_b(weight_rows)
        if not self._cache_is_valid(index):
            self._cache[index] = (self._cache_key(index), generator.generated_b(weight_rows))
        return self._cache[index][1]

    # ------------------------------------------------------------------ merge / unmerge
    @torch.no_grad()
    def merge(self) -> None:
        """W ← W + ΔW, slice by slice; forward then calls the base layer alone."""
        if self.merged:
            return
        weight = weight_out_in(self.base_layer)
        for index, (rows, generator) in enumerate(self._slices):
            if not generator.is_linear:  # ΔW is not invertible from Ŵ: keep the original rows
                self._originals[index] = weight[rows].clone()
            weight[rows] += generator.delta(weight[rows]).to(weight.dtype)
        self._cache.clear()
        self.merged = True

    @torch.no_grad()
    def unmerge(self) -> None:
        """Restore W. Linear generator: W = (Ŵ − 1cᵀ)(I + φψ)⁻¹ by Woodbury, in float64; else the kept copy."""
        if not self.merged:
            return
        weight = weight_out_in(self.base_layer)
        for index, (rows, generator) in enumerate(self._slices):
            if index in self._originals:
                weight[rows] = self._originals.pop(index)
                continue
            merged = weight[rows].double()
            shift = generator.affine_shift()
            if shift is not None:
                merged = merged - shift.double()
            phi = generator.in_proj.weight.T.double()  # (d_in, r)
            psi = generator.out_proj.weight.T.double()  # (r, d_in)
            eye_r = torch.eye(phi.shape[1], dtype=torch.float64, device=phi.device)
            # (I + φψ)⁻¹ = I − φ (I_r + ψφ)⁻¹ ψ
            restored = merged - (merged @ phi) @ torch.linalg.solve(eye_r + psi @ phi, psi)
            weight[rows] = restored.to(weight.dtype)
        self._cache.clear()
        self.merged = False


def slice_rows(d_out: int, flags: list[bool] | None) -> list[tuple[int, slice]]:
    """(slice index, rows) for each enabled equal output slice; the whole layer when `flags` is None."""
    if not flags:
        return [(0, slice(0, d_out))]
    if d_out % len(flags):
        raise ValueError(f"enable_gift has {len(flags)} slices, which does not divide the layer's {d_out} outputs.")
    size = d_out // len(flags)
    return [(i, slice(i * size, (i + 1) * size)) for i, on in enumerate(flags) if on]
