"""The run folder and what is logged into it; wandb on top, optional and on the main process only.

runs/<domain>/<experiment>/<run-name>/
    config.yaml      the resolved config (enough to rerun: `run --config <run>/config.yaml`)
    meta.json        git commit and dirty flag, package versions, world size, device, command line of the
                     latest start; `history`: one entry per start (time, commit, resumed_from_step, ...)
    metrics.jsonl    one JSON object per logged step: {"step", "epoch", "train/loss", "val/accuracy", ...}
    results.json     final metrics, trainable parameters, peak memory, wall time (written last: "done")
    checkpoints/     last.pt (resumable), best.pt (best validation weights)
    adapter/         the trained adapter in its library's format
"""

from __future__ import annotations

import datetime
import hashlib
import importlib.metadata
import json
import logging
import platform
import re
import resource
import subprocess
import sys
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Any

import yaml

from gift.io import atomic_write

from .config import Config

PACKAGES = ("torch", "transformers", "accelerate", "peft", "timm", "datasets", "wandb", "gift-peft")
# What meta.json's `history` keeps of each start of a run folder.
HISTORY_KEYS = ("started", "git_commit", "git_dirty", "world_size", "device", "hostname", "resumed_from_step")
# Temporary files, renamed over <name> once written: `.<name>.tmp-<pid>` (and older versions' `.config.yaml.tmp`).
TEMPORARY_FILE = re.compile(r"\..+\.tmp(-\d+)?")
# What to do about a damaged file of a run folder, by name.
FIXES = {
    "results.json": "delete it to finish the run again (from checkpoints/last.pt, if kept)",
    "meta.json": "delete it; the next start writes a new one, without the history of earlier starts",
    "config.yaml": "write the run's config back, or delete the run folder",
}

logger = logging.getLogger("gift_experiment_utils")


class RunDir:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    config = property(lambda self: self.path / "config.yaml")
    meta = property(lambda self: self.path / "meta.json")
    metrics = property(lambda self: self.path / "metrics.jsonl")
    results = property(lambda self: self.path / "results.json")
    checkpoints = property(lambda self: self.path / "checkpoints")
    last = property(lambda self: self.path / "checkpoints" / "last.pt")
    best = property(lambda self: self.path / "checkpoints" / "best.pt")
    adapter = property(lambda self: self.path / "adapter")

    def is_done(self) -> bool:
        return self.results.is_file()


def slug(value: Any) -> str:
    text = f"{value:g}" if isinstance(value, float) else str(value)
    return re.sub(r"[^A-Za-z0-9_.\-=,+]", "-", text)


# Keys that cannot change a number a run produces: where its folder and data are, how it is logged and how
# often it is checkpointed (resumption is exact). Everything else is the run's identity. `checkpoint.save_best`
# stays in: with eval.test_weights=best it decides which weights are tested.
NOT_IDENTITY = (
    "experiment.output_root",
    "experiment.run_name",
    "data.root",
    "log.",
    "checkpoint.every_steps",
    "checkpoint.every_epochs",
    "checkpoint.resume",
    "checkpoint.keep_last_at_end",
    "checkpoint.export",
)
SEED_KEY = "experiment.seed"


def identity(config: Config | dict[str, Any]) -> dict[str, Any]:
    """The flattened config keys that define what a run computes (all but `NOT_IDENTITY`)."""
    data = config if isinstance(config, dict) else asdict(config)
    return {k: v for k, v in flatten(data).items() if not k.startswith(NOT_IDENTITY)}


def config_hash(config: Config | dict[str, Any], *, with_seed: bool = False) -> str:
    """8 hex digits of a SHA-256 over the identity keys (without the seed unless asked): stable across
    processes, machines and key order. Seeds of one experiment share it, so it names a table row."""
    keys = identity(config)
    if not with_seed:
        keys.pop(SEED_KEY, None)
    text = json.dumps(keys, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:8]


def run_name(config: Config, task_tag: str) -> str:
    """The run's folder name, from the config: task, method, lr, weight decay, the config hash and the seed.

    The readable part is for people; the hash of every other key makes two different experiments two folders
    (`commonsense_gift_r64_lr0.0002_wd0_3fa1c02b_seed42`). `experiment.run_name` replaces all of it. An
    evaluate-only run says `zeroshot` or `eval` (a saved adapter) where a trained one has its lr and wd.
    """
    if config.experiment.run_name:
        return config.experiment.run_name
    train = config.train
    trained = [f"lr{slug(train.lr)}", f"wd{slug(train.weight_decay)}"]
    if config.eval.only:
        trained = ["eval" if config.eval.adapter else "zeroshot"]
    parts = [task_tag, config.method.tag(), *trained, config_hash(config), f"seed{config.experiment.seed}"]
    return "_".join(slug(p) for p in parts)


def run_dir(config: Config, task_tag: str) -> RunDir:
    experiment = config.experiment
    domain = slug(experiment.domain)  # `package.module:Class` -> `package.module-Class`
    return RunDir(Path(experiment.output_root) / domain / experiment.name / run_name(config, task_tag))


def flatten(data: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": 1}} -> {"a.b": 1}"""
    flat = {}
    for key, value in data.items():
        if isinstance(value, dict) and value:
            flat.update(flatten(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


_MISSING = object()  # a key missing on one side differs from any value on the other


def has_progress(run: RunDir) -> bool:
    """Whether the folder holds anything a run produced (results, checkpoints or logged metrics)."""
    metrics = run.metrics.is_file() and run.metrics.stat().st_size > 0
    return run.results.is_file() or run.last.is_file() or run.best.is_file() or metrics


def check_resumable(run: RunDir, config: Config) -> None:
    """A run folder may only be reused (resumed, or skipped as finished) by a config with the same identity.

    A folder with nothing produced yet (a setup that failed) takes the new config. Raises ValueError naming the
    keys that differ otherwise.
    """
    if not has_progress(run):
        return
    if not run.config.is_file():
        raise ValueError(
            f"Run folder {run.path} holds results or checkpoints but no config.yaml, so nothing shows which "
            "experiment wrote them. Move the folder away (or delete it) and run again."
        )
    old_flat, new_flat = flatten(read_yaml(run.config)), flatten(asdict(config))
    old, new = identity(old_flat), identity(new_flat)
    differ = sorted(k for k in old.keys() | new.keys() if old.get(k, _MISSING) != new.get(k, _MISSING))
    if differ:
        changes = ", ".join(f"{k}: {old_flat.get(k)!r} -> {new_flat.get(k)!r}" for k in differ[:5])
        more = f" and {len(differ) - 5} more" if len(differ) > 5 else ""
        raise ValueError(
            f"Run folder {run.path} holds another experiment ({changes}{more}). Give this one its own folder "
            "(leave experiment.run_name unset: the folder name then carries the config hash, or set "
            "experiment.run_name=<new name>), or move the old folder away."
        )


def prepare_run_dir(run: RunDir, config: Config, accelerator: Any) -> None:
    """Check on every process that the folder may take this run, then write config.yaml and meta.json."""
    check_resumable(run, config)  # everywhere, so that no process waits for one that failed
    accelerator.wait_for_everyone()
    if accelerator.is_main_process:
        run.checkpoints.mkdir(parents=True, exist_ok=True)
        if not run.last.is_file():  # a fresh start: what an earlier, unsaved attempt logged is not this run's
            for stale in (run.metrics, run.best):
                if stale.is_file():
                    logger.info(f"starting afresh: removing {stale} of an attempt that saved no checkpoint")
                    stale.unlink()
        remove_temporary_files(run)
        atomic_write(run.config, yaml.safe_dump(asdict(config), sort_keys=False).encode())
        write_meta(run, meta(accelerator, config))
    accelerator.wait_for_everyone()


def remove_temporary_files(run: RunDir) -> None:
    """Delete the temporary files that writes killed before their rename left in the folder and checkpoints/.

    Call on the main process before the run writes anything: only one process may run in a folder at a time.
    """
    for folder in (run.path, run.checkpoints):
        for path in folder.glob(".*.tmp*"):
            if path.is_file() and TEMPORARY_FILE.fullmatch(path.name):
                logger.info(f"removing {path}, left by a write that was interrupted")
                path.unlink(missing_ok=True)


def write_meta(run: RunDir, current: dict[str, Any]) -> None:
    """meta.json: the latest start's fields, and `history` with one entry per start of this folder."""
    history = []
    if run.meta.is_file():
        old = read_json(run.meta)
        history = old.get("history") or [{key: old.get(key) for key in HISTORY_KEYS}]  # older: one start, undated
    entry = {key: current.get(key) for key in HISTORY_KEYS}
    write_json(run.meta, {**current, "history": [*history, entry]})


def record_resumption(run: RunDir, *, step: int) -> None:
    """Note in meta.json's latest history entry the step this start resumed from (known once last.pt is read)."""
    data = read_json(run.meta)
    data["history"][-1]["resumed_from_step"] = step
    write_json(run.meta, data)


def read_json(path: Path) -> Any:
    """A JSON file of a run folder; a damaged one is a one-line ValueError naming it and what to do."""
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        problem = f"{err.msg}, line {err.lineno} column {err.colno}"
        raise ValueError(f"{path} is damaged: not JSON ({problem}); {_fix(path)}.") from err
    except UnicodeDecodeError as err:
        raise ValueError(f"{path} is damaged: not text (byte {err.start}); {_fix(path)}.") from err


def read_yaml(path: Path) -> dict[str, Any]:
    """A YAML mapping of a run folder (config.yaml); a damaged one is a one-line ValueError naming it."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text()) or {}
    except (yaml.YAMLError, UnicodeDecodeError) as err:
        problem = " ".join(str(getattr(err, "problem", None) or err).split())
        raise ValueError(f"{path} is damaged: not YAML ({problem}); {_fix(path)}.") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path} is damaged: a {type(data).__name__}, not a mapping of keys; {_fix(path)}.")
    return data


def _fix(path: Path) -> str:
    return FIXES.get(path.name, "fix or delete it")


def peak_memory_mb() -> tuple[float, str]:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20, "cuda_max_allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "cpu_max_rss"


def write_json(path: Path, data: Any) -> None:
    atomic_write(path, (json.dumps(data, indent=2, sort_keys=False, default=str) + "\n").encode())


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, check=True, timeout=10, cwd=Path(__file__).resolve().parent
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def meta(accelerator: Any, config: Config) -> dict[str, Any]:
    """meta.json's fields of this start: code version, packages, processes, device, host, command line."""
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
        "packages": versions,
        "python": platform.python_version(),
        "world_size": accelerator.num_processes,
        "device": str(accelerator.device),
        "mixed_precision": config.train.mixed_precision,
        "hostname": platform.node(),
        "command": sys.argv,
    }


class Tracker:
    """Writes metrics.jsonl (always) and wandb (if enabled); a no-op on processes other than the main one."""

    def __init__(self, run: RunDir, config: Config, *, is_main: bool) -> None:
        self.run, self.is_main, self.wandb = run, is_main, None
        if is_main and config.log.wandb not in ("disabled", "off"):
            self.wandb = _start_wandb(run, config)

    def log(self, values: dict[str, Any], *, step: int, epoch: float) -> None:
        if not self.is_main:
            return
        row = {"step": step, "epoch": round(epoch, 4), **values}
        with open(self.run.metrics, "a") as handle:
            handle.write(json.dumps(row, default=float) + "\n")
        if self.wandb is not None:
            self.wandb.log(values, step=step)

    def summary(self, values: dict[str, Any]) -> None:
        if self.wandb is not None:
            self.wandb.summary.update(values)

    def finish(self) -> None:
        if self.wandb is not None:
            self.wandb.finish()
            self.wandb = None


def truncate_metrics(path: Path, *, after_step: int) -> None:
    """Drop rows logged after the checkpoint a run resumes from (and test rows); they will be logged again."""
    if not path.is_file():
        return
    kept = [
        row for row in read_metrics(path) if row["step"] <= after_step and not any(k.startswith("test/") for k in row)
    ]
    atomic_write(path, "".join(json.dumps(row) + "\n" for row in kept).encode())  # rows as Tracker.log wrote them


def read_metrics(path: Path) -> list[dict[str, Any]]:
    """Every row of metrics.jsonl.

    Rows are appended one whole line at a time, so a kill can only cut off the last line: an incomplete last
    line is dropped with a warning (a resumed run logs it again). A damaged line before it did not come from
    a kill and is a ValueError naming the line, so that no row is lost silently.
    """
    path = Path(path)
    text = path.read_text(errors="replace")  # rows are ASCII: a stray byte makes its line fail below, named
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    rows = []
    for number, line in lines:
        try:
            row = json.loads(line)
        except json.JSONDecodeError:
            row = None
        if isinstance(row, dict) and "step" in row:
            rows.append(row)
        elif number == lines[-1][0]:
            logger.warning(f"{path} line {number} is incomplete (a write was interrupted); ignoring it: {line[:80]!r}")
        else:
            raise ValueError(
                f"{path} line {number} is damaged (not a JSON row with a step): {line[:80]!r}; delete that line, "
                "or delete the run folder to start again."
            )
    return rows


def _start_wandb(run: RunDir, config: Config) -> Any:
    import wandb  # optional: imported only when a run asks for it

    id_file = run.path / "wandb_id.txt"
    if not id_file.is_file():
        id_file.write_text(uuid.uuid4().hex[:12])  # a stable id, so a resumed run continues its wandb run
    log = config.log
    return wandb.init(
        project=log.project,
        entity=log.entity,
        group=log.group or f"{config.experiment.name}/{config_hash(config)}",  # a row: its seeds together
        job_type=log.job_type or "train",
        name=run.path.name,
        tags=list(log.tags),
        config=asdict(config),
        dir=str(run.path),
        id=id_file.read_text().strip(),
        resume="allow",
        mode=log.wandb,
    )
