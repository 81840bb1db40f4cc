"""Evaluation never loses a prediction: unreadable gold answers are unscorable (counted, named by file and row),
generations reach the run folder before any scorer runs, `prepare check` lists such rows, and training answers
cut by `task.max_length` are counted and warned about."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import torch

from gift_experiment_utils.domains.language_modeling import answers
from gift_experiment_utils.domains.language_modeling.answers import (
    UnreadableGold,
    gold_problem,
    score_math,
    score_number,
)
from gift_experiment_utils.domains.language_modeling.formats import DATA_FILES, read_records
from gift_experiment_utils.domains.language_modeling.prepare import main as prepare_main
from gift_experiment_utils.domains.language_modeling.prepare import unreadable_golds
from gift_experiment_utils.domains.language_modeling.prompts import PROMPTS, TARGETS
from gift_experiment_utils.domains.language_modeling.task import LanguageModelingTask
from gift_experiment_utils.domains.language_modeling.tokenization import encode_example, find_truncated
from gift_experiment_utils.loading import load_config

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "language_modeling" / "demo" / "gift.yaml"
NO_FINAL_LINE = "She earns 12/60 = $0.2 a minute.\nSo 0.2 x 50 = $10."  # a GSM8K solution without "#### 10"


def task(tmp_path: Path, overrides: list[str]) -> LanguageModelingTask:
    lm = LanguageModelingTask(load_config(DEMO, [f"experiment.output_root={tmp_path / 'runs'}", *overrides]))
    lm.run_folder = tmp_path / "runs" / "run"  # the engine hands the task its run folder
    return lm


def edit(root: Path, relative: str, row: int, **fields: str) -> None:
    path = root / relative
    rows = json.loads(path.read_text())
    rows[row] |= fields
    path.write_text(json.dumps(rows))


def evaluate(lm: LanguageModelingTask, split: str, generations: list[str]) -> dict[str, float]:
    """`compute_metrics` as the engine calls it after gathering (indices 0..n-1)."""
    lm.evaluations[split] += 1
    outputs = {"index": torch.arange(len(generations)), "generation": generations}
    return lm.compute_metrics(outputs, split)


def predictions(tmp_path: Path) -> list[dict]:  # of the one run under tmp_path
    (path,) = (tmp_path / "runs").rglob("predictions/*.jsonl")
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture
def task_warnings(caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch) -> pytest.LogCaptureFixture:
    """The task's warnings (run.setup_logging, if a test called it, stops propagation at `gift_experiment_utils`)."""
    monkeypatch.setattr(logging.getLogger("gift_experiment_utils"), "propagate", True)
    caplog.set_level(logging.WARNING, logger="gift_experiment_utils.domains.language_modeling.task")
    return caplog


# ---------------------------------------------------------------------------------------------- gold answers
@pytest.mark.parametrize(
    ("scorer", "gold", "readable"),
    [
        ("number", "18", True),
        ("number", "1,234.5", True),
        ("number", "5/6", False),
        ("number", "", False),
        ("math", "C", True),
        ("math", "7.0", True),
        ("math", "5/6", False),  # neither a number nor a letter: was scored as a never-matching letter
        ("math", "F", False),
        ("exact", "true", True),
        ("exact", " ", False),  # a missing trigger extracts "", which would have matched an empty gold
    ],
)
def test_gold_problem(scorer: str, gold: str, readable: bool) -> None:
    assert (gold_problem(scorer, gold) is None) is readable


def test_scorers_refuse_an_unreadable_gold_instead_of_scoring_it_wrong() -> None:
    with pytest.raises(UnreadableGold, match=r"'5/6' is not a number or an option letter"):
        score_math("5/6 of the cake, so the answer is 5/6", "5/6")
    with pytest.raises(UnreadableGold, match="no gold answer"):
        score_number("The final answer is: 10", "")


def test_gsm8k_solution_without_final_line_has_no_gold(language_data: Path) -> None:
    edit(language_data, "gsm8k_main/test.json", 1, answer=NO_FINAL_LINE)
    records = read_records(language_data, "gsm8k_main/test.json")
    assert [r.answer for r in records] == ["72", ""]  # not the whole solution as the "answer"
    assert [(r.file, r.row) for r in records] == [("gsm8k_main/test.json", 0), ("gsm8k_main/test.json", 1)]


# ---------------------------------------------------------------------------------------------- evaluation
def test_unreadable_numeric_gold_is_unscorable_not_wrong(language_data: Path, tmp_path: Path, task_warnings) -> None:
    edit(language_data, "SVAMP/test.json", 1, answer="5/6")
    lm = task(tmp_path, ["task.name=math", f"task.data_dir={language_data}", "task.eval_sets=[SVAMP, AQuA]"])
    lm.eval_records = {"test": lm.records()[2]}
    metrics = evaluate(lm, "test", ["so the answer is 7.", "The answer is 5/6", "The answer is (C).", "(A)"])
    assert metrics["unscorable"] == 1 and metrics["SVAMP/unscorable"] == 1 and metrics["num_examples"] == 4
    assert metrics["SVAMP/accuracy"] == 1.0  # 1 of its 1 scorable example
    assert metrics["AQuA/accuracy"] == 0.5 and metrics["accuracy"] == 0.75
    rows = predictions(tmp_path)
    assert [r["correct"] for r in rows] == [True, None, True, False]
    assert (rows[1]["file"], rows[1]["row"], rows[1]["answer"]) == ("SVAMP/test.json", 1, "5/6")
    assert "'5/6'" in rows[1]["unscorable"] and rows[1]["generation"] == "The answer is 5/6"
    assert [r["unscorable"] for r in rows if r is not rows[1]] == [None, None, None]
    (warning,) = task_warnings.messages
    assert "1 of 4 examples are unscorable" in warning and "SVAMP/test.json row 1" in warning


def test_math_scores_numeric_golds_of_any_form_and_aqua_by_either_rule(language_data: Path, tmp_path: Path) -> None:
    """`task.scorer=math_loreft` scores AQuA by LoReFT's first capital (the paper's column); ours reads the
    conclusion. A gold such as "1e-05" or ".5" is a number for both, not an unscorable or never-right letter."""
    edit(language_data, "SVAMP/test.json", 0, answer="1e-05")
    edit(language_data, "SVAMP/test.json", 1, answer=".5")
    generations = ["so 1 / 100000 = 0.00001.", "The answer is 0.5", "All told, the answer is (C).", "Answer: E"]
    metrics = {}
    for scorer in ("math", "math_loreft"):
        overrides = [f"task.scorer={scorer}", "task.name=math", "task.eval_sets=[SVAMP, AQuA]"]
        lm = task(tmp_path / scorer, [*overrides, f"task.data_dir={language_data}"])
        lm.eval_records = {"test": lm.records()[2]}
        metrics[scorer] = evaluate(lm, "test", generations)
        assert metrics[scorer]["unscorable"] == 0 and metrics[scorer]["SVAMP/accuracy"] == 1.0
    assert metrics["math"]["AQuA/accuracy"] == 1.0  # golds C and E
    assert metrics["math_loreft"]["AQuA/accuracy"] == 0.0  # the "A" of "All" and of "Answer"
    assert [r["prediction"] for r in predictions(tmp_path / "math_loreft")] == ["1e-05", "0.5", "A", "A"]


def test_a_set_with_nothing_scorable_is_left_out_of_the_mean(
    language_data: Path, tmp_path: Path, task_warnings
) -> None:
    edit(language_data, "SVAMP/test.json", 0, answer="5/6")
    edit(language_data, "SVAMP/test.json", 1, answer="")
    lm = task(tmp_path, ["task.name=math", f"task.data_dir={language_data}", "task.eval_sets=[SVAMP, AQuA]"])
    lm.eval_records = {"test": lm.records()[2]}
    metrics = evaluate(lm, "test", ["7", "2400", "The answer is (C).", "(A)"])
    assert "SVAMP/accuracy" not in metrics and metrics["SVAMP/unscorable"] == 2
    assert metrics["accuracy"] == metrics["AQuA/accuracy"] == 0.5
    (warning,) = task_warnings.messages
    assert "2 of 4 examples are unscorable" in warning and "['SVAMP'] have no scorable example" in warning


def test_gsm8k_solution_without_final_line_is_unscorable(language_data: Path, tmp_path: Path, task_warnings) -> None:
    edit(language_data, "gsm8k_main/test.json", 0, answer=NO_FINAL_LINE)
    lm = task(tmp_path, ["task.name=gsm8k", f"task.data_dir={language_data}"])
    lm.eval_records = {"test": lm.records()[2]}
    metrics = evaluate(lm, "test", ["The final answer is: 10", "The final answer is: 10"])
    assert (metrics["unscorable"], metrics["accuracy"], metrics["num_examples"]) == (1, 1.0, 2)
    assert [r["correct"] for r in predictions(tmp_path)] == [None, True]
    (warning,) = task_warnings.messages
    assert "gsm8k_main/test.json row 0: no gold answer" in warning


def test_predictions_are_written_before_scoring(
    language_data: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken_scorer(generation: str, gold: str, trigger: str = "") -> tuple[str, bool]:
        raise RuntimeError("a scorer bug")

    monkeypatch.setitem(answers.SCORERS, "number", broken_scorer)
    lm = task(tmp_path, ["task.name=gsm8k", f"task.data_dir={language_data}"])
    lm.eval_records = {"test": lm.records()[2]}
    with pytest.raises(RuntimeError, match="a scorer bug"):
        evaluate(lm, "test", ["first generation", "second generation"])
    rows = predictions(tmp_path)  # the generations of the whole split survive the crash
    assert [r["generation"] for r in rows] == ["first generation", "second generation"]
    assert [r["answer"] for r in rows] == ["72", "10"] and all("correct" not in r for r in rows)


# ---------------------------------------------------------------------------------------------- prepare check
def test_prepare_check_lists_unreadable_gold_rows(language_data: Path, tmp_path: Path, capsys) -> None:
    counts = tmp_path / "counts.json"
    counts.write_text(json.dumps({r: len(json.loads((language_data / r).read_text())) for r in DATA_FILES}))
    assert unreadable_golds(language_data) == []
    edit(language_data, "SVAMP/test.json", 1, answer="5/6")
    edit(language_data, "gsm8k_main/test.json", 0, answer=NO_FINAL_LINE)
    edit(language_data, "boolq/test.json", 0, answer="")
    assert prepare_main(["check", str(language_data), "--counts", str(counts)]) == 0  # reported, not fatal
    out = capsys.readouterr().out
    assert "3 gold answer(s) no scorer reads" in out
    assert "SVAMP/test.json row 1: gold answer '5/6' is not a number or an option letter A–E" in out
    assert "gsm8k_main/test.json row 0: no gold answer" in out and "'#### <number>' line" in out
    assert "boolq/test.json row 0: no gold answer" in out


# ---------------------------------------------------------------------------------------------- truncation
def test_find_truncated_is_exactly_what_encode_example_cuts(bpe_tokenizer) -> None:
    prompt = PROMPTS["gsm8k"](arithmetic_record())
    pairs = [("Q?\n", "A."), (prompt, "short"), (prompt, "a long answer " * 30), (prompt * 4, "lost"), ("", "x")]
    max_length = len(bpe_tokenizer(prompt)["input_ids"]) + 8  # room for "short" and EOS
    found = find_truncated(bpe_tokenizer, pairs, max_length=max_length, chunk=2)  # chunks must not shift indices
    whole = [encode_example(bpe_tokenizer, p, t, max_length=10**6) for p, t in pairs]
    assert found.cut == [i for i, e in enumerate(whole) if len(e.input_ids) > max_length]
    assert found.cut == [2, 3]
    assert found.emptied == [3]  # the prompt alone fills max_length: no answer token, no loss
    assert find_truncated(bpe_tokenizer, pairs, max_length=10**6).cut == []


def arithmetic_record():
    from gift_experiment_utils.domains.language_modeling.arithmetic import ArithmeticConfig, make_splits

    return make_splits(ArithmeticConfig(num_train=1, num_test=1))[0][0]


def test_task_counts_and_warns_cut_training_answers(bpe_tokenizer, tmp_path: Path, task_warnings) -> None:
    lm = task(tmp_path, ["task.name=arithmetic", "task.prompt_format=plain", "task.max_length=79"])
    lm.tokenizer = bpe_tokenizer
    lm.build_datasets()
    train = lm.records()[0]
    expected = [
        i
        for i, r in enumerate(train)
        if len(encode_example(bpe_tokenizer, lm.prompt(r), TARGETS["gsm8k"](r), max_length=10**6).input_ids) > 79
    ]
    assert lm.truncation is not None and lm.truncation.cut == expected and 0 < len(expected) < len(train)
    (warning,) = task_warnings.messages
    assert f"cuts the answer of {len(expected)} of {len(train)} training examples" in warning
    assert f"arithmetic example {expected[0]}" in warning and "task.max_length" in warning
    metrics = evaluate(lm, "val", ["The final answer is: 1"])
    assert metrics["train_answers_cut"] == len(expected)
