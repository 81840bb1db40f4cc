"""Answer extraction over realistic generations, traps included."""

from __future__ import annotations

import pytest

from gift_experiment_utils.domains.language_modeling.answers import (
    SCORERS,
    first_capital_letter,
    gold_problem,
    last_number,
    option_letter,
    parse_number,
    score_exact,
    score_math,
    score_math_loreft,
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
        ("252 gms. The correct option is B.", "B"),
        ("So the correct choice is C", "C"),
        ("60% of 30% of 1400 = 252, so the answer would be E", "E"),
        ("Hence it would be E.", "E"),
        ('The weight is 252 gms, "D"', "D"),
        ('"D"', "D"),
        ("**C**", "C"),
        ("The answer is **C**", "C"),
        ("Final answer: $\\boxed{A}$", "A"),
        ("\\boxed{A}", "A"),
        ("[C]", "C"),
        ("It is 252 gms [C].", "C"),
        ("Ans: B", "B"),
        ("**Answer:** C", "C"),
        ("Ans. B) 100", "B"),
        ("b)", "B"),
        ("The Best Choice is (d)", "D"),
        ("C) 252 gms", "C"),
        # a concluding statement beats a later mention, and the last conclusion counts
        ("The answer is D. Option A fails since 5 > 4.", "D"),
        ("The correct option is A... no: the correct option is B.", "B"),
        # the choices restated, then a conclusion
        ("Answer Choices: (A) 450 (B) 100 (C) 252 (D) 240 (E) None\n30% of 1400 = 420; 60% of 420 = 252 (C)", "C"),
        ("A) 5 B) 6 C) 7 D) 8 E) 9\nThe answer is C", "C"),
        ("Answer: (A) 5 (B) 6 (C) 7 (D) 8 (E) 9. So the answer is (E).", "E"),
    ],
)
def test_option_letter_reads_common_phrasings(generation: str, expected: str) -> None:
    assert option_letter(generation) == expected


@pytest.mark.parametrize(
    "generation",
    [
        "A) 5 B) 6 C) 7 D) 8 E) 9",
        "Answer Choices: (A) 450 (B) 100 (C) 252 (D) 240 (E) None",
        "(A) 450\n(B) 100\n(C) 252\n(D) 240\n(E) None of these",
        "A. 5\nB. 6\nC. 7\nD. 8\nE. 9",
        "Answer: (A) 5 (B) 6 (C) 7 (D) 8 (E) 9",
        "The choices are [A] 5 [B] 6 [C] 7 [D] 8 [E] 9, let me compute 5 + 2.",
        "It would be A good idea to compute 5 + 2 first.",
    ],
)
def test_a_restated_list_of_choices_names_no_letter(generation: str) -> None:
    assert option_letter(generation) == ""


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


@pytest.mark.parametrize(
    ("generation", "gold"),
    [
        ("The answer is 0.00001", "1e-05"),
        ("The answer is 1e-05", "1e-05"),
        ("The answer is 3", "+3"),
        ("The answer is 3", "3."),
        ("The answer is 0.5", ".5"),
        ("The answer is -0.5", "-0.5"),
        ("The answer is 1000", "1,000"),
        ("It is 2,500 apples.", "2.5e3"),
    ],
)
def test_a_numeric_gold_in_any_form_is_scored_as_a_number(generation: str, gold: str) -> None:
    """Not sent to the letter scorer (where it could never be right), nor unscorable."""
    for scorer in ("math", "math_loreft", "number"):
        assert gold_problem(scorer, gold) is None
    assert score_math(generation, gold)[1] is True
    assert score_math("The answer is (B).", gold) == ("", False)  # the last number, not a letter: there is none
    assert score_math_loreft(generation.replace("1e-05", "0.00001"), gold)[1] is True


@pytest.mark.parametrize(
    ("generation", "expected"),
    [
        ("Answer: B", "A"),  # the "A" of "Answer": LoReFT's rule, kept as it was
        ("A train leaves at 3 pm ... so the answer is (D).", "A"),
        ("The answer is (C).", "C"),
        ("the answer is (b)", ""),  # capitals only
        ("  E", "E"),
        ("no option here", ""),
    ],
)
def test_loreft_letter_rule_is_the_first_capital(generation: str, expected: str) -> None:
    assert first_capital_letter(generation) == expected


def test_math_loreft_scores_the_paper_aqua_column_its_way() -> None:
    assert SCORERS["math_loreft"] is score_math_loreft
    assert score_math_loreft("Answer: B", "A") == ("A", True)  # counted right by LoReFT, wrong by ours
    assert score_math("Answer: B", "A") == ("B", False)
    assert score_math_loreft("The answer is (C).", "C") == ("C", True)
    # numbers as LoReFT read them: every comma deleted ("3,4" is 34), "1e-05" is two numbers (1 and -05)
    assert score_math_loreft("Counts: 3,4", "34")[1] is True and score_math("Counts: 3,4", "34")[1] is False
    assert score_math_loreft("The answer is 1e-05", "1e-05")[1] is False


def test_gold_numbers() -> None:
    assert parse_number("18.0") == 18.0
    assert parse_number("1,000") == 1000.0
    assert parse_number(7) == 7.0
    assert parse_number("C") is None
    with pytest.raises(ValueError, match="option-letter"):
        score_number("The answer is C", "C")
