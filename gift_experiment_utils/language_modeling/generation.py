"""Batched generation from left-padded prompts, with the decoding presets of the paper's protocols.

    greedy            every reported number (the default)
    instruct          AlpacaEval outputs: greedy, no_repeat_ngram_size 5, repetition_penalty 1.1
    beam4_commonsense LLM-Adapters' non-greedy commonsense setting (4 beams, sampling at temperature 0.1)
    beam4_math        the same for math (temperature 0.3)
    sample_gsm8k      LoftQ's GSM8K sampling (temperature 0.1, top-p 0.95, top-k 40)

A full `GenerationConfig` is built from the preset, so a checkpoint's own defaults (Llama-2-chat samples
at temperature 0.6) never leak into an evaluation.
"""

from __future__ import annotations

import copy
from typing import Any

import torch

GENERATION_PRESETS: dict[str, dict[str, Any]] = {
    "greedy": {"do_sample": False, "num_beams": 1},
    "instruct": {"do_sample": False, "num_beams": 1, "no_repeat_ngram_size": 5, "repetition_penalty": 1.1},
    "beam4_commonsense": {
        "do_sample": True,
        "num_beams": 4,
        "early_stopping": True,
        "temperature": 0.1,
        "top_p": 0.75,
        "top_k": 40,
    },
    "beam4_math": {
        "do_sample": True,
        "num_beams": 4,
        "early_stopping": True,
        "temperature": 0.3,
        "top_p": 0.75,
        "top_k": 40,
    },
    "sample_gsm8k": {"do_sample": True, "num_beams": 1, "temperature": 0.1, "top_p": 0.95, "top_k": 40},
}


def stop_token_ids(tokenizer: Any, stop_tokens: list[str]) -> list[int]:
    """EOS plus extra end-of-turn tokens (Llama-3-Instruct ends turns with <|eot_id|>)."""
    ids = [] if tokenizer.eos_token_id is None else [tokenizer.eos_token_id]
    for token in stop_tokens:
        token_id = tokenizer.convert_tokens_to_ids(token)
        if token_id is None or token_id == tokenizer.unk_token_id:
            raise ValueError(f"Config key 'task.stop_tokens': {token!r} is not a single token of this tokenizer.")
        ids.append(token_id)
    return ids


def generation_config(preset: str, *, max_new_tokens: int, pad_token_id: int, eos_token_ids: list[int]) -> Any:
    from transformers import GenerationConfig

    return GenerationConfig(
        **GENERATION_PRESETS[preset],
        max_new_tokens=max_new_tokens,
        pad_token_id=pad_token_id,
        eos_token_id=eos_token_ids,
    )


@torch.no_grad()
def generate(model: Any, batch: dict[str, torch.Tensor], config: Any, *, max_length: int | None = None) -> torch.Tensor:
    """The new tokens only, (B, new) padded with the pad id after each sequence's end.

    `max_length` caps prompt + generation (the instruction presets: 2048) instead of `max_new_tokens`.
    """
    input_ids, attention_mask = batch["input_ids"], batch["attention_mask"]
    if max_length is not None:
        config = copy.deepcopy(config)
        config.max_new_tokens = max(1, max_length - input_ids.shape[1])
    output = model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=config)
    return output[:, input_ids.shape[1] :]


def decode_new_tokens(tokenizer: Any, new_tokens: torch.Tensor) -> list[str]:
    return tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
