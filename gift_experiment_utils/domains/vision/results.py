"""The paper's FGVC and VTAB-1k tables from finished sweeps: `python -m gift_experiment_utils.domains.vision.results`.

    python -m gift_experiment_utils.domains.vision.results configs/vision/fgvc/sweeps/fgvc_{vpt,bitfit,lora,gift}.yaml \\
        --paper --out results/vision/fgvc
    python -m gift_experiment_utils.domains.vision.results configs/vision/vtab/sweeps/vtab_*.yaml --paper --out results/vision/vtab

One row per sweep (its `experiment.name`), built by the engine's `tables.build_table`: the test top-1 (%) of
its final runs on the selected grid point of each dataset/task (mean ± std over final seeds), the average;
for VTAB the group means Natural (7), Specialized (4), Structured (8) and the mean over all 19 tasks (so
7/4/8-weighted, as the paper). Also per row: Params (trainable parameters outside the head), Params % (of the
backbone, the paper's column) and the peak memory (`torch.cuda.max_memory_allocated`, GB; the CPU's max RSS
when there was no GPU, marked *). `--paper` adds the paper's row of each sweep's experiment config (its
`# paper: {...}` header line), below ours. Writes PREFIX.md, .csv and .png. `sweep select` must have run.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from ...sweep import Sweep
from ...tables import Table, build_table, final_runs, publish_or_error, read_paper, sweep_table_parser
from .fgvc import FGVC_DATASETS
from .vtab import VTAB_GROUPS, VTAB_TASKS

GROUP_TITLES = {"natural": "Natural (7)", "specialized": "Specialized (4)", "structured": "Structured (8)"}


def benchmark_table(sweep_files: Sequence[str], overrides: Sequence[str] = (), *, paper: bool = False) -> Table:
    """The table of one benchmark's sweeps (FGVC or VTAB), with the paper's rows if asked."""
    runs, _ = final_runs(sweep_files, overrides)
    domains = sorted({run.config["experiment.domain"] for run in runs})
    if domains not in (["vision.fgvc"], ["vision.vtab"]):
        raise ValueError(f"the sweeps' runs are {domains}; make one table per benchmark, vision.fgvc or vision.vtab.")
    fgvc = domains == ["vision.fgvc"]
    groups = {g: [t for t, row in VTAB_TASKS.items() if row.group == g] for g in VTAB_GROUPS}
    table = build_table(
        runs,
        row_keys=["experiment.name"],
        col_key="task.dataset" if fgvc else "task.name",
        metric="test/accuracy",
        scale=100.0,
        groups=None if fgvc else groups,
        columns=list(FGVC_DATASETS if fgvc else VTAB_TASKS),
        memory=True,
    )
    for path in sweep_files if paper else []:
        config = Sweep(path, overrides).config_path
        if found := read_paper(config):  # rows the paper does not have (full, linear, lora_qkv) have no line
            table.add_reference(*found, source=str(config))
    table.rename({name: row.title for name, row in FGVC_DATASETS.items()} if fgvc else GROUP_TITLES)
    return table


def main(argv: Sequence[str] | None = None) -> int:
    parser = sweep_table_parser("python -m gift_experiment_utils.domains.vision.results", __doc__.split("\n\n")[0])
    parser.add_argument("--paper", action="store_true", help="add the paper's row of each sweep's config")
    args = parser.parse_args(argv)
    build = lambda: benchmark_table(args.sweeps, args.overrides, paper=args.paper)  # noqa: E731
    return publish_or_error(build, args.out, title=args.title)


if __name__ == "__main__":
    sys.exit(main())
