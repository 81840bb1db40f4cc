"""GIFT against PEFT LoRA head to head: copies of one frozen layer stack in one process, stepped in turn.

    python -m benchmarks.head_to_head                      # L=4 Llama-3-8B attention blocks, T=1024, r=64, 60 repeats
    python -m benchmarks.head_to_head --repeats 20 --variants gift lora

`benchmarks.layer_stack` times each variant in its own process against the frozen floor, so GIFT / LoRA is a
ratio of two ratios from two processes and carries the noise of both. Here every variant trains its own
copy of the same frozen `ProjectionStack` (same weights, same input) in one process, the variants called
one after another in an order rotated every repeat; a repeat's ratio compares calls seconds apart:

    gift           GIFTLinear as it runs (the single autograd node, `gift.product.GIFTProduct`)
    gift-autograd  the same layers with `single_node = False`: the two exact forms under plain autograd
    lora           PEFT LoRA, same rank and targets, no dropout
    floor          the frozen stack, gradient to the input only

With --control a second copy of the baseline is stepped too: the same computation on other memory, so its
ratio to the baseline (ideally 1) shows how large a difference this run can resolve.

A step is forward, loss, backward (the input requires grad) and AdamW on what trains. One thread by
default (see `benchmarks.single_layer`). Each ratio is the median over repeats of step / baseline step of the
same repeat, with a percentile bootstrap interval of that median (10,000 resamples, seeded with --seed).
Results: benchmarks/results/head_to_head.json.
"""

from __future__ import annotations

import copy
import statistics
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch

from benchmarks import harness
from benchmarks.adapters import attach, load_lazy_modules, train_step, trainable
from benchmarks.harness import field_of
from benchmarks.layer_stack import TARGETS, ProjectionStack, StackShape
from gift import GIFTLinear

VARIANTS = ("gift", "gift-autograd", "lora", "floor")
CONTROL = "-control"  # suffix of the baseline's second copy (--control)


@dataclass
class HeadToHeadSettings(StackShape):
    variants: list[str] = field(default_factory=lambda: list(VARIANTS[:3]), metadata={"help": "variants to run"})
    baseline: str = field(default="lora", metadata={"help": "the variant every ratio divides by"})
    control: bool = field(
        default=False,
        metadata={
            "help": "also step a second copy of the baseline (row '<baseline>-control'): its ratio to the baseline is "
            "an A/A test, the difference this run cannot tell from noise"
        },
    )
    warmup: int = field(default=2, metadata={"help": "untimed steps of each variant"})
    repeats: int = field(default=60, metadata={"help": "timed steps of each variant"})
    threads: int = field(default=1, metadata={"help": "torch threads (0: one per core)"})
    seed: int = field(default=0, metadata={"help": "seed of weights, θ and input"})
    output: str = field(default="benchmarks/results/head_to_head.json", metadata={"help": "JSON results ('' for none)"})


def build_steps(settings: HeadToHeadSettings) -> dict[str, Callable[[], None]]:
    torch.manual_seed(settings.seed)
    reference = ProjectionStack(settings).requires_grad_(False)
    x = torch.randn(1, settings.tokens, settings.d_model, requires_grad=True)

    def clear_input_grad() -> None:
        x.grad = None

    steps = {}
    for name in [*settings.variants, *([f"{settings.baseline}{CONTROL}"] if settings.control else [])]:
        variant = name.removesuffix(CONTROL)
        load_lazy_modules(variant)
        model = attach(copy.deepcopy(reference), variant.removesuffix("-autograd"), targets=TARGETS, rank=settings.rank)
        for layer in model.modules():
            if isinstance(layer, GIFTLinear):
                layer.single_node = variant != "gift-autograd"
        torch.manual_seed(settings.seed + 1)  # the same θ draws for a variant and its control copy
        with torch.no_grad():  # θ away from its zero init, so that no product is trivially zero
            for p in trainable(model):
                p.normal_(std=0.01)
        steps[name] = train_step(model, lambda model=model: model(x).square().mean(), clear_input_grad)
    return steps


def run(settings: HeadToHeadSettings) -> dict:
    harness.check_variants(settings.variants, VARIANTS, "--variants")
    if settings.baseline not in settings.variants:
        raise ValueError(f"--baseline {settings.baseline!r} must be one of --variants {settings.variants}.")
    with harness.torch_threads(settings.threads):
        seconds = harness.time_alternating(build_steps(settings), warmup=settings.warmup, repeats=settings.repeats)
    base = seconds[settings.baseline]
    rows = {}
    for variant, times in seconds.items():
        ratios = [t / b for t, b in zip(times, base, strict=True)]  # the same repeat, seconds apart
        quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else [ratios[0]] * 3
        low, high = harness.bootstrap_interval([ratios], seed=settings.seed)
        rows[variant] = {
            "step_s": harness.median(times),
            "vs_baseline": harness.median(ratios),
            "ci95_low": low,
            "ci95_high": high,
            "q1": quartiles[0],
            "q3": quartiles[2],
            "faster_share": sum(r < 1 for r in ratios) / len(ratios),
        }
    return harness.save(settings, {"variants": rows, "raw": seconds})


COLUMNS = [
    ("step (s)", field_of("step_s")),
    ("× baseline (median of repeats)", field_of("vs_baseline")),
    ("95 % bootstrap interval of the median", lambda row: f"{row['ci95_low']:.3f}–{row['ci95_high']:.3f}"),
    ("quartiles", lambda row: f"{row['q1']:.3f}–{row['q3']:.3f}"),
    ("share of repeats faster", field_of("faster_share")),
]


def report(summary: dict) -> str:
    s = summary["settings"]
    title = (
        f"Layer stack L={s['layers']}, T={s['tokens']}, r={s['rank']}, {s['threads'] or 'all'} thread(s), "
        f"{s['repeats']} repeats; ratios to {s['baseline']}"
    )
    return title + "\n\n" + harness.variant_table(COLUMNS, summary["variants"])


def main(argv: Sequence[str] | None = None) -> None:
    harness.main(HeadToHeadSettings, argv, __doc__, run=run, report=report)


if __name__ == "__main__":
    sys.exit(main())
