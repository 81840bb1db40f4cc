"""The data files of the paper's LLM experiments, their formats, and where they are looked for.

Layout under the data root (built by `scripts/language_modeling/prepare_data.sh`):

    commonsense_170k/train.json  math_10k/train.json  alpaca_data_cleaned/train.json  ultrafeedback/train.json
    boolq/test.json ... openbookqa/test.json    (LLM-Adapters commonsense test sets)
    MultiArith/test.json ... SingleEq/test.json (LLM-Adapters math test sets; gsm8k/test.json is theirs)
    gsm8k_main/train.json  gsm8k_main/test.json (HF `openai/gsm8k`, config main)
    alpaca_eval/eval.json                       (HF `tatsu-lab/alpaca_eval`, the 805 prompts)

The root is `task.data_dir`, else $GIFT_LANGUAGE_DATA, else `<data.root>/language_data`.

Any other JSON file in one of `FORMATS` can be an extra eval set (`task.eval_files`): its format is the
most specific one whose fields every row has (`detect_format`), unless given.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .prompts import Record

DATA_ENV = "GIFT_LANGUAGE_DATA"
PREPARE_COMMAND = "bash scripts/language_modeling/prepare_data.sh"


@dataclass(frozen=True)
class DataFile:
    format: str  # a key of FORMATS
    count: int  # examples in the public release
    exact: bool = True  # False: at least `count` (a file its maintainers revise)


# The LLM-Adapters test sets: name -> examples, as in the LLM-Adapters paper's table.
COMMONSENSE_SETS = {
    "boolq": 3270,
    "piqa": 1838,
    "social_i_qa": 1954,
    "hellaswag": 10042,
    "winogrande": 1267,
    "ARC-Easy": 2376,
    "ARC-Challenge": 1172,
    "openbookqa": 500,
}
MATH_SETS = {"MultiArith": 600, "gsm8k": 1319, "SVAMP": 1000, "mawps": 238, "AddSub": 395, "AQuA": 254, "SingleEq": 508}

# Relative path -> format and size.
DATA_FILES: dict[str, DataFile] = {
    "commonsense_170k/train.json": DataFile("llm_adapters", 170_000, exact=False),
    "math_10k/train.json": DataFile("llm_adapters", 9_900, exact=False),
    "alpaca_data_cleaned/train.json": DataFile("alpaca", 51_000, exact=False),
    "ultrafeedback/train.json": DataFile("alpaca", 60_000, exact=False),
    **{f"{name}/test.json": DataFile("llm_adapters", count) for name, count in (COMMONSENSE_SETS | MATH_SETS).items()},
    "gsm8k_main/train.json": DataFile("gsm8k", 7473),
    "gsm8k_main/test.json": DataFile("gsm8k", 1319),
    "alpaca_eval/eval.json": DataFile("alpaca_eval", 805),
}


# ---------------------------------------------------------------------------------------------- formats
def _text(value: Any) -> str:
    if isinstance(value, list):  # early LLM-Adapters AQuA files: "answer": ["C"]
        value = value[0] if value else ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return "" if value is None else str(value)


def _llm_adapters(row: dict[str, Any], source: str) -> Record:
    return Record(
        instruction=row["instruction"],
        input=_text(row.get("input")),
        output=_text(row.get("output")),
        answer=_text(row["answer"]).strip(),
        source=source,
    )


def _alpaca(row: dict[str, Any], source: str) -> Record:
    return Record(instruction=row["instruction"], input=_text(row.get("input")), output=row["output"], source=source)


def _gsm8k(row: dict[str, Any], source: str) -> Record:
    solution = row["answer"]
    # no "#### n" line: no gold answer (the example is unscorable), rather than the whole solution as one
    answer = solution.split("####")[-1].strip() if "####" in solution else ""
    return Record(instruction=row["question"], output=solution, answer=answer, source=source)


def _alpaca_eval(row: dict[str, Any], source: str) -> Record:
    return Record(instruction=row["instruction"], source=row.get("dataset") or source)


@dataclass(frozen=True)
class Format:
    fields: tuple[str, ...]  # every row must have these keys
    read: Callable[[dict[str, Any], str], Record]
    gold: str = ""  # where the gold answer comes from, for reports of unreadable ones ("": no gold answer)
    scorer: str = ""  # the scorer of an extra eval file in this format ("": the task row's; none without gold)


FORMATS: dict[str, Format] = {
    # LLM-Adapters JSON
    "llm_adapters": Format(("instruction", "input", "output", "answer"), _llm_adapters, gold="the 'answer' field"),
    # Alpaca-cleaned, UltraFeedback ("input" optional)
    "alpaca": Format(("instruction", "output"), _alpaca),
    # HF gsm8k rows, "#### N" at the end of the answer
    "gsm8k": Format(
        ("question", "answer"), _gsm8k, gold="the '#### <number>' line ending the 'answer' solution", scorer="number"
    ),
    # AlpacaEval prompts (+ reference output, generator)
    "alpaca_eval": Format(("instruction",), _alpaca_eval),
}


# ---------------------------------------------------------------------------------------------- reading
def data_root(data_dir: str | None, default_root: str) -> Path:
    """`task.data_dir`, else $GIFT_LANGUAGE_DATA, else `<data.root>/language_data`."""
    return Path(data_dir or os.environ.get(DATA_ENV) or Path(default_root) / "language_data")


def parse_json(path: Path) -> Any:
    """The file's JSON: a list of its lines' values for `.jsonl` (JSON lines), else the document."""
    text = path.read_text(encoding="utf-8")
    if path.suffix == ".jsonl":
        return [json.loads(line) for line in text.splitlines() if line.strip()]
    return json.loads(text)


def read_rows(path: Path) -> list[dict[str, Any]]:
    """A JSON list, or JSON lines."""
    if not path.is_file():
        raise FileNotFoundError(
            f"Data file {path} does not exist. Build the data folder with `{PREPARE_COMMAND} {path.parent.parent}` "
            f"(or set task.data_dir / ${DATA_ENV} to a prepared folder)."
        )
    rows = parse_json(path)
    if not isinstance(rows, list):
        raise ValueError(f"{path}: expected a JSON list of examples, got {type(rows).__name__}.")
    return rows


def check_rows(rows: list[dict[str, Any]], fmt: str, path: Path) -> None:
    fields = FORMATS[fmt].fields
    for i, row in enumerate(rows):
        missing = [f for f in fields if f not in row] if isinstance(row, dict) else list(fields)
        if missing:
            raise ValueError(
                f"{path}: example {i} lacks {missing} (format {fmt!r} needs {list(fields)}); "
                f"rebuild it with `{PREPARE_COMMAND}`."
            )


def read_records(root: Path, relative: str) -> list[Record]:
    """The examples of one data file as `Record`s, their fields checked, each knowing its file and row."""
    path = root / relative
    return _records(read_rows(path), DATA_FILES[relative].format, path, source=relative.split("/")[0], file=relative)


def _records(rows: list[dict[str, Any]], fmt: str, path: Path, *, source: str, file: str) -> list[Record]:
    check_rows(rows, fmt, path)
    records = [FORMATS[fmt].read(row, source) for row in rows]
    for index, record in enumerate(records):
        record.file, record.row = file, index
    return records


# ---------------------------------------------------------------------------------------------- extra eval files
def detect_format(rows: list[Any], path: Path) -> str:
    """The format of a file: the one with the most fields among those whose fields every row has (an LLM-Adapters
    row also has Alpaca's fields). No format, or two equally specific ones, is an error naming the known formats."""
    if not rows:
        raise ValueError(f"{path} holds no examples.")
    fields = set.intersection(*(set(row) if isinstance(row, dict) else set() for row in rows))
    fitting = [name for name, fmt in FORMATS.items() if set(fmt.fields) <= fields]
    most = max((len(FORMATS[name].fields) for name in fitting), default=0)
    best = [name for name in fitting if len(FORMATS[name].fields) == most]
    if len(best) != 1:
        found = f"fits {best} equally" if best else f"is in no known format (every row has {sorted(fields)})"
        # "llm_adapters (instruction, input, output, answer), alpaca (instruction, output), ..."
        known = ", ".join(f"{name} ({', '.join(fmt.fields)})" for name, fmt in FORMATS.items())
        raise ValueError(
            f"{path} {found}. Known formats and the fields each row needs: {known}. Convert the file, or "
            "name its format: task.eval_files=[{path: FILE, format: NAME}]."
        )
    return best[0]


def read_eval_file(path: Path, *, name: str, fmt: str | None = None) -> tuple[str, list[Record]]:
    """(format, records) of an extra eval file; each record knows its file (the path as given) and row."""
    if not path.is_file():
        raise ValueError(f"Config key 'task.eval_files': {path} does not exist.")
    rows = read_rows(path)
    fmt = fmt or detect_format(rows, path)
    return fmt, _records(rows, fmt, path, source=name, file=str(path))
