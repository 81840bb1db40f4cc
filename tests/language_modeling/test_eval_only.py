"""Evaluate-only language-modeling runs and extra eval sets: zero-shot on a tiny Llama with `task.eval_files` (no
training data read, a progress bar over generation), a saved adapter reproducing its run's generations, formats
detected from the rows, and `prepare check --only`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from gift_experiment_utils.domains.language_modeling.formats import detect_format
from gift_experiment_utils.domains.language_modeling.prepare import main as prepare_main
from gift_experiment_utils.domains.language_modeling.task import EvalFile, LanguageModelingTask
from gift_experiment_utils.loading import load_config
from gift_experiment_utils.run import main as run_main
from gift_experiment_utils.tracking import config_hash

from .conftest import ALPACA_EVAL_ROWS, COMMONSENSE_ROWS, GSM8K_ROWS, MATH_ROWS, write_language_data

REPO = Path(__file__).resolve().parents[2]
DEMO = REPO / "configs" / "language_modeling" / "demo" / "gift.yaml"


def write(path: Path, rows: list[dict]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rows))
    return path


def lm_args(tmp_path: Path, data: Path, model_dir: Path, *overrides: str) -> list[str]:
    return [
        "--config",
        str(DEMO),
        f"experiment.output_root={tmp_path / 'runs'}",
        f"task.data_dir={data}",
        f"model.name={model_dir}",
        "task.name=math",
        "task.eval_sets=[SVAMP]",
        "task.max_new_tokens=4",
        "task.max_length=128",
        "method.rank=4",
        "train.max_steps=1",
        "task.prompt_format=plain",
        "train.batch_size=2",
        "train.effective_batch_size=2",
        "train.warmup_ratio=0",
        "eval.test=true",
        "log.wandb=disabled",
        "data.eval_batch_size=2",
        "eval.at_start=false",
        *overrides,
    ]


def run_folder(tmp_path: Path, name: str) -> Path:
    (folder,) = (tmp_path / "runs" / "language_modeling" / "demo").glob(f"*_{name}_*")
    return folder


def predictions(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / "predictions" / "test_eval1.jsonl").read_text().splitlines()]


def test_zero_shot_with_extra_eval_files_reads_no_training_data(tmp_path: Path, tiny_llama_dir: Path, capfd) -> None:
    data = write_language_data(tmp_path / "data")
    (data / "math_10k" / "train.json").unlink()  # evaluate-only: the training file is never read
    numbers = write(tmp_path / "mine" / "gsm8k_style.json", GSM8K_ROWS)  # format gsm8k -> the number scorer
    prompts = write(tmp_path / "mine" / "prompts.json", ALPACA_EVAL_ROWS)  # no gold answers: generations only
    files = f"task.eval_files=[numbers={numbers}, {{path: {prompts}, format: alpaca_eval}}]"
    args = lm_args(tmp_path, data, tiny_llama_dir, files, "log.progress_bar=true", "--eval-only")
    assert run_main(args) == 0
    assert "test generation" in capfd.readouterr().err  # the bar over generation (main process)
    folder = run_folder(tmp_path, "zeroshot")
    out = json.loads((folder / "results.json").read_text())
    assert out["steps"] == 0 and out["eval_only"] is True and out["adapter"] is None
    metrics = out["metrics"]
    assert metrics["test/num_examples"] == len(MATH_ROWS) + len(GSM8K_ROWS) + len(ALPACA_EVAL_ROWS)
    assert {"test/SVAMP/accuracy", "test/numbers/accuracy", "test/accuracy"} <= set(metrics)
    assert "test/mean_output_chars" in metrics and "test/train_answers_cut" not in metrics
    rows = predictions(folder)
    numbered = [r for r in rows if r["set"] == "numbers"]
    assert [(r["file"], r["row"], r["answer"]) for r in numbered] == [(str(numbers), 0, "72"), (str(numbers), 1, "10")]
    assert all("correct" in r for r in numbered)
    free = [r for r in rows if r["file"] == str(prompts)]
    assert [r["set"] for r in free] == ["helpful_base", "koala", "vicuna"] and all("answer" not in r for r in free)
    outputs = json.loads((folder / "alpaca_eval" / "test_eval1.json").read_text())
    assert [o["instruction"] for o in outputs] == [r["instruction"] for r in ALPACA_EVAL_ROWS]


def test_a_saved_adapter_reproduces_its_runs_generations(tmp_path: Path, tiny_llama_dir: Path, capfd) -> None:
    data = write_language_data(tmp_path / "data")
    args = lm_args(tmp_path, data, tiny_llama_dir, "log.progress_bar=false", "train.lr=5e-2")
    assert run_main(args) == 0
    trained = run_folder(tmp_path, "lr0.05")
    assert run_main([*args, "--adapter", str(trained)]) == 0
    assert "test generation" not in capfd.readouterr().err  # log.progress_bar=false: no bar
    folder = run_folder(tmp_path, "eval")
    ours, theirs = (json.loads((f / "results.json").read_text()) for f in (folder, trained))
    assert ours["steps"] == 0 and theirs["steps"] == 1
    assert ours["metrics"]["test/accuracy"] == theirs["metrics"]["test/accuracy"]
    assert [r["generation"] for r in predictions(folder)] == [r["generation"] for r in predictions(trained)]
    # the zero-shot model writes something else: the adapter was loaded, not ignored
    assert run_main([*lm_args(tmp_path, data, tiny_llama_dir, "log.progress_bar=false"), "--eval-only"]) == 0
    zero_shot = predictions(run_folder(tmp_path, "zeroshot"))
    assert [r["generation"] for r in zero_shot] != [r["generation"] for r in predictions(trained)]


# ---------------------------------------------------------------------------------------------- eval files
def test_formats_are_detected_from_the_rows(tmp_path: Path) -> None:
    assert detect_format(MATH_ROWS, tmp_path) == "llm_adapters"  # also has alpaca's fields: the most specific wins
    assert detect_format(GSM8K_ROWS, tmp_path) == "gsm8k"
    assert detect_format([{"instruction": "x", "output": "y"}], tmp_path) == "alpaca"
    assert detect_format(ALPACA_EVAL_ROWS, tmp_path) == "alpaca"  # has an output: give format alpaca_eval to say
    assert detect_format([{"instruction": "x"}], tmp_path) == "alpaca_eval"
    with pytest.raises(ValueError, match=r"no known format \(every row has \['prompt'\]\).*llm_adapters \(instruction"):
        detect_format([{"prompt": "x"}], tmp_path)
    with pytest.raises(ValueError, match=r"fits \['alpaca', 'gsm8k'\] equally.*format: NAME"):
        detect_format([{"instruction": "x", "output": "y", "question": "q", "answer": "a"}], tmp_path)


def test_eval_files_take_either_form_with_one_identity_and_are_checked_before_loading() -> None:
    forms = ["[extra=x/test.json]", "[{path: x/test.json, name: extra}]"]
    configs = [load_config(DEMO, [f"task.eval_files={form}"]) for form in forms]
    assert [c.task.eval_files for c in configs] == [[EvalFile(path="x/test.json", name="extra")]] * 2
    assert config_hash(configs[0]) == config_hash(configs[1])
    assert load_config(DEMO, ["task.eval_files=[x/boolq_hard.json]"]).task.eval_files[0].name == "boolq_hard"
    with pytest.raises(ValueError, match=r"set name 'boolq' is taken.*task.eval_files=\[other_name=x/boolq.json\]"):
        load_config(DEMO, ["task.name=commonsense", "task.eval_files=[x/boolq.json]"])
    with pytest.raises(ValueError, match=r"'task.eval_files\[0\].scorer': 'nmber' is not one of"):
        load_config(DEMO, ["task.eval_files=[{path: a.json, scorer: nmber}]"])
    with pytest.raises(ValueError, match=r"Unknown config key 'task.eval_files\[0\].scorr'"):
        load_config(DEMO, ["task.eval_files=[{path: a.json, scorr: number}]"])


def test_an_eval_file_is_scored_by_its_format_else_the_row(language_data: Path, tmp_path: Path) -> None:
    math_file = write(tmp_path / "extra_math.json", MATH_ROWS)
    unknown = write(tmp_path / "odd.json", [{"prompt": "x", "completion": "y"}])

    def lm(*overrides: str) -> LanguageModelingTask:
        task = LanguageModelingTask(load_config(DEMO, [f"task.data_dir={language_data}", *overrides]))
        task.records()
        return task

    assert lm("task.name=math", f"task.eval_files=[{math_file}]").scorer_of(str(math_file)) == "math"
    assert lm("task.name=commonsense", f"task.eval_files=[{math_file}]").scorer_of(str(math_file)) == "exact"
    given = lm("task.name=commonsense", f"task.eval_files=[{{path: {math_file}, scorer: number}}]")
    assert given.scorer_of(str(math_file)) == "number" and given.scorer_of("boolq/test.json") == "exact"
    with pytest.raises(ValueError, match=r"task 'alpaca' scores nothing; give its scorer"):
        lm("task.name=alpaca", f"task.eval_files=[{math_file}]")
    with pytest.raises(ValueError, match=r"odd.json is in no known format.*alpaca_eval \(instruction\)"):
        lm("task.name=math", f"task.eval_files=[{unknown}]")
    with pytest.raises(ValueError, match=r"'task.eval_files': .*missing.json does not exist"):
        lm("task.name=math", f"task.eval_files=[{tmp_path / 'missing.json'}]")


# ---------------------------------------------------------------------------------------------- prepare check --only
def test_prepare_check_only_checks_the_named_sets_and_files(language_data: Path, tmp_path: Path, capsys) -> None:
    counts = tmp_path / "counts.json"
    counts.write_text(json.dumps({"boolq/test.json": 2, "gsm8k_main/test.json": 2}))
    rows = json.loads((language_data / "SVAMP" / "test.json").read_text())
    rows[0]["answer"] = "5/6"  # unreadable, but SVAMP is not checked
    write(language_data / "SVAMP" / "test.json", rows)
    (language_data / "piqa" / "test.json").unlink()  # missing, but not checked
    extra = write(tmp_path / "extra.json", [*COMMONSENSE_ROWS, {**COMMONSENSE_ROWS[0], "answer": ""}])
    only = ["boolq", "gsm8k_main/test.json", str(extra)]
    assert prepare_main(["check", str(language_data), "--counts", str(counts), "--only", *only]) == 0
    out = capsys.readouterr().out
    checked = [line.split()[0] for line in out.splitlines() if line.startswith("  ") and line.split()[-1] == "ok"]
    assert checked == ["boolq/test.json", "gsm8k_main/test.json", str(extra)]
    assert "SVAMP" not in out and "piqa" not in out
    assert f"{extra} row 2: no gold answer" in out  # an extra file's gold answers are read too
    odd = write(tmp_path / "odd.json", [{"prompt": "x"}])
    assert prepare_main(["check", str(language_data), "--counts", str(counts), "--only", "boolq", str(odd)]) == 1
    assert "odd.json is in no known format" in capsys.readouterr().err
    assert prepare_main(["check", str(language_data), "--only", "boolk"]) == 2
    error = capsys.readouterr().err
    assert "--only 'boolk' is neither a set of the data folder (AQuA, ARC-Challenge" in error
    assert "Did you mean 'boolq'?" in error


def test_prepare_check_reads_a_json_lines_eval_file_as_the_task_does(language_data: Path, tmp_path: Path, capsys):
    lines = tmp_path / "extra.jsonl"  # task.eval_files takes JSON lines, so the check must read them too
    lines.write_text(
        "".join(json.dumps(row) + "\n" for row in [*COMMONSENSE_ROWS, {**COMMONSENSE_ROWS[0], "answer": ""}])
    )
    assert prepare_main(["check", str(language_data), "--only", str(lines)]) == 0
    out = capsys.readouterr().out
    assert f"  {lines}" in out and "not valid JSON" not in out
    assert f"{lines} row {len(COMMONSENSE_ROWS)}: no gold answer" in out
