"""Helpers shared by the PEFT plug-in tests."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from peft import PeftModel, get_peft_model
from torch import nn

from gift import GIFTWrapper, GIFTWrapperForCausalLM, GIFTWrapperForSeqClassification
from gift.peft import GIFTPeftConfig, GIFTPeftLayer, adapter_generators


def randomise(parameters, std: float = 0.02, seed: int = 1) -> None:
    """Move θ (and heads) away from their zero-ψ init so that adapters change outputs."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in parameters:
            parameter.add_(torch.randn(parameter.shape, generator=generator, dtype=parameter.dtype) * std)


def drop_gguf_marker(model: nn.Module) -> nn.Module:
    """`load_smollm2` de-quantises the GGUF weights to float32 but leaves transformers' GGUF quantizer on the
    model, so HF Trainer refuses to train it and save_pretrained to save it. The weights are plain floats."""
    quantizer = getattr(model, "hf_quantizer", None)
    if quantizer is not None:
        quantizer.remove_quantization_config(model)
    return model


@torch.no_grad()
def logits(model, batch) -> torch.Tensor:
    return model(**batch).logits


@dataclass(frozen=True)
class Case:
    model: str  # fixture giving (model, tokenizer)
    batch: str  # fixture giving the inputs
    rank: int
    task_type: str
    targets: tuple[str, ...]  # what target_modules=None resolves to for this model type
    core_cls: type[GIFTWrapper]
    head: str | None  # the trained classification head, if any


CASES = {
    "smollm2": Case("smollm2", "lm_batch", 8, "CAUSAL_LM", ("q_proj", "v_proj"), GIFTWrapperForCausalLM, None),
    "minilm": Case(
        "minilm", "cls_batch", 4, "SEQ_CLS", ("query", "value"), GIFTWrapperForSeqClassification, "classifier"
    ),
}


def peft_model(spec: Case, model: nn.Module, seed: int = 0, **overrides) -> PeftModel:
    torch.manual_seed(seed)
    return get_peft_model(model, GIFTPeftConfig(rank=spec.rank, task_type=spec.task_type, **overrides))


def head_copy(model: PeftModel, spec: Case, adapter: str = "default") -> nn.Module:
    return model.base_model.model.get_submodule(spec.head).modules_to_save[adapter]


def train_something(model: PeftModel, spec: Case, adapter: str = "default", seed: int = 1) -> None:
    randomise(adapter_generators(model, adapter).parameters(), seed=seed)
    if spec.head:
        randomise(head_copy(model, spec, adapter).parameters(), std=0.5, seed=seed)


def gift_layers(model: nn.Module) -> dict[str, GIFTPeftLayer]:
    return {name: m for name, m in model.named_modules() if isinstance(m, GIFTPeftLayer)}
