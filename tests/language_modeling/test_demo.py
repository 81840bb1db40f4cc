"""The demo's table from run folders (the runs themselves are `make demo`, measured in DEMO_RESULTS.md)."""

from __future__ import annotations

import json
import operator
import re
from pathlib import Path

from gift_experiment_utils.domains.language_modeling.answers import score_number
from gift_experiment_utils.domains.language_modeling.arithmetic import ArithmeticConfig, make_splits, problem
from gift_experiment_utils.domains.language_modeling.demo import CONFIGS, read_rows, run_folder, table
from gift_experiment_utils.domains.language_modeling.prompts import TARGETS

OPS = {"+": operator.add, "-": operator.sub, "*": operator.mul, "/": operator.floordiv}


def fake_run(folder: Path, *, accuracy: float, start: float | None, params: int) -> Path:
    folder.mkdir(parents=True)
    rows = [] if start is None else [{"step": 0, "val/accuracy": start, "val/eval_seconds": 30.0}]
    rows += [{"step": 60, "train/loss": 0.1}, {"step": 60, "val/accuracy": accuracy, "val/eval_seconds": 20.0}]
    (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (folder / "results.json").write_text(
        json.dumps({"wall_time_s": 170.0, "params": {"method": params}, "metrics": {"val/accuracy": accuracy}})
    )
    return folder


def test_table_rows_zero_shot_from_step_zero(tmp_path: Path) -> None:
    gift = read_rows(fake_run(tmp_path / "g", accuracy=0.45, start=0.03, params=36864), "GIFT", zero_shot=True)
    lora = read_rows(fake_run(tmp_path / "l", accuracy=0.51, start=None, params=460800), "LoRA", zero_shot=False)
    text = table(gift + lora, 100)
    assert text.splitlines()[2:] == [
        "| zero-shot | 0 | 3.0 % | — |",
        "| GIFT | 36,864 | 45.0 % | 2.0 min |",  # 170 s minus 30 s + 20 s of generation
        "| LoRA | 460,800 | 51.0 % | 2.5 min |",
    ]


def test_demo_configs_and_data() -> None:
    folder = run_folder(CONFIGS / "gift.yaml", ["experiment.output_root=/tmp/x"])
    assert folder.parent == Path("/tmp/x/language_modeling/demo")
    assert re.fullmatch(r"arithmetic_gift_r16_lr0\.002_wd0_[0-9a-f]{8}_seed42", folder.name)
    train, held_out = make_splits(ArithmeticConfig(num_train=240, num_test=100))
    assert not {r.instruction for r in train} & {r.instruction for r in held_out}
    assert problem(0, 5, 20) == train[5]  # deterministic in (seed, index)
    for record in train + held_out:  # every worked solution is right and ends in GSM8K's "#### n"
        assert record.output.endswith(f"#### {record.answer}") and int(record.answer) >= 0
        assert score_number(TARGETS["gsm8k"](record), record.answer)[1]
        for line in record.output.splitlines()[:-1]:
            left, op, right, result = re.search(r"(\d+) ([-+*/]) (\d+) = \$?(\d+)", line).groups()
            assert OPS[op](int(left), int(right)) == int(result), line
