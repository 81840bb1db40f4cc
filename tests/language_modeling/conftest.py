"""Fixtures of the language-modeling tests: small data files in every format, offline tokenizers, a tiny Llama.

No network: the GPT-2-style tokenizer is a byte-level BPE trained here on generated text (the real GPT-2
vocabulary is on the hub), and the tiny Llama is built from a config with random weights and saved to a
folder, so it is loaded the way a hub checkpoint would be.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gift_experiment_utils.domains.language_modeling.arithmetic import ArithmeticConfig, make_splits
from gift_experiment_utils.domains.language_modeling.prompts import ALPACA_NO_INPUT, ALPACA_WITH_INPUT, GSM8K_SUFFIX

EOS = "<|endoftext|>"


def corpus() -> list[str]:
    train, held_out = make_splits(ArithmeticConfig(num_train=200, num_test=20))
    texts = [r.instruction + GSM8K_SUFFIX + r.output for r in train + held_out]
    texts += [
        ALPACA_WITH_INPUT,
        ALPACA_NO_INPUT,
        "the correct answer is true false option1 option2 ending3 answer1",
        "Answer Choices: (A) 450 (B) 100 (C) 252 (D) 240 (E) None The answer is (C).",
    ]
    return texts * 3


@pytest.fixture(scope="session")
def bpe_tokenizer():
    """A GPT-2-style tokenizer: byte-level BPE, no BOS, no pad token, EOS <|endoftext|>."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import PreTrainedTokenizerFast

    bpe = ByteLevelBPETokenizer(add_prefix_space=False)
    bpe.train_from_iterator(corpus(), vocab_size=600, min_frequency=1, special_tokens=[EOS], show_progress=False)
    return PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, eos_token=EOS)


@pytest.fixture(scope="session")
def smollm2_tokenizer():
    from transformers import AutoTokenizer

    from gift_experiment_utils.offline_models import SMOLLM2_GGUF, smollm2_dir

    return AutoTokenizer.from_pretrained(smollm2_dir(), gguf_file=SMOLLM2_GGUF)


@pytest.fixture(scope="session")
def tiny_llama_dir(tmp_path_factory, bpe_tokenizer) -> Path:
    """A 2-layer Llama with random weights and the BPE tokenizer, saved like a hub checkpoint."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    folder = tmp_path_factory.mktemp("tiny-llama")
    config = LlamaConfig(
        vocab_size=len(bpe_tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=512,
        eos_token_id=bpe_tokenizer.eos_token_id,
        bos_token_id=None,
        pad_token_id=None,
    )
    torch.manual_seed(0)
    LlamaForCausalLM(config).save_pretrained(folder)
    bpe_tokenizer.save_pretrained(folder)
    return folder


# ---------------------------------------------------------------------------------------------- data files
COMMONSENSE_ROWS = [
    {
        "instruction": "Please answer the following question with true or false, question: is the sky blue?\n\n"
        "Answer format: true/false",
        "input": "",
        "output": "the correct answer is true",
        "answer": "true",
    },
    {
        "instruction": "Please choose the correct solution to the question: keep food cold\n\nSolution1: fridge\n\n"
        "Solution2: oven\n\nAnswer format: solution1/solution2",
        "input": "",
        "output": "the correct answer is solution1",
        "answer": "solution1",
    },
]
MATH_ROWS = [
    {
        "instruction": "Tom has 3 apples and buys 4 more. How many apples does he have?",
        "input": "",
        "output": "Tom has 3 + 4 = 7 apples.\nThe answer is 7.",
        "answer": "7.0",
    },
    {
        "instruction": "A shop sells 1,200 pens a day. How many pens in 2 days?",
        "input": "",
        "output": "1,200 * 2 = 2,400 pens.\nThe answer is 2400.",
        "answer": "2400",
    },
]
AQUA_ROWS = [  # the early release stored the letter in a list
    {
        "instruction": "What is 60% of 30% of 1400 grams? Answer Choices: (A) 450 gms (B) 100 gms (C) 252 gms "
        "(D) 240 gms (E) None of these",
        "input": "",
        "output": "The answer is (C).",
        "answer": ["C"],
    },
    {
        "instruction": "900 + 5 × 12 = ? Answer Choices: (A) 820 (B) 202 (C) 420 (D) 209 (E) 960",
        "input": "",
        "output": "900 + 60 = 960. The answer is (E).",
        "answer": "E",
    },
]
GSM8K_ROWS = [
    {
        "question": "Natalia sold 48 clips in April and half as many in May. How many clips did she sell?",
        "answer": "In May she sold 48/2 = <<48/2=24>>24 clips.\nIn total 48+24 = <<48+24=72>>72 clips.\n#### 72",
    },
    {
        "question": "Weng earns $12 an hour. She worked 50 minutes. How much did she earn?",
        "answer": "She earns 12/60 = $<<12/60=0.2>>0.2 a minute.\nSo 0.2 x 50 = $<<0.2*50=10>>10.\n#### 10",
    },
]
ALPACA_ROWS = [
    {
        "instruction": "Give three tips for staying healthy.",
        "input": "",
        "output": "1. Eat well.\n2. Exercise.\n3. Sleep enough.",
    },
    {"instruction": "Translate the sentence to French.", "input": "Good morning.", "output": "Bonjour."},
]
ALPACA_EVAL_ROWS = [
    {
        "instruction": "What are the names of some famous actors?",
        "output": "Tom Hanks, ...",
        "generator": "text_davinci_003",
        "dataset": "helpful_base",
    },
    {
        "instruction": "How do I make pancakes?",
        "output": "Mix flour ...",
        "generator": "text_davinci_003",
        "dataset": "koala",
    },
    {
        "instruction": "Write a haiku about rain.",
        "output": "Rain ...",
        "generator": "text_davinci_003",
        "dataset": "vicuna",
    },
]


def write_language_data(root: Path, *, copies: int = 1) -> Path:
    """Every file of formats.DATA_FILES, each `copies` × the rows above."""
    from gift_experiment_utils.domains.language_modeling.formats import COMMONSENSE_SETS, DATA_FILES, MATH_SETS

    rows_by_path = {
        "commonsense_170k/train.json": COMMONSENSE_ROWS,
        "math_10k/train.json": MATH_ROWS,
        "alpaca_data_cleaned/train.json": ALPACA_ROWS,
        "ultrafeedback/train.json": ALPACA_ROWS,
        "gsm8k_main/train.json": GSM8K_ROWS,
        "gsm8k_main/test.json": GSM8K_ROWS,
        "alpaca_eval/eval.json": ALPACA_EVAL_ROWS,
    }
    rows_by_path |= {f"{name}/test.json": COMMONSENSE_ROWS for name in COMMONSENSE_SETS}
    rows_by_path |= {f"{name}/test.json": (AQUA_ROWS if name == "AQuA" else MATH_ROWS) for name in MATH_SETS}
    assert set(rows_by_path) == set(DATA_FILES)
    for relative, rows in rows_by_path.items():
        path = root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(rows * copies, indent=1))
    return root


@pytest.fixture
def language_data(tmp_path) -> Path:
    return write_language_data(tmp_path / "language_data")
