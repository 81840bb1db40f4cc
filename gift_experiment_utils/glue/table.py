"""The GLUE table of PAPER.md §5 from the final runs of GLUE sweeps, each protocol on its own labelled row.

    python -m gift_experiment_utils.glue.table configs/glue/roberta-base/sweeps/*.yaml --out results/glue_roberta-base

Only the final runs (the selected grid point × the final seeds of each sweep) enter the table, read through
the engine's `sweep` and `tables` modules: mean ± std over seeds, ×100, one row per (method, protocol):

    gift protocol=paper   best validation score over epochs (results.json best_val/<metric>), as the paper
    gift protocol=clean   validation score of the epoch and grid point selected on held-out train (test/<metric>)

Columns follow the paper (SST-2, MRPC, CoLA, QNLI, RTE, STS-B, then MNLI and QQP when run), `Avg (paper 6)`
over the paper's six tasks, and `Avg` over every column. Writes PREFIX.md, PREFIX.csv and PREFIX.png.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from ..sweep import Sweep
from ..tables import RunResult, Table, build_table, collect, to_markdown, write
from .tasks import ALL_ORDER, DISPLAY_NAMES, PAPER_ORDER

PAPER_AVERAGE = "Avg (paper 6)"


def final_runs(sweep_files: list[str | Path], overrides: Sequence[str] = ()) -> tuple[list[RunResult], list[Path]]:
    """(finished final runs, final runs still missing) of the given sweeps (with the command-line overrides
    their runs had); a sweep must have been selected."""
    done, missing = [], []
    for path in sweep_files:
        sweep = Sweep(path, overrides)
        for planned in sweep.final_runs(sweep.read_selection()):
            (done if planned.done() else missing).append(planned.run.path)
    if not done:
        raise ValueError(f"None of the final runs of {len(sweep_files)} sweep(s) has finished (e.g. {missing[:1]}).")
    return collect(done), missing


def glue_table(runs: list[RunResult], *, statistic: str = "mean") -> Table:
    table = build_table(
        runs,
        row_keys=["method.name", "task.protocol"],
        col_key="task.name",
        metric="auto",
        scale=100.0,
        statistic=statistic,
    )
    order = [name for name in (*PAPER_ORDER, *ALL_ORDER) if name in table.columns]
    order = list(dict.fromkeys(order)) + [c for c in table.columns if c not in order]
    display = {name: DISPLAY_NAMES.get(name, name) for name in order}
    table.cells = {(row, display[column]): cell for (row, column), cell in table.cells.items()}
    table.columns = [display[name] for name in order]
    paper_columns = [DISPLAY_NAMES[name] for name in PAPER_ORDER]
    if set(paper_columns) <= set(table.columns) and len(table.columns) > len(paper_columns):
        table.groups = {PAPER_AVERAGE: paper_columns}
    return table


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gift_experiment_utils.glue.table", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("sweeps", nargs="+", help="GLUE sweep YAMLs whose selection has been made")
    parser.add_argument("--out", required=True, help="output prefix: writes PREFIX.md, .csv, .png")
    parser.add_argument(
        "--stat", choices=["mean", "median"], default="mean", help="per cell: mean ± std over seeds, or the median"
    )
    parser.add_argument("--title", default=None)
    parser.add_argument(
        "--overrides", nargs="+", default=[], metavar="key=value", help="the overrides the sweeps ran with"
    )
    args = parser.parse_args(argv)
    try:
        runs, missing = final_runs(args.sweeps, args.overrides)
        table = glue_table(runs, statistic=args.stat)
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if missing:
        print(
            f"# {len(missing)} final runs not finished yet (e.g. {missing[0]}); their cells have fewer seeds.",
            file=sys.stderr,
        )
    paths = write(table, args.out, title=args.title or Path(args.out).name)
    print(to_markdown(table), end="")
    print("wrote " + ", ".join(str(p) for p in paths), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
