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

import dataclasses
import operator
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

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


COMPARISONS = {"≤": operator.le, "<": operator.lt, "≥": operator.ge}


@dataclass(frozen=True)
class Target:
    name: str
    threshold: str  # comparison and bound: the value passes when `value <comparison> bound`
    part: str  # "stack" (the layer stack) or "inference" (the whole model's inference)
    variant: str
    key: str  # the value: row[key] of the variant; its 95 % bootstrap interval, where timed: row[key + "_ci"]


TARGETS = [
    Target("GIFT step / LoRA step (layer stack)", "≤ 1.00", "stack", "gift", "vs_lora"),
    Target("GIFT step / naive step (layer stack)", "≤ 0.50", "stack", "gift", "vs_naive"),
    Target("GIFT peak / LoRA peak memory (layer stack)", "< 1.00", "stack", "gift", "peak_vs_lora"),
    Target("merged forward / base forward time", "≤ 1.01", "inference", "gift-merged", "forward_vs_base"),
    Target("unmerged / base generation tokens/s", "≥ 0.90", "inference", "gift-unmerged", "generate_vs_base"),
]


def sub_settings(cls: type, settings: TargetSettings, **overrides: Any) -> Any:
    """`cls` settings (a benchmark's) taking every field `settings` shares with it; `overrides` for the rest."""
    shared = {f.name: getattr(settings, f.name) for f in dataclasses.fields(cls) if hasattr(settings, f.name)}
    return cls(**{**shared, **overrides})


def evaluate(stack: dict, inference: dict) -> list[dict]:
    """Each target's value and verdict, with the 95 % bootstrap interval of the value where it comes from timed
    pairs: the verdict is taken on the value; the interval says how firm it is on this machine."""
    stack_rows = {variant: dict(row) for variant, row in stack["variants"].items()}  # + the peak ratio
    harness.add_ratios(stack_rows, "peak_mib", {"peak_vs_lora": "lora"})
    parts = {"stack": stack_rows, "inference": inference["infer"]["variants"]}
    rows = []
    for target in TARGETS:
        row = parts[target.part][target.variant]
        value = row[target.key]
        comparison, bound = target.threshold.split()
        verdict = "n/a" if value is None else ("pass" if COMPARISONS[comparison](value, float(bound)) else "MISS")
        rows.append(
            {
                "target": target.name,
                "threshold": target.threshold,
                "measured": value,
                "interval95": row.get(target.key + "_ci"),
                "result": verdict,
            }
        )
    return rows


def main(argv: Sequence[str] | None = None) -> int:
    settings, _ = harness.parse_settings(TargetSettings, argv, __doc__)
    stack = layer_stack.run(sub_settings(layer_stack.StackSettings, settings, output=""))
    inference = whole_model.run(
        sub_settings(whole_model.ModelSettings, settings, parts=["infer"], infer_methods=["gift"], output="")
    )
    rows = evaluate(stack, inference)
    payload = {"settings": dict(settings.__dict__), "targets": rows, "layer_stack": stack, "whole_model": inference}
    harness.write_json(settings.output, payload)
    print(layer_stack.report(stack), end="\n\n")
    print(whole_model.report(inference), end="\n\n")
    interval = interval_of("interval95")
    table = [[r["target"], r["threshold"], r["measured"], interval(r) or "deterministic", r["result"]] for r in rows]
    print(harness.markdown_table(["target", "threshold", "measured", "95 % bootstrap interval", "result"], table))
    return 0 if all(row["result"] != "MISS" for row in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
