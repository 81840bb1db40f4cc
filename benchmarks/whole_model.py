"""Whole-model benchmark on the real SmolLM2-135M: training step, batch inference and greedy generation.

    python -m benchmarks.whole_model                                # training + inference, 3 rounds
    python -m benchmarks.whole_model --parts infer --rounds 5       # inference and generation only
    python -m benchmarks.whole_model --model tiny-llama --rounds 1  # a random 2-layer Llama (tests)

Training (targets q_proj and v_proj, rank r, fp32): forward with labels, backward, AdamW, for floor / gift /
lora / naive (benchmarks/adapters.py). The input embeddings require grad in every variant, so all of them
back-propagate through the whole network and differ only by their adapter.

Inference, under no_grad: one batch `forward` (no KV cache) and `generate` (greedy with the KV cache, a
fixed number of new tokens: eos is suppressed). One process per method; it alternates, on one set of
weights, between the base model (adapted layers swapped out) and the method's states:
    gift           gift-merged (GIFTWrapper.merge(): ΔW folded into W, each GIFTLinear calls its base layer)
                   and gift-unmerged (as trained: input-side or generated-B form, G cached under no_grad)
    lora           PEFT LoRA, unmerged
    naive          the original release: ΔW rebuilt in every layer at every generated token
SmolLM2 is read from its GGUF once (~15 s) and handed to the workers as a plain state dict.
"""

from __future__ import annotations

import sys
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from benchmarks import harness
from benchmarks.adapters import (
    TINY_LLAMA,
    TRAIN_VARIANTS,
    BaseSwitch,
    StepFlops,
    attach,
    causal_lm_train_step,
    load_lazy_modules,
    target_shapes,
    time_with_floor,
    trainable,
)
from benchmarks.harness import change_of, field_of, interval_of

INFER_METHODS = ("gift", "lora", "naive")  # each process also times the base model and, for gift, merged
PARTS = ("train", "infer")
MODELS = ("smollm2", "tiny-llama")


@dataclass
class ModelSettings:
    model: str = field(default="smollm2", metadata={"help": f"backbone: {' | '.join(MODELS)}"})
    parts: list[str] = field(default_factory=lambda: list(PARTS), metadata={"help": "what to measure"})
    targets: list[str] = field(default_factory=lambda: ["q_proj", "v_proj"], metadata={"help": "target modules"})
    rank: int = field(default=64, metadata={"help": "r of GIFT and LoRA"})
    batch: int = field(default=1, metadata={"help": "training batch size"})
    length: int = field(default=512, metadata={"help": "training sequence length"})
    train_variants: list[str] = field(default_factory=lambda: list(TRAIN_VARIANTS), metadata={"help": "to train"})
    infer_methods: list[str] = field(default_factory=lambda: list(INFER_METHODS), metadata={"help": "to run"})
    infer_batch: int = field(default=1, metadata={"help": "batch of the inference forward"})
    infer_length: int = field(default=512, metadata={"help": "sequence length of the inference forward"})
    prompt_length: int = field(default=16, metadata={"help": "generation prompt tokens (batch 1)"})
    new_tokens: int = field(default=32, metadata={"help": "greedy tokens generated per call"})
    rounds: int = field(default=3, metadata={"help": "interleaved rounds, one process per variant per round"})
    warmup: int = field(default=2, metadata={"help": "untimed calls per process (training peak memory: over these)"})
    steps: int = field(default=5, metadata={"help": "timed training steps and generate calls per process and state"})
    forward_repeats: int = field(default=10, metadata={"help": "timed inference forwards per process and state"})
    seed: int = field(default=0, metadata={"help": "seed of θ, random weights and token ids"})
    threads: int = field(default=0, metadata={"help": "torch threads per worker (0: torch's default, one per core)"})
    in_process: bool = field(default=False, metadata={"help": "run variants in this process (tests only)"})
    weights_dir: str = field(default="", metadata={"help": "internal: where the parent left the backbone"})
    output: str = field(default="benchmarks/results/whole_model.json", metadata={"help": "JSON results ('' for none)"})


# ---------------------------------------------------------------------------------------------- backbone
def export_backbone(settings: ModelSettings, directory: Path) -> None:
    """Parent: write the backbone's config and state dict once, for workers to load in a second each."""
    if settings.model == "tiny-llama":
        return
    from gift_experiment_utils.offline_models import load_smollm2

    model, _ = load_smollm2()
    model.config.to_json_file(directory / "config.json")
    torch.save(model.state_dict(), directory / "weights.pt")


def load_backbone(settings: ModelSettings) -> nn.Module:
    from transformers import AutoConfig, AutoModelForCausalLM, LlamaConfig, LlamaForCausalLM
    from transformers.utils import logging

    logging.set_verbosity_error()
    torch.manual_seed(settings.seed)
    if settings.model == "tiny-llama":
        return LlamaForCausalLM(LlamaConfig(**TINY_LLAMA, vocab_size=512, max_position_embeddings=512))
    directory = Path(settings.weights_dir)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(directory))
    model.load_state_dict(torch.load(directory / "weights.pt", weights_only=True))
    return model


# ---------------------------------------------------------------------------------------------- workers
def train_worker(variant: str, settings: ModelSettings) -> dict:
    """Peak memory over the variant's warm-up steps, then its steps alternating with floor steps (adapters
    swapped out) on the same weights."""
    backbone = load_backbone(settings).train().requires_grad_(False)  # frozen before the warm-up step too, so
    # that step leaves no weight gradients behind (attach() freezes it again; the floor is the frozen backbone)
    backbone.enable_input_require_grads()  # every variant back-propagates to the embeddings, as the floor does
    ids = torch.randint(backbone.config.vocab_size, (settings.batch, settings.length))

    def floor_step() -> None:
        backbone(input_ids=ids, labels=ids, use_cache=False).loss.backward()

    floor_step()  # warm the kernels' buffers outside the memory window
    load_lazy_modules(variant)
    with harness.PeakMemory() as memory:
        model = attach(backbone, variant, targets=settings.targets, rank=settings.rank)
        step = causal_lm_train_step(model, ids)
        for _ in range(settings.warmup):
            step()
    params = trainable(model)
    timed = time_with_floor(step, floor_step, backbone, repeats=settings.steps, paired=variant != "floor")
    return {
        **timed,
        "peak_mib": memory.peak_mib,
        "adapter_state_mib": harness.adapter_state_mib(params),
        "trainable_parameters": sum(p.numel() for p in params),
    }


def infer_states(method: str, backbone: nn.Module, model: nn.Module) -> tuple[list[str], Callable[[str], None]]:
    """The states one inference process alternates between, and the function that puts the model in one."""
    switch = BaseSwitch(backbone)
    if method != "gift":
        return ["base", method], lambda state: switch.use_base(state == "base")

    def enter(state: str) -> None:
        switch.use_base(state == "base")
        model.merge() if state == "gift-merged" else model.unmerge()

    return ["base", "gift-merged", "gift-unmerged"], enter


def infer_worker(method: str, settings: ModelSettings) -> dict:
    """Forward and greedy generation of the base model and of `method`'s states, alternating, same weights."""
    backbone = load_backbone(settings).eval()
    model = attach(backbone, method, targets=settings.targets, rank=settings.rank)
    states, enter = infer_states(method, backbone, model)
    ids = torch.randint(backbone.config.vocab_size, (settings.infer_batch, settings.infer_length))
    prompt = torch.randint(backbone.config.vocab_size, (1, settings.prompt_length))
    tokens = settings.new_tokens
    generation = {"max_new_tokens": tokens, "min_new_tokens": tokens, "do_sample": False, "pad_token_id": 0}
    with torch.no_grad():  # the adapted modules sit inside `backbone`: its own forward and generate run them
        forward_s = harness.time_alternating(
            {state: lambda: backbone(input_ids=ids, use_cache=False) for state in states},
            setup=enter,
            warmup=1,
            repeats=settings.forward_repeats,
        )
        aten_ops = {}
        for state in states:
            enter(state)
            aten_ops[state] = harness.count_aten_ops(lambda: backbone(input_ids=ids, use_cache=False))
        generate_s = harness.time_alternating(
            {state: lambda: backbone.generate(prompt, **generation) for state in states},
            setup=enter,
            warmup=1,
            repeats=settings.steps,
        )
    return {
        "states": states,
        "forward_s": forward_s,
        "aten_ops_per_forward": aten_ops,
        "tokens_per_s": {state: [tokens / seconds for seconds in times] for state, times in generate_s.items()},
    }


def worker(task: str, settings: ModelSettings) -> dict:
    """`task` is "train:<variant>" or "infer:<variant>"."""
    part, variant = task.split(":", 1)
    return train_worker(variant, settings) if part == "train" else infer_worker(variant, settings)


# ---------------------------------------------------------------------------------------------- summary
def floor_macs(config, batch: int, length: int) -> int:
    """Multiply-adds of a frozen forward + input-gradient backward: 2 × (every linear layer incl. the LM head,
    plus attention scores and values, 2·B·L²·d per layer counted without the causal mask)."""
    d, layers = config.hidden_size, config.num_hidden_layers
    d_kv = config.num_key_value_heads * (d // config.num_attention_heads)
    per_token = layers * (2 * d * d + 2 * d * d_kv + 3 * d * config.intermediate_size) + d * config.vocab_size
    return 2 * (batch * length * per_token + layers * 2 * batch * length * length * d)


def summarise_train(
    settings: ModelSettings, results: dict[str, list[dict]], memory: dict[str, list[dict]], backbone: nn.Module
) -> dict:
    tokens = settings.batch * settings.length
    flops = StepFlops.of(target_shapes(backbone, settings.targets), tokens, settings.rank)
    floor = floor_macs(backbone.config, settings.batch, settings.length)
    rows, _ = harness.training_rows(results, memory, ("peak_mib", "adapter_state_mib", "trainable_parameters"))
    for variant, row in rows.items():
        row["tokens_per_s"] = tokens / row["step_s"]
        row["extra_flops_vs_floor"] = 1 + flops.extra(variant) / floor
    return {"floor_gflop": 2 * floor / 1e9, "variants": rows}


def summarise_infer(results: dict[str, list[dict]]) -> dict:
    """One row per state; ratios pair each call with the base model's call of the same repeat, in the same
    process (`harness.pair_ratios`). The base row pools the base timings of every process."""
    rows: dict[str, dict] = {}
    for runs in results.values():
        for state in runs[0]["states"]:
            if state == "base" and "base" in rows:
                continue
            source = [run for method_runs in results.values() for run in method_runs] if state == "base" else runs
            forward = harness.pair_ratios([run["forward_s"] for run in source], state, "base")
            generate = harness.pair_ratios([run["tokens_per_s"] for run in source], state, "base")
            rows[state] = {
                "forward_s": harness.median([t for run in source for t in run["forward_s"][state]]),
                "tokens_per_s": harness.median([t for run in source for t in run["tokens_per_s"][state]]),
                "forward_vs_base": harness.median(forward),
                "forward_vs_base_ci": None if state == "base" else harness.interval_or_none([forward]),
                "aten_ops_per_forward": runs[0]["aten_ops_per_forward"][state],
                "generate_vs_base": harness.median(generate),
                "generate_vs_base_ci": None if state == "base" else harness.interval_or_none([generate]),
            }
    return {"variants": rows}


TRAIN_COLUMNS = [
    ("step (s)", field_of("step_s")),
    ("tokens/s", field_of("tokens_per_s")),
    ("× floor", field_of("vs_floor")),
    ("× LoRA", field_of("vs_lora")),
    ("× LoRA, 95 % interval", interval_of("vs_lora_ci")),
    ("× naive", field_of("vs_naive")),
    ("× LoRA, unpaired", field_of("vs_lora_unpaired")),
    ("overhead (formula)", change_of("extra_flops_vs_floor")),
    ("overhead (measured)", change_of("vs_floor")),
    ("peak MiB", field_of("peak_mib")),
    ("θ+grad+AdamW MiB", field_of("adapter_state_mib")),
    ("trainable params", lambda row: f"{row['trainable_parameters']:,}"),
]
INFER_COLUMNS = [
    ("forward (s)", field_of("forward_s")),
    ("forward × base", field_of("forward_vs_base")),
    ("95 % interval", interval_of("forward_vs_base_ci")),
    ("aten ops / forward", field_of("aten_ops_per_forward")),
    ("generate tokens/s", field_of("tokens_per_s")),
    ("generate × base", field_of("generate_vs_base")),
    ("95 % interval", interval_of("generate_vs_base_ci")),
]


def run_part(part: str, variants: Sequence[str], settings: ModelSettings, *, memory: bool = False) -> dict:
    """The results of `part` ("train" or "infer") for each variant, from the timed rounds or (`memory`) the
    memory pass; the workers' tasks are "part:variant"."""
    run = harness.run_memory_pass if memory else harness.run_interleaved
    results = run("benchmarks.whole_model", worker, [f"{part}:{variant}" for variant in variants], settings)
    return {task.split(":", 1)[1]: runs for task, runs in results.items()}


def run(settings: ModelSettings) -> dict:
    harness.check_variants(settings.parts, PARTS, "--parts")
    harness.check_variants([settings.model], MODELS, "--model")
    harness.check_variants(settings.train_variants, TRAIN_VARIANTS, "--train-variants")
    harness.check_variants(settings.infer_methods, INFER_METHODS, "--infer-methods")
    summary: dict = {}
    with tempfile.TemporaryDirectory(prefix="gift-benchmark-") as directory:
        export_backbone(settings, Path(directory))
        settings.weights_dir = directory
        backbone = load_backbone(settings)
        if "train" in settings.parts:
            raw = run_part("train", settings.train_variants, settings)
            memory = run_part("train", settings.train_variants, settings, memory=True)
            summary["train"] = {**summarise_train(settings, raw, memory, backbone), "memory": memory, "raw": raw}
        if "infer" in settings.parts:
            raw = run_part("infer", settings.infer_methods, settings)
            summary["infer"] = {**summarise_infer(raw), "raw": raw}
        settings.weights_dir = ""
    return harness.save(settings, summary)


def report(summary: dict) -> str:
    settings, parts = summary["settings"], []
    if "train" in summary:
        parts.append(
            f"Training, {settings['model']}, r={settings['rank']} on {settings['targets']}, batch "
            f"{settings['batch']}×{settings['length']} (floor ≈ {summary['train']['floor_gflop']:.4g} GFLOP/step)\n\n"
            + harness.variant_table(TRAIN_COLUMNS, summary["train"]["variants"])
        )
    if "infer" in summary:
        parts.append(
            f"Inference, {settings['model']}: forward {settings['infer_batch']}×{settings['infer_length']}; greedy "
            f"generation of {settings['new_tokens']} tokens after {settings['prompt_length']}, batch 1\n\n"
            + harness.variant_table(INFER_COLUMNS, summary["infer"]["variants"])
        )
    return "\n\n".join(parts)


def main(argv: Sequence[str] | None = None) -> None:
    harness.main(ModelSettings, argv, __doc__, run=run, report=report, worker=worker)


if __name__ == "__main__":
    sys.exit(main())
