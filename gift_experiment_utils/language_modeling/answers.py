"""Scoring generations: the answer after a trigger, the last number, an AQuA option letter.

    trigger_answer("the correct answer is option2", "the correct answer is ")  -> "option2"
    last_number("12 + 7 = 19. The final answer is: 19.")                       -> 19.0
    option_letter("Answer: B")                                                 -> "B"   (not the "A" of "Answer")

Each scorer reads the gold answer in its own way (`GOLD_RULES`): exact match needs a non-empty string, the
number scorer a number, the math scorer a number or an option letter. A gold answer its scorer cannot read
("5/6" in a numeric set, a GSM8K solution without its "#### n" line) makes the example unscorable, not wrong:
`gold_problem` says so before any scoring, and the scorers raise `UnreadableGold` rather than guess.

The commonsense and math rules follow the LLM-Adapters / LoReFT protocol the paper's baselines used
(exact match after the trigger; last number within 1e-3), except the option letter: the original took the
first capital A–E anywhere, so the "A" of "Answer" or of "A train leaves..." counted as a prediction.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable

NUMBER_TOLERANCE = 1e-3  # |pred − gold| ≤ 1e-3, as in LLM-Adapters

# "1,234" is one thousand two hundred and thirty-four; a comma not followed by exactly three digits is punctuation.
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?")
_OPTION = re.compile(r"[A-Ea-e]")

# Option letters, most to least explicit; the first rule that matches decides, and its last match wins
# (a model that restates the choices before concluding names its answer last).
_LETTER_RULES = (
    # "the answer is (C)", "Answer: C", "answer is option D", "The correct answer is: E" (the letter itself
    # must be a capital: "the answer is a triangle" names no option)
    re.compile(r"(?i:answer)\s*(?i:is)?\s*:?\s*(?i:option|choice)?\s*\(?([A-E])\)?(?![A-Za-z0-9])"),
    re.compile(r"(?i:option|choice)\s*\(?([A-E])\)?(?![A-Za-z0-9])"),
    re.compile(r"\(([A-Ea-e])\)"),
    # a bare letter as the whole reply: "C", "C.", "C)", "C: 252 gms"
    re.compile(r"^\s*([A-E])\s*(?:[.):]|$)"),
)


def trigger_answer(generation: str, trigger: str) -> str:
    """The text after the first `trigger` in `generation`, stripped; "" when the trigger is missing."""
    if not trigger:
        return generation.strip()
    start = generation.find(trigger)
    if start < 0:
        return ""
    return generation[start + len(trigger) :].strip()


def last_number(text: str) -> float | None:
    """The last number in `text` (thousands separators removed), or None when there is none."""
    numbers = _NUMBER.findall(_THOUSANDS.sub("", text))
    return float(numbers[-1]) if numbers else None


def option_letter(text: str) -> str:
    """The option letter A–E the text commits to, or "" (see `_LETTER_RULES` for the order)."""
    for rule in _LETTER_RULES:
        found = rule.findall(text)
        if found:
            return found[-1].upper()
    return ""


def parse_number(value: str | float | int) -> float | None:
    """A gold answer as a float ("1,234", "18.0", 18); None if it is not a number."""
    if isinstance(value, (int, float)):
        return float(value)
    return last_number(str(value)) if _NUMBER.fullmatch(_THOUSANDS.sub("", str(value).strip())) else None


def is_option_letter(value: str) -> bool:
    """Whether a gold answer is an AQuA option letter ("C", " c ")."""
    return bool(_OPTION.fullmatch(value.strip()))


# ---------------------------------------------------------------------------------------------- gold answers
class UnreadableGold(ValueError):
    """A gold answer its scorer cannot read; the example is unscorable (counted apart, never scored wrong)."""


# What each scorer needs of a gold answer: (test, what it needs, in words).
GOLD_RULES: dict[str, tuple[Callable[[str], bool], str]] = {
    "exact": (lambda gold: bool(gold.strip()), "a non-empty answer"),
    "number": (lambda gold: parse_number(gold) is not None, "a number"),
    "math": (lambda gold: parse_number(gold) is not None or is_option_letter(gold), "a number or an option letter A–E"),
}


def gold_problem(scorer: str, gold: str) -> str | None:
    """None when `scorer` can read the gold answer, else why not ("gold answer '5/6' is not a number")."""
    reads, needs = GOLD_RULES[scorer]
    if reads(gold):
        return None
    if not gold.strip():
        return f"no gold answer (the {scorer!r} scorer needs {needs})"
    return f"gold answer {gold!r} is not {needs}"


def _require_gold(scorer: str, gold: str) -> None:
    problem = gold_problem(scorer, gold)
    if problem is not None:
        raise UnreadableGold(f"{problem}; check the eval set's data file (`prepare check` lists such rows).")


def numbers_match(prediction: float | None, gold: float) -> bool:
    return prediction is not None and math.isfinite(prediction) and abs(prediction - gold) <= NUMBER_TOLERANCE


# ---------------------------------------------------------------------------------------------- scorers
def score_exact(generation: str, gold: str, trigger: str) -> tuple[str, bool]:
    """Commonsense: the text after the trigger must equal the gold answer ("true", "option2", ...)."""
    _require_gold("exact", gold)
    prediction = trigger_answer(generation, trigger)
    return prediction, prediction == gold.strip()


def score_number(generation: str, gold: str, trigger: str = "") -> tuple[str, bool]:
    """Arithmetic: the last number of the generation within 1e-3 of the gold number."""
    gold_value = parse_number(gold)
    if gold_value is None:
        problem = gold_problem("number", gold)
        raise UnreadableGold(f"{problem}; an eval set of option letters needs the 'math' (option-letter) scorer.")
    value = last_number(generation)
    return ("" if value is None else f"{value:g}"), numbers_match(value, gold_value)


def score_math(generation: str, gold: str, trigger: str = "") -> tuple[str, bool]:
    """The math suite: an option letter where the gold answer is one (AQuA), the last number otherwise."""
    _require_gold("math", gold)
    if parse_number(gold) is None:
        prediction = option_letter(generation)
        return prediction, prediction == gold.strip().upper()
    return score_number(generation, gold)


SCORERS = {"exact": score_exact, "number": score_number, "math": score_math}
