"""The GLUE table of docs/paper_results.md#glue from the final runs of GLUE sweeps, each protocol on its own labelled row.

    python -m gift_experiment_utils.domains.glue.results configs/glue/roberta-base/sweeps/*.yaml --out results/glue_roberta-base

Only the final runs (the selected grid point × the final seeds of each sweep) enter the table, read through
the engine's `sweep` and `tables` modules: mean ± std over seeds, ×100, one row per (method, protocol):

    gift protocol=paper   best validation score over epochs (results.json best_val/<metric>), as the paper
    gift protocol=clean   validation score of the epoch and grid point selected on held-out train (test/<metric>)

Columns follow the paper (SST-2, MRPC, CoLA, QNLI, RTE, STS-B, then MNLI and QQP when run), `Avg (paper 6)`
over the paper's six tasks, and `Avg` over every column. Writes PREFIX.md, PREFIX.csv and PREFIX.png.
"""

from __future__ import annotations

import sys

from ...tables import RunResult, Table, build_table, final_runs, publish_or_error, sweep_table_parser
from .specs import ALL_ORDER, DISPLAY_NAMES, PAPER_ORDER

PAPER_AVERAGE = "Avg (paper 6)"


def glue_table(runs: list[RunResult], *, statistic: str = "mean") -> Table:
    table = build_table(
        runs,
        row_keys=["method.name", "task.protocol"],
        col_key="task.name",
        metric="auto",
        scale=100.0,
        statistic=statistic,
    )
    order = [name for name in dict.fromkeys((*PAPER_ORDER, *ALL_ORDER)) if name in table.columns]
    table.columns = order + [c for c in table.columns if c not in order]
    table.rename(DISPLAY_NAMES)
    paper_columns = [DISPLAY_NAMES[name] for name in PAPER_ORDER]
    if set(paper_columns) <= set(table.columns) and len(table.columns) > len(paper_columns):
        table.groups = {PAPER_AVERAGE: paper_columns}
    return table


def main(argv: list[str] | None = None) -> int:
    parser = sweep_table_parser("python -m gift_experiment_utils.domains.glue.results", __doc__.split("\n\n")[0])
    parser.add_argument(
        "--stat", choices=["mean", "median"], default="mean", help="per cell: mean ± std over seeds, or the median"
    )
    args = parser.parse_args(argv)
    build = lambda: glue_table(final_runs(args.sweeps, args.overrides)[0], statistic=args.stat)  # noqa: E731
    return publish_or_error(build, args.out, title=args.title)


if __name__ == "__main__":
    sys.exit(main())
