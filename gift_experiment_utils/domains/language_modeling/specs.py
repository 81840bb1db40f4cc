"""The paper's language-modeling tasks, one row each: data, prompt, target, scorer, decoding.

    commonsense    Commonsense170k → 8 test sets; "<instruction>\\n" → "the correct answer is <answer>";
                   exact match after the trigger; greedy, 32 new tokens           (docs/paper_results.md#commonsense-reasoning)
    math           Math10K → 7 test sets; Alpaca template → chain of thought; last number within 1e-3,
                   AQuA option letter (task.scorer=math_loreft: LoReFT's rules); 512 new tokens (docs/paper_results.md#arithmetic-reasoning)
    gsm8k          GSM8K train minus its last 300 (the tuning split) → GSM8K test; "#### n" →
                   "The final answer is: n"; 256 new tokens                        (hyperparameter tuning)
    alpaca         Alpaca-52K cleaned → AlpacaEval outputs (805 prompts)           (instruction-rank tuning)
    ultrafeedback  UltraFeedback → AlpacaEval outputs                              (docs/paper_results.md#instruction-tuning)
    arithmetic     generated GSM8K-style problems (arithmetic.py) → held-out ones  (`make demo`)

Adding a task is adding a row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from .formats import COMMONSENSE_SETS, MATH_SETS
from .prompts import COMMONSENSE_TRIGGER


@dataclass(frozen=True)
class LMTaskSpec:
    train: str  # data file (formats.DATA_FILES) or "generated:arithmetic"
    test: tuple[str, ...]  # data files of the test split; each is scored on its own, "accuracy" is their mean
    prompt: str  # prompts.PROMPTS key
    target: str  # prompts.TARGETS key
    scorer: str | None  # answers.SCORERS key (task.scorer may swap in a like one); None: write AlpacaEval outputs
    max_new_tokens: int
    trigger: str = ""  # text the scorer looks for before the answer
    generation: str = "greedy"  # generation.GENERATION_PRESETS key
    max_total_length: int | None = None  # cap prompt + generation instead (instruction tasks: 2048)
    val_from_train_tail: int = 0  # the last N training examples become the validation split


def _tests(names: Iterable[str]) -> tuple[str, ...]:
    return tuple(f"{name}/test.json" for name in names)


# Instruction tuning: AlpacaEval outputs, unscored, from the Alpaca template.
_INSTRUCTION_TUNING: dict[str, Any] = dict(
    test=("alpaca_eval/eval.json",),
    prompt="alpaca",
    target="output",
    scorer=None,
    generation="instruct",
    max_new_tokens=2048,
    max_total_length=2048,
)

LM_TASKS: dict[str, LMTaskSpec] = {
    "commonsense": LMTaskSpec(
        train="commonsense_170k/train.json",
        test=_tests(COMMONSENSE_SETS),
        prompt="commonsense",
        target="trigger_answer",
        scorer="exact",
        trigger=COMMONSENSE_TRIGGER,
        max_new_tokens=32,
    ),
    "math": LMTaskSpec(
        train="math_10k/train.json",
        test=_tests(MATH_SETS),
        prompt="alpaca",
        target="output",
        scorer="math",
        max_new_tokens=512,
    ),
    "gsm8k": LMTaskSpec(
        train="gsm8k_main/train.json",
        val_from_train_tail=300,
        test=("gsm8k_main/test.json",),
        prompt="gsm8k",
        target="gsm8k",
        scorer="number",
        max_new_tokens=256,
    ),
    "alpaca": LMTaskSpec(train="alpaca_data_cleaned/train.json", **_INSTRUCTION_TUNING),
    "ultrafeedback": LMTaskSpec(train="ultrafeedback/train.json", **_INSTRUCTION_TUNING),
    "arithmetic": LMTaskSpec(
        train="generated:arithmetic",
        test=(),  # the held-out problems are the validation split
        prompt="gsm8k",
        target="gsm8k",
        scorer="number",
        max_new_tokens=64,
    ),
}


def set_name(path: str) -> str:
    """ "boolq/test.json" -> "boolq": the name of an eval set in metrics and in `task.eval_sets`."""
    return path.split("/")[0]


def scored_files() -> dict[str, tuple[str, ...]]:
    """Data file -> the scorers that read its gold answers: the test sets of scored rows, and a training file
    whose tail is a validation split (GSM8K)."""
    scorers: dict[str, tuple[str, ...]] = {}
    for spec in (spec for spec in LM_TASKS.values() if spec.scorer is not None):
        for path in [*spec.test, *([spec.train] if spec.val_from_train_tail else [])]:
            scorers[path] = tuple(dict.fromkeys([*scorers.get(path, ()), spec.scorer]))
    return scorers
