"""Answer extraction over realistic generations, traps included."""

from __future__ import annotations

import pytest

from gift_experiment_utils.language_modeling.answers import (
    last_number,
    option_letter,
    parse_number,
    score_exact,
    score_math,
    score_number,
    trigger_answer,
)

TRIGGER = "the correct answer is "


@pytest.mark.parametrize(
    ("generation", "expected"),
    [
        ("Answer: B", "B"),  # the original rule took the "A" of "Answer"
        ("A train leaves at 3 pm ... so the answer is (D).", "D"),  # nor the article "A"
        ("The answer is C", "C"),
        ("The answer is: E. 960", "E"),
        ("the correct answer is (b)", "B"),
        ("Answer Choices: (A) 450 (B) 100 (C) 252\nThe answer is (C).", "C"),  # restated choices, then the answer
        ("60% of 30% of 1400 = 252 gms, which is option C.", "C"),
        ("The value is 252 gms (C)", "C"),
        ("C", "C"),
        ("D) 240 gms", "D"),
        ("E.", "E"),
        ("A man walks 5 km and then 3 km.", ""),  # no option named
        ("The answer is a triangle.", ""),  # a lowercase article, not an option
        ("Based on the choices we get 252.", ""),
        ("", ""),
        ("The answer is (A). Wait, the answer is (B).", "B"),  # the last conclusion counts
    ],
)
def test_option_letter(generation: str, expected: str) -> None:
    assert option_letter(generation) == expected


@pytest.mark.parametrize(
    ("generation", "expected"),
    [
        ("Natalia sold 48 + 24 = 72 clips.\nThe final answer is: 72", 72.0),
        ("The answer is 18.", 18.0),  # trailing period
        ("He has $1,200.50 left.", 1200.5),  # thousands separator, dollars
        ("Counts: 3,4 and 5", 5.0),  # a comma that is punctuation
        ("The temperature drops to -3 degrees.", -3.0),
        ("So 0.2 x 50 = $10", 10.0),
        ("I do not know.", None),
        ("1,234,567 people", 1234567.0),
    ],
)
def test_last_number(generation: str, expected: float | None) -> None:
    assert last_number(generation) == expected


@pytest.mark.parametrize(
    ("generation", "gold", "correct"),
    [
        ("the correct answer is true", "true", True),
        ("the correct answer is false", "true", False),
        ("the correct answer is option2", "option2", True),
        ("the correct answer is option2 because", "option2", False),  # exact match, as in the paper
        ("I think the correct answer is ending3", "ending3", True),
        ("true", "true", False),  # no trigger: no answer
        ("the correct answer is  solution1 \n", "solution1", True),  # whitespace is stripped
    ],
)
def test_commonsense_exact_match(generation: str, gold: str, correct: bool) -> None:
    assert score_exact(generation, gold, TRIGGER)[1] is correct


@pytest.mark.parametrize(
    ("generation", "gold", "correct"),
    [
        ("12 + 7 = 19. 19 - 5 = 14.\nThe answer is 14.", "14.0", True),
        ("The answer is 14.0004", "14", True),  # within 1e-3
        ("The answer is 14.01", "14", False),
        ("so 2/3 = 0.6667", "0.66666667", True),
        ("The answer is 2,400.", "2400", True),
        ("The answer is (C).", "C", True),  # AQuA: the gold answer is a letter
        ("Answer: B", "A", False),  # the trap: "A" of "Answer" is not the prediction
        ("The answer is 252, option C", "C", True),
        ("No idea", "7", False),
    ],
)
def test_math_scorer(generation: str, gold: str, correct: bool) -> None:
    assert score_math(generation, gold)[1] is correct


def test_trigger_answer_takes_text_after_first_trigger() -> None:
    assert trigger_answer("x the correct answer is true", TRIGGER) == "true"
    assert trigger_answer("nothing here", TRIGGER) == ""
    assert trigger_answer("  plain  ", "") == "plain"


def test_gold_numbers() -> None:
    assert parse_number("18.0") == 18.0
    assert parse_number("1,000") == 1000.0
    assert parse_number(7) == 7.0
    assert parse_number("C") is None
    with pytest.raises(ValueError, match="option-letter"):
        score_number("The answer is C", "C")
