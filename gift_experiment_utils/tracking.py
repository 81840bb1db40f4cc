"""The run folder and what is logged into it; wandb on top, optional and on the main process only.

runs/<domain>/<experiment>/<run-name>/
    config.yaml      the resolved config (enough to rerun: `run --config <run>/config.yaml`)
    meta.json        git commit and dirty flag, package versions, world size, device, command line
    metrics.jsonl    one JSON object per logged step: {"step", "epoch", "train/loss", "val/accuracy", ...}
    results.json     final metrics, trainable parameters, peak memory, wall time (written last: "done")
    checkpoints/     last.pt (resumable), best.pt (best validation weights)
    adapter/         the trained adapter in its library's format
"""

from __future__ import annotations

import hashlib
import importlib.metadata
import json
import os
import platform
import re
import resource
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import yaml

from .config import Config
from .loading import config_to_dict

PACKAGES = ("torch", "transformers", "accelerate", "peft", "timm", "datasets", "wandb", "gift-peft")


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
    data = config if isinstance(config, dict) else config_to_dict(config)
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
    (`commonsense_gift_r64_lr0.0002_wd0_3fa1c02b_seed42`). `experiment.run_name` replaces all of it.
    """
    if config.experiment.run_name:
        return config.experiment.run_name
    train = config.train
    parts = [
        task_tag,
        config.method.tag(),
        f"lr{slug(train.lr)}",
        f"wd{slug(train.weight_decay)}",
        config_hash(config),
        f"seed{config.experiment.seed}",
    ]
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


def differing_keys(old: dict[str, Any], new: dict[str, Any]) -> list[str]:
    """Identity keys whose values differ between two flattened configs (a key missing on one side differs)."""
    old, new = identity(old), identity(new)
    return sorted(k for k in set(old) | set(new) if old.get(k, _MISSING) != new.get(k, _MISSING))


_MISSING = object()


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
    try:
        old = yaml.safe_load(run.config.read_text()) or {}
    except yaml.YAMLError as error:
        raise ValueError(f"{run.config} is not valid YAML ({error}); move {run.path} away and run again.") from None
    differ = differing_keys(flatten(old), flatten(config_to_dict(config)))
    if differ:
        old_flat, new_flat = flatten(old), flatten(config_to_dict(config))
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
            run.metrics.unlink(missing_ok=True)
            run.best.unlink(missing_ok=True)
        tmp = run.config.with_name(".config.yaml.tmp")
        tmp.write_text(yaml.safe_dump(config_to_dict(config), sort_keys=False))
        tmp.replace(run.config)
        write_json(
            run.meta,
            meta(
                world_size=accelerator.num_processes,
                device=str(accelerator.device),
                mixed_precision=config.train.mixed_precision,
            ),
        )
    accelerator.wait_for_everyone()


def peak_memory_mb() -> tuple[float, str]:
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_allocated() / 2**20, "cuda_max_allocated"
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, "cpu_max_rss"


def write_json(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, default=str) + "\n")
    os.replace(tmp, path)


def _git(*args: str) -> str | None:
    try:
        return subprocess.run(
            ["git", *args], capture_output=True, text=True, check=True, timeout=10, cwd=Path(__file__).resolve().parent
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None


def meta(*, world_size: int, device: str, mixed_precision: str) -> dict[str, Any]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {
        "git_commit": _git("rev-parse", "HEAD"),
        "git_dirty": bool(status) if status is not None else None,
        "packages": versions,
        "python": platform.python_version(),
        "world_size": world_size,
        "device": device,
        "mixed_precision": mixed_precision,
        "hostname": platform.node(),
        "command": sys.argv,
    }


class Tracker:
    """Writes metrics.jsonl (always) and wandb (if enabled); a no-op on processes other than the main one."""

    def __init__(self, run: RunDir, config: Config, *, is_main: bool, config_dict: dict[str, Any]) -> None:
        self.run, self.is_main, self.wandb = run, is_main, None
        if is_main and config.log.wandb != "disabled":
            self.wandb = _start_wandb(run, config, config_dict)

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
    rows = [line for line in path.read_text().splitlines() if line.strip()]
    kept = [line for line in rows if _keep(json.loads(line), after_step)]
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    tmp.write_text("".join(line + "\n" for line in kept))
    os.replace(tmp, path)


def _keep(row: dict[str, Any], after_step: int) -> bool:
    return row["step"] <= after_step and not any(key.startswith("test/") for key in row)


def read_metrics(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]


def _start_wandb(run: RunDir, config: Config, config_dict: dict[str, Any]) -> Any:
    import wandb  # optional: imported only when a run asks for it

    id_file = run.path / "wandb_id.txt"
    if not id_file.is_file():
        id_file.write_text(uuid.uuid4().hex[:12])  # a stable id, so a resumed run continues its wandb run
    log = config.log
    return wandb.init(
        project=log.project,
        entity=log.entity,
        group=log.group or config.experiment.name,
        name=run.path.name,
        tags=list(log.tags),
        config=config_dict,
        dir=str(run.path),
        id=id_file.read_text().strip(),
        resume="allow",
        mode=log.wandb,
    )
