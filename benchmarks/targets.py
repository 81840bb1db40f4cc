"""The cost targets of GIFT, measured side by side in one command (BENCHMARKS.md).

    python -m benchmarks.targets                 # L=4, T=1024, r=64 stack + SmolLM2 inference, 3 rounds
    python -m benchmarks.targets --rounds 5      # tighter medians

Targets:
    layer stack, L=4, T=1024, r=64:  GIFT step ≤ 1.0 × LoRA's; GIFT step ≤ 0.5 × naive; GIFT peak memory < LoRA's
    SmolLM2-135M, r=64 on q_proj/v_proj: merged forward within 1 % of the base model's;
                                         unmerged greedy generation ≥ 0.9 × the base model's tokens/s
Exit status 1 when a target is missed, so the command can gate a change. Next to each timed value stands a 95 %
bootstrap interval (the pair ratios behind it resampled, each variant's on its own): the verdict is the
value's, the interval says whether this machine resolves the difference.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from benchmarks import harness, layer_stack, whole_model
from benchmarks.harness import interval_of


@dataclass
class TargetSettings:
    layers: int = field(default=4, metadata={"help": "layer stack: L"})
    tokens: int = field(default=1024, metadata={"help": "layer stack: T"})
    d_model: int = field(default=4096, metadata={"help": "layer stack: hidden size (Llama-3-8B)"})
    d_kv: int = field(default=1024, metadata={"help": "layer stack: v_proj output (Llama-3-8B)"})
    rank: int = field(default=64, metadata={"help": "r of GIFT and LoRA"})
    model: str = field(default="smollm2", metadata={"help": f"inference backbone: {' | '.join(whole_model.MODELS)}"})
    infer_length: int = field(default=512, metadata={"help": "inference forward: tokens (batch 1)"})
    new_tokens: int = field(default=32, metadata={"help": "greedy tokens generated per call"})
    rounds: int = field(default=3, metadata={"help": "interleaved rounds of every benchmark"})
    steps: int = field(default=5, metadata={"help": "timed training steps and generate calls per process"})
    forward_repeats: int = field(default=10, metadata={"help": "timed inference forwards per process and state"})
    threads: int = field(
        default=1,
        metadata={
            "help": "torch threads per worker (0: one per core). 1 by default: on a shared 2-core machine a "
            "2-thread GEMM waits for the slower core (BENCHMARKS.md), which blurs few-percent differences"
        },
    )
    in_process: bool = field(default=False, metadata={"help": "run variants in this process (tests only)"})
    output: str = field(default="benchmarks/results/targets.json", metadata={"help": "JSON results ('' for none)"})


@dataclass(frozen=True)
class Target:
    name: str
    threshold: str
    measure: Callable[[dict, dict], float | None]  # (stack variants, inference variants) → value
    passes: Callable[[float], bool]
    # (stack variants, inference variants) → the value's 95 % bootstrap interval; None for a deterministic value
    interval: Callable[[dict, dict], list[float] | None] = lambda s, i: None


TARGETS = [
    Target(
        "GIFT step / LoRA step (layer stack)",
        "≤ 1.00",
        lambda s, i: s["gift"]["vs_lora"],
        lambda v: v <= 1.0,
        lambda s, i: s["gift"]["vs_lora_ci"],
    ),
    Target(
        "GIFT step / naive step (layer stack)",
        "≤ 0.50",
        lambda s, i: s["gift"]["vs_naive"],
        lambda v: v <= 0.5,
        lambda s, i: s["gift"]["vs_naive_ci"],
    ),
    Target(
        "GIFT peak / LoRA peak memory (layer stack)",
        "< 1.00",
        lambda s, i: s["gift"]["peak_mib"] / s["lora"]["peak_mib"] if s["lora"]["peak_mib"] else None,
        lambda v: v < 1.0,
    ),
    Target(
        "merged forward / base forward time",
        "≤ 1.01",
        lambda s, i: i["gift-merged"]["forward_vs_base"],
        lambda v: v <= 1.01,
        lambda s, i: i["gift-merged"]["forward_vs_base_ci"],
    ),
    Target(
        "unmerged / base generation tokens/s",
        "≥ 0.90",
        lambda s, i: i["gift-unmerged"]["generate_vs_base"],
        lambda v: v >= 0.9,
        lambda s, i: i["gift-unmerged"]["generate_vs_base_ci"],
    ),
]


def stack_settings(settings: TargetSettings) -> layer_stack.StackSettings:
    return layer_stack.StackSettings(
        layers=settings.layers,
        tokens=settings.tokens,
        rank=settings.rank,
        d_model=settings.d_model,
        d_kv=settings.d_kv,
        rounds=settings.rounds,
        steps=settings.steps,
        threads=settings.threads,
        in_process=settings.in_process,
        output="",
    )


def model_settings(settings: TargetSettings) -> whole_model.ModelSettings:
    return whole_model.ModelSettings(
        model=settings.model,
        parts=["infer"],
        rank=settings.rank,
        infer_methods=["gift"],
        infer_length=settings.infer_length,
        new_tokens=settings.new_tokens,
        rounds=settings.rounds,
        steps=settings.steps,
        forward_repeats=settings.forward_repeats,
        threads=settings.threads,
        in_process=settings.in_process,
        output="",
    )


def evaluate(stack: dict, inference: dict) -> list[dict]:
    """Each target's value and verdict, with the 95 % bootstrap interval of the value where it comes from timed
    pairs: the verdict is taken on the value; the interval says how firm it is on this machine."""
    rows = []
    for target in TARGETS:
        variants = (stack["variants"], inference["infer"]["variants"])
        value = target.measure(*variants)
        verdict = "n/a" if value is None else ("pass" if target.passes(value) else "MISS")
        rows.append(
            {
                "target": target.name,
                "threshold": target.threshold,
                "measured": value,
                "interval95": target.interval(*variants),
                "result": verdict,
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    settings, _ = harness.parse_settings(TargetSettings, argv, __doc__)
    stack = layer_stack.run(stack_settings(settings))
    inference = whole_model.run(model_settings(settings))
    rows = evaluate(stack, inference)
    payload = {"settings": dict(settings.__dict__), "targets": rows, "layer_stack": stack, "whole_model": inference}
    harness.write_json(settings.output, payload)
    print(layer_stack.report(stack), end="\n\n")
    print(whole_model.report(inference), end="\n\n")
    table = [
        [
            row["target"],
            row["threshold"],
            row["measured"],
            interval_of("interval95")(row) or "deterministic",
            row["result"],
        ]
        for row in rows
    ]
    print(harness.markdown_table(["target", "threshold", "measured", "95 % bootstrap interval", "result"], table))
    return 0 if all(row["result"] != "MISS" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
