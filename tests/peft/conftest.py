"""Fixtures for the PEFT plug-in: the real SmolLM2 (from tests/conftest.py), the real MiniLM, inputs.

Without the peft extra installed this folder is skipped. With an untested peft version, `import gift.peft`
fails here with its message (which names the tested range and the install command), as it should.
"""

from __future__ import annotations

import copy
import importlib.util
import os
import sys

import pytest
import torch

sys.path.insert(0, os.path.dirname(__file__))  # peft_helpers.py

PEFT_INSTALLED = importlib.util.find_spec("peft") is not None
collect_ignore_glob = [] if PEFT_INSTALLED else ["test_*.py"]
CASES = {}
if PEFT_INSTALLED:
    from peft_helpers import CASES

    import gift.peft  # noqa: F401  registers peft_type "GIFT" (and checks the peft version)


@pytest.fixture(scope="session")
def _minilm(minilm_dir):
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    torch.manual_seed(0)  # the classifier head is new: make it the same in every session
    model = AutoModelForSequenceClassification.from_pretrained(minilm_dir, num_labels=2)
    return model.eval(), AutoTokenizer.from_pretrained(minilm_dir)


@pytest.fixture
def minilm(_minilm):
    """(a fresh copy of the real all-MiniLM-L6-v2 with a 2-way classifier, its tokenizer)."""
    model, tokenizer = _minilm
    return copy.deepcopy(model), tokenizer


@pytest.fixture(scope="session")
def lm_batch(_smollm2):
    _, tokenizer = _smollm2
    # one short prompt: a SmolLM2 forward costs about the same for 1 or 5 tokens, and twice as much for 2 rows
    return dict(tokenizer(["The capital of France is"], return_tensors="pt"))


@pytest.fixture(scope="session")
def cls_batch(_minilm):
    _, tokenizer = _minilm
    return dict(tokenizer(["a warm, funny film", "dull and far too long"], return_tensors="pt", padding=True))


@pytest.fixture(params=list(CASES))
def case(request):
    """(Case, a fresh copy of its real model, its inputs) for each row of CASES."""
    spec = CASES[request.param]
    model, _ = request.getfixturevalue(spec.model)
    return spec, model, request.getfixturevalue(spec.batch)
