"""The paper's FGVC and VTAB-1k tables from finished sweeps: `python -m gift_experiment_utils.vision.tables`.

    python -m gift_experiment_utils.vision.tables configs/vision/fgvc/sweeps/fgvc_{vpt,bitfit,lora,gift}.yaml
    python -m gift_experiment_utils.vision.tables configs/vision/vtab/sweeps/vtab_*.yaml --paper

One row per sweep (method): the test top-1 (%) of its final runs on the selected grid point of each
dataset/task (mean over final seeds), the average; for VTAB the group means Natural (7), Specialized (4),
Structured (8) and the mean over all 19 tasks (so 7/4/8-weighted, as the paper). Also per row: Params %
(trainable parameters outside the head / backbone parameters, the paper's column), those parameters,
the mean with the head, and the peak memory (`torch.cuda.max_memory_allocated`, GB; the CPU's max RSS
when there was no GPU, marked *). `sweep select` must have run (it writes the selection each row uses).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from statistics import mean

from ..sweep import Sweep
from ..tracking import read_json
from .fgvc import FGVC_DATASETS
from .vtab import VTAB_GROUPS, VTAB_TASKS

# The paper's rows (PAPER.md §6-7): test top-1 %, Params %, GPU memory (GB).
PAPER_FGVC = {
    "VPT": ([87.88, 84.79, 98.98, 84.51, 82.89], 0.054, 2.753),
    "BitFit": ([87.75, 84.61, 99.32, 85.23, 84.01], 0.097, 2.673),
    "LoRA": ([88.00, 84.94, 99.32, 85.36, 85.92], 0.172, 2.622),
    "GIFT (r=16)": ([89.71, 86.28, 99.22, 87.44, 84.28], 0.029, 2.646),
}
PAPER_VTAB = {  # group means and the 19-task mean (the paper gives no per-task numbers)
    "VPT": ([81.03, 85.65, 58.89, 72.68], 0.054, 2.753),
    "BitFit": ([81.79, 85.15, 57.75, 72.37], 0.097, 2.673),
    "LoRA": ([81.96, 85.89, 60.98, 73.95], 0.172, 2.622),
    "GIFT (r=16)": ([81.95, 86.30, 61.12, 74.09], 0.029, 2.644),
}


@dataclass
class MethodResult:
    name: str  # the sweep's name (e.g. fgvc_gift)
    benchmark: str  # fgvc | vtab
    accuracy: dict[str, float] = field(default_factory=dict)  # dataset/task → test top-1 %, mean over seeds
    params_percent: float | None = None
    params: int | None = None
    with_head: float | None = None  # mean over datasets (the head's size depends on the classes)
    memory_gb: float | None = None
    memory_on_cpu: bool = False


def collect(sweep_file: str, overrides: Sequence[str] = ()) -> MethodResult:
    """Read the final runs of one sweep's selection (with the command-line overrides its runs had)."""
    sweep = Sweep(sweep_file, overrides)
    path = sweep.selection_path()
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} does not exist: run `python -m gift_experiment_utils.sweep select {sweep_file}` first."
        )
    runs = sweep.final_runs(read_json(path))
    domain = runs[0].config.experiment.domain
    if domain not in ("vision.fgvc", "vision.vtab"):
        raise ValueError(f"{sweep_file}: experiment.domain={domain!r} is not vision.fgvc or vision.vtab.")
    result = MethodResult(sweep.name, domain.split(".")[1])
    scores: dict[str, list[float]] = {}
    rows = []
    for planned in runs:
        if not planned.done():
            continue
        rows.append(read_json(planned.run.results))
        key = planned.config.task.dataset if result.benchmark == "fgvc" else planned.config.task.name
        if "test/accuracy" not in rows[-1]["metrics"]:
            raise ValueError(f"{planned.run.results} has no test/accuracy; was the final run tested (eval.test)?")
        scores.setdefault(key, []).append(100.0 * rows[-1]["metrics"]["test/accuracy"])
    result.accuracy = {key: mean(values) for key, values in scores.items()}
    if rows:
        result.params_percent = rows[0]["params"]["method_percent"]
        result.params = rows[0]["params"]["method"]
        result.with_head = mean(r["params"]["trainable"] for r in rows)
        result.memory_gb = max(r["peak_memory_mb"] for r in rows) / 1024
        result.memory_on_cpu = any(r.get("peak_memory_kind") == "cpu_max_rss" for r in rows)
    return result


def _mean(values: list[float | None]) -> float | None:
    return None if not values or any(v is None for v in values) else mean(values)


def vtab_groups(accuracy: dict[str, float]) -> dict[str, float | None]:
    """Group means and the mean over all 19 tasks; None where a task is missing."""
    groups = {g: _mean([accuracy.get(t) for t, row in VTAB_TASKS.items() if row.group == g]) for g in VTAB_GROUPS}
    return {**groups, "average": _mean([accuracy.get(t) for t in VTAB_TASKS])}


def _cell(value: float | None, digits: int = 2) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def _lead(result: MethodResult) -> list[str]:
    memory = _cell(result.memory_gb, 3) + ("*" if result.memory_on_cpu else "")
    params = "—" if result.params is None else f"{result.params:,}"
    with_head = "—" if result.with_head is None else f"{result.with_head:,.0f}"
    return [result.name, _cell(result.params_percent, 3), params, with_head, memory]


LEAD = ["Method", "Params %", "Params (no head)", "With head (mean)", "Peak mem (GB)"]


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    return "\n".join([*lines, *("| " + " | ".join(row) + " |" for row in rows)])


def fgvc_table(results: Sequence[MethodResult], *, paper: bool) -> str:
    names = list(FGVC_DATASETS)
    rows = []
    for result in results:
        values = [result.accuracy.get(n) for n in names]
        rows.append([*_lead(result), *(_cell(v) for v in values), _cell(_mean(values))])
    if paper:
        for method, (values, percent, memory) in PAPER_FGVC.items():
            rows.append(
                [
                    f"{method} (paper)",
                    f"{percent:.3f}",
                    "",
                    "",
                    f"{memory:.3f}",
                    *(_cell(v) for v in values),
                    _cell(mean(values)),
                ]
            )
    return markdown([*LEAD, *(FGVC_DATASETS[n].title for n in names), "Avg"], rows)


def vtab_tables(results: Sequence[MethodResult], *, paper: bool) -> str:
    summary, per_task = [], []
    for result in results:
        groups = vtab_groups(result.accuracy)
        summary.append([*_lead(result), *(_cell(groups[g]) for g in (*VTAB_GROUPS, "average"))])
        per_task.append([result.name, *(_cell(result.accuracy.get(t), 1) for t in VTAB_TASKS)])
    if paper:
        for method, (values, percent, memory) in PAPER_VTAB.items():
            summary.append(
                [f"{method} (paper)", f"{percent:.3f}", "", "", f"{memory:.3f}", *(_cell(v) for v in values)]
            )
    groups = markdown([*LEAD, "Natural (7)", "Specialized (4)", "Structured (8)", "Avg (19)"], summary)
    return groups + "\n\n" + markdown(["Method", *VTAB_TASKS], per_task)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gift_experiment_utils.vision.tables", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("sweeps", nargs="+", help="sweep YAML files of one benchmark, one table row each")
    parser.add_argument("--paper", action="store_true", help="add the paper's rows for comparison")
    parser.add_argument(
        "--overrides", nargs="+", default=[], metavar="key=value", help="the overrides the sweeps ran with"
    )
    args = parser.parse_args(argv)
    try:
        results = [collect(path, args.overrides) for path in args.sweeps]
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    benchmarks = {r.benchmark for r in results}
    if len(benchmarks) > 1:
        print(f"error: the sweeps mix benchmarks {sorted(benchmarks)}; make one table per benchmark.", file=sys.stderr)
        return 2
    table = fgvc_table if benchmarks == {"fgvc"} else vtab_tables
    print(table(results, paper=args.paper))
    if any(r.memory_on_cpu for r in results):
        print("\n* peak resident memory of a CPU run, not GPU memory.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
