"""GPU benchmark: training throughput and peak memory of GIFT, LoRA and the frozen floor on a Llama-3-8B-shaped
model with random bf16 weights (nothing is downloaded). Launched by benchmarks/gpu.sh.

    bash benchmarks/gpu.sh                                   # one H100/H200: 8B shape, 1×2048 tokens (~3 min)
    bash benchmarks/gpu.sh --length 4096 --rank 16
    python -m benchmarks.gpu_throughput --size tiny --device cpu --steps 1   # the CPU smoke test

Each variant runs in its own process (a fresh CUDA context, so its peak is its own), builds the model
directly on the device, and times `steps` training steps (forward with labels, backward, AdamW on θ) after
`warmup`, with the device synchronised. θ is float32 for both GIFT and LoRA (PEFT's default on a bf16 model)
and the forward runs under bf16 autocast, as the engine trains the 7-8B models (train.mixed_precision=bf16);
the input embeddings require grad in every variant, so all back-propagate through all 32 layers.
Peak memory is `torch.cuda.max_memory_allocated` over the whole run; "over weights" subtracts the memory
allocated once the frozen model is built.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from benchmarks import harness
from benchmarks.adapters import TINY_LLAMA, attach, causal_lm_train_step, load_lazy_modules, trainable
from benchmarks.harness import field_of

GPU_VARIANTS = ("floor", "gift", "lora")
SIZES = {
    # Llama-3-8B (meta-llama/Meta-Llama-3-8B config.json): 8.0 B parameters, 16 GB in bf16
    "llama3-8b": dict(
        vocab_size=128256,
        hidden_size=4096,
        intermediate_size=14336,
        num_hidden_layers=32,
        num_attention_heads=32,
        num_key_value_heads=8,
        max_position_embeddings=8192,
        rope_theta=500000.0,
        rms_norm_eps=1e-5,
        tie_word_embeddings=False,
    ),
    "tiny": dict(TINY_LLAMA, vocab_size=256, max_position_embeddings=256),  # for the CPU smoke test
}


@dataclass
class GPUSettings:
    size: str = field(default="llama3-8b", metadata={"help": f"model shape: {' | '.join(SIZES)}"})
    device: str = field(default="cuda", metadata={"help": "torch device"})
    dtype: str = field(default="bfloat16", metadata={"help": "dtype of the frozen weights"})
    adapter_dtype: str = field(default="float32", metadata={"help": "dtype of θ (GIFT) and of A, B (LoRA)"})
    autocast: str = field(
        default="bfloat16", metadata={"help": "autocast dtype of the forward, as train.mixed_precision ('' for none)"}
    )
    batch: int = field(default=1, metadata={"help": "sequences per step"})
    length: int = field(default=2048, metadata={"help": "tokens per sequence"})
    rank: int = field(default=64, metadata={"help": "r of GIFT and LoRA"})
    targets: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"], metadata={"help": "target modules"})
    variants: list[str] = field(default_factory=lambda: list(GPU_VARIANTS), metadata={"help": "variants to run"})
    rounds: int = field(default=1, metadata={"help": "interleaved rounds, one process per variant per round"})
    warmup: int = field(default=3, metadata={"help": "untimed steps per process"})
    steps: int = field(default=10, metadata={"help": "timed steps per process"})
    seed: int = field(default=0, metadata={"help": "seed of the random weights and token ids"})
    in_process: bool = field(default=False, metadata={"help": "run variants in this process (tests only)"})
    output: str = field(default="benchmarks/results/gpu.json", metadata={"help": "JSON results ('' for none)"})


def build_model(settings: GPUSettings) -> torch.nn.Module:
    """The random-weight model, created on the device in its dtype (no host copy of the 16 GB)."""
    from transformers import AutoModelForCausalLM, LlamaConfig
    from transformers.utils import logging

    logging.set_verbosity_error()
    torch.manual_seed(settings.seed)
    config = LlamaConfig(**SIZES[settings.size])
    with torch.device(settings.device):
        model = AutoModelForCausalLM.from_config(config, dtype=getattr(torch, settings.dtype))
    return model.to(settings.device)


def worker(variant: str, settings: GPUSettings) -> dict:
    cuda = settings.device.startswith("cuda")
    backbone = build_model(settings).train()
    backbone.enable_input_require_grads()  # every variant back-propagates through all layers, as the floor does
    weights_gib = torch.cuda.memory_allocated() / 2**30 if cuda else None
    ids = torch.randint(backbone.config.vocab_size, (settings.batch, settings.length), device=settings.device)
    load_lazy_modules(variant)
    model = attach(
        backbone, variant, targets=settings.targets, rank=settings.rank, adapter_dtype=settings.adapter_dtype
    )
    params = trainable(model)
    autocast_dtype = getattr(torch, settings.autocast) if settings.autocast else None
    after = torch.cuda.synchronize if cuda else None  # a step ends when the device is done
    step = causal_lm_train_step(model, ids, after, autocast_dtype=autocast_dtype)
    return {
        "step_s": harness.time_alternating({"step": step}, warmup=settings.warmup, repeats=settings.steps)["step"],
        "peak_gib": torch.cuda.max_memory_allocated() / 2**30 if cuda else None,  # over the whole run
        "weights_gib": weights_gib,
        "trainable_parameters": sum(p.numel() for p in params),
        "device_name": torch.cuda.get_device_name() if cuda else harness.environment()["cpu"],
    }


def summarise(settings: GPUSettings, results: dict[str, list[dict]]) -> dict:
    tokens = settings.batch * settings.length
    rows = {}
    for variant, runs in results.items():
        step = harness.median(harness.pooled(runs, "step_s"))
        peak, weights = harness.median([r["peak_gib"] for r in runs]), runs[0]["weights_gib"]
        rows[variant] = {
            "step_s": step,
            "tokens_per_s": tokens / step,
            "peak_gib": peak,
            "over_weights_gib": None if peak is None else peak - weights,
            "trainable_parameters": runs[0]["trainable_parameters"],
        }
    harness.add_ratios(rows, "step_s", {"vs_floor": "floor", "vs_lora": "lora"})
    return {"device_name": next(iter(results.values()))[0]["device_name"], "variants": rows}


COLUMNS = [
    ("step (s)", field_of("step_s")),
    ("tokens/s", field_of("tokens_per_s")),
    ("× floor", field_of("vs_floor")),
    ("× LoRA", field_of("vs_lora")),
    ("peak GiB", field_of("peak_gib")),
    ("peak over weights GiB", field_of("over_weights_gib")),
    ("trainable params", lambda row: f"{row['trainable_parameters']:,}"),
]


def run(settings: GPUSettings) -> dict:
    harness.check_variants(settings.variants, GPU_VARIANTS, "--variants")
    harness.check_variants([settings.size], list(SIZES), "--size")
    if settings.autocast:
        harness.check_variants([settings.autocast], ["bfloat16", "float16"], "--autocast")
    if settings.device.startswith("cuda") and not torch.cuda.is_available():
        raise ValueError("--device cuda, but no CUDA device is visible; run on a GPU machine or pass --device cpu.")
    results = harness.run_interleaved("benchmarks.gpu_throughput", worker, settings.variants, settings)
    return harness.save(settings, {**summarise(settings, results), "raw": results})


def report(summary: dict) -> str:
    s = summary["settings"]
    title = (
        f"{summary['device_name']}: {s['size']}, {s['dtype']} weights, autocast {s['autocast'] or 'off'}, "
        f"batch {s['batch']}×{s['length']}, r={s['rank']} on {s['targets']}, median of {s['rounds']}×{s['steps']} steps"
    )
    return title + "\n\n" + harness.variant_table(COLUMNS, summary["variants"])


def main(argv: Sequence[str] | None = None) -> None:
    harness.main(GPUSettings, argv, __doc__, run=run, report=report, worker=worker)


if __name__ == "__main__":
    sys.exit(main())
