"""The paper's LLM tables from run folders: accuracy per eval set (columns), mean over seeds, Avg, Params %.

    python -m gift_experiment_utils.language_modeling.table runs/language_modeling/llama1_7b/commonsense
    python -m gift_experiment_utils.language_modeling.table runs/language_modeling/llama1_7b/math --sets AQuA gsm8k mawps SVAMP

One row per experiment: runs whose configs differ only in the seed share a row (the engine's
`tables.distinguishing_keys` names the keys that tell rows apart, shown in the row label); a cell is the mean
of `test/<set>/accuracy` over the row's seeds (× 100), with the number of seeds in the last column. The
engine's `tables` command makes one column per config value; here one run holds every column.
Params % is adapter / (backbone + adapter) for every row, the convention of the LLM tables the paper copies
its baselines from (LLM-Adapters, DoRA, LoReFT); results.json has it as `params.method_percent_of_total`.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from statistics import mean

from .. import tables


def collect(root: Path) -> dict[str, list[dict]]:
    """results.json of every finished run under `root`, grouped into rows of one experiment each."""
    runs = tables.collect([root])
    keys = ["method.name", *tables.distinguishing_keys(runs, ["method.name"], None)]
    return {
        row: [run.results for run in members] for (row, _), members in tables.seeds_by_cell(runs, keys, None).items()
    }


def render(rows: dict[str, list[dict]], sets: list[str] | None) -> str:
    pattern = re.compile(r"^test/(.+)/accuracy$")
    found = sorted(
        {m.group(1) for runs in rows.values() for r in runs for k in r["metrics"] if (m := pattern.match(k))}
    )
    columns = sets or found
    header = ["run", *columns, "Avg", "Params %", "seeds"]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for name, runs in sorted(rows.items()):
        cells = []
        for column in columns:
            values = [r["metrics"].get(f"test/{column}/accuracy") for r in runs]
            values = [v for v in values if v is not None]
            cells.append(f"{100 * mean(values):.1f}" if values else "—")
        scores = [float(c) for c in cells if c != "—"]
        average = f"{mean(scores):.1f}" if scores else "—"
        percent = percent_of_total(runs[0]["params"])
        lines.append("| " + " | ".join([name, *cells, average, f"{percent:.4f}", str(len(runs))]) + " |")
    return "\n".join(lines)


def percent_of_total(params: dict[str, float]) -> float:
    """Params % as the LLM tables print it, for every row: adapter / (backbone + adapter)."""
    return 100.0 * params["method"] / (params["backbone"] + params["method"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m gift_experiment_utils.language_modeling.table")
    parser.add_argument(
        "root", type=Path, help="a folder of run folders, e.g. runs/language_modeling/llama1_7b/commonsense"
    )
    parser.add_argument("--sets", nargs="+", help="eval sets to show, in order (default: all found)")
    args = parser.parse_args(argv)
    try:
        print(render(collect(args.root), args.sets))
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
