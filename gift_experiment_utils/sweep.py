"""Sweeps: a grid of overrides × seeds on one experiment, the winner per task, then the final seeds.

The paper's protocol: search the grid on one seed, pick the best point by a validation metric, run the
final seeds with it. A sweep file (any YAML with a top-level `sweep:`) says all of that:

    sweep:
      config: gift.yaml                    # the experiment, relative to this file
      overrides: [train.epochs=20]         # fixed for every run (optional)
      partition: {task.name: [cola, rte]}  # independent searches, one winner each (optional)
      grid: {train.lr: [1.0e-4, 5.0e-4], train.weight_decay: [0, 1.0e-4]}
      seeds: [42]                          # search seeds (a point's score is the mean over them)
      select: {metric: best_val/accuracy, mode: max}   # a key of results.json "metrics"
      final: {seeds: [42, 43, 44, 45, 46], overrides: []}

    python -m gift_experiment_utils.sweep plan   SWEEP.yaml [--stage final] [key=value ...]  # runs, status
    python -m gift_experiment_utils.sweep run    SWEEP.yaml [--stage final] [--print] [--launcher CMD] [key=value ...]
    python -m gift_experiment_utils.sweep select SWEEP.yaml [--run | --print] [key=value ...]

Overrides on the command line go to every run, after the sweep's own (e.g. `train.epochs=1` for a smoke
run); they are part of each run's config, so give the same ones to `plan`, `run`, `select` and the tables.

`run` executes the pending runs one after another (finished runs, those with results.json, are skipped)
or, with --print, prints one launch line per pending run for a cluster scheduler. `select` writes
`<output_root>/<domain>/<experiment>/_sweeps/<sweep name>/selection.json` and launches (or prints) the final
runs; a final run identical to a search run (same config, same seed) is not run twice.

A run's folder name carries a hash of its whole config (`tracking.run_name`), so editing the sweep or its
config (another epoch count, another rank) plans new folders: nothing is skipped or selected because a run
of another experiment finished, and a selection made before the edit is refused until `select` runs again.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import shlex
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any, Literal

import yaml

from .config import Config
from .loading import _Builder, dotted_keys, find_config, load_config, read_yaml
from .tracking import RunDir, check_resumable, read_json, run_dir, write_json


@dataclass
class SelectSpec:
    metric: str = "best_val/accuracy"  # a key of results.json "metrics"
    mode: Literal["max", "min"] = "max"


@dataclass
class FinalSpec:
    seeds: list[int] = field(default_factory=lambda: [42])
    overrides: list[str] = field(default_factory=list)


@dataclass
class SweepSpec:
    config: str  # experiment YAML, relative to the sweep file
    grid: dict[str, list[Any]] = field(default_factory=dict)
    partition: dict[str, list[Any]] = field(default_factory=dict)
    overrides: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=lambda: [42])
    select: SelectSpec = field(default_factory=SelectSpec)
    final: FinalSpec = field(default_factory=FinalSpec)


@dataclass
class PlannedRun:
    config_path: Path
    overrides: list[str]  # everything but the config file, in order
    partition: tuple[str, ...]  # its partition's overrides (the selection is per partition)
    point: tuple[str, ...]  # its grid point's overrides
    config: Config
    run: RunDir

    def done(self) -> bool:
        """Finished with this very config; a folder holding another experiment is a named error."""
        check_resumable(self.run, self.config)
        return self.run.is_done()

    def args(self) -> list[str]:
        return ["--config", str(self.config_path), *self.overrides]

    def launch_line(self, launcher: str) -> str:
        return " ".join([launcher, *(shlex.quote(a) for a in self.args())])


class Sweep:
    def __init__(self, path: str | Path, overrides: Sequence[str] = ()) -> None:
        self.path = find_config(path)
        self.extra = list(overrides)  # from the command line: every run, after the sweep's own
        raw = read_yaml(self.path)  # a syntax error names the file and line
        if set(raw) != {"sweep"}:
            raise ValueError(f"{self.path}: a sweep file holds one top-level key 'sweep:', got {sorted(raw)}.")
        if not isinstance(raw["sweep"], dict) or "config" not in raw["sweep"]:
            raise ValueError(
                f"{self.path}: 'sweep.config' (the experiment YAML, relative to the sweep file) is required."
            )
        builder = _Builder({}, list(dotted_keys(SweepSpec, "sweep.")))  # checks keys and types as for a config
        self.spec: SweepSpec = builder.dataclass(SweepSpec, raw["sweep"], "sweep.")
        self.config_path = (self.path.parent / self.spec.config).resolve()
        self._validate()

    def _validate(self) -> None:
        """Refuse a sweep that would run nothing, run a point twice, or let one key hide another."""
        for key, seeds in (("sweep.seeds", self.spec.seeds), ("sweep.final.seeds", self.spec.final.seeds)):
            if not seeds:
                raise ValueError(
                    f"{self.path}: '{key}' is empty; give at least one seed, e.g. {key.split('.')[-1]}: [42]."
                )
            _refuse_duplicates(self.path, key, seeds)
        for section in ("grid", "partition"):
            for name, values in getattr(self.spec, section).items():
                if not isinstance(values, list) or not values:
                    raise ValueError(
                        f"{self.path}: 'sweep.{section}.{name}' needs a non-empty list of values, got {values!r}."
                    )
                _refuse_duplicates(self.path, f"sweep.{section}.{name}", values)
        both = sorted(set(self.spec.grid) & set(self.spec.partition))
        if both:
            raise ValueError(
                f"{self.path}: {both} are in both sweep.grid and sweep.partition; a key is either searched "
                "(grid) or split on (partition). Keep it in one."
            )

    def cli(self) -> str:
        """The sweep file and its command-line overrides, as a command takes them."""
        return " ".join(shlex.quote(a) for a in (str(self.path), *self.extra))

    # ------------------------------------------------------------------ expansion
    def _combinations(self, table: dict[str, list[Any]]) -> list[tuple[str, ...]]:
        return [
            tuple(f"{k}={_yaml_value(v)}" for k, v in zip(table, values))
            for values in itertools.product(*table.values())
        ]

    def _plan(
        self, partition: tuple[str, ...], point: tuple[str, ...], seed: int, extra: list[str], *, stage: str = "search"
    ) -> PlannedRun:
        # log.job_type (wandb) tells search and final runs apart; like every log.* key it is not part of identity
        overrides = [
            f"log.job_type={stage}",
            *self.spec.overrides,
            *partition,
            *point,
            *extra,
            *self.extra,
            f"experiment.seed={seed}",
        ]
        config = load_config(self.config_path, overrides)  # validates every run before any starts
        from .task import get_task_class

        folder = run_dir(config, get_task_class(config.experiment.domain)(config).tag())
        return PlannedRun(self.config_path, overrides, partition, point, config, folder)

    def search_runs(self) -> list[PlannedRun]:
        runs = [
            self._plan(partition, point, seed, [])
            for partition in self._combinations(self.spec.partition)
            for point in self._combinations(self.spec.grid)
            for seed in self.spec.seeds
        ]
        return _distinct_folders(runs, self.path)

    def final_runs(self, selection: dict[str, Any]) -> list[PlannedRun]:
        runs = []
        for partition in self._combinations(self.spec.partition):
            chosen = selection[_key(partition)]["point"]
            runs += [
                self._plan(partition, tuple(chosen), seed, self.spec.final.overrides, stage="final")
                for seed in self.spec.final.seeds
            ]
        return _distinct_folders(runs, self.path)

    def selection_path(self) -> Path:
        """<output_root>/<domain>/<experiment>/_sweeps/<sweep file name>/selection.json, beside its runs."""
        first = self._plan(
            self._combinations(self.spec.partition)[0], self._combinations(self.spec.grid)[0], self.spec.seeds[0], []
        )
        return first.run.path.parent / "_sweeps" / self.path.stem / "selection.json"

    def read_selection(self) -> dict[str, Any]:
        """selection.json, checked against the sweep as it is now: the search runs it was chosen from must be
        this sweep's search runs (an edited sweep or config has other run folders, so a new selection)."""
        path = self.selection_path()
        if not path.is_file():
            raise ValueError(
                f"{path} does not exist; run `python -m gift_experiment_utils.sweep select {self.cli()}` first."
            )
        selection = read_json(path)
        runs = self.search_runs()
        for partition in self._combinations(self.spec.partition):
            chosen = selection.get(_key(partition))
            current = sorted(r.run.path.name for r in runs if r.partition == partition)
            if chosen is None or chosen.get("runs") != current:
                raise ValueError(
                    f"{path} was not selected from this sweep's current search runs (partition {_key(partition)}): "
                    f"{self.path}, its config or the command-line overrides changed since `sweep select`. Run the "
                    f"search (`sweep run {self.cli()}`) and `sweep select {self.cli()}` again."
                )
        return selection

    # ------------------------------------------------------------------ selection
    def select(self, *, allow_missing: bool = False) -> dict[str, Any]:
        """The best grid point of each partition by the mean of `select.metric` over the search seeds."""
        runs = self.search_runs()
        missing = [r.run.path for r in runs if not r.done()]
        if missing and not allow_missing:
            raise ValueError(
                f"{len(missing)} search runs are not finished (e.g. {missing[0]}); run them first "
                "(`sweep run`) or pass --allow-missing."
            )
        selection = {}
        for partition in self._combinations(self.spec.partition):
            members = [r for r in runs if r.partition == partition]
            scores = self._scores(members)
            if not scores:
                raise ValueError(f"No finished search run for partition {list(partition)}.")
            pick = max if self.spec.select.mode == "max" else min
            point, value = pick(scores.items(), key=lambda item: item[1][0])
            selection[_key(partition)] = {
                "partition": list(partition),
                "point": list(point),
                "value": value[0],
                "num_seeds": value[1],
                "metric": self.spec.select.metric,
                "all": {_key(p): s[0] for p, s in scores.items()},
                "runs": sorted(r.run.path.name for r in members),  # what read_selection checks it against
            }
        return selection

    def _scores(self, runs: list[PlannedRun]) -> dict[tuple[str, ...], tuple[float, int]]:
        values: dict[tuple[str, ...], list[float]] = {}
        for planned in runs:
            if not planned.done():
                continue
            metrics = read_json(planned.run.results)["metrics"]
            if self.spec.select.metric not in metrics:
                raise ValueError(
                    f"select.metric {self.spec.select.metric!r} is not in {planned.run.results} "
                    f"(it has {sorted(metrics)}); fix select.metric in {self.path}."
                )
            values.setdefault(planned.point, []).append(metrics[self.spec.select.metric])
        return {point: (mean(v), len(v)) for point, v in values.items()}


def _refuse_duplicates(path: Path, key: str, values: list[Any]) -> None:
    """Values that become the same override (`1e-4` and `1.0e-4`) would run the same point twice."""
    seen: list[Any] = []
    for value in values:
        canonical = _canonical(value)
        if canonical in seen:
            first = values[seen.index(canonical)]
            raise ValueError(
                f"{path}: '{key}' lists the same value twice ({first!r} and {value!r}), so the same runs would "
                "start twice. Remove one."
            )
        seen.append(canonical)


def _canonical(value: Any) -> Any:
    """A value as the schema reads it: YAML 1.1 keeps `1e-4` a string, the schema's float makes it 0.0001."""
    if isinstance(value, bool) or value is None:
        return (type(value).__name__, value)  # True == 1 in Python, but not in a config
    if isinstance(value, (int, float, str)):
        with contextlib.suppress(ValueError):
            return float(value)
    if isinstance(value, list):
        return [_canonical(item) for item in value]
    if isinstance(value, dict):
        return {key: _canonical(item) for key, item in value.items()}
    return value


def _yaml_value(value: Any) -> str:
    return yaml.safe_dump(value, default_flow_style=True, width=10_000).strip().removesuffix("...").strip()


def _key(overrides: tuple[str, ...] | list[str]) -> str:
    return ",".join(overrides) or "all"


def _distinct_folders(runs: list[PlannedRun], sweep_path: Path) -> list[PlannedRun]:
    """Every planned run needs its own folder. Default names carry the config hash, so only a fixed
    `experiment.run_name` can make two runs share one."""
    seen: dict[Path, PlannedRun] = {}
    for planned in runs:
        other = seen.setdefault(planned.run.path, planned)
        if other is not planned:
            raise ValueError(
                f"{sweep_path}: the runs {' '.join(other.overrides)!r} and {' '.join(planned.overrides)!r} would "
                f"share the folder {planned.run.path}. Remove experiment.run_name from the config and overrides "
                "(default folder names carry the config hash and the seed)."
            )
    return runs


# ---------------------------------------------------------------------------------------------- execution
def execute(runs: list[PlannedRun], *, launcher: str, print_only: bool, in_process: bool) -> int:
    pending = [r for r in runs if not r.done()]
    print(f"# {len(runs) - len(pending)} of {len(runs)} runs finished; {len(pending)} to go", file=sys.stderr)
    for planned in pending:
        if print_only:
            print(planned.launch_line(launcher))
            continue
        print(f"# {planned.launch_line(launcher)}", file=sys.stderr, flush=True)
        if in_process:
            from .run import main

            code = main(planned.args())
        else:
            code = subprocess.run(shlex.split(launcher) + planned.args()).returncode
        if code:
            print(f"# run failed with exit code {code}: {planned.run.path}", file=sys.stderr)
            return code
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m gift_experiment_utils.sweep", description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["plan", "run", "select"])
    parser.add_argument("sweep", help="sweep YAML")
    parser.add_argument("--stage", choices=["search", "final"], default="search", help="plan/run: which runs")
    parser.add_argument("--print", action="store_true", help="print launch lines instead of running")
    parser.add_argument("--run", action="store_true", help="select: then run the final seeds")
    parser.add_argument(
        "--launcher",
        help="command before --config (default: this interpreter, '<sys.executable> -m gift_experiment_utils.run'), "
        "e.g. 'accelerate launch --config_file configs/accelerate/8gpu.yaml -m gift_experiment_utils.run'",
    )
    parser.add_argument(
        "--in-process", action="store_true", help="run in this Python process (one CPU/GPU, no launcher)"
    )
    parser.add_argument("--allow-missing", action="store_true", help="select among the finished search runs only")
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides for every run")
    return parser.parse_intermixed_args(argv)  # overrides may follow the options


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        sweep = Sweep(args.sweep, args.overrides)
        if args.command == "select":
            selection = sweep.select(allow_missing=args.allow_missing)
            path = sweep.selection_path()
            path.parent.mkdir(parents=True, exist_ok=True)
            write_json(path, selection)
            for key, chosen in selection.items():
                print(f"# {key}: {chosen['point']} ({chosen['metric']} = {chosen['value']:.4f})", file=sys.stderr)
            if not (args.run or args.print):
                return 0
            runs = sweep.final_runs(selection)
        elif args.stage == "final":
            runs = sweep.final_runs(sweep.read_selection())
        else:
            runs = sweep.search_runs()
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    try:
        if args.command == "plan":
            print("\n".join(f"{'done' if r.done() else 'todo'}  {r.run.path}" for r in runs))
            return 0
        # by default this interpreter by its full path: a bare `python` on PATH may belong to another environment
        launcher = args.launcher or f"{shlex.quote(sys.executable)} -m gift_experiment_utils.run"
        return execute(runs, launcher=launcher, print_only=args.print, in_process=args.in_process)
    except ValueError as error:  # a run folder that holds another experiment
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
