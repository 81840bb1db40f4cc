"""Result tables from run folders: mean ± std over seeds per (method row, task column), as in the paper.

    python -m gift_experiment_utils.tables runs/glue/roberta_base --col task.name --metric auto \\
        --row method.name --row method.rank --scale 100 --out results/glue_base

writes results/glue_base.md (Markdown), .csv and .png (average score against trainable parameters, log
scale, one labelled point per row, like the paper's figure). Columns: one per value of `--col`, then
`--group NAME=col,col` means (e.g. VTAB's Natural / Specialized / Structured), then `Avg` (over all task
columns), `Params` (trainable parameters outside the head) and `Params %` (of the backbone without head).
`--metric auto` takes, per run, `test/<selection metric>` if the run has a test score, else
`best_val/<selection metric>` (GLUE reports the best validation score).
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean, stdev
from typing import Any

from .tracking import flatten, read_json, read_yaml


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


def collect(roots: list[str | Path]) -> list[RunResult]:
    """Every finished run (results.json + config.yaml) under `roots`."""
    runs = []
    for root in roots:
        for results in sorted(Path(root).rglob("results.json")):
            config_file = results.parent / "config.yaml"
            if config_file.is_file():
                config = flatten(read_yaml(config_file))
                runs.append(RunResult(results.parent, config, read_json(results)))
    if not runs:
        raise ValueError(f"No finished runs (results.json) under {[str(r) for r in roots]}.")
    return runs


def _label(run: RunResult, keys: list[str]) -> str:
    first, *rest = keys
    return " ".join([str(run.get(first)), *(f"{k.split('.')[-1]}={run.get(k)}" for k in rest)])


@dataclass
class Table:
    rows: list[str]
    columns: list[str]
    groups: dict[str, list[str]]
    cells: dict[tuple[str, str], Cell]
    params: dict[str, tuple[float, float]]  # row -> (count, percent)
    scale: float

    def value(self, row: str, column: str) -> Cell | None:
        return self.cells.get((row, column))

    def average(self, row: str, columns: list[str]) -> float | None:
        """Mean over `columns` of the per-column means; None unless every column has a value."""
        cells = [self.value(row, c) for c in columns]
        return mean(c.mean for c in cells) if all(cells) else None


def build_table(
    runs: list[RunResult],
    *,
    row_keys: list[str],
    col_key: str | None,
    metric: str,
    scale: float = 1.0,
    groups: dict[str, list[str]] | None = None,
) -> Table:
    cells: dict[tuple[str, str], Cell] = defaultdict(Cell)
    params: dict[str, list[tuple[float, float]]] = defaultdict(list)
    for run in runs:
        value = run.metric(metric)
        if value is None:
            raise ValueError(
                f"{run.path}/results.json has no metric {metric!r}; it has {sorted(run.results['metrics'])}."
            )
        row, column = _label(run, row_keys), str(run.get(col_key)) if col_key else "score"
        cells[(row, column)].values.append(value * scale)
        params[row].append((run.results["params"]["method"], run.results["params"]["method_percent"]))
    rows = list(dict.fromkeys(_label(r, row_keys) for r in runs))
    columns = sorted({c for _, c in cells})
    averaged = {row: (mean(p[0] for p in ps), mean(p[1] for p in ps)) for row, ps in params.items()}
    return Table(rows, columns, groups or {}, dict(cells), averaged, scale)


def _format_count(count: float) -> str:
    return f"{count / 1e6:.3f}M" if count >= 1e5 else f"{count:,.0f}"


def _records(table: Table) -> list[list[str]]:
    header = ["Method", "Params", "Params %", *table.columns, *table.groups, "Avg"]
    lines = [header]
    for row in table.rows:
        count, percent = table.params[row]
        line = [row, _format_count(count), f"{percent:.4f}"]
        for column in table.columns:
            cell = table.value(row, column)
            line.append(f"{cell.mean:.2f} ± {cell.std:.2f}" if cell else "—")
        for columns in (*table.groups.values(), table.columns):
            average = table.average(row, columns)
            line.append(f"{average:.2f}" if average is not None else "—")
        lines.append(line)
    return lines


def to_markdown(table: Table) -> str:
    lines = _records(table)
    out = ["| " + " | ".join(lines[0]) + " |", "|" + "---|" * len(lines[0])]
    out += ["| " + " | ".join(line) + " |" for line in lines[1:]]
    return "\n".join(out) + "\n"


def to_csv(table: Table) -> str:
    """Machine-readable: mean and std as separate columns, number of seeds, raw parameter counts."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["method", "params", "params_percent", "column", "mean", "std", "num_seeds"])
    for row in table.rows:
        count, percent = table.params[row]
        for column in table.columns:
            cell = table.value(row, column)
            if cell:
                writer.writerow([row, int(count), percent, column, cell.mean, cell.std, len(cell.values)])
        for name, columns in (*table.groups.items(), ("Avg", table.columns)):
            average = table.average(row, columns)
            if average is not None:
                writer.writerow([row, int(count), percent, name, average, "", ""])
    return buffer.getvalue()


def plot(table: Table, path: Path, *, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(6, 4))
    for row in table.rows:
        average = table.average(row, table.columns)
        count = table.params[row][0]
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
