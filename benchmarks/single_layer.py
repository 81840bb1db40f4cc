"""One adapted layer, every form side by side: where GIFT's and LoRA's training-step cost goes.

    python -m benchmarks.single_layer                          # q_proj of Llama-3-8B: 4096→4096, T=1024, r=64
    python -m benchmarks.single_layer --d-out 1024             # v_proj: 4096→1024
    python -m benchmarks.single_layer --d-out 1024 --profile   # + the aten ops of one step of each form

A step is forward, loss, backward to the input and to θ (no optimizer: that is the stack's business). All
forms run in one process on one frozen layer and one input, alternating, the order rotated every repeat
(`harness.time_alternating`), so each form's overhead is paired with the floor call of the same repeat:

    floor            the frozen layer; the gradient flows to the input only
    lora             PEFT LoRA, same rank, no dropout
    gift             GIFTLinear as it runs: the cheaper exact form by the FLOP rule
    gift-input-side  ŷ = W (x + φ (ψ x)) + b, forced
    gift-generated-b ŷ = W x + b + G (ψ x), G = W φ, forced
    naive            ΔW = W φ ψ built in every call, ŷ = W x + b + x ΔWᵀ

One thread by default: on a shared 2-core machine a 2-thread GEMM waits for the slower core, which blurs
the differences of a few milliseconds this benchmark is for.
"""

from __future__ import annotations

import functools
import sys
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from benchmarks import harness
from benchmarks.adapters import StepFlops, attach, trainable
from benchmarks.harness import field_of

FORMS = ("floor", "lora", "gift", "gift-input-side", "gift-generated-b", "naive")
FORCED = {"gift-input-side": "input_side", "gift-generated-b": "generated_b"}


@dataclass
class LayerSettings:
    d_in: int = field(default=4096, metadata={"help": "input features of the layer"})
    d_out: int = field(default=4096, metadata={"help": "output features (Llama-3-8B: q_proj 4096, v_proj 1024)"})
    tokens: int = field(default=1024, metadata={"help": "T, tokens per step"})
    rank: int = field(default=64, metadata={"help": "r of GIFT and LoRA"})
    forms: list[str] = field(default_factory=lambda: list(FORMS), metadata={"help": "forms to time"})
    warmup: int = field(default=2, metadata={"help": "untimed steps of each form"})
    repeats: int = field(default=21, metadata={"help": "timed steps of each form"})
    threads: int = field(default=1, metadata={"help": "torch threads (0: one per core)"})
    profile: bool = field(default=False, metadata={"help": "print the top aten ops of 3 steps of each form"})
    seed: int = field(default=0, metadata={"help": "seed of weights, θ and input"})
    output: str = field(default="benchmarks/results/single_layer.json", metadata={"help": "JSON results ('' for none)"})


def one_layer(d_in: int, d_out: int) -> nn.Module:
    """A model of one layer, `proj` (the name the adapters target)."""
    return nn.Sequential(OrderedDict(proj=nn.Linear(d_in, d_out, bias=False)))


def build_steps(settings: LayerSettings) -> dict[str, Callable[[], None]]:
    """One training-step closure per form, each on its own copy of the same frozen layer and the same input."""
    torch.manual_seed(settings.seed)
    x = torch.randn(1, settings.tokens, settings.d_in, requires_grad=True)
    reference = one_layer(settings.d_in, settings.d_out).requires_grad_(False)
    steps = {}
    for form in settings.forms:
        layer = one_layer(settings.d_in, settings.d_out)
        layer.load_state_dict(reference.state_dict())
        variant = "gift" if form.startswith("gift") else form
        model = attach(layer, variant, targets=["proj"], rank=settings.rank)
        params = trainable(model)
        with torch.no_grad():  # θ away from its zero init, so that no product is trivially zero
            for p in params:
                p.normal_(std=0.01)
        call = functools.partial(layer.proj, form=FORCED[form]) if form in FORCED else model

        def step(call: Callable = call, params: list = params) -> None:
            call(x).square().mean().backward()
            x.grad = None
            for p in params:
                p.grad = None

        steps[form] = step
    return steps


def run(settings: LayerSettings) -> dict:
    harness.check_variants(settings.forms, FORMS, "--forms")
    if "floor" not in settings.forms:
        raise ValueError(f"--forms {settings.forms} must include 'floor': every overhead is paired with it.")
    with harness.torch_threads(settings.threads):
        steps = build_steps(settings)
        seconds = harness.time_alternating(steps, warmup=settings.warmup, repeats=settings.repeats)
        profiles = {form: profile(step) for form, step in steps.items()} if settings.profile else None
    flops = StepFlops.of([(settings.d_in, settings.d_out)], settings.tokens, settings.rank)
    rows = {}
    for form, times in seconds.items():
        overheads = [t - f for t, f in zip(times, seconds["floor"], strict=True)]  # same repeat, back to back
        rows[form] = {
            "step_ms": 1e3 * harness.median(times),
            "overhead_ms": 1e3 * harness.median(overheads),
            "extra_gmac": flops.extra(form.replace("-", "_")) / 1e9,  # gift-input-side → StepFlops.gift_input_side
        }
    return harness.save(settings, {"forms": rows, "raw": seconds, **({"profiles": profiles} if profiles else {})})


def profile(step: Callable[[], None], *, steps: int = 3, rows: int = 12) -> str:
    """The aten ops of `steps` calls of `step`, by self CPU time."""
    from torch.profiler import ProfilerActivity
    from torch.profiler import profile as torch_profile

    with torch_profile(activities=[ProfilerActivity.CPU]) as profiler:
        for _ in range(steps):
            step()
    return profiler.key_averages().table(sort_by="self_cpu_time_total", row_limit=rows)


COLUMNS = [
    ("step (ms)", field_of("step_ms")),
    ("overhead over floor (ms, paired)", field_of("overhead_ms")),
    ("extra GMAC (formula)", field_of("extra_gmac")),
]


def report(summary: dict) -> str:
    s = summary["settings"]
    title = (
        f"One layer {s['d_in']}→{s['d_out']}, T={s['tokens']}, r={s['rank']}, {s['threads'] or 'all'} thread(s); "
        f"median of {s['repeats']} paired steps"
    )
    parts = [title + "\n\n" + harness.variant_table(COLUMNS, summary["forms"])]
    for form, table in summary.get("profiles", {}).items():
        parts.append(f"{form}: 3 steps\n{table}")
    return "\n\n".join(parts)


def main(argv: Sequence[str] | None = None) -> None:
    harness.main(LayerSettings, argv, __doc__, run=run, report=report)


if __name__ == "__main__":
    sys.exit(main())
