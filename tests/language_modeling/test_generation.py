"""Decoding depends on the preset alone: a checkpoint's `generation_config` changes no generated token.

transformers 5 fills every field a passed `GenerationConfig` leaves unset from `model.generation_config`, so
a checkpoint that ships repetition_penalty, no_repeat_ngram_size, suppress_tokens, ... used to change greedy
outputs. Each case below sets one such field on the checkpoint, shows that it does change a plain
`model.generate` (the test has teeth), and that the preset's output stays that of a clean checkpoint.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import torch

from gift_experiment_utils.domains.language_modeling.generation import GENERATION_PRESETS, generate, generation_config
from gift_experiment_utils.domains.language_modeling.tokenization import collate_prompts, encode_prompt, pad_id

PROMPTS = ("Tom has 3 apples.\n", "How many?\n", "A farm has 7 cows and 2 more sheep.\n")
NEW_TOKENS = 8


@pytest.fixture(scope="module")
def lm(tiny_llama_dir: Path, bpe_tokenizer) -> tuple[Any, dict[str, torch.Tensor], list[list[int]]]:
    """The tiny Llama with a blank generation_config, a left-padded batch, and its clean greedy continuations."""
    from transformers import GenerationConfig, LlamaForCausalLM

    model = LlamaForCausalLM.from_pretrained(tiny_llama_dir).eval()
    model.generation_config = GenerationConfig()
    batch = collate_prompts([encode_prompt(bpe_tokenizer, p) for p in PROMPTS], pad_id(bpe_tokenizer))
    clean = generate(model, batch, _config("greedy", bpe_tokenizer)).tolist()
    return model, batch, clean


def _config(preset: str, tokenizer: Any, *, eos: list[int] | None = None, pad: int | None = None) -> Any:
    eos_ids = [tokenizer.eos_token_id] if eos is None else eos
    pad_token_id = pad_id(tokenizer) if pad is None else pad
    return generation_config(preset, max_new_tokens=NEW_TOKENS, pad_token_id=pad_token_id, eos_token_ids=eos_ids)


def _polluted(model: Any, **fields: Any) -> Any:
    """The same weights behind a checkpoint whose generation_config sets `fields`."""
    from transformers import GenerationConfig

    polluted = copy.copy(model)  # shares the weights; only the attribute below differs
    polluted.generation_config = GenerationConfig(**fields)
    return polluted


def _plain_greedy(model: Any, batch: dict[str, torch.Tensor], tokenizer: Any, *, eos: list[int]) -> list[list[int]]:
    """`model.generate` with a config that sets only the greedy basics, as the presets used to."""
    from transformers import GenerationConfig

    config = GenerationConfig(
        do_sample=False,
        num_beams=1,
        max_new_tokens=NEW_TOKENS,
        pad_token_id=pad_id(tokenizer),
        eos_token_id=eos,
    )
    with torch.no_grad():
        output = model.generate(**batch, generation_config=config)
    return output[:, batch["input_ids"].shape[1] :].tolist()


# Each field as a checkpoint might set it, built from the clean continuation so that it must matter.
CHECKPOINT_FIELDS: dict[str, Callable[[list[list[int]]], dict[str, Any]]] = {
    "repetition_penalty": lambda clean: {"repetition_penalty": 5.0},
    "no_repeat_ngram_size": lambda clean: {"no_repeat_ngram_size": 1},
    "suppress_tokens": lambda clean: {"suppress_tokens": [clean[0][0]]},
    "begin_suppress_tokens": lambda clean: {"begin_suppress_tokens": [clean[0][0]]},
    "bad_words_ids": lambda clean: {"bad_words_ids": [[clean[0][0]]]},
    "sequence_bias": lambda clean: {"sequence_bias": [[[clean[0][0]], -100.0]]},
    "forced_eos_token_id": lambda clean: {"forced_eos_token_id": clean[0][-1] + 1},
    "min_new_tokens": lambda clean: {"min_new_tokens": NEW_TOKENS},  # with EOS = a token greedy picks (below)
    "max_time": lambda clean: {"max_time": 1e-9},  # stop after the first token
    "exponential_decay_length_penalty": lambda clean: {"exponential_decay_length_penalty": (1, 1e3)},  # EOS soon
    "guidance_scale": lambda clean: {"guidance_scale": 5.0},
    "watermarking_config": lambda clean: {"watermarking_config": {"bias": 100.0}},
}


@pytest.mark.parametrize("field", sorted(CHECKPOINT_FIELDS))
def test_checkpoint_generation_config_does_not_change_greedy_output(lm, bpe_tokenizer, field: str) -> None:
    model, batch, clean = lm
    assert any(len(set(row)) < len(row) for row in clean), "the tiny model should repeat itself (teeth of penalties)"
    eos = [bpe_tokenizer.eos_token_id]
    if field == "min_new_tokens":  # greedy must stop early for a minimum length to have something to prevent
        eos = [clean[0][2]]
        clean = generate(model, batch, _config("greedy", bpe_tokenizer, eos=eos)).tolist()
        assert eos[0] in clean[0][:3]  # stops at the third token at the latest
    polluted = _polluted(model, **CHECKPOINT_FIELDS[field](clean))
    leaked = _plain_greedy(polluted, batch, bpe_tokenizer, eos=eos)
    assert leaked != clean, f"{field} should change a plain model.generate, or this case proves nothing"
    assert generate(polluted, batch, _config("greedy", bpe_tokenizer, eos=eos)).tolist() == clean


POLLUTION = {
    "repetition_penalty": 5.0,
    "no_repeat_ngram_size": 2,
    "min_length": 30,
    "min_new_tokens": 6,
    "encoder_no_repeat_ngram_size": 2,
    "exponential_decay_length_penalty": (1, 5.0),
    "renormalize_logits": True,
    "min_p": 0.9,
    "typical_p": 0.2,
    "epsilon_cutoff": 0.3,
    "eta_cutoff": 0.3,
    "top_k": 1,
    "top_p": 0.1,
    "temperature": 3.0,
    "length_penalty": -5.0,
    "guidance_scale": 3.0,
    "max_length": 9,
}


@pytest.mark.parametrize("preset", sorted(GENERATION_PRESETS))
def test_every_preset_ignores_a_polluted_checkpoint(lm, bpe_tokenizer, preset: str) -> None:
    """Sampling presets too: with one seed, the clean and the polluted checkpoint draw the same tokens."""
    model, batch, clean = lm
    config = _config(preset, bpe_tokenizer)
    torch.manual_seed(0)
    expected = generate(model, batch, config).tolist()
    polluted = _polluted(model, **POLLUTION, **CHECKPOINT_FIELDS["suppress_tokens"](clean))
    torch.manual_seed(0)
    assert generate(polluted, batch, config).tolist() == expected
    assert polluted.generation_config.repetition_penalty == 5.0  # put back after the call


def test_preset_fields_are_all_explicit() -> None:
    """Every field that picks a token or stops generation is set, so the run's config says how it decoded."""
    config = generation_config("instruct", max_new_tokens=4, pad_token_id=0, eos_token_ids=[1])
    assert (config.do_sample, config.num_beams) == (False, 1)
    assert (config.repetition_penalty, config.no_repeat_ngram_size) == (1.1, 5)  # the paper's instruction eval
    greedy = generation_config("greedy", max_new_tokens=4, pad_token_id=0, eos_token_ids=[1])
    neutral = {
        "repetition_penalty": 1.0,
        "no_repeat_ngram_size": 0,
        "encoder_no_repeat_ngram_size": 0,
        "min_new_tokens": 0,
        "length_penalty": 1.0,
        "temperature": 1.0,
        "top_p": 1.0,
        "typical_p": 1.0,
        "epsilon_cutoff": 0.0,
        "eta_cutoff": 0.0,
        "penalty_alpha": 0.0,
        "guidance_scale": 1.0,
        "renormalize_logits": False,
        "remove_invalid_values": False,
        "num_return_sequences": 1,
    }
    assert {name: getattr(greedy, name) for name in neutral} == neutral


def test_eos_stops_and_pads_with_the_pad_id_whatever_the_checkpoint_says(lm, bpe_tokenizer) -> None:
    """EOS comes from the task (tokenizer + task.stop_tokens) and padding from its pad id, not the checkpoint's."""
    model, batch, clean = lm
    stop, pad = clean[0][2], clean[0][2] + 1
    polluted = _polluted(model, eos_token_id=clean[0][0], pad_token_id=clean[0][0] + 2)
    new = generate(polluted, batch, _config("greedy", bpe_tokenizer, eos=[stop], pad=pad)).tolist()
    assert stop in new[0]  # the first prompt stops, at the third token at the latest
    for row, clean_row in zip(new, clean):
        end = clean_row.index(stop) + 1 if stop in clean_row else len(clean_row)
        assert row[:end] == clean_row[:end] and row[end:] == [pad] * (len(row) - end)


@pytest.mark.parametrize("wrapper", ["gift", "lora"])
def test_a_wrapped_checkpoint_is_hidden_too(lm, bpe_tokenizer, wrapper: str) -> None:
    """The transformers model inside a GIFT or PEFT wrapper is the one whose generation_config leaks."""
    model, batch, clean = lm
    polluted = copy.deepcopy(_polluted(model, **CHECKPOINT_FIELDS["suppress_tokens"](clean)))  # wrapping edits it
    if wrapper == "gift":
        from gift import GIFTConfig, GIFTWrapperForCausalLM

        wrapped = GIFTWrapperForCausalLM(GIFTConfig(rank=2, target_modules=["q_proj", "v_proj"]), polluted)
    else:
        from peft import LoraConfig, get_peft_model

        wrapped = get_peft_model(polluted, LoraConfig(r=2, target_modules=["q_proj", "v_proj"]))
    # both start as the identity (GIFT: θ at zero; LoRA: B at zero), so the clean output is the reference
    assert generate(wrapped, batch, _config("greedy", bpe_tokenizer)).tolist() == clean
