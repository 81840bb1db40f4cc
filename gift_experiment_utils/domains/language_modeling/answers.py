"""Scoring generations: the answer after a trigger, the last number, an AQuA option letter.

    trigger_answer("the correct answer is option2", "the correct answer is ")  -> "option2"
    last_number("12 + 7 = 19. The final answer is: 19.")                       -> 19.0
    option_letter("Answer: B")                                                 -> "B"   (not the "A" of "Answer")
    option_letter("A) 5 B) 6 C) 7 D) 8 E) 9")                                  -> ""    (a restated list concludes nothing)

Each scorer reads the gold answer in its own way (`GOLD_RULES`): exact match needs a non-empty string, the
number scorers a number, the math scorers a number or an option letter. A gold answer its scorer cannot read
("5/6" in a numeric set, a GSM8K solution without its "#### n" line) makes the example unscorable, not wrong:
`gold_problem` says so before any scoring, and the scorers raise `UnreadableGold` rather than guess.

Which protocol each rule follows:
    exact (commonsense)   LLM-Adapters / LoReFT: the text after the trigger equals the gold answer
    number                LLM-Adapters / LoReFT: the last number within 1e-3 of the gold number; ours also reads
                          "1e-05" as one number and a comma only as a thousands separator ("3,4" is two numbers)
    math                  numbers as `number`; AQuA letters by `option_letter`, ours: the letter the generation
                          concludes with. LoReFT (after LLM-Adapters) took the first capital A–E anywhere, so the
                          "A" of "Answer" or of "A train leaves..." counted as a prediction.
    math_loreft           LoReFT's math scoring unchanged (`first_capital_letter`, `loreft_last_number`), to
                          score the paper's AQuA column (and the rest of the suite) as the baselines were scored
In every number and math scorer a gold answer is a number in any form Python's float() reads ("+3", "3.",
".5", "1e-05"; thousands separators too: "1,000"), which is how LoReFT tells numbers from AQuA letters.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator

NUMBER_TOLERANCE = 1e-3  # |pred − gold| ≤ 1e-3, as in LLM-Adapters

# "1,234" is one thousand two hundred and thirty-four; a comma not followed by exactly three digits is punctuation.
_THOUSANDS = re.compile(r"(?<=\d),(?=\d{3}(?!\d))")
_NUMBER = re.compile(r"-?\d+(?:\.\d+)?(?:[eE][+-]?\d+)?")  # in a generation: "19", "-3", "2.5", "1e-05"
_GOLD_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")  # a whole gold answer: also "+3", "3.", ".5"
_OPTION = re.compile(r"[A-Ea-e]")


def trigger_answer(generation: str, trigger: str) -> str:
    """The text after the first `trigger` in `generation`, stripped; "" when the trigger is missing."""
    if not trigger:
        return generation.strip()
    start = generation.find(trigger)
    if start < 0:
        return ""
    return generation[start + len(trigger) :].strip()


# ---------------------------------------------------------------------------------------------- option letters
def _set_apart(letter: str) -> str:
    r"""An option letter as generations set it apart: (C), [C], "C", **C**, \boxed{C}."""
    return "|".join(
        (
            rf"\(\s*{letter}\s*\)",
            rf"\[\s*{letter}\s*\]",
            rf"[\"“]{letter}[\"”]",
            rf"\*\*\s*\(?{letter}\)?\s*\*\*",
            rf"\\boxed\{{\s*\(?{letter}\)?\s*\}}",
        )
    )


_ANY_CASE, _CAPITAL = "([A-Ea-e])", "([A-E])"
# The letter a statement names: set apart in either case, "b)", or a bare capital ("the answer is a triangle" names
# no option, nor does the "A" of "Alice").
_NAMED = rf"(?:{_set_apart(_ANY_CASE)}|{_ANY_CASE}\)|{_CAPITAL}(?![A-Za-z0-9]))"
_CONCLUSIONS = (
    # "The answer is (C)", "Answer: B", "Ans: B", "**Answer:** C", "The correct answer is: E",
    # "the correct option is B.", "correct choice is C", "the answer would be option D"
    re.compile(
        r"(?i:\b(?:(?:final|correct|right|best)\s+)?(?:answer\b|ans\b\.?)|\b(?:final|correct|right|best)\s+(?:option|choice)\b)"
        r"[\s:=*-]*(?i:(?:is|would be|should be|will be|must be)\b)?[\s:*]*(?i:(?:option|choice)\b)?\s*" + _NAMED
    ),
    # "so it would be E." (a bare letter must end the clause: "would be A good idea" names nothing)
    re.compile(
        r"(?i:\b(?:would|should|must|will)\s+be)\s+"
        + rf"(?:{_set_apart(_ANY_CASE)}|{_CAPITAL}(?=[ \t]*(?:[.,;!)\n]|$)))"
    ),
    re.compile(r"\\boxed\{\s*\(?([A-Ea-e])\)?\s*\}"),
)
_MENTIONS = (re.compile(r"(?i:\b(?:option|choice))\s*" + _NAMED),)  # "which is option C", "choice (B)"
# A capital set apart anywhere, "C)" or "C." opening a line, or the whole reply: "C", "C: 252 gms", "b)".
_MARKED = (
    re.compile(
        "|".join(
            (
                _set_apart(_CAPITAL),
                rf"(?<![\w(\[]){_CAPITAL}\)",
                rf"(?m:^[ \t]*{_CAPITAL}\.(?!\w))",
                rf"\A\s*{_CAPITAL}\s*(?::|\Z)",
                rf"\A\s*{_ANY_CASE}\)",
            )
        )
    ),
)
# Most to least explicit; the first tier with a letter outside a restated list decides, and its last letter wins
# (a model that restates the choices before concluding names its answer last).
_LETTER_TIERS = (_CONCLUSIONS, _MENTIONS, _MARKED)
RESTATED_LIST = 3  # marked letters in alphabetical order, this many or more in a row, restate the choices


def _letters(rule: re.Pattern[str], text: str) -> Iterator[tuple[int, str]]:
    """(position, letter) of each match; every alternative of a rule captures its letter in a group of its own."""
    for match in rule.finditer(text):
        group = next(i for i, value in enumerate(match.groups(), 1) if value)
        yield match.start(group), match.group(group).upper()


def _restated_choices(text: str) -> set[int]:
    """Positions of the letters of a restated list of choices ("(A) 450 (B) 100 (C) 252", or "A) 5", "B) 6", ...
    one per line)."""
    marks = sorted(mark for rule in _MARKED for mark in _letters(rule, text))
    listed: set[int] = set()
    start = 0
    for end in range(1, len(marks) + 1):
        if end == len(marks) or ord(marks[end][1]) != ord(marks[end - 1][1]) + 1:
            if end - start >= RESTATED_LIST:
                listed.update(position for position, _ in marks[start:end])
            start = end
    return listed


def option_letter(text: str) -> str:
    """Ours: the option letter A–E the text concludes with, or "".

    A concluding statement ("the answer is", "correct option is", "Ans:", "would be", \\boxed{}) decides; without
    one, an "option C" / "choice C"; without that, a letter set apart ("(C)", "[C]", '"C"', "**C**", "C)") or the
    whole reply ("C", "b)"). The last such letter wins. A restated list of choices names no answer.
    """
    listed = _restated_choices(text)
    for tier in _LETTER_TIERS:
        found = [mark for rule in tier for mark in _letters(rule, text) if mark[0] not in listed]
        if found:
            return max(found)[1]
    return ""


def first_capital_letter(text: str) -> str:
    """LoReFT's AQuA rule (after LLM-Adapters): the first capital A–E anywhere in the text, or ""."""
    found = re.search(r"[A-E]", text)
    return found.group() if found else ""


# ---------------------------------------------------------------------------------------------- numbers
def last_number(text: str) -> float | None:
    """Ours: the last number in `text` (thousands separators removed), or None when there is none."""
    numbers = _NUMBER.findall(_THOUSANDS.sub("", text))
    return float(numbers[-1]) if numbers else None


def loreft_last_number(text: str) -> float | None:
    """LoReFT's number rule (after LLM-Adapters): every comma deleted, then the last `-?digits[.digits]`."""
    numbers = re.findall(r"-?\d+\.?\d*", text.replace(",", ""))
    return float(numbers[-1]) if numbers else None


def parse_number(value: str | float | int) -> float | None:
    """A gold answer as a float ("1,234", "18.0", "1e-05", "+3", ".5", 18); None if it is not a number."""
    if isinstance(value, (int, float)):
        return float(value)
    text = _THOUSANDS.sub("", str(value).strip())
    return float(text) if _GOLD_NUMBER.fullmatch(text) else None


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
GOLD_RULES["math_loreft"] = GOLD_RULES["math"]


def scorers_like(scorer: str | None) -> list[str]:
    """The scorers that read the same gold answers as `scorer`, so may score its task ("math": math, math_loreft)."""
    return [name for name, rule in GOLD_RULES.items() if scorer is not None and rule == GOLD_RULES[scorer]]


def gold_problem(scorer: str, gold: str) -> str | None:
    """None when `scorer` can read the gold answer, else why not ("gold answer '5/6' is not a number")."""
    reads, needs = GOLD_RULES[scorer]
    if reads(gold):
        return None
    if not gold.strip():
        return f"no gold answer (the {scorer!r} scorer needs {needs})"
    return f"gold answer {gold!r} is not {needs}"


_CHECK_DATA = "check the eval set's data file (`prepare check` lists such rows)"


def _require_gold(scorer: str, gold: str, fix: str = _CHECK_DATA) -> None:
    problem = gold_problem(scorer, gold)
    if problem is not None:
        raise UnreadableGold(f"{problem}; {fix}.")


def _compare_numbers(prediction: float | None, gold: str) -> tuple[str, bool]:
    """The predicted number as text, and whether it is within 1e-3 of the gold number; ("", False) without one."""
    if prediction is None:
        return "", False
    return f"{prediction:g}", math.isfinite(prediction) and abs(prediction - parse_number(gold)) <= NUMBER_TOLERANCE


# ---------------------------------------------------------------------------------------------- scorers
def score_exact(generation: str, gold: str, trigger: str) -> tuple[str, bool]:
    """Commonsense: the text after the trigger must equal the gold answer ("true", "option2", ...)."""
    _require_gold("exact", gold)
    prediction = trigger_answer(generation, trigger)
    return prediction, prediction == gold.strip()


def score_number(generation: str, gold: str, trigger: str = "") -> tuple[str, bool]:
    """Arithmetic: the last number of the generation within 1e-3 of the gold number."""
    _require_gold("number", gold, "an eval set of option letters needs the 'math' (option-letter) scorer")
    return _compare_numbers(last_number(generation), gold)


def score_math(generation: str, gold: str, trigger: str = "") -> tuple[str, bool]:
    """The math suite, ours: an option letter by `option_letter` where the gold answer is one (AQuA), else
    the last number (`score_number`)."""
    _require_gold("math", gold)
    if parse_number(gold) is None:
        prediction = option_letter(generation)
        return prediction, prediction == gold.strip().upper()
    return score_number(generation, gold)


def score_math_loreft(generation: str, gold: str, trigger: str = "") -> tuple[str, bool]:
    """The math suite as LoReFT scored it (after LLM-Adapters), for the paper's AQuA column: the first capital
    A–E of the generation where the gold answer is a letter, else the last number by `loreft_last_number`."""
    _require_gold("math_loreft", gold)
    if parse_number(gold) is None:
        prediction = first_capital_letter(generation.strip())
        return prediction, prediction == gold.strip().upper()
    return _compare_numbers(loreft_last_number(generation), gold)


SCORERS: dict[str, Callable[..., tuple[str, bool]]] = {
    "exact": score_exact,
    "number": score_number,
    "math": score_math,
    "math_loreft": score_math_loreft,
}
