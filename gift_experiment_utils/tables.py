"""Result tables from run folders: mean ± std over seeds per (method row, task column), as in the paper.

    python -m gift_experiment_utils.tables runs/glue/roberta_base --col task.name --metric auto \\
        --row method.name --row method.rank --scale 100 --out results/glue_base
    python -m gift_experiment_utils.tables runs/language_modeling/llama1_7b/math --metric 'test/{}/accuracy' \\
        --columns AQuA gsm8k mawps SVAMP --percent-of total --scale 100 --out results/llama1_7b_math
    python -m gift_experiment_utils.tables curves runs/toy/toy --out results/toy_curves

writes results/glue_base.md (Markdown), .csv and .png (average score against trainable parameters; plots.py
draws it, and the training `curves`). Columns: one per value of `--col`, or, with `{}` in `--metric`, one per
metric name that matches (one run holds every column: `test/{}/accuracy` makes a column of each eval set);
`--columns` picks and orders them. Then `--group NAME=col,col` means (e.g. VTAB's Natural / Specialized /
Structured), `Avg` (over all columns), `Params` (trainable parameters outside the head) and `Params %` (of the
backbone without head; `--percent-of total`: of backbone + adapter, the convention of the LLM tables the paper
copies its baselines from).
`--stat median` shows each cell's median over seeds [min, max] instead of mean ± std (the GLUE baselines
of LoRA/VeRA report medians); `Avg` then averages the medians.
`--metric auto` takes, per run, `test/<selection metric>` if the run has a test score, else
`best_val/<selection metric>` (GLUE reports the best validation score).

A cell averages the seeds of one experiment only. Rows are named by `--row` (default `method.name`) plus
every config key that differs between runs those keys would otherwise put in one cell (another rank, another
epoch count), and the Markdown says which keys tell the rows apart and how many seeds each cell has.
Reference rows (the paper's numbers) come from the header of an experiment config, one line
`# paper: {row: NAME, <column or group>: value, avg: value, params_percent: value, memory_gb: value}`: a YAML
mapping inside a comment, so the numbers are written once, beside the command, and are no part of a run's
identity (`read_paper`, `Table.add_reference`).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import re
import sys
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean, median, stdev
from typing import Any

import yaml

from .tracking import SEED_KEY, flatten, identity, read_json, read_yaml

# --percent-of: which results.json entry is the Params % column
PERCENT_OF = {"backbone": "method_percent", "total": "method_percent_of_total"}
# a reference row's keys that are not columns or groups: the Avg, Params % and peak memory columns
REFERENCE_KEYS = ("avg", "params_percent", "memory_gb")


@dataclass
class RunResult:
    path: Path
    config: dict[str, Any]  # flattened: {"method.name": "gift", ...}
    results: dict[str, Any]

    def get(self, key: str) -> Any:
        if key not in self.config:
            raise ValueError(f"{self.path}/config.yaml has no key {key!r}; pick --row/--col from its keys.")
        return self.config[key]

    def scores(self, metric: str, column: str) -> dict[str, float]:
        """{column: score}: `metric` (or for "auto" test/ or best_val/ of the selection metric) in `column`; with
        `{}` in `metric`, every metric it matches, in the column its `{}` part names (`test/{}/accuracy`:
        test/boolq/accuracy is column boolq)."""
        metrics = self.results["metrics"]
        if "{}" in metric:
            head, tail = metric.split("{}", 1)
            found = {
                name[len(head) : len(name) - len(tail)]: value
                for name, value in metrics.items()
                if name.startswith(head) and name.endswith(tail) and len(name) > len(head) + len(tail)
            }
        else:
            name = metric
            if metric == "auto":
                selected = self.results["selection"]["metric"].removeprefix("val/")
                name = f"test/{selected}" if f"test/{selected}" in metrics else f"best_val/{selected}"
            found = {} if metrics.get(name) is None else {column: metrics[name]}
        if not found:
            raise ValueError(f"{self.path}/results.json has no metric {metric!r}; it has {sorted(metrics)}.")
        return found


@dataclass
class Cell:
    values: list[float] = field(default_factory=list)
    seeds: list[Any] = field(default_factory=list)  # of the values, in order

    @property
    def mean(self) -> float:
        return mean(self.values)

    @property
    def std(self) -> float:
        return stdev(self.values) if len(self.values) > 1 else 0.0

    @property
    def median(self) -> float:
        return median(self.values)

    def text(self, statistic: str) -> str:
        """`85.00 ± 7.07` (mean ± std over seeds) or `85.00 [80.00, 90.00]` (median [min, max])."""
        if statistic == "median":
            return f"{self.median:.2f} [{min(self.values):.2f}, {max(self.values):.2f}]"
        return f"{self.mean:.2f} ± {self.std:.2f}"


def collect(roots: Sequence[str | Path]) -> list[RunResult]:
    """Every finished run (results.json + config.yaml) under `roots`."""
    runs = []
    for root in roots:
        if not Path(root).is_dir():
            raise ValueError(f"{root} is not a folder; give folders that hold run folders (results.json).")
        runs += [read_run(results.parent) for results in sorted(Path(root).rglob("results.json"))]
    if not runs:
        raise ValueError(f"No finished runs (results.json) under {[str(r) for r in roots]}.")
    return runs


def read_run(folder: Path) -> RunResult:
    """The run in `folder`: its config.yaml, and results.json once it has finished."""
    if not (folder / "config.yaml").is_file():
        raise ValueError(
            f"{folder} has no config.yaml beside its results, so nothing says which experiment it belongs to; "
            "move that folder out of the table's roots."
        )
    results = folder / "results.json"
    return RunResult(
        folder, flatten(read_yaml(folder / "config.yaml")), read_json(results) if results.is_file() else {}
    )


def final_runs(sweep_files: Sequence[str | Path], overrides: Sequence[str] = ()) -> tuple[list[RunResult], list[Path]]:
    """(finished final runs, final runs still missing) of the given sweeps (with the command-line overrides
    their runs had); a sweep must have been selected."""
    from .sweep import Sweep

    done, missing = [], []
    for path in sweep_files:
        sweep = Sweep(path, overrides)
        for planned in sweep.final_runs(sweep.read_selection()):
            (done if planned.done() else missing).append(planned.run.path)
    if not done:
        raise ValueError(f"None of the final runs of {len(sweep_files)} sweep(s) has finished (e.g. {missing[:1]}).")
    if missing:
        print(
            f"# {len(missing)} final runs not finished yet (e.g. {missing[0]}); their cells have fewer seeds.",
            file=sys.stderr,
        )
    return collect(done), missing


def row_label(run: RunResult, keys: list[str]) -> str:
    """`gift rank=8 epochs=10`: the first key's value, then `leaf=value` for the others the run has."""
    first, *rest = keys
    leaves = [k.split(".")[-1] for k in rest]
    names = [leaf if leaves.count(leaf) == 1 else key for key, leaf in zip(rest, leaves)]
    return " ".join([str(run.get(first)), *(f"{n}={run.config[k]}" for n, k in zip(names, rest) if k in run.config)])


def _same_experiment(run: RunResult, col_key: str | None) -> dict[str, str]:
    """What must be equal for two runs to be seeds of one cell: the identity keys but the seed and the column,
    as canonical JSON (so 1e-4 and 0.0001, [q, v] and [q, v] compare equal)."""
    keys = identity(run.config)
    for key in (SEED_KEY, col_key):
        keys.pop(key, None)
    return {k: json.dumps(v, sort_keys=True, default=str) for k, v in keys.items()}


def _by_cell(runs: list[RunResult], row_keys: list[str], col_key: str | None) -> dict[tuple[str, str], list[RunResult]]:
    """The runs of each (row label, column), in order."""
    cells: dict[tuple[str, str], list[RunResult]] = defaultdict(list)
    for run in runs:
        cells[(row_label(run, row_keys), str(run.get(col_key)) if col_key else "score")].append(run)
    return cells


def distinguishing_keys(runs: list[RunResult], row_keys: list[str], col_key: str | None) -> list[str]:
    """The config keys, beyond `row_keys`, whose values differ between runs that would share a cell.

    A cell holds the seeds of one experiment and nothing else: runs labelled alike that differ in rank, epochs,
    target modules (anything but the seed) are separate rows, and these keys tell them apart.
    """
    differ: set[str] = set()
    for members in _by_cell(runs, row_keys, col_key).values():
        experiments = [_same_experiment(run, col_key) for run in members]
        differ |= {key for key in set().union(*experiments) if len({e.get(key) for e in experiments}) > 1}
    return sorted(differ - set(row_keys))


def seeds_by_cell(
    runs: list[RunResult], row_keys: list[str], col_key: str | None
) -> dict[tuple[str, str], list[RunResult]]:
    """The runs of each (row label, column), in order; the same experiment and seed twice is an error."""
    cells = _by_cell(runs, row_keys, col_key)
    for members in cells.values():
        seen: dict[Any, Path] = {}
        for run in members:
            seed = run.config.get(SEED_KEY)
            if seed in seen:
                raise ValueError(
                    f"{seen[seed]} and {run.path} are the same experiment with the same seed ({seed}); "
                    "a table counts each run once. Remove one of the folders, or pass roots that do not overlap."
                )
            seen[seed] = run.path
    return cells


@dataclass
class Table:
    rows: list[str]
    columns: list[str]
    groups: dict[str, list[str]]
    cells: dict[tuple[str, str], Cell]
    params: dict[str, list[tuple[float, float]]]  # row -> the distinct (count, percent) of its runs
    row_keys: list[str] = field(default_factory=list)  # the config keys that tell the rows apart
    statistic: str = "mean"  # of a cell's seeds: "mean" (± std) or "median" (GLUE's LoRA/VeRA rows are medians)
    memory: dict[str, tuple[float, bool]] | None = None  # row -> (peak GB over its runs, measured on a CPU)
    # label -> the given numbers (the paper's), keyed by column, group or REFERENCE_KEYS
    reference: dict[str, dict[str, float]] = field(default_factory=dict)

    def value(self, row: str, column: str) -> Cell | None:
        return self.cells.get((row, column))

    def score(self, row: str, column: str) -> float | None:
        """The cell's statistic (mean or median), or a reference row's number."""
        if row in self.reference:
            return self.reference[row].get(column)
        cell = self.value(row, column)
        return getattr(cell, self.statistic) if cell else None

    def average(self, row: str, columns: list[str]) -> float | None:
        """Mean over `columns` of the per-column statistic; None unless every column has one."""
        scores = [self.score(row, c) for c in columns]
        return mean(scores) if scores and None not in scores else None

    def averages(self, row: str) -> dict[str, float | None]:
        """Each group's mean, then Avg over every column; a reference row's own numbers where it gives them
        (the paper gives VTAB's group means, not its tasks)."""
        given = self.reference.get(row, {})
        groups = {name: given.get(name, self.average(row, columns)) for name, columns in self.groups.items()}
        return {**groups, "Avg": given.get("avg", self.average(row, self.columns))}

    def seed_averages(self, row: str) -> list[float]:
        """The row's Avg seed by seed, over the seeds every column has (their std is the plot's error bar)."""
        cells = [self.value(row, c) for c in self.columns]
        if not cells or not all(cells):
            return []
        common = set(cells[0].seeds).intersection(*(c.seeds for c in cells))
        return [mean(c.values[c.seeds.index(seed)] for c in cells) for seed in sorted(common, key=str)]

    def add_reference(self, label: str, values: dict[str, float], *, source: str) -> None:
        """A row of given numbers (keys: columns, groups, avg, params_percent, memory_gb), shown below the runs."""
        allowed = {*self.columns, *self.groups, *REFERENCE_KEYS}
        if unknown := sorted(set(values) - allowed):
            raise ValueError(
                f"{source}: the paper's row names {unknown}, which are not columns of this table; "
                f"use {sorted(allowed)}."
            )
        self.reference[label] = dict(values)

    def rename(self, names: dict[str, str]) -> None:
        """Show columns and groups under other names (the paper's dataset titles); others keep theirs."""
        new = lambda name: names.get(name, name)  # noqa: E731
        self.columns = [new(c) for c in self.columns]
        self.cells = {(row, new(c)): cell for (row, c), cell in self.cells.items()}
        self.groups = {new(g): [new(c) for c in columns] for g, columns in self.groups.items()}
        self.reference = {row: {new(k): v for k, v in values.items()} for row, values in self.reference.items()}


def build_table(
    runs: list[RunResult],
    *,
    row_keys: list[str],
    col_key: str | None,
    metric: str,
    scale: float = 1.0,
    groups: dict[str, list[str]] | None = None,
    statistic: str = "mean",
    columns: list[str] | None = None,
    percent_of: str = "backbone",
    memory: bool = False,
) -> Table:
    """One cell per (row, column): the mean ± std (or the median) over the seeds of one experiment.

    Rows are named by `row_keys` plus every key that differs between runs those keys alone would put in one cell
    (`distinguishing_keys`), so a cell never averages two experiments. Two runs of the same experiment and seed
    (a copied folder, overlapping roots) are an error rather than counted twice. Columns are the values of
    `col_key`, or with `{}` in `metric` the metric names it matches (`RunResult.scores`); `columns` picks and
    orders them (default: every one found, sorted). `percent_of` is the denominator of Params % ("backbone" or
    "total": backbone + adapter); `memory` adds the peak memory of each row's runs.
    """
    if statistic not in ("mean", "median"):
        raise ValueError(f"statistic {statistic!r}: choose 'mean' (± std over seeds) or 'median'.")
    if percent_of not in PERCENT_OF:
        raise ValueError(f"percent_of {percent_of!r}: choose one of {sorted(PERCENT_OF)}.")
    if col_key and "{}" in metric:
        raise ValueError(f"--metric {metric!r} makes the columns from metric names; drop --col {col_key}.")
    row_keys = [*row_keys, *distinguishing_keys(runs, row_keys, col_key)]
    cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
    params: dict[str, set[tuple[float, float]]] = defaultdict(set)
    peaks: dict[str, list[tuple[float, bool]]] = defaultdict(list)
    for (row, column), members in seeds_by_cell(runs, row_keys, col_key).items():
        for run in members:
            for name, value in run.scores(metric, column).items():
                if columns is None or name in columns:
                    cells[(row, name)].values.append(value * scale)
                    cells[(row, name)].seeds.append(run.config.get(SEED_KEY))
            params[row].add((run.results["params"]["method"], _percent(run, percent_of)))
            if "peak_memory_mb" in run.results:
                peaks[row].append(
                    (run.results["peak_memory_mb"] / 1024, run.results.get("peak_memory_kind") == "cpu_max_rss")
                )
    rows = list(dict.fromkeys(row_label(r, row_keys) for r in runs))
    found = sorted({c for _, c in cells})
    peak = {row: (max(gb for gb, _ in p), any(cpu for _, cpu in p)) for row, p in peaks.items()} if memory else None
    params_of = {r: sorted(p) for r, p in params.items()}
    return Table(rows, columns or found, groups or {}, dict(cells), params_of, row_keys, statistic, peak)


def _percent(run: RunResult, percent_of: str) -> float:
    key = PERCENT_OF[percent_of]
    if key not in run.results["params"]:
        raise ValueError(f"{run.path}/results.json has no params.{key} (Params % of the {percent_of}).")
    return run.results["params"][key]


def _format_count(count: float) -> str:
    return f"{count / 1e6:.3f}M" if count >= 1e5 else f"{count:,.0f}"


def _params_text(values: list[tuple[float, float]]) -> tuple[str, str]:
    """Count and percent of a row; a range where its columns differ (never a mean no run has)."""
    ends = values[:1] if len(values) == 1 else [values[0], values[-1]]
    return "–".join(_format_count(count) for count, _ in ends), "–".join(f"{percent:.4f}" for _, percent in ends)


def _number(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _records(table: Table) -> list[list[str]]:
    memory = ["Peak mem (GB)"] if table.memory is not None else []
    lines = [["Method", "Params", "Params %", *memory, *table.columns, *table.groups, "Avg"]]
    for row in [*table.rows, *table.reference]:
        given = table.reference.get(row)
        if given is None:
            gb, cpu = (table.memory or {}).get(row, (None, False))
            line = [row, *_params_text(table.params[row]), _number(gb, 3) + ("*" if cpu else "")]
        else:
            line = [f"{row} (paper)", "", _number(given.get("params_percent"), 4), _number(given.get("memory_gb"), 3)]
        line = line[: 3 + len(memory)]  # the memory column only where the table has one
        for column in table.columns:
            cell = table.value(row, column)
            line.append(cell.text(table.statistic) if cell else _number(table.score(row, column)))
        lines.append(line + [_number(v) for v in table.averages(row).values()])
    return lines


def to_markdown(table: Table) -> str:
    lines = _records(table)
    out = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
    out += ["| " + " | ".join(line) + " |" for line in lines[1:]]
    seeds = sorted({len(cell.values) for cell in table.cells.values()})
    notes = [f"Rows differ in: {', '.join(table.row_keys)}." if table.row_keys else ""]
    what = "median [min, max]" if table.statistic == "median" else "mean ± std"
    notes.append(f"Seeds per cell: {', '.join(map(str, seeds))} ({what} over seeds).")
    if table.memory and any(cpu for _, cpu in table.memory.values()):
        notes.append("* peak resident memory of a CPU run, not GPU memory.")
    return "\n".join(out) + "\n\n" + " ".join(n for n in notes if n) + "\n"


def to_csv(table: Table) -> str:
    """Machine-readable: mean and std as separate columns, number of seeds, raw parameter counts."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    memory = ["peak_memory_gb"] if table.memory is not None else []
    writer.writerow(["method", "params", "params_percent", "column", "mean", "std", "median", "num_seeds", *memory])
    for row in [*table.rows, *table.reference]:
        given = table.reference.get(row)
        if given is not None:
            lead = [f"{row} (paper)", "", given.get("params_percent", "")]
            tail = [given.get("memory_gb", "")] if memory else []
        else:
            count, percent = table.params[row][-1]
            lead = [row, int(count), percent]
            tail = [table.memory.get(row, ("",))[0]] if memory else []
        for column in table.columns:
            cell, score = table.value(row, column), table.score(row, column)
            if cell:
                writer.writerow([*lead, column, cell.mean, cell.std, cell.median, len(cell.values), *tail])
            elif score is not None:
                writer.writerow([*lead, column, score, "", "", "", *tail])
        for name, average in table.averages(row).items():
            if average is not None:
                writer.writerow([*lead, name, average, "", "", "", *tail])
    return buffer.getvalue()


def sweep_table_parser(prog: str, description: str) -> argparse.ArgumentParser:
    """The arguments every table-from-sweeps command shares: the sweep files, --out, --title, --overrides."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("sweeps", nargs="+", help="sweep YAML files whose selection has been made, a row each")
    parser.add_argument("--out", required=True, help="output prefix: writes PREFIX.md, .csv, .png")
    parser.add_argument("--title", default=None)
    parser.add_argument(
        "--overrides", nargs="+", default=[], metavar="key=value", help="the overrides the sweeps ran with"
    )
    return parser


def publish_or_error(build: Callable[[], Table], prefix: str | Path, *, title: str | None = None) -> int:
    """Build the table, write PREFIX.md, .csv and .png (title: the prefix's name), print the Markdown and what
    was written; the exit status of a table command: a user error is one line and exit status 2."""
    from .plots import plot  # plots imports this module

    try:
        table = build()
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    title = title or Path(prefix).name
    paths = [Path(f"{prefix}{suffix}") for suffix in (".md", ".csv", ".png")]
    paths[0].parent.mkdir(parents=True, exist_ok=True)
    paths[0].write_text(f"## {title}\n\n" + to_markdown(table))
    paths[1].write_text(to_csv(table))
    plot(table, paths[2], title=title)
    print(to_markdown(table), end="")
    print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0


def read_paper(config: str | Path) -> tuple[str, dict[str, float]] | None:
    """(row name, numbers) of an experiment config's `# paper: {row: NAME, key: value, ...}` header line;
    None when it has none (a row the paper does not have)."""
    for number, line in enumerate(Path(config).read_text().splitlines(), 1):
        if found := re.match(r"#\s*paper:\s*(\{.*\})\s*$", line):
            try:
                values = yaml.safe_load(found.group(1))
            except yaml.YAMLError as error:
                raise ValueError(f"{config} line {number}: the paper's row is not a YAML mapping ({error}).") from error
            label = values.pop("row", None)
            if not isinstance(label, str) or not all(isinstance(v, (int, float)) for v in values.values()):
                raise ValueError(
                    f"{config} line {number}: write the paper's row as {{row: NAME, column: number, ...}}, "
                    f"got {line!r}."
                )
            return label, values
    return None


def _table_of_roots(args: argparse.Namespace) -> Table:
    """The table of the command line; --group and --columns must name columns that runs have."""
    runs = collect(args.roots)
    groups = {}
    for spec in args.group:
        name, sep, columns = spec.partition("=")
        if not sep or not columns:
            raise ValueError(f"--group {spec!r} is not NAME=col1,col2,...")
        groups[name] = columns.split(",")
    table = build_table(
        runs,
        row_keys=args.row or ["method.name"],
        col_key=args.col,
        metric=args.metric,
        scale=args.scale,
        groups=groups,
        statistic=args.stat,
        columns=args.columns,
        percent_of=args.percent_of,
    )
    if unknown := sorted({c for cs in groups.values() for c in cs} - set(table.columns)):
        raise ValueError(f"--group names columns {unknown} that no run has; columns are {table.columns}.")
    found = {column for _, column in table.cells}
    if missing := sorted(set(args.columns or ()) - found):
        raise ValueError(f"--columns names {missing}, which no run has; columns are {sorted(found)}.")
    return table


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["curves"]:
        from .plots import curves_main  # plots imports this module

        return curves_main(argv[1:])
    parser = argparse.ArgumentParser(
        prog="python -m gift_experiment_utils.tables", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("roots", nargs="+", help="folders searched for run folders (results.json)")
    parser.add_argument("--row", action="append", help="config key(s) naming a row (default: method.name)")
    parser.add_argument("--col", default=None, help="config key naming a column, e.g. task.name")
    parser.add_argument(
        "--metric", default="auto", help="results.json metric, e.g. test/accuracy, or test/{}/accuracy (default: auto)"
    )
    parser.add_argument("--columns", nargs="+", help="the columns to show, in order (default: every one, sorted)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply scores (100 for percent)")
    parser.add_argument("--group", action="append", default=[], help="NAME=col1,col2: a group-mean column")
    parser.add_argument(
        "--percent-of",
        choices=sorted(PERCENT_OF),
        default="backbone",
        help="Params %%: of the backbone, or of backbone + adapter",
    )
    parser.add_argument("--out", required=True, help="output prefix: writes PREFIX.md, .csv, .png")
    parser.add_argument(
        "--stat", choices=["mean", "median"], default="mean", help="per cell: mean ± std over seeds, or the median"
    )
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    return publish_or_error(lambda: _table_of_roots(args), args.out, title=args.title)


if __name__ == "__main__":
    sys.exit(main())
