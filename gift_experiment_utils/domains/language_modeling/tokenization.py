"""Tokenising prompt + target with a label mask, and padding batches on the left.

Labels are −100 on exactly the prompt tokens *of the tokenised full sequence*: the tokenizer sees
`prompt + target` once (with character offsets), and a token is a prompt token when all its characters lie
in the prompt. Tokenising the prompt on its own and masking that many tokens (the original recipe) is off
by one wherever a merge crosses the boundary. The EOS id is appended after tokenising, so it is always a
label, even when the tokenizer pads with the EOS token (Llama-3, SmolLM2, GPT-2 have no pad token):
padding is described by the attention mask, never by comparing ids with the pad id.

`encode_example` cuts `prompt + target + EOS` on the right at `max_length`, so a cut always removes target
tokens (EOS first); `find_truncated` names the examples it cuts, and how many lose every target token.

Batches are padded on the left, so that every sequence ends at the last position. Training then needs the
LM head only on the last `max target length + 1` positions (`logits_to_keep`), and generation appends new
tokens right after each prompt.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

IGNORE_INDEX = -100


@dataclass
class Encoded:
    input_ids: list[int]
    labels: list[int]  # IGNORE_INDEX on prompt tokens

    @property
    def num_prompt_tokens(self) -> int:
        return next((i for i, label in enumerate(self.labels) if label != IGNORE_INDEX), len(self.labels))


def pad_id(tokenizer: Any) -> int:
    """The id written into padded positions (masked out, so any real token id serves)."""
    if tokenizer.pad_token_id is not None:
        return tokenizer.pad_token_id
    if tokenizer.eos_token_id is None:
        raise ValueError(f"Tokenizer {tokenizer.name_or_path!r} has neither a pad nor an EOS token.")
    return tokenizer.eos_token_id


def count_prompt_tokens(offsets: list[tuple[int, int]], prompt_chars: int) -> int:
    """Tokens before the first one that holds a target character or starts at/after the prompt's end.

    Special tokens the tokenizer adds at the start have offsets (0, 0) and count as prompt; a zero-width
    token at the boundary (offsets trimmed of whitespace) belongs to the target.
    """
    for i, (start, end) in enumerate(offsets):
        if end > prompt_chars or start >= prompt_chars:
            return i
    return len(offsets)


def _tokenize(tokenizer: Any, text: str) -> tuple[list[int], list[tuple[int, int]], bool]:
    """Ids and offsets of `text` with the tokenizer's special tokens, and whether it appended EOS itself."""
    encoding = tokenizer(text, add_special_tokens=True, return_offsets_mapping=True)
    ids, offsets = list(encoding["input_ids"]), [tuple(o) for o in encoding["offset_mapping"]]
    eos_added = bool(ids) and ids[-1] == tokenizer.eos_token_id and offsets[-1] == (0, 0) and len(text) > 0
    return ids, offsets, eos_added


def encode_prompt(tokenizer: Any, prompt: str) -> list[int]:
    """The prompt's ids for generation: BOS if the tokenizer adds one, never a trailing EOS."""
    ids, _, eos_added = _tokenize(tokenizer, prompt)
    return ids[:-1] if eos_added else ids


def encode_example(
    tokenizer: Any, prompt: str, target: str, *, max_length: int, train_on_inputs: bool = False
) -> Encoded:
    """`prompt + target` (+ EOS) as ids, labels masked on the prompt tokens, cut to `max_length` on the right.

    `train_on_inputs=True` labels every token (the prompt too), as LLM-Adapters' training of its baselines does.
    """
    if not getattr(tokenizer, "is_fast", False):
        raise TypeError(f"{type(tokenizer).__name__} gives no character offsets; load a fast tokenizer.")
    ids, offsets, eos_added = _tokenize(tokenizer, prompt + target)
    if eos_added:  # the tokenizer's own EOS (add_eos_token=True) counts as the target's end
        ids, offsets = ids[:-1], offsets[:-1]
    num_prompt = count_prompt_tokens(offsets, len(prompt))
    if tokenizer.eos_token_id is not None:
        ids.append(tokenizer.eos_token_id)
    labels = list(ids) if train_on_inputs else [IGNORE_INDEX] * num_prompt + ids[num_prompt:]
    return Encoded(input_ids=ids[:max_length], labels=labels[:max_length])


@dataclass
class Truncation:
    """The examples `encode_example` cuts at `max_length`: their answer (target, EOS included) loses tokens."""

    max_length: int
    cut: list[int] = field(default_factory=list)  # indices of examples that lose target tokens
    emptied: list[int] = field(default_factory=list)  # of those, the ones left with no target token (no loss)


def find_truncated(
    tokenizer: Any, pairs: Sequence[tuple[str, str]], *, max_length: int, chunk: int = 4096
) -> Truncation:
    """Which (prompt, target) pairs `encode_example` cuts, exactly as it would.

    One batched tokenisation of the texts gives each length (fast: no offsets); only the few examples that
    may be too long are encoded in full. `+ 1` is the EOS id `encode_example` appends, which never makes a
    too-long text look short, so no cut example is missed.
    """
    found = Truncation(max_length)
    for start in range(0, len(pairs), chunk):
        part = pairs[start : start + chunk]
        ids = tokenizer([p + t for p, t in part], add_special_tokens=True)["input_ids"]
        for offset, (prompt, target) in enumerate(part):
            if len(ids[offset]) + 1 <= max_length:
                continue
            whole = encode_example(tokenizer, prompt, target, max_length=len(ids[offset]) + 1)
            if len(whole.input_ids) > max_length:
                found.cut.append(start + offset)
                if whole.num_prompt_tokens >= max_length:
                    found.emptied.append(start + offset)
    return found


def left_pad(sequences: list[list[int]], value: int) -> torch.Tensor:
    width = max(len(s) for s in sequences)
    return torch.tensor([[value] * (width - len(s)) + list(s) for s in sequences], dtype=torch.long)


def collate_prompts(prompts: list[list[int]], pad_token_id: int) -> dict[str, torch.Tensor]:
    attention_mask = left_pad([[1] * len(p) for p in prompts], 0)
    return {"input_ids": left_pad(prompts, pad_token_id), "attention_mask": attention_mask}


def collate_train(examples: list[Encoded], pad_token_id: int) -> dict[str, torch.Tensor]:
    """Left-padded ids, attention mask, labels and position ids (0 at each sequence's first real token)."""
    batch = collate_prompts([e.input_ids for e in examples], pad_token_id)
    batch["labels"] = left_pad([e.labels for e in examples], IGNORE_INDEX)
    # Absolute-position models (GPT-2) need the real positions; RoPE models get the same result either way.
    batch["position_ids"] = (batch["attention_mask"].cumsum(-1) - 1).clamp(min=0)
    return batch


def causal_lm_loss(model: torch.nn.Module, batch: dict[str, torch.Tensor]) -> torch.Tensor:
    """Mean next-token cross-entropy over the label tokens, with the LM head on the label positions only.

    In a left-padded batch every label sits in the last `k` positions, k = the longest target; the logits
    of the `k + 1` positions ending there predict them. For Llama-3 (vocabulary 128k) this skips most of
    the (batch, length, vocabulary) logits tensor. Equal to the transformers loss on the whole sequence.
    """
    labels = batch["labels"]
    has_label = (labels != IGNORE_INDEX).any(dim=0)  # (T,)
    # a label at position 0 has no position before it, so it cannot be predicted (transformers drops it too)
    first = max(int(has_label.nonzero()[0]), 1) if has_label.any() else labels.shape[1] - 1
    keep = labels.shape[1] - first + 1  # the label span and the position before it
    inputs = {k: v for k, v in batch.items() if k != "labels"}
    logits = model(**inputs, logits_to_keep=keep).logits  # (B, keep, V)
    targets = labels[:, labels.shape[1] - keep + 1 :]  # (B, keep - 1)
    losses = torch.nn.functional.cross_entropy(
        logits[:, :-1].flatten(0, 1).float(), targets.flatten(), ignore_index=IGNORE_INDEX, reduction="sum"
    )
    return losses / (targets != IGNORE_INDEX).sum().clamp(min=1)
