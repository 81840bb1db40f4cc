"""Batched generation from left-padded prompts, with the decoding presets of the paper's protocols.

    greedy            every reported number (the default)
    instruct          AlpacaEval outputs: greedy, no_repeat_ngram_size 5, repetition_penalty 1.1
    beam4_commonsense LLM-Adapters' non-greedy commonsense setting (4 beams, sampling at temperature 0.1)
    beam4_math        the same for math (temperature 0.3)
    sample_gsm8k      LoftQ's GSM8K sampling (temperature 0.1, top-p 0.95, top-k 40)

Decoding depends on the preset alone, never on the checkpoint. transformers 5 fills every field that the
passed `GenerationConfig` leaves unset (None) from `model.generation_config`, so a checkpoint's
repetition_penalty, no_repeat_ngram_size or suppress_tokens would change greedy outputs, and Llama-2-chat's
temperature 0.6 the sampling ones. Two guards: `generation_config` sets every field that picks a token or
stops generation (`NEUTRAL_DECODING`, then the preset); and since several of those are off only as None
(forced_bos_token_id, suppress_tokens, watermarking_config, ...), `generate` also hides the checkpoint's
config for the call.
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import torch

# Every GenerationConfig field that picks a token or ends generation, at the value that turns it off; a preset
# overrides some. The sampling and beam fields are inert under greedy decoding (top_k 50 is transformers'
# default: any other value with do_sample False earns a warning). max_new_tokens, eos and pad come from the task.
NEUTRAL_DECODING: dict[str, Any] = {
    # search
    "do_sample": False,
    "num_beams": 1,
    "num_beam_groups": 1,
    "diversity_penalty": 0.0,
    "penalty_alpha": 0.0,  # contrastive search off
    "dola_layers": None,
    "constraints": None,
    "force_words_ids": None,
    "early_stopping": False,
    "length_penalty": 1.0,
    "num_return_sequences": 1,
    "use_mtp": False,
    "prompt_lookup_num_tokens": None,
    "assistant_early_exit": None,
    # sampling
    "temperature": 1.0,
    "top_k": 50,
    "top_p": 1.0,
    "min_p": None,
    "top_h": None,
    "typical_p": 1.0,
    "epsilon_cutoff": 0.0,
    "eta_cutoff": 0.0,
    # logits processors
    "repetition_penalty": 1.0,
    "encoder_repetition_penalty": 1.0,
    "no_repeat_ngram_size": 0,
    "encoder_no_repeat_ngram_size": 0,
    "bad_words_ids": None,
    "sequence_bias": None,
    "suppress_tokens": None,
    "begin_suppress_tokens": None,
    "forced_bos_token_id": None,
    "forced_eos_token_id": None,
    "exponential_decay_length_penalty": None,
    "guidance_scale": 1.0,
    "watermarking_config": None,
    "renormalize_logits": False,
    "remove_invalid_values": False,
    "token_healing": False,
    # length and stopping (min_length is then min_new_tokens + the prompt; setting both earns a warning)
    "min_new_tokens": 0,
    "max_time": None,
    "stop_strings": None,
}

# LLM-Adapters' non-greedy setting; its temperature differs by task
_BEAM4 = {"do_sample": True, "num_beams": 4, "early_stopping": True, "top_p": 0.75, "top_k": 40}
GENERATION_PRESETS: dict[str, dict[str, Any]] = {
    "greedy": {},
    "instruct": {"no_repeat_ngram_size": 5, "repetition_penalty": 1.1},
    "beam4_commonsense": _BEAM4 | {"temperature": 0.1},
    "beam4_math": _BEAM4 | {"temperature": 0.3},
    "sample_gsm8k": {"do_sample": True, "temperature": 0.1, "top_p": 0.95, "top_k": 40},
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
    """The whole decoding of `preset`: `NEUTRAL_DECODING` with the preset's fields over it."""
    from transformers import GenerationConfig

    return GenerationConfig(
        **(NEUTRAL_DECODING | GENERATION_PRESETS[preset]),
        max_new_tokens=max_new_tokens,
        pad_token_id=pad_token_id,
        eos_token_id=eos_token_ids,
    )


@contextmanager
def checkpoint_defaults_hidden(model: torch.nn.Module) -> Iterator[None]:
    """Every generating module of `model` (the transformers model inside a GIFT or PEFT wrapper) gets a blank
    `generation_config` for the duration, so that a field the passed config leaves None stays off instead of coming
    from the checkpoint; the checkpoint's config is put back afterwards, also on error."""
    from transformers import GenerationConfig, GenerationMixin

    hidden = [(m, m.generation_config) for m in model.modules() if isinstance(m, GenerationMixin)]
    try:
        for module, _ in hidden:
            module.generation_config = GenerationConfig()
        yield
    finally:
        for module, checkpoint_config in hidden:
            module.generation_config = checkpoint_config


@torch.no_grad()
def generate(model: Any, batch: dict[str, torch.Tensor], config: Any, *, max_length: int | None = None) -> torch.Tensor:
    """The new tokens only, (B, new) padded with the pad id after each sequence's end; decoded by `config` alone.

    `max_length` caps prompt + generation (the instruction presets: 2048) instead of `max_new_tokens`.
    """
    input_ids, attention_mask = batch["input_ids"], batch["attention_mask"]
    if max_length is not None:
        config = copy.deepcopy(config)
        config.max_new_tokens = max(1, max_length - input_ids.shape[1])
    with checkpoint_defaults_hidden(model):
        output = model.generate(input_ids=input_ids, attention_mask=attention_mask, generation_config=config)
    return output[:, input_ids.shape[1] :]
