"""Whole runs through the real entry script: SmolLM2 with AlpacaEval outputs, and a tiny Llama on the math suite
in one process and in two (sharded evaluation, gathered in order)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gift_experiment_utils.domains.language_modeling.formats import DATA_FILES

from .conftest import write_language_data

REPO = Path(__file__).resolve().parents[2]
BASE = REPO / "configs" / "language_modeling" / "demo" / "gift.yaml"

pytestmark = pytest.mark.slow


def run_entry(args: list[str], *, launcher: list[str] | None = None, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "HF_HUB_OFFLINE": "1",
        "WANDB_MODE": "disabled",
        "TOKENIZERS_PARALLELISM": "false",
        "OMP_NUM_THREADS": "1",
        "OMP_WAIT_POLICY": "PASSIVE",
    }
    command = [*(launcher or [sys.executable]), "-m", "gift_experiment_utils.run", *args]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=timeout)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-5000:]
    return result


def common(tmp_path: Path, data: Path) -> list[str]:
    return [
        f"experiment.output_root={tmp_path / 'runs'}",
        f"task.data_dir={data}",
        "log.wandb=disabled",
        "log.progress_bar=false",
        "eval.at_start=false",
        "train.max_steps=2",
        "train.batch_size=2",
        "train.effective_batch_size=2",
        "train.warmup_ratio=0",
        "data.eval_batch_size=2",
        "eval.test=true",
    ]


def test_smollm2_instruction_run_writes_alpaca_eval_outputs(tmp_path: Path) -> None:
    data = write_language_data(tmp_path / "data")
    args = [
        "--config",
        str(BASE),
        *common(tmp_path, data),
        "task.name=alpaca",
        "task.prompt_format=plain",
        "task.max_new_tokens=8",
        "task.generator_name=smollm2-gift-test",
        "train.lr=1e-3",
        "train.epochs=2",
    ]  # 2 training rows, batch 2: one update per epoch
    run_entry(args)
    (folder,) = (tmp_path / "runs" / "language_modeling" / "demo").iterdir()
    results = json.loads((folder / "results.json").read_text())
    assert results["steps"] == 2 and results["metrics"]["test/num_examples"] == 3
    assert results["params"]["method"] == 2 * 2 * 576 * 16  # θ of q_proj and v_proj, r = 16
    outputs = json.loads((folder / "alpaca_eval" / "test_eval1.json").read_text())
    assert [o["instruction"] for o in outputs] == [
        r["instruction"] for r in json.loads((data / "alpaca_eval" / "eval.json").read_text())
    ]
    assert all(set(o) == {"instruction", "output", "generator", "dataset"} for o in outputs)
    assert {o["generator"] for o in outputs} == {"smollm2-gift-test"}
    assert all(isinstance(o["output"], str) for o in outputs)
    assert (folder / "adapter" / "gift_config.json").is_file()


def _math_args(tmp_path: Path, data: Path, model_dir: Path, name: str) -> list[str]:
    return [
        "--config",
        str(BASE),
        *common(tmp_path, data),
        f"model.name={model_dir}",
        "task.name=math",
        "task.prompt_format=plain",
        "task.max_new_tokens=6",
        "data.eval_batch_size=3",
        "method.rank=4",
        f"experiment.run_name={name}",
        "task.max_length=128",
        "train.batch_size=1",
    ]


def test_math_suite_one_process_equals_two(tmp_path: Path, tiny_llama_dir: Path) -> None:
    data = write_language_data(tmp_path / "data")
    run_entry(_math_args(tmp_path, data, tiny_llama_dir, "one"))
    accelerate = [
        sys.executable,
        "-m",
        "accelerate.commands.launch",
        "--config_file",
        str(REPO / "configs" / "accelerate" / "cpu_2proc.yaml"),
        "--main_process_port",
        "29533",
    ]
    run_entry(_math_args(tmp_path, data, tiny_llama_dir, "two"), launcher=accelerate)
    runs = tmp_path / "runs" / "language_modeling" / "demo"
    one, two = (json.loads((runs / n / "results.json").read_text()) for n in ("one", "two"))
    sets = [
        p.split("/")[0]
        for p in DATA_FILES
        if p.endswith("/test.json")
        and p.split("/")[0] in ("MultiArith", "gsm8k", "SVAMP", "mawps", "AddSub", "AQuA", "SingleEq")
    ]
    assert one["metrics"]["test/num_examples"] == two["metrics"]["test/num_examples"] == 2 * len(sets)
    assert {f"test/{s}/accuracy" for s in sets} <= set(one["metrics"])
    predictions = {
        n: [json.loads(line) for line in (runs / n / "predictions" / "test_eval1.jsonl").read_text().splitlines()]
        for n in ("one", "two")
    }
    # 14 prompts in batches of 3 over 2 processes: the last shard is padded, yet every example appears once, in order
    assert [p["index"] for p in predictions["two"]] == list(range(2 * len(sets)))
    assert [p["set"] for p in predictions["two"]] == [p["set"] for p in predictions["one"]]
    # one process with accumulation 2 trains as two processes do, so the generations agree too
    assert [p["generation"] for p in predictions["two"]] == [p["generation"] for p in predictions["one"]]
    aqua = [p for p in predictions["one"] if p["set"] == "AQuA"]
    assert [p["answer"] for p in aqua] == ["C", "E"]
    assert [(p["file"], p["row"]) for p in aqua] == [("AQuA/test.json", 0), ("AQuA/test.json", 1)]
    assert one["metrics"]["test/unscorable"] == 0 and "test/train_answers_cut" in one["metrics"]
    from gift_experiment_utils import tables

    lm = {"row_keys": ["method.name"], "col_key": None, "metric": "test/{}/accuracy", "percent_of": "total"}
    table = tables.build_table(tables.collect([runs / "one"]), **lm, columns=["AQuA", "gsm8k"], scale=100)
    text = tables.to_markdown(table)
    assert text.splitlines()[0] == "| Method | Params | Params % | AQuA | gsm8k | Avg |"
    assert [line.split(" | ")[0] for line in text.splitlines()[2:4]] == ["| gift", ""]
    assert table.params["gift"] == [(one["params"]["method"], one["params"]["method_percent_of_total"])]
    with pytest.raises(ValueError, match="same experiment with the same seed"):
        tables.build_table(tables.collect([runs]), **lm)  # one and two: one experiment and seed, never two seeds


@pytest.mark.parametrize("row", ["llama1_7b/commonsense_gift_qv.yaml", "llama2_7b/ultrafeedback_lora_qv.yaml"])
def test_paper_rows_run_with_a_local_backbone(row: str, tmp_path: Path, tiny_llama_dir: Path) -> None:
    """A shipped paper config as is (bf16 weights, bf16 autocast), only the backbone and the data swapped for tiny ones."""
    data = write_language_data(tmp_path / "data")
    config = REPO / "configs" / "language_modeling" / row
    run_entry(
        [
            "--config",
            str(config),
            f"model.name={tiny_llama_dir}",
            f"task.data_dir={data}",
            f"experiment.output_root={tmp_path / 'runs'}",
            "log.wandb=disabled",
            "log.progress_bar=false",
            "train.epochs=1",
            "train.batch_size=2",
            "train.effective_batch_size=2",
            "train.warmup_steps=0",
            "task.max_new_tokens=4",
            "method.rank=4",
        ]
    )
    (results,) = (tmp_path / "runs").rglob("results.json")
    data_out = json.loads(results.read_text())
    assert data_out["steps"] == 1 and data_out["world_size"] == 1
    metric = "test/accuracy" if "commonsense" in row else "test/num_examples"
    assert metric in data_out["metrics"]
