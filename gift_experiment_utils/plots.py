"""The figures of the result tables: the PREFIX.png of every table (`plot`, which `tables.publish_or_error`
calls), and the training curves of runs from their metrics.jsonl (`curves`; unfinished runs too, given --metric):

    python -m gift_experiment_utils.tables curves runs/toy/toy --out results/toy_curves
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path
from statistics import stdev

from .tables import Table, distinguishing_keys, read_run, seeds_by_cell
from .tracking import SEED_KEY, read_metrics


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot(table: Table, path: Path, *, title: str) -> None:
    """Avg against trainable parameters (log x), one labelled point per row, error bar: std over seeds of Avg."""
    plt = _pyplot()
    figure, axes = plt.subplots(figsize=(6, 4))
    for row in table.rows:
        average = table.average(row, table.columns)
        count = table.params[row][-1][0]
        if average is None or count <= 0:
            continue
        per_seed = table.seed_averages(row)
        spread = stdev(per_seed) if len(per_seed) > 1 else 0.0
        axes.errorbar(count, average, yerr=spread, fmt="o", capsize=3)
        axes.annotate(row, (count, average), textcoords="offset points", xytext=(5, 4), fontsize=8)
    axes.set_xscale("log")
    axes.set_xlabel("trainable parameters (head excluded, log scale)")
    axes.set_ylabel("average score (error bar: std over seeds)")
    axes.set_title(title)
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=150)
    plt.close(figure)


def curves(folders: Sequence[str | Path], path: Path, *, metric: str | None, title: str) -> None:
    """train/loss and `metric` (default: the runs' selection metric) against the step, one line per run."""
    runs = [read_run(file.parent) for folder in folders for file in sorted(Path(folder).rglob("metrics.jsonl"))]
    if not runs:
        raise ValueError(f"No run folders (metrics.jsonl) under {[str(f) for f in folders]}.")
    metric = metric or next((r.results["selection"]["metric"] for r in runs if "selection" in r.results), None)
    if metric is None:
        raise ValueError("No run has finished, so no results.json names the selection metric; give --metric val/NAME.")
    keys = ["method.name", *distinguishing_keys(runs, ["method.name"], None)]
    plt = _pyplot()
    figure, panels = plt.subplots(1, 2, figsize=(10, 4 + 0.15 * len(runs)), layout="constrained")
    for (row, _), members in seeds_by_cell(runs, keys, None).items():
        for run in members:
            rows = read_metrics(run.path / "metrics.jsonl")
            for axes, name in zip(panels, ("train/loss", metric)):
                logged = [r for r in rows if name in r]
                label = f"{row} seed={run.config.get(SEED_KEY)}"
                axes.plot([r["step"] for r in logged], [r[name] for r in logged], marker=".", label=label)
    for axes, name in zip(panels, ("train/loss", metric)):
        axes.set(xlabel="step (optimizer updates)", ylabel=name)
        axes.grid(True, alpha=0.3)
    figure.legend(*panels[0].get_legend_handles_labels(), loc="outside lower center", fontsize=7)
    figure.suptitle(title)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=150)
    plt.close(figure)


def curves_main(argv: Sequence[str]) -> int:
    """`python -m gift_experiment_utils.tables curves FOLDER ... --out PREFIX`."""
    parser = argparse.ArgumentParser(
        prog="python -m gift_experiment_utils.tables curves", description="Loss and metric curves from metrics.jsonl."
    )
    parser.add_argument("folders", nargs="+", help="a run folder, or a folder of run folders (an experiment)")
    parser.add_argument("--metric", help="the validation metric to plot (default: the runs' selection metric)")
    parser.add_argument("--out", required=True, help="output prefix: writes PREFIX.png")
    parser.add_argument("--title", default=None)
    args = parser.parse_args(argv)
    path = Path(f"{args.out}.png")
    try:
        curves(args.folders, path, metric=args.metric, title=args.title or Path(args.out).name)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"wrote {path}", file=sys.stderr)
    return 0
