"""Build and check the language-modeling data folder (the Python half of prepare_data.sh).

    python -m gift_experiment_utils.language_modeling.prepare check data/language_data
    python -m gift_experiment_utils.language_modeling.prepare check DIR --counts counts.json   # other sizes
    python -m gift_experiment_utils.language_modeling.prepare gsm8k DIR          # HF openai/gsm8k, config main
    python -m gift_experiment_utils.language_modeling.prepare alpaca-eval DIR    # HF tatsu-lab/alpaca_eval

`check` reads every file of `formats.DATA_FILES`, checks that it is a JSON list whose rows have the
format's fields, and that it holds the expected number of examples (exactly, or at least as many for the
training files whose upstream copies get revised). It prints one line per file and exits 1 on a problem.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .formats import DATA_FILES, FORMATS, PREPARE_COMMAND, check_rows


def check_file(root: Path, relative: str, expected: int | None = None) -> str | None:
    """None if the file is fine, else what is wrong with it."""
    spec = DATA_FILES[relative]
    path = root / relative
    if not path.is_file():
        return "missing"
    head = path.read_bytes()[:64]
    if head.startswith(b"version https://git-lfs"):
        return "a Git LFS pointer, not the data (install git-lfs and rerun)"
    try:
        rows = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as error:
        return f"not valid JSON ({error})"
    if not isinstance(rows, list):
        return f"a JSON {type(rows).__name__}, expected a list of examples"
    try:
        check_rows(rows, spec.format, path)
    except ValueError as error:
        return str(error).split(": ", 1)[-1]
    count = len(rows)
    if expected is not None:
        if count != expected:
            return f"{count} examples, expected {expected}"
    elif spec.exact and count != spec.count:
        return f"{count} examples, expected {spec.count}"
    elif not spec.exact and count < spec.count:
        return f"{count} examples, expected at least {spec.count}"
    return None


def check(root: Path, counts: dict[str, int] | None = None) -> list[str]:
    """Problems of the folder, one line each (empty: everything is in place)."""
    problems = []
    for relative in DATA_FILES:
        problem = check_file(root, relative, (counts or {}).get(relative))
        status = "ok" if problem is None else problem
        print(f"  {relative:34s} {status}")
        if problem is not None:
            problems.append(f"{relative}: {problem}")
    return problems


# ---------------------------------------------------------------------------------------------- builders
def _write(path: Path, rows: list[dict[str, Any]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(rows, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(path)


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
        prog="python -m gift_experiment_utils.language_modeling.prepare",
        description="Build or check the language-modeling data folder.",
    )
    parser.add_argument("command", choices=["check", *BUILDERS])
    parser.add_argument("root", type=Path, help="the data folder (e.g. data/language_data)")
    parser.add_argument(
        "--counts", type=Path, help="JSON {relative path: number of examples} replacing the expected sizes"
    )
    args = parser.parse_args(argv)
    if args.command != "check":
        BUILDERS[args.command](args.root)
        return 0
    counts = json.loads(args.counts.read_text()) if args.counts else None
    print(f"Checking {args.root} ({len(DATA_FILES)} files; formats: {', '.join(FORMATS)})")
    problems = check(args.root, counts)
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
