"""Shared fixtures: offline, CPU-only, real models loaded once per session."""

from __future__ import annotations

import copy
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))  # shared helpers such as toy_models.py

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "disabled")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402


def pytest_collection_modifyitems(config, items):
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def _smollm2():
    from gift_experiment_utils.offline_models import load_smollm2

    model, tokenizer = load_smollm2()
    return model.eval(), tokenizer


@pytest.fixture
def smollm2(_smollm2):
    """(a fresh copy of the real SmolLM2-135M-Instruct, its tokenizer)."""
    model, tokenizer = _smollm2
    return copy.deepcopy(model), tokenizer


@pytest.fixture(scope="session")
def minilm_dir():
    from gift_experiment_utils.offline_models import minilm_dir

    return minilm_dir()
