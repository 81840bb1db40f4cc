"""The launch scripts in scripts/: a usage line, --help, --dry-run from any directory with overrides after `--`,
and every script command and launch line of README.md resolves its batch on the hardware it names."""

from __future__ import annotations

import functools
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from gift_experiment_utils.loading import load_config
from gift_experiment_utils.sweep import Sweep
from gift_experiment_utils.sweep import parse_args as sweep_args
from gift_experiment_utils.train import batch_split

REPO = Path(__file__).resolve().parents[1]
SCRIPTS = sorted(p for p in (REPO / "scripts").rglob("*.sh") if p.name != "_lib.sh")
OVERRIDES = ["train.epochs=1", "task.model_kwargs={depth: 2}"]  # the second needs quoting when printed
PRINTED_OVERRIDES = "train.epochs=1 'task.model_kwargs={depth: 2}'"
# (script, its arguments, environment, launched commands expected): every script that launches runs
LAUNCHERS = [
    ("language_modeling/run_alpaca.sh", ["llama1_7b", "gift_qv_r16"], {}, 1),
    ("language_modeling/run_commonsense.sh", ["llama1_7b", "gift_qv"], {}, 3),
    ("language_modeling/run_gsm8k.sh", ["llama1_7b", "gift_qv", "1", "2"], {}, 2),
    ("language_modeling/run_math.sh", ["llama3_8b", "lora_qkvud"], {}, 3),
    ("language_modeling/run_ultrafeedback.sh", ["llama2_7b", "lora_qv"], {}, 2),
    ("language_understanding/run_glue.sh", ["large", "baselines", "cola", "rte"], {}, 5),  # 2 × (run, select), table
    ("language_understanding/run_glue_base.sh", ["full"], {}, 3),
    ("language_understanding/run_glue_large.sh", ["gift", "stsb"], {}, 3),
    ("visual_classification/fgvc/run_fgvc.sh", ["gift", "7"], {"DATASETS": "cub dogs"}, 2),
    ("visual_classification/vtab/run_vtab.sh", ["vpt"], {"TASKS": "dtd"}, 1),
    ("visual_classification/fgvc/sweep_fgvc.sh", ["lora"], {}, 2),
    ("visual_classification/vtab/sweep_vtab.sh", ["bitfit"], {}, 2),
    ("visual_classification/fgvc/table_fgvc.sh", [], {}, 1),
    ("visual_classification/vtab/table_vtab.sh", ["gift"], {}, 1),
]
# (script, arguments after the target folder): scripts that prepare data and launch no runs
PREPARERS = [
    ("language_modeling/prepare_data.sh", ["--force"]),  # --force: no reading of what is there
    ("visual_classification/fgvc/prepare_fgvc.sh", ["cub"]),
    ("visual_classification/vtab/prepare_vtab.sh", ["dtd"]),
]


def test_the_tables_cover_every_script():
    names = {str(p.relative_to(REPO / "scripts")) for p in SCRIPTS}
    assert names == {case[0] for case in LAUNCHERS} | {case[0] for case in PREPARERS}


@pytest.fixture
def fake_bin(tmp_path: Path) -> Path:
    """`accelerate`, `git` and `python` that leave a mark when run: a dry run must run none of them."""
    folder = tmp_path / "bin"
    folder.mkdir()
    for name in ("accelerate", "git", "python"):
        (folder / name).write_text(f'#!/bin/sh\necho "$0 $*" >> {tmp_path}/ran\nexit 1\n')
        (folder / name).chmod(0o755)
    return folder


def run_script(script: str, args: list[str], cwd: Path, fake_bin: Path | None = None, **env: str):
    environ = {k: v for k, v in os.environ.items() if k not in ("ACCELERATE_CONFIG", "PYTHON", "DATASETS", "TASKS")}
    if fake_bin is not None:
        environ["PATH"] = f"{fake_bin}{os.pathsep}{environ['PATH']}"
    return subprocess.run(
        ["bash", str(REPO / "scripts" / script), *args], cwd=cwd, env={**environ, **env}, capture_output=True, text=True
    )


@pytest.mark.parametrize("path", SCRIPTS, ids=lambda p: str(p.relative_to(REPO / "scripts")))
def test_usage_line_and_help(path, tmp_path):
    lines = path.read_text().splitlines()
    script = str(path.relative_to(REPO))
    assert lines[0] == "#!/usr/bin/env bash" and lines[1].startswith(f"# Usage: bash {script} [--dry-run]")
    assert "set -euo pipefail" in lines
    for flag in ("--help", "-h"):
        done = run_script(str(path.relative_to(REPO / "scripts")), [flag], tmp_path)
        assert done.returncode == 0 and done.stdout.startswith(f"Usage: bash {script}"), done.stderr


@pytest.mark.parametrize(("script", "args", "env", "count"), LAUNCHERS, ids=[c[0] for c in LAUNCHERS])
def test_dry_run_from_another_directory_prints_every_command_with_the_overrides(
    script, args, env, count, tmp_path, fake_bin
):
    done = run_script(script, [*args, "--dry-run", "--", *OVERRIDES], tmp_path, fake_bin, **env)
    assert done.returncode == 0, done.stderr
    cd, *commands = done.stdout.splitlines()
    assert cd == f"cd {REPO}" and len(commands) == count
    assert not (tmp_path / "ran").exists() and sorted(p.name for p in tmp_path.iterdir()) == ["bin"]
    for line in commands:
        assert line.endswith(PRINTED_OVERRIDES), line
        configs = [Path(word) for word in shlex.split(line) if word.endswith(".yaml")]
        assert configs and all(p.is_absolute() and p.is_file() for p in configs), line


def test_seeds_and_overrides_are_checked(tmp_path, fake_bin):
    done = run_script("language_modeling/run_math.sh", ["llama1_7b", "gift_qv", "train.epochs=1"], tmp_path, fake_bin)
    assert done.returncode == 2 and "key=value overrides go after --" in done.stderr
    done = run_script("language_modeling/run_math.sh", ["llama1_7b", "gift_qv", "--", "epochs"], tmp_path, fake_bin)
    assert done.returncode == 2 and "'epochs' after -- is not a key=value override" in done.stderr
    done = run_script("language_modeling/run_math.sh", ["llama1_7b", "gift"], tmp_path, fake_bin)
    assert done.returncode == 2 and "no config configs/language_modeling/llama1_7b/math_gift.yaml" in done.stderr
    env = {"ACCELERATE_CONFIG": "configs/accelerate/3gpu.yaml"}
    done = run_script("visual_classification/fgvc/sweep_fgvc.sh", ["gift", "--dry-run"], tmp_path, fake_bin, **env)
    assert done.returncode == 2 and f"no file {REPO}/configs/accelerate/3gpu.yaml" in done.stderr
    assert not (tmp_path / "ran").exists()


@pytest.mark.parametrize(("script", "args"), PREPARERS, ids=[c[0] for c in PREPARERS])
def test_preparers_dry_run_and_refuse_overrides(script, args, tmp_path, fake_bin):
    target = tmp_path / "data"
    done = run_script(script, [str(target), *args, "--dry-run"], tmp_path, fake_bin)
    assert done.returncode == 0, done.stderr
    cd, *commands = done.stdout.splitlines()
    assert cd == f"cd {REPO}" and commands and str(target) in commands[-1]  # the last: the check of the data
    assert not target.exists() and not (tmp_path / "ran").exists()
    done = run_script(script, [str(target), "--", "train.epochs=1"], tmp_path, fake_bin)
    assert done.returncode == 2 and "takes no overrides" in done.stderr


# ---------------------------------------------------------------------------------------------- README
def is_launch(words: list[str]) -> bool:
    return words[:2] == ["accelerate", "launch"] or words[:3] == ["python", "-m", "gift_experiment_utils.sweep"]


def readme_commands() -> list[list[str]]:
    """Every shell command of README.md that runs a script, `accelerate launch` or a sweep (continuations
    joined, comments dropped, `&&` split)."""
    text = re.sub(r"\\\n\s*", " ", (REPO / "README.md").read_text())
    commands = []
    for line in text.splitlines():
        line = line.strip()
        if not re.match(r"^([A-Z_]+=\S+ )*(bash |python |accelerate |scripts/)", line):
            continue
        words = shlex.split(line, comments=True)
        starts = [0] + [i + 1 for i, word in enumerate(words) if word == "&&"]
        for start, end in zip(starts, [*starts[1:], len(words) + 1]):
            command = words[start : end - 1]
            if any(w.endswith(".sh") for w in command) or is_launch(command):
                commands.append(command)
    return commands


README_COMMANDS = readme_commands()


def _repo_path(path: str) -> Path:
    return Path(path) if Path(path).is_absolute() else REPO / path


def _processes(accelerate_config: str) -> int:
    return yaml.safe_load(_repo_path(accelerate_config).read_text())["num_processes"]


def check_launch(words: list[str]) -> int:
    """A launch line's batch splits on its processes; returns the number of runs checked."""
    if words[:2] == ["accelerate", "launch"]:
        processes = _processes(words[words.index("--config_file") + 1])
        at = words.index("--config")
        if words[at + 1] == "FILE":  # the README's placeholder
            return 0
        batch_split(load_config(_repo_path(words[at + 1]), words[at + 2 :]), processes)
        return 1
    assert words[:3] == ["python", "-m", "gift_experiment_utils.sweep"], words
    args = sweep_args(words[3:])
    launcher = shlex.split(args.launcher or "python")
    processes = _processes(launcher[launcher.index("--config_file") + 1]) if "--config_file" in launcher else 1
    return _check_sweep(str(_repo_path(args.sweep)), tuple(args.overrides), processes)


@functools.cache
def _check_sweep(path: str, overrides: tuple[str, ...], processes: int) -> int:
    runs = Sweep(path, overrides).search_runs()
    for planned in runs:
        batch_split(planned.config, processes)
    return len(runs)


def test_readme_has_script_and_launch_commands():
    assert sum(any(w.endswith(".sh") for w in c) for c in README_COMMANDS) >= 15
    assert any("configs/accelerate/8gpu.yaml" in " ".join(c) for c in README_COMMANDS)


@pytest.mark.parametrize("words", README_COMMANDS, ids=lambda words: " ".join(words)[:90])
def test_readme_command_runs_on_the_hardware_it_names(words, tmp_path, fake_bin):
    """Scripts run with --dry-run (env assignments kept); each printed launch line, and each launch line of the
    README itself, resolves its config and splits its effective batch over the processes of its accelerate
    config."""
    if not any(w.endswith(".sh") for w in words):
        check_launch(words)
        return
    env = dict(w.split("=", 1) for w in words[: next(i for i, w in enumerate(words) if not re.match(r"[A-Z_]+=", w))])
    script = next(w for w in words if w.endswith(".sh"))
    args = words[words.index(script) + 1 :]
    done = run_script(script.removeprefix("scripts/"), ["--dry-run", *args], tmp_path, fake_bin, **env)
    assert done.returncode == 0, done.stderr
    for line in done.stdout.splitlines()[1:]:
        if is_launch(shlex.split(line)):
            check_launch(shlex.split(line))
