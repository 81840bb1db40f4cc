"""The paper's LLM tables from run folders: accuracy per eval set (columns), mean over seeds, Avg, Params %.

    python -m gift_experiment_utils.language_modeling.table runs/language_modeling/llama1_7b/commonsense
    python -m gift_experiment_utils.language_modeling.table runs/language_modeling/llama1_7b/math --sets AQuA gsm8k mawps SVAMP

One row per run name without its seed (`commonsense_gift_r64_lr0.00025_wd0`); a cell is the mean of
`test/<set>/accuracy` over the row's seeds (× 100), with the number of seeds in the last column. The engine's
`tables` command makes one column per config value; here one run holds every column.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import defaultdict
from pathlib import Path
from statistics import mean

from ..tracking import read_json


def collect(root: Path) -> dict[str, list[dict]]:
    rows: dict[str, list[dict]] = defaultdict(list)
    for results in sorted(root.rglob("results.json")):
        data = read_json(results)
        rows[re.sub(r"_seed\d+$", "", results.parent.name)].append(data)
    if not rows:
        raise ValueError(f"No finished run (results.json) under {root}.")
    return rows


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
        percent = runs[0]["params"]["method_percent"]
        lines.append("| " + " | ".join([name, *cells, average, f"{percent:.4f}", str(len(runs))]) + " |")
    return "\n".join(lines)


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
