"""The variants every benchmark compares, put on the same frozen model, and their extra FLOPs by formula.

floor  the frozen model alone; the gradient still flows through every layer (to the input)
gift   this library: GIFTWrapper, one θ = (φ, ψ) per target type, ΔW never materialised
lora   PEFT LoRA, same rank and targets, no dropout
naive  the original release's form, written here: ΔW = out(in(W)) = W φ ψ built in every forward of
       every layer, then ŷ = W x + b + x ΔWᵀ (a second full-size matmul)
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import torch
from torch import nn

from benchmarks import harness
from gift import GIFTConfig, GIFTWrapper
from gift.product import form_costs

TRAIN_VARIANTS = ("floor", "gift", "lora", "naive")
# the random 2-layer Llama of the CPU tests (`whole_model --model tiny-llama`, `gpu_throughput --size tiny`)
TINY_LLAMA = dict(
    hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2
)


class NaiveGenerator(nn.Module):
    """θ of the naive form, laid out as in the original release: in_proj (d_in → r), out_proj (r → d_in)."""

    def __init__(self, d_in: int, rank: int, *, dtype: torch.dtype = torch.float32) -> None:
        super().__init__()
        self.in_proj = nn.Linear(d_in, rank, bias=False, dtype=dtype)
        self.out_proj = nn.Linear(rank, d_in, bias=False, dtype=dtype)
        nn.init.zeros_(self.out_proj.weight)  # ΔW = 0 at step 0, like GIFT

    def delta(self, weight: torch.Tensor) -> torch.Tensor:
        return self.out_proj(self.in_proj(weight.to(self.in_proj.weight.dtype)))  # (d_out, d_in)


class NaiveGIFTLinear(nn.Module):
    """ŷ = W x + b + x ΔWᵀ with ΔW = W φ ψ rebuilt on every call: 2·d_out·d_in·r + T·d_in·d_out MACs forward."""

    def __init__(self, base_layer: nn.Linear, generator: NaiveGenerator) -> None:
        super().__init__()
        self.base_layer = base_layer
        self._generator = [generator]  # a plain reference: θ is registered once, on the model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        delta = self._generator[0].delta(self.base_layer.weight).to(x.dtype)  # (d_out, d_in), every call
        return self.base_layer(x) + nn.functional.linear(x, delta)


def _matches(name: str, targets: Sequence[str]) -> str | None:
    return next((t for t in targets if name == t or name.endswith("." + t)), None)


class NaiveWrapper(nn.Module):
    """Owns the naive θ (one NaiveGenerator per target type) next to the backbone it was injected into."""

    def __init__(self, backbone: nn.Module, targets: Sequence[str], rank: int, *, dtype: torch.dtype) -> None:
        super().__init__()
        self.backbone = backbone.requires_grad_(False)
        self.naive_generators = nn.ModuleDict()
        for name, module in list(backbone.named_modules()):
            target = _matches(name, targets)
            if target is None or not isinstance(module, nn.Linear):
                continue
            if target not in self.naive_generators:
                generator = NaiveGenerator(module.in_features, rank, dtype=dtype).to(module.weight.device)
                self.naive_generators[target] = generator
            backbone.set_submodule(name, NaiveGIFTLinear(module, self.naive_generators[target]))

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.backbone(*args, **kwargs)


def attach(
    model: nn.Module, variant: str, *, targets: Sequence[str], rank: int, adapter_dtype: str = "float32"
) -> nn.Module:
    """Put `variant` on the frozen `model` (in place) and return the module to call; θ is the trainable part."""
    model.requires_grad_(False)
    if variant == "floor":
        return model
    if variant == "gift":
        return GIFTWrapper(GIFTConfig(rank=rank, target_modules=list(targets), dtype=adapter_dtype), model)
    if variant == "lora":
        from peft import LoraConfig, get_peft_model

        config = LoraConfig(r=rank, lora_alpha=rank, target_modules=list(targets), lora_dropout=0.0)
        # autocast_adapter_dtype=True (PEFT's default) keeps LoRA weights in float32 on a bf16 model, as GIFT's θ
        return get_peft_model(model, config, autocast_adapter_dtype=adapter_dtype == "float32")
    if variant == "naive":
        return NaiveWrapper(model, targets, rank, dtype=getattr(torch, adapter_dtype))
    raise ValueError(f"unknown variant {variant!r}; choose from {list(TRAIN_VARIANTS)}.")


class BaseSwitch:
    """Swap every adapted layer (GIFTLinear, PEFT LoRA, NaiveGIFTLinear: anything holding a `base_layer`) for its
    frozen base layer and back, so that one process can time its variant against the bare model on the very
    same weights (a paired measurement, free of process-to-process differences)."""

    def __init__(self, backbone: nn.Module) -> None:
        self.backbone = backbone
        self.layers = {
            name: module
            for name, module in backbone.named_modules()
            if name and isinstance(getattr(module, "base_layer", None), nn.Linear)
        }

    def use_base(self, base: bool) -> None:
        for name, layer in self.layers.items():
            self.backbone.set_submodule(name, layer.base_layer if base else layer)


def time_with_floor(
    step: Callable[[], None], floor_step: Callable[[], None], backbone: nn.Module, *, repeats: int, paired: bool
) -> dict[str, list[float]]:
    """{"step_s": [...], "floor_step_s": [...]}: `step` alternating with `floor_step` run with the adapters
    swapped out (`paired`), see `harness.time_alternating`; {} when `repeats` is 0 (a memory-only run)."""
    if repeats == 0:
        return {}
    switch = BaseSwitch(backbone)
    calls = {"step_s": step, "floor_step_s": floor_step} if paired else {"step_s": step}
    try:
        return harness.time_alternating(
            calls, setup=lambda name: switch.use_base(name == "floor_step_s"), warmup=0, repeats=repeats
        )
    finally:
        switch.use_base(False)


def load_lazy_modules(variant: str) -> None:
    """Import what a variant pulls in lazily (PEFT, and torch._dynamo on the first AdamW), so that a peak-memory
    window that starts after this call measures tensors and buffers, not +100–250 MiB of imported modules."""
    if variant == "lora":
        import peft  # noqa: F401
    probe = nn.Parameter(torch.zeros(1))
    probe.grad = torch.zeros(1)
    torch.optim.AdamW([probe]).step()


def trainable(model: nn.Module) -> list[nn.Parameter]:
    return [p for p in model.parameters() if p.requires_grad]


def train_step(
    model: nn.Module, loss: Callable[[], torch.Tensor], after: Callable[[], None] | None = None
) -> Callable[[], None]:
    """One training step: `loss()` backward, AdamW on what trains in `model` (nothing for the floor), then `after`."""
    params = trainable(model)
    optimizer = torch.optim.AdamW(params, lr=1e-4) if params else None

    def step() -> None:
        loss().backward()
        if optimizer is not None:
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
        if after is not None:
            after()

    return step


def causal_lm_train_step(
    model: nn.Module,
    ids: torch.Tensor,
    after: Callable[[], None] | None = None,
    *,
    autocast_dtype: torch.dtype | None = None,
) -> Callable[[], None]:
    """`train_step` of a causal LM on `ids` (forward with labels); the forward under autocast to `autocast_dtype`
    when given, as the engine's train.mixed_precision does."""
    precision = (
        torch.autocast(ids.device.type, dtype=autocast_dtype)
        if autocast_dtype is not None
        else contextlib.nullcontext()
    )

    def loss() -> torch.Tensor:
        with precision:
            return model(input_ids=ids, labels=ids, use_cache=False).loss

    return train_step(model, loss, after)


def target_shapes(model: nn.Module, targets: Sequence[str]) -> list[tuple[int, int]]:
    """(d_in, d_out) of every target nn.Linear of the (unwrapped) model."""
    return [
        (m.in_features, m.out_features)
        for n, m in model.named_modules()
        if _matches(n, targets) and isinstance(m, nn.Linear)
    ]


# ---------------------------------------------------------------------------------------------- FLOPs
@dataclass(frozen=True)
class StepFlops:
    """Multiply-adds of one training step (forward + backward) that each variant adds to the frozen floor.

    Per target layer d_in → d_out, T tokens, rank r, the layer input needing a gradient; W is frozen, so
    no weight gradient of W is ever formed:
      lora          3·T·r·(d_in + d_out)                 A x and B(A x); backward: input grad, dA, dB
      gift input    6·T·r·d_in                           ψ x and φ(ψ x); backward: dc, dc ψᵀ, dψ, dφ
      gift gen-B    T·r·(4·d_in + 2·d_out) + d_out·d_in·r  ψ x, G = W φ once a step, G(ψ x); dc = dy G,
                                                         dc ψᵀ, dψ, dφᵀ = cᵀ (dy W) (the single autograd node;
                                                         both GIFT counts come from `gift.product.form_costs`)
      gift          the cheaper of the two, per layer: the rule GIFTLinear applies
      naive         3·T·d_in·d_out + 5·d_out·d_in·r      x ΔWᵀ, its input grad and dΔW; ΔW = (W φ) ψ and 3 grads
    The floor itself costs 2·T·d_in·d_out per layer: forward and input gradient.
    """

    floor: int
    lora: int
    gift_input_side: int
    gift_generated_b: int
    gift: int
    naive: int

    @classmethod
    def of(cls, shapes: Sequence[tuple[int, int]], tokens: int, rank: int) -> StepFlops:
        t, r = tokens, rank
        input_side, generated_b = zip(*(form_costs(t, i, o, r, backward=True) for i, o in shapes), strict=True)
        return cls(
            floor=sum(2 * t * i * o for i, o in shapes),
            lora=sum(3 * t * r * (i + o) for i, o in shapes),
            gift_input_side=sum(input_side),
            gift_generated_b=sum(generated_b),
            gift=sum(map(min, input_side, generated_b)),
            naive=sum(3 * t * i * o + 5 * o * i * r for i, o in shapes),
        )

    def extra(self, variant: str) -> int:
        return 0 if variant == "floor" else getattr(self, variant)
