"""Every ```python block of README.md runs as written (in a temporary working directory)."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

README = Path(__file__).parents[1] / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_readme_has_examples():
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index, tmp_path):
    result = subprocess.run(
        [sys.executable, "-c", BLOCKS[index]], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"README block {index} failed:\n{BLOCKS[index]}\n{result.stderr[-3000:]}"


# ------------------------------------------------------------------------------------ table commands
TABLES = "python -m gift_experiment_utils.tables"
ENGINE_README = README.parent / "gift_experiment_utils" / "README.md"


def table_commands() -> list[list[str]]:
    """Every `python -m gift_experiment_utils.tables ...` line of README.md and the engine's README
    (continuations joined, comments dropped)."""
    commands = []
    for readme in (README, ENGINE_README):
        for line in re.sub(r"\\\n\s*", " ", readme.read_text()).splitlines():
            if line.strip().startswith(TABLES + " "):
                commands.append(shlex.split(line, comments=True))
    return commands


def fake_finished_runs(cwd: Path, root: Path) -> int:
    """Two seeds of every shipped experiment config whose runs land in `root` (runs/<domain>/<experiment>, under
    `cwd`): its resolved config.yaml, a results.json with the metrics its task writes, and a metrics.jsonl."""
    from gift_experiment_utils.loading import config_to_dict, load_config
    from gift_experiment_utils.methods import ParamCount

    shipped = README.parent / "configs"
    configs = [
        p
        for p in sorted((shipped / root.parts[1].split(".")[0]).rglob("*.yaml"))
        if not any(part.startswith("_") for part in p.relative_to(shipped).parts)
        and "sweep" not in yaml.safe_load(p.read_text())
    ]
    count = 0
    for index, path in enumerate(configs):
        for seed in (42, 43):
            config = config_to_dict(load_config(path, [f"experiment.seed={seed}"]))
            experiment = config["experiment"]
            if Path(experiment["output_root"], experiment["domain"], experiment["name"]) != root:
                continue
            folder = cwd / root / f"{path.stem}_{seed}"
            folder.mkdir(parents=True)
            (folder / "config.yaml").write_text(yaml.safe_dump(config))
            score = 0.5 + 0.01 * index + 0.001 * (seed - 42)
            metrics = {"val/accuracy": score, "best_val/accuracy": score, "test/accuracy": score}
            if experiment["domain"] == "language_modeling":
                from gift_experiment_utils.domains.language_modeling.specs import LM_TASKS, set_name

                metrics |= {f"test/{set_name(p)}/accuracy": score for p in LM_TASKS[config["task"]["name"]].test}
            params = ParamCount(method=1000 * (index + 1), head=10, backbone=1_000_000).to_dict()
            results = {"metrics": metrics, "selection": {"metric": "val/accuracy"}, "params": params}
            (folder / "results.json").write_text(json.dumps(results))
            rows = [{"step": 1, "train/loss": 1.0}, {"step": 2, "train/loss": 0.5, "val/accuracy": score}]
            (folder / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
            count += 1
    return count


TABLE_COMMANDS = table_commands()


def test_readmes_have_table_commands():
    assert len(TABLE_COMMANDS) >= 4 and any(words[3] == "curves" for words in TABLE_COMMANDS)


@pytest.mark.parametrize("words", TABLE_COMMANDS, ids=lambda words: " ".join(words[3:])[:80])
def test_readme_table_command_runs(words, tmp_path):
    """As written, on finished runs of the shipped configs whose folders it names (the toy task's config has no
    task.name: a `--col task.name` there fails)."""
    args = words[4:] if words[3] == "curves" else words[3:]
    roots = [Path(word) for word in args if word.startswith("runs/")]
    assert roots and all(fake_finished_runs(tmp_path, root) for root in roots), words
    environment = {**os.environ, "PYTHONPATH": str(README.parent)}
    done = subprocess.run(
        [sys.executable, *words[1:]], cwd=tmp_path, env=environment, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, f"{shlex.join(words)}\n{done.stderr[-3000:]}"
    out = Path(words[words.index("--out") + 1])
    suffixes = [".png"] if words[3] == "curves" else [".md", ".csv", ".png"]
    assert all((tmp_path / f"{out}{suffix}").stat().st_size > 0 for suffix in suffixes)
