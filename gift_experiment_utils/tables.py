"""Result tables from run folders: mean ± std over seeds per (method row, task column), as in the paper.

    python -m gift_experiment_utils.tables runs/glue/roberta_base --col task.name --metric auto \\
        --row method.name --row method.rank --scale 100 --out results/glue_base

writes results/glue_base.md (Markdown), .csv and .png (average score against trainable parameters, log
scale, one labelled point per row, like the paper's figure). Columns: one per value of `--col`, then
`--group NAME=col,col` means (e.g. VTAB's Natural / Specialized / Structured), then `Avg` (over all task
columns), `Params` (trainable parameters outside the head) and `Params %` (of the backbone without head).
`--stat median` shows each cell's median over seeds [min, max] instead of mean ± std (the GLUE baselines
of LoRA/VeRA report medians); `Avg` then averages the medians.
`--metric auto` takes, per run, `test/<selection metric>` if the run has a test score, else
`best_val/<selection metric>` (GLUE reports the best validation score).

A cell averages the seeds of one experiment only. Rows are named by `--row` (default `method.name`) plus
every config key that differs between runs those keys would otherwise put in one cell (another rank, another
epoch count), and the Markdown says which keys tell the rows apart and how many seeds each cell has.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean, median, stdev
from typing import Any

from .tracking import SEED_KEY, flatten, identity, read_json, read_yaml


@dataclass
class RunResult:
    path: Path
    config: dict[str, Any]  # flattened: {"method.name": "gift", ...}
    results: dict[str, Any]

    def get(self, key: str) -> Any:
        if key not in self.config:
            raise ValueError(f"{self.path}/config.yaml has no key {key!r}; pick --row/--col from its keys.")
        return self.config[key]

    def metric(self, name: str) -> float | None:
        metrics = self.results["metrics"]
        if name == "auto":
            selected = self.results["selection"]["metric"].removeprefix("val/")
            name = f"test/{selected}" if f"test/{selected}" in metrics else f"best_val/{selected}"
        return metrics.get(name)


@dataclass
class Cell:
    values: list[float] = field(default_factory=list)

    @property
    def mean(self) -> float:
        return mean(self.values)

    @property
    def std(self) -> float:
        return stdev(self.values) if len(self.values) > 1 else 0.0

    @property
    def median(self) -> float:
        return median(self.values)

    def summary(self, statistic: str) -> float:
        return self.median if statistic == "median" else self.mean

    def text(self, statistic: str) -> str:
        """`85.00 ± 7.07` (mean ± std over seeds) or `85.00 [80.00, 90.00]` (median [min, max])."""
        if statistic == "median":
            return f"{self.median:.2f} [{min(self.values):.2f}, {max(self.values):.2f}]"
        return f"{self.mean:.2f} ± {self.std:.2f}"


def collect(roots: list[str | Path]) -> list[RunResult]:
    """Every finished run (results.json + config.yaml) under `roots`."""
    runs = []
    for root in roots:
        for results in sorted(Path(root).rglob("results.json")):
            config_file = results.parent / "config.yaml"
            if not config_file.is_file():
                raise ValueError(
                    f"{results} has no config.yaml beside it, so nothing says which experiment it belongs to; "
                    "move that folder out of the table's roots."
                )
            runs.append(RunResult(results.parent, flatten(read_yaml(config_file)), read_json(results)))
    if not runs:
        raise ValueError(f"No finished runs (results.json) under {[str(r) for r in roots]}.")
    return runs


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


def distinguishing_keys(runs: list[RunResult], row_keys: list[str], col_key: str | None) -> list[str]:
    """The config keys, beyond `row_keys`, whose values differ between runs that would share a cell.

    A cell holds the seeds of one experiment and nothing else: runs labelled alike that differ in rank, epochs,
    target modules (anything but the seed) are separate rows, and these keys tell them apart.
    """
    cells: dict[tuple[str, str], list[dict[str, str]]] = defaultdict(list)
    for run in runs:
        column = str(run.get(col_key)) if col_key else ""
        cells[(row_label(run, row_keys), column)].append(_same_experiment(run, col_key))
    differ: set[str] = set()
    for members in cells.values():
        for key in set().union(*members):
            if len({m.get(key) for m in members}) > 1:
                differ.add(key)
    return sorted(differ - set(row_keys))


def seeds_by_cell(
    runs: list[RunResult], row_keys: list[str], col_key: str | None
) -> dict[tuple[str, str], list[RunResult]]:
    """The runs of each (row label, column), in order; the same experiment and seed twice is an error."""
    cells: dict[tuple[str, str], list[RunResult]] = defaultdict(list)
    seen: dict[tuple[str, str, Any], Path] = {}
    for run in runs:
        row, column = row_label(run, row_keys), str(run.get(col_key)) if col_key else "score"
        seed = run.config.get(SEED_KEY)
        if (row, column, seed) in seen:
            raise ValueError(
                f"{seen[(row, column, seed)]} and {run.path} are the same experiment with the same seed ({seed}); "
                "a table counts each run once. Remove one of the folders, or pass roots that do not overlap."
            )
        seen[(row, column, seed)] = run.path
        cells[(row, column)].append(run)
    return cells


@dataclass
class Table:
    rows: list[str]
    columns: list[str]
    groups: dict[str, list[str]]
    cells: dict[tuple[str, str], Cell]
    params: dict[str, list[tuple[float, float]]]  # row -> the distinct (count, percent) of its runs
    scale: float
    row_keys: list[str] = field(default_factory=list)  # the config keys that tell the rows apart
    statistic: str = "mean"  # of a cell's seeds: "mean" (± std) or "median" (GLUE's LoRA/VeRA rows are medians)

    def value(self, row: str, column: str) -> Cell | None:
        return self.cells.get((row, column))

    def average(self, row: str, columns: list[str]) -> float | None:
        """Mean over `columns` of the per-column statistic (mean or median); None unless every column has one."""
        cells = [self.value(row, c) for c in columns]
        return mean(c.summary(self.statistic) for c in cells) if all(cells) else None


def build_table(
    runs: list[RunResult],
    *,
    row_keys: list[str],
    col_key: str | None,
    metric: str,
    scale: float = 1.0,
    groups: dict[str, list[str]] | None = None,
    statistic: str = "mean",
) -> Table:
    """One cell per (row, column): the mean ± std (or the median) over the seeds of one experiment.

    Rows are named by `row_keys` plus every key that differs between runs those keys alone would put in one cell
    (`distinguishing_keys`), so a cell never averages two experiments. Two runs of the same experiment and seed
    (a copied folder, overlapping roots) are an error rather than counted twice.
    """
    row_keys = [*row_keys, *distinguishing_keys(runs, row_keys, col_key)]
    cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
    params: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for (row, column), members in seeds_by_cell(runs, row_keys, col_key).items():
        for run in members:
            value = run.metric(metric)
            if value is None:
                raise ValueError(
                    f"{run.path}/results.json has no metric {metric!r}; it has {sorted(run.results['metrics'])}."
                )
            cells[(row, column)].values.append(value * scale)
            counted = (run.results["params"]["method"], run.results["params"]["method_percent"])
            if counted not in params[row]:
                params[row].append(counted)
    rows = list(dict.fromkeys(row_label(r, row_keys) for r in runs))
    columns = sorted({c for _, c in cells})
    if statistic not in ("mean", "median"):
        raise ValueError(f"statistic {statistic!r}: choose 'mean' (± std over seeds) or 'median'.")
    params_of = {r: sorted(p) for r, p in params.items()}
    return Table(rows, columns, groups or {}, dict(cells), params_of, scale, row_keys, statistic)


def _format_count(count: float) -> str:
    return f"{count / 1e6:.3f}M" if count >= 1e5 else f"{count:,.0f}"


def _params_text(values: list[tuple[float, float]]) -> tuple[str, str]:
    """Count and percent of a row; a range where its columns differ (never a mean no run has)."""
    (low, low_percent), (high, high_percent) = values[0], values[-1]
    if len(values) == 1:
        return _format_count(low), f"{low_percent:.4f}"
    return f"{_format_count(low)}–{_format_count(high)}", f"{low_percent:.4f}–{high_percent:.4f}"


def _records(table: Table) -> list[list[str]]:
    header = ["Method", "Params", "Params %", *table.columns, *table.groups, "Avg"]
    lines = [header]
    for row in table.rows:
        line = [row, *_params_text(table.params[row])]
        for column in table.columns:
            cell = table.value(row, column)
            line.append(cell.text(table.statistic) if cell else "—")
        for columns in (*table.groups.values(), table.columns):
            average = table.average(row, columns)
            line.append(f"{average:.2f}" if average is not None else "—")
        lines.append(line)
    return lines


def to_markdown(table: Table) -> str:
    lines = _records(table)
    out = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
    out += ["| " + " | ".join(line) + " |" for line in lines[1:]]
    seeds = sorted({len(cell.values) for cell in table.cells.values()})
    notes = [f"Rows differ in: {', '.join(table.row_keys)}." if table.row_keys else ""]
    what = "median [min, max]" if table.statistic == "median" else "mean ± std"
    notes.append(f"Seeds per cell: {', '.join(map(str, seeds))} ({what} over seeds).")
    return "\n".join(out) + "\n\n" + " ".join(n for n in notes if n) + "\n"


def to_csv(table: Table) -> str:
    """Machine-readable: mean and std as separate columns, number of seeds, raw parameter counts."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["method", "params", "params_percent", "column", "mean", "std", "median", "num_seeds"])
    for row in table.rows:
        count, percent = table.params[row][-1]
        for column in table.columns:
            cell = table.value(row, column)
            if cell:
                writer.writerow([row, int(count), percent, column, cell.mean, cell.std, cell.median, len(cell.values)])
        for name, columns in (*table.groups.items(), ("Avg", table.columns)):
            average = table.average(row, columns)
            if average is not None:
                writer.writerow([row, int(count), percent, name, average, "", "", ""])
    return buffer.getvalue()


def plot(table: Table, path: Path, *, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for row in table.rows:
        average = table.average(row, table.columns)
        count = table.params[row][-1][0]
        if average is None or count <= 0:
            continue
        axes.scatter(count, average, s=40)
        axes.annotate(row, (count, average), textcoords="offset points", xytext=(5, 4), fontsize=8)
    axes.set_xscale("log")
    axes.set_xlabel("trainable parameters (head excluded, log scale)")
    axes.set_ylabel("average score")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=150)
    plt.close(figure)


def write(table: Table, prefix: str | Path, *, title: str) -> list[Path]:
    prefix = Path(prefix)
    prefix.parent.mkdir(parents=True, exist_ok=True)
    paths = [prefix.with_suffix(".md"), prefix.with_suffix(".csv"), prefix.with_suffix(".png")]
    paths[0].write_text(f"## {title}\n\n" + to_markdown(table))
    paths[1].write_text(to_csv(table))
    plot(table, paths[2], title=title)
    return paths


def _groups(specs: list[str]) -> dict[str, list[str]]:
    groups = {}
    for spec in specs:
        name, sep, columns = spec.partition("=")
        if not sep or not columns:
            raise ValueError(f"--group {spec!r} is not NAME=col1,col2,...")
        groups[name] = columns.split(",")
    return groups


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gift_experiment_utils.tables", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("roots", nargs="+", help="folders searched for run folders (results.json)")
    parser.add_argument("--row", action="append", help="config key(s) naming a row (default: method.name)")
    parser.add_argument("--col", default=None, help="config key naming a column, e.g. task.name")
    parser.add_argument("--metric", default="auto", help="results.json metric, e.g. test/accuracy (default: auto)")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply scores (100 for percent)")
    parser.add_argument("--group", action="append", default=[], help="NAME=col1,col2: a group-mean column")
    parser.add_argument("--out", required=True, help="output prefix: writes PREFIX.md, .csv, .png")
    parser.add_argument(
        "--stat", choices=["mean", "median"], default="mean", help="per cell: mean ± std over seeds, or the median"
    )
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    try:
        runs = collect(args.roots)
        groups = _groups(args.group)
        table = build_table(
            runs,
            row_keys=args.row or ["method.name"],
            col_key=args.col,
            metric=args.metric,
            scale=args.scale,
            groups=groups,
            statistic=args.stat,
        )
        unknown = sorted({c for cs in groups.values() for c in cs} - set(table.columns))
        if unknown:
            raise ValueError(f"--group names columns {unknown} that no run has; columns are {table.columns}.")
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    paths = write(table, args.out, title=args.title or Path(args.out).name)
    print(to_markdown(table), end="")
    print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
