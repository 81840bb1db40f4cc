"""Gather test-set prediction files of final runs into one folder (and zip) for the GLUE server.

    python -m gift_experiment_utils.domains.glue.submit configs/glue/roberta-base/sweeps/base-gift-*.yaml \\
        --protocol paper --out submissions/roberta-base-gift

For each sweep, among its finished final runs of the chosen protocol, the one with the best validation
selection score (or `--seed N`) gives its <run>/predictions/*.tsv. The folder gets those files, SOURCES.tsv
(file, run folder, seed, validation score), and <out>.zip holds the prediction files. The server also wants WNLI.tsv (not part of the
paper's table) and any task not run; they are listed, not invented.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import zipfile
from pathlib import Path

from ...sweep import Sweep
from ...tracking import RunDir, read_json

SERVER_FILES = (
    "CoLA.tsv",
    "SST-2.tsv",
    "MRPC.tsv",
    "STS-B.tsv",
    "QQP.tsv",
    "MNLI-m.tsv",
    "MNLI-mm.tsv",
    "QNLI.tsv",
    "RTE.tsv",
    "WNLI.tsv",
    "AX.tsv",
)


def pick_run(sweep_file: str | Path, *, protocol: str, seed: int | None) -> RunDir:
    sweep = Sweep(sweep_file)
    runs = [p for p in sweep.final_runs(sweep.read_selection()) if p.config.task.protocol == protocol and p.done()]
    if seed is not None:
        runs = [p for p in runs if p.config.experiment.seed == seed]
    if not runs:
        which = f"seed {seed}, " if seed is not None else ""
        raise ValueError(f"{sweep_file}: no finished final run with {which}task.protocol={protocol}.")

    def score(planned) -> float:
        selection = read_json(planned.run.results)["selection"]
        sign = 1.0 if selection["greater_is_better"] else -1.0
        return sign * selection["best_value"]

    return max(runs, key=score).run


def assemble(runs: list[RunDir], out: Path) -> tuple[list[str], list[str]]:
    """Copy every run's prediction files into `out`; returns (files written, server files still missing)."""
    out.mkdir(parents=True, exist_ok=True)
    sources, written = [], []
    for run in runs:
        files = sorted((run.path / "predictions").glob("*.tsv"))
        if not files:
            raise ValueError(
                f"{run.path} has no predictions/*.tsv (was it run with eval.test=true and task.predict_test=true?)."
            )
        results = read_json(run.results)
        for file in files:
            if file.name in written:
                raise ValueError(f"Two runs give {file.name} (the second is {run.path}); pass one sweep per task.")
            shutil.copyfile(file, out / file.name)
            written.append(file.name)
            sources.append(f"{file.name}\t{run.path}\t{results['run']['seed']}\t{results['selection']['best_value']}")
    (out / "SOURCES.tsv").write_text("file\trun\tseed\tbest_validation_score\n" + "".join(s + "\n" for s in sources))
    return written, [name for name in SERVER_FILES if name not in written]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gift_experiment_utils.domains.glue.submit", description=__doc__.split("\n\n")[0]
    )
    parser.add_argument("sweeps", nargs="+", help="GLUE sweep YAMLs (one per task) whose finals have run")
    parser.add_argument("--protocol", choices=["paper", "clean"], default="paper")
    parser.add_argument("--seed", type=int, default=None, help="take this final seed instead of the best one")
    parser.add_argument("--out", required=True, help="output folder; <out>.zip is written beside it")
    args = parser.parse_args(argv)
    try:
        runs = [pick_run(path, protocol=args.protocol, seed=args.seed) for path in args.sweeps]
        written, missing = assemble(runs, Path(args.out))
    except (ValueError, FileNotFoundError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    archive = Path(args.out).with_suffix(".zip")
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as bundle:  # prediction files only, at the top level
        for name in written:
            bundle.write(Path(args.out) / name, arcname=name)
    print(f"wrote {len(written)} files ({', '.join(written)}) to {args.out} and {archive}")
    if missing:
        print(f"the GLUE server also expects: {', '.join(missing)}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
