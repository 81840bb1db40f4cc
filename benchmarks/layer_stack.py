"""Layer-stack benchmark: training-step time and peak memory at Llama-3-8B attention shapes, on the CPU.

    python -m benchmarks.layer_stack                                  # L=4, T=1024, r=64, 3 rounds
    python -m benchmarks.layer_stack --layers 2 --tokens 128 --rounds 1 --variants floor gift

L blocks, each q_proj 4096→4096 and v_proj 4096→1024 (Llama-3-8B: 32 query heads, 8 KV heads of 128) on
the same input, fp32, T tokens. One step = forward, loss, backward, AdamW on θ (no optimizer for the
floor). The input always requires grad, so every variant back-propagates through every layer as it would
in a deep model. Variants are described in benchmarks/adapters.py, the method in benchmarks/harness.py.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from benchmarks import harness
from benchmarks.adapters import (
    TRAIN_VARIANTS,
    StepFlops,
    attach,
    load_lazy_modules,
    time_with_floor,
    train_step,
    trainable,
)
from benchmarks.harness import change_of, field_of, interval_of

TARGETS = ("q_proj", "v_proj")


@dataclass
class StackShape:
    """The stack's size and the adapters' rank (shared with `benchmarks.head_to_head`)."""

    layers: int = field(default=4, metadata={"help": "L, blocks of q_proj + v_proj"})
    tokens: int = field(default=1024, metadata={"help": "T, tokens per step (one sequence)"})
    rank: int = field(default=64, metadata={"help": "r of GIFT and LoRA"})
    d_model: int = field(default=4096, metadata={"help": "hidden size: q_proj d_model→d_model"})
    d_kv: int = field(default=1024, metadata={"help": "v_proj output: KV heads × head size"})


@dataclass
class StackSettings(StackShape):
    variants: list[str] = field(default_factory=lambda: list(TRAIN_VARIANTS), metadata={"help": "variants to run"})
    rounds: int = field(default=3, metadata={"help": "interleaved rounds, one process per variant per round"})
    warmup: int = field(default=2, metadata={"help": "untimed steps per process (peak memory is taken over them)"})
    steps: int = field(default=5, metadata={"help": "timed steps per process"})
    seed: int = field(default=0, metadata={"help": "seed of weights and inputs"})
    threads: int = field(default=0, metadata={"help": "torch threads per worker (0: torch's default, one per core)"})
    in_process: bool = field(default=False, metadata={"help": "run variants in this process (tests only)"})
    output: str = field(default="benchmarks/results/layer_stack.json", metadata={"help": "JSON results ('' for none)"})


class ProjectionBlock(nn.Module):
    """x + q_proj(x) + v_proj(x) broadcast over the query heads each KV head serves (attention left out)."""

    def __init__(self, d_model: int, d_kv: int) -> None:
        super().__init__()
        if d_model % d_kv:
            raise ValueError(f"--d-kv {d_kv} must divide --d-model {d_model} (grouped-query heads).")
        self.q_proj = nn.Linear(d_model, d_model, bias=False)
        self.v_proj = nn.Linear(d_model, d_kv, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, T, d_model)
        q = self.q_proj(x)  # (B, T, d_model)
        v = self.v_proj(x)  # (B, T, d_kv)
        mixed = q.unflatten(-1, (-1, v.shape[-1])) + v.unsqueeze(-2)  # (B, T, groups, d_kv)
        return x + mixed.flatten(-2)


class ProjectionStack(nn.Module):
    def __init__(self, settings: StackShape) -> None:
        super().__init__()
        self.layers = nn.ModuleList(ProjectionBlock(settings.d_model, settings.d_kv) for _ in range(settings.layers))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for layer in self.layers:
            x = layer(x)
        return x


def worker(variant: str, settings: StackSettings) -> dict:
    """One process: build the frozen stack, attach `variant`, measure its peak memory over the warm-up steps,
    then time its steps alternating with floor steps (adapters swapped out) on the same weights."""
    torch.manual_seed(settings.seed)
    stack = ProjectionStack(settings).requires_grad_(False)
    x = torch.randn(1, settings.tokens, settings.d_model, requires_grad=True)

    def clear_input_grad() -> None:
        x.grad = None

    floor_step = train_step(stack, lambda: stack(x).square().mean(), clear_input_grad)  # nothing trains
    floor_step()  # warm the kernels' buffers: the memory window below sees what the variant adds
    load_lazy_modules(variant)
    with harness.PeakMemory() as memory:
        model = attach(stack, variant, targets=TARGETS, rank=settings.rank)
        step = train_step(model, lambda: model(x).square().mean(), clear_input_grad)
        for _ in range(settings.warmup):
            step()
    params = trainable(model)
    saved = harness.saved_activation_mib(lambda: model(x), exclude=list(model.parameters()))
    timed = time_with_floor(step, floor_step, stack, repeats=settings.steps, paired=variant != "floor")
    return {
        **timed,
        "peak_mib": memory.peak_mib,
        "saved_activations_mib": saved,
        "adapter_state_mib": harness.adapter_state_mib(params),
        "trainable_parameters": sum(p.numel() for p in params),
    }


def summarise(settings: StackSettings, results: dict[str, list[dict]], memory: dict[str, list[dict]]) -> dict:
    """Median step time per variant, ratios paired with a same-process floor, peak memory from the memory pass,
    FLOPs by formula."""
    shapes = [(settings.d_model, settings.d_model), (settings.d_model, settings.d_kv)] * settings.layers
    flops = StepFlops.of(shapes, settings.tokens, settings.rank)
    memory_keys = ("peak_mib", "saved_activations_mib", "adapter_state_mib", "trainable_parameters")
    rows, pairs = harness.training_rows(results, memory, memory_keys)
    for variant, row in rows.items():
        row["extra_gflop"] = 2 * flops.extra(variant) / 1e9
        row["extra_flops_vs_floor"] = 1 + flops.extra(variant) / flops.floor
    harness.add_intervals(rows, pairs, "vs_naive_ci", "naive")
    return {"floor_gflop": 2 * flops.floor / 1e9, "flops": flops.__dict__, "variants": rows}


COLUMNS = [
    ("step (s)", field_of("step_s")),
    ("× floor", field_of("vs_floor")),
    ("× LoRA", field_of("vs_lora")),
    ("× LoRA, 95 % interval", interval_of("vs_lora_ci")),
    ("× naive", field_of("vs_naive")),
    ("× LoRA, unpaired", field_of("vs_lora_unpaired")),
    ("extra GFLOP (formula)", field_of("extra_gflop")),
    ("overhead (formula)", change_of("extra_flops_vs_floor")),
    ("overhead (measured)", change_of("vs_floor")),
    ("peak MiB", field_of("peak_mib")),
    ("θ+grad+AdamW MiB", field_of("adapter_state_mib")),
    ("saved activations MiB", field_of("saved_activations_mib")),
    ("trainable params", lambda row: f"{row['trainable_parameters']:,}"),
]


def run(settings: StackSettings) -> dict:
    harness.check_variants(settings.variants, TRAIN_VARIANTS, "--variants")
    results = harness.run_interleaved("benchmarks.layer_stack", worker, settings.variants, settings)
    memory = harness.run_memory_pass("benchmarks.layer_stack", worker, settings.variants, settings)
    return harness.save(settings, {**summarise(settings, results, memory), "raw": results, "memory": memory})


def report(summary: dict) -> str:
    settings = summary["settings"]
    title = (
        f"Layer stack: L={settings['layers']}, T={settings['tokens']}, r={settings['rank']}, "
        f"floor {summary['floor_gflop']:.4g} GFLOP/step; median of {settings['rounds']}×{settings['steps']} steps"
    )
    return title + "\n\n" + harness.variant_table(COLUMNS, summary["variants"])


def main(argv: Sequence[str] | None = None) -> None:
    harness.main(StackSettings, argv, __doc__, run=run, report=report, worker=worker)


if __name__ == "__main__":
    sys.exit(main())
