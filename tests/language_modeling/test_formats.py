"""Every data format on small fixtures, the data-folder check (prepare_data.sh --check-only), and missing files."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gift_experiment_utils.domains.language_modeling.formats import DATA_ENV, DATA_FILES, data_root, read_records
from gift_experiment_utils.domains.language_modeling.prepare import check
from gift_experiment_utils.domains.language_modeling.prompts import PROMPTS, TARGETS

REPO = Path(__file__).resolve().parents[2]


def test_every_file_reads_into_records(language_data: Path) -> None:
    for relative, spec in DATA_FILES.items():
        records = read_records(language_data, relative)
        assert records, relative
        assert all(r.instruction for r in records)
        assert all(r.source == relative.split("/")[0] or spec.format == "alpaca_eval" for r in records)


def test_format_details(language_data: Path) -> None:
    aqua = read_records(language_data, "AQuA/test.json")
    assert [r.answer for r in aqua] == ["C", "E"]  # ["C"] (early release) and "E" both become letters
    math = read_records(language_data, "gsm8k/test.json")
    assert math[0].answer == "7.0"
    gsm8k = read_records(language_data, "gsm8k_main/train.json")
    assert gsm8k[0].answer == "72"
    assert TARGETS["gsm8k"](gsm8k[0]).endswith("The final answer is: 72")
    alpaca = read_records(language_data, "alpaca_data_cleaned/train.json")
    assert "### Input:\nGood morning." in PROMPTS["alpaca"](alpaca[1])
    assert "### Input:" not in PROMPTS["alpaca"](alpaca[0])
    evals = read_records(language_data, "alpaca_eval/eval.json")
    assert [r.source for r in evals] == ["helpful_base", "koala", "vicuna"]
    boolq = read_records(language_data, "boolq/test.json")
    assert TARGETS["trigger_answer"](boolq[0]) == "the correct answer is true"
    assert PROMPTS["commonsense"](boolq[0]) == boolq[0].instruction + "\n"


def test_ultrafeedback_without_input_field(tmp_path: Path) -> None:
    path = tmp_path / "ultrafeedback" / "train.json"
    path.parent.mkdir()
    path.write_text(json.dumps([{"instruction": "Say hi.", "output": "Hi!"}]))
    assert read_records(tmp_path, "ultrafeedback/train.json")[0].input == ""


def test_missing_file_names_the_prepare_command(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="prepare_data.sh"):
        read_records(tmp_path, "boolq/test.json")


def test_missing_field_is_named(tmp_path: Path) -> None:
    path = tmp_path / "boolq" / "test.json"
    path.parent.mkdir()
    path.write_text(json.dumps([{"instruction": "q", "input": "", "output": "o"}]))
    with pytest.raises(ValueError, match=r"example 0 lacks \['answer'\]"):
        read_records(tmp_path, "boolq/test.json")


def test_data_root_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(DATA_ENV, raising=False)
    assert data_root(None, "data") == Path("data/language_data")
    monkeypatch.setenv(DATA_ENV, "/somewhere")
    assert data_root(None, "data") == Path("/somewhere")
    assert data_root("/explicit", "data") == Path("/explicit")


def test_check_reports_counts_fields_and_lfs_pointers(language_data: Path) -> None:
    problems = check(language_data)  # fixture sizes are not the public ones
    assert any("boolq/test.json: 2 examples, expected 3270" in p for p in problems)
    assert any("commonsense_170k/train.json: 2 examples, expected at least 170000" in p for p in problems)
    counts = {relative: len(json.loads((language_data / relative).read_text())) for relative in DATA_FILES}
    assert check(language_data, counts) == []
    (language_data / "ultrafeedback" / "train.json").write_text("version https://git-lfs.github.com/spec/v1\n")
    (language_data / "piqa" / "test.json").unlink()
    problems = check(language_data, counts)
    assert sorted(problems) == [
        "piqa/test.json: missing",
        "ultrafeedback/train.json: a Git LFS pointer, not the data (install git-lfs and rerun)",
    ]


def test_prepare_script_check_only(language_data: Path, tmp_path: Path) -> None:
    """The shell script's check step, on fixtures (the downloads need the network)."""
    script = REPO / "scripts" / "language_modeling" / "prepare_data.sh"
    env = {**os.environ, "PYTHON": sys.executable}
    failed = subprocess.run(
        ["bash", str(script), str(language_data), "--check-only"], cwd=REPO, env=env, capture_output=True, text=True
    )
    assert failed.returncode == 1 and "expected 3270" in failed.stdout and "rebuild with" in failed.stderr
    counts = tmp_path / "counts.json"
    counts.write_text(json.dumps({r: len(json.loads((language_data / r).read_text())) for r in DATA_FILES}))
    ok = subprocess.run(
        [
            sys.executable,
            "-m",
            "gift_experiment_utils.domains.language_modeling.prepare",
            "check",
            str(language_data),
            "--counts",
            str(counts),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    assert ok.returncode == 0, ok.stderr
    usage = subprocess.run(["bash", str(script), "--help"], cwd=REPO, capture_output=True, text=True)
    assert usage.returncode == 0 and "Usage:" in usage.stdout
