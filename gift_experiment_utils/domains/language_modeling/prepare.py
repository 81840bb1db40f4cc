"""Build and check the language-modeling data folder (the Python half of prepare_data.sh).

    python -m gift_experiment_utils.domains.language_modeling.prepare check data/language_data
    python -m gift_experiment_utils.domains.language_modeling.prepare check DIR --counts counts.json   # other sizes
    python -m gift_experiment_utils.domains.language_modeling.prepare check DIR --only boolq gsm8k_main/test.json extra.json
    python -m gift_experiment_utils.domains.language_modeling.prepare gsm8k DIR          # HF openai/gsm8k, config main
    python -m gift_experiment_utils.domains.language_modeling.prepare alpaca-eval DIR    # HF tatsu-lab/alpaca_eval

`check` reads every file of `formats.DATA_FILES`, checks that it is a JSON list whose rows have the
format's fields, and that it holds the expected number of examples (exactly, or at least as many for the
training files whose upstream copies get revised). It prints one line per file and exits 1 on a problem.
It then lists every row of a scored file whose gold answer its scorer cannot read (`answers.gold_problem`:
"5/6" in a numeric set, a GSM8K solution without "#### n"), by file, row and value. Such rows do not fail
the check, since evaluation counts them as unscorable (`<set>/unscorable`) and leaves them out of accuracy,
but they change the denominators, so look at them before a long run.

`--only` checks a subset: set names (the first folder of a file: `boolq`, `gsm8k_main`), files of the tree
(`gsm8k_main/test.json`), or any other JSON file (a `task.eval_files` set: its format is detected and its gold
answers are read by the scorer its format implies).
"""

from __future__ import annotations

import argparse
import difflib
import json
import sys
from pathlib import Path
from typing import Any

from gift.io import atomic_write

from .answers import gold_problem
from .formats import DATA_FILES, FORMATS, PREPARE_COMMAND, check_rows, detect_format, parse_json
from .specs import scored_files

SHOWN_ROWS = 100  # unreadable gold answers listed by `check` (a file that is wrong throughout lists its first 100)


def load_rows(root: Path, relative: str) -> tuple[list[dict[str, Any]] | None, str | None]:
    """(the file's rows, None) once it parses as a list of rows with its format's fields, else (None, what is wrong)."""
    rows, problem = parse_rows(root / relative)
    if rows is None:
        return None, problem
    try:
        check_rows(rows, DATA_FILES[relative].format, root / relative)
    except ValueError as error:
        return None, str(error).split(": ", 1)[-1]
    return rows, None


def parse_rows(path: Path) -> tuple[list[Any] | None, str | None]:
    """(the JSON list, or JSON lines, in the file, None), else (None, what is wrong)."""
    if not path.is_file():
        return None, "missing"
    if path.read_bytes().startswith(b"version https://git-lfs"):
        return None, "a Git LFS pointer, not the data (install git-lfs and rerun)"
    try:
        rows = parse_json(path)
    except json.JSONDecodeError as error:
        return None, f"not valid JSON ({error})"
    if not isinstance(rows, list):
        return None, f"a JSON {type(rows).__name__}, expected a list of examples"
    return rows, None


def check_file(root: Path, relative: str, expected: int | None = None) -> str | None:
    """None if the file is fine, else what is wrong with it."""
    rows, problem = load_rows(root, relative)
    if rows is None:
        return problem
    spec = DATA_FILES[relative]
    exact, wanted = (True, expected) if expected is not None else (spec.exact, spec.count)
    if len(rows) < wanted or (exact and len(rows) != wanted):
        return f"{len(rows)} examples, expected {'' if exact else 'at least '}{wanted}"
    return None


def check(root: Path, counts: dict[str, int] | None = None, files: list[str] | None = None) -> list[str]:
    """Problems of the folder's data files (`files`, default all), one line each (empty: everything is in place)."""
    problems = []
    for relative in DATA_FILES if files is None else files:
        problem = check_file(root, relative, (counts or {}).get(relative))
        print(f"  {relative:34s} {problem or 'ok'}")
        problems += [] if problem is None else [f"{relative}: {problem}"]
    return problems


def unreadable_golds(root: Path, files: list[str] | None = None) -> list[str]:
    """Rows of the scored files (of `files`, default all) whose gold answer a scorer cannot read, one line each
    ("file row i: why"). Files that do not parse are skipped (`check` reports them); wrong sizes are no reason
    to skip one."""
    lines = []
    for relative, scorers in scored_files().items():
        if files is None or relative in files:
            rows, _ = load_rows(root, relative)
            lines += _gold_lines(relative, rows or [], DATA_FILES[relative].format, scorers)
    return lines


def _gold_lines(name: str, rows: list[dict[str, Any]], fmt_name: str, scorers: tuple[str, ...]) -> list[str]:
    fmt, lines = FORMATS[fmt_name], []
    for index, row in enumerate(rows):
        gold = fmt.read(row, name).answer
        for scorer in scorers:
            problem = gold_problem(scorer, gold)
            if problem is not None:
                origin = "" if gold.strip() else f"; gold answers come from {fmt.gold}"
                lines.append(f"{name} row {index}: {problem}{origin}")
    return lines


def check_eval_file(path: Path) -> tuple[str | None, list[str]]:
    """An extra eval file (`task.eval_files`): (None or what is wrong, its unreadable gold answers). Its gold
    answers are read by its format's scorer; an LLM-Adapters file's scorer is the task's, so only a missing
    answer is listed (the `exact` rule: what every scorer needs)."""
    rows, problem = parse_rows(path)
    if rows is None:
        return problem, []
    try:
        fmt = detect_format(rows, path)
        check_rows(rows, fmt, path)
    except ValueError as error:
        return str(error), []
    scorers = (FORMATS[fmt].scorer or "exact",) if FORMATS[fmt].gold else ()
    return None, _gold_lines(str(path), rows, fmt, scorers)


def select(only: list[str] | None) -> tuple[list[str] | None, list[Path]]:
    """(files of the data folder, other JSON files) that `--only` names; (None: all, []) without it."""
    if only is None:
        return None, []
    files: list[str] = []
    others: list[Path] = []
    for item in only:
        matched = [relative for relative in DATA_FILES if item in (relative, relative.split("/")[0])]
        if matched:
            files += [relative for relative in matched if relative not in files]
        elif Path(item).is_file():
            others.append(Path(item))
        else:
            names = sorted({relative.split("/")[0] for relative in DATA_FILES})
            close = difflib.get_close_matches(item, names, n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ValueError(
                f"--only {item!r} is neither a set of the data folder ({', '.join(names)}), one of its files "
                f"(e.g. gsm8k_main/test.json), nor an existing JSON file.{hint}"
            )
    return files, others


# ---------------------------------------------------------------------------------------------- builders
def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, json.dumps(rows, ensure_ascii=False, indent=1).encode())


def build_gsm8k(root: Path) -> None:
    from datasets import load_dataset

    for split in ("train", "test"):
        rows = load_dataset("openai/gsm8k", "main", split=split)
        _write(
            root / "gsm8k_main" / f"{split}.json", [{"question": r["question"], "answer": r["answer"]} for r in rows]
        )


def build_alpaca_eval(root: Path) -> None:
    from huggingface_hub import hf_hub_download

    file = hf_hub_download("tatsu-lab/alpaca_eval", "alpaca_eval.json", repo_type="dataset")
    rows = json.loads(Path(file).read_text(encoding="utf-8"))
    _write(root / "alpaca_eval" / "eval.json", rows)


BUILDERS = {"gsm8k": build_gsm8k, "alpaca-eval": build_alpaca_eval}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m gift_experiment_utils.domains.language_modeling.prepare",
        description="Build or check the language-modeling data folder.",
    )
    parser.add_argument("command", choices=["check", *BUILDERS])
    parser.add_argument("root", type=Path, help="the data folder (e.g. data/language_data)")
    parser.add_argument(
        "--counts", type=Path, help="JSON {relative path: number of examples} replacing the expected sizes"
    )
    parser.add_argument(
        "--only",
        nargs="+",
        metavar="SET_OR_FILE",
        help="check these only: set names (boolq), files of the folder (gsm8k_main/test.json) or other JSON files",
    )
    args = parser.parse_args(argv)
    if args.command != "check":
        BUILDERS[args.command](args.root)
        return 0
    counts = json.loads(args.counts.read_text()) if args.counts else None
    try:
        files, others = select(args.only)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    count = len(DATA_FILES) if files is None else len(files) + len(others)
    print(f"Checking {args.root} ({count} files; formats: {', '.join(FORMATS)})")
    problems = check(args.root, counts, files)
    unreadable = unreadable_golds(args.root, files)
    for path in others:
        problem, lines = check_eval_file(path)
        print(f"  {str(path):34s} {problem or 'ok'}")
        problems += [] if problem is None else [f"{path}: {problem}"]
        unreadable += lines
    if unreadable:
        more = [f"... and {len(unreadable) - SHOWN_ROWS} more"] if len(unreadable) > SHOWN_ROWS else []
        print(
            f"{len(unreadable)} gold answer(s) no scorer reads; evaluation counts these examples as unscorable "
            "and leaves them out of accuracy:\n  " + "\n  ".join(unreadable[:SHOWN_ROWS] + more)
        )
    if problems:
        print(
            f"{len(problems)} problem(s); rebuild with `{PREPARE_COMMAND} {args.root}`:\n  " + "\n  ".join(problems),
            file=sys.stderr,
        )
        return 1
    print("All files present and well-formed.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
