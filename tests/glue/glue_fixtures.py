"""Generated GLUE data in the official TSV layout (download_glue_data.py) and as a hub parquet snapshot.

Every task of GLUE_TASKS gets train / dev / test files with the real headers (CoLA's header-less train and
dev included), textual labels where the real files have them (MNLI, QNLI, RTE), float scores for STS-B,
and the diagnostic set AX. Texts contain quote characters, which GLUE's TSVs hold unescaped.

The label is learnable: the word "good" (or, for pairs, a shared word) decides it, so a tiny run can move.
"""

from __future__ import annotations

import random
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
BASE_GIFT = REPO / "configs" / "glue" / "roberta-base" / "gift.yaml"  # the shipped config the tests run offline
WORDS = ("the", "cat", "dog", "sat", "ran", "on", "mat", "park", "big", "small", "red", "blue", "a", '"quoted', "it's")


def _sentence(rng: random.Random, *, with_word: str | None = None) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(3, 9))]
    if with_word:
        words.insert(rng.randrange(len(words) + 1), with_word)
    return " ".join(words)


def _pair(rng: random.Random, positive: bool) -> tuple[str, str]:
    first = _sentence(rng)
    second = first.split()[0] + " " + _sentence(rng) if positive else _sentence(rng, with_word="never")
    return first, second


def _write(path: Path, header: list[str] | None, rows: list[list[str]]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ([header] if header else []) + rows  # no quoting, as in GLUE: a '"' is part of the text
    path.write_text("".join("\t".join(line) + "\n" for line in lines), encoding="utf-8")


def write_glue_tsv(root: Path, *, sizes: tuple[int, int, int] = (48, 16, 12), seed: int = 0) -> Path:
    """Write <root>/{CoLA,SST-2,MRPC,QQP,STS-B,MNLI,QNLI,RTE,diagnostic}/...; sizes = (train, dev, test) rows."""
    rng = random.Random(seed)
    n_train, n_dev, n_test = sizes

    def labelled(n: int, classes: int) -> list[int]:
        return [i % classes for i in range(n)]

    # CoLA: no header in train/dev (source, label, mark, sentence); test has a header.
    for name, n in (("train", n_train), ("dev", n_dev)):
        rows = [
            ["gj04", str(y), "" if y else "*", _sentence(rng, with_word="good" if y else None)] for y in labelled(n, 2)
        ]
        _write(root / "CoLA" / f"{name}.tsv", None, rows)
    _write(root / "CoLA" / "test.tsv", ["index", "sentence"], [[str(i), _sentence(rng)] for i in range(n_test)])

    for name, n in (("train", n_train), ("dev", n_dev)):
        rows = [[_sentence(rng, with_word="good" if y else None), str(y)] for y in labelled(n, 2)]
        _write(root / "SST-2" / f"{name}.tsv", ["sentence", "label"], rows)
    _write(root / "SST-2" / "test.tsv", ["index", "sentence"], [[str(i), _sentence(rng)] for i in range(n_test)])

    mrpc = ["Quality", "#1 ID", "#2 ID", "#1 String", "#2 String"]
    for name, n in (("train", n_train), ("dev", n_dev)):
        _write(
            root / "MRPC" / f"{name}.tsv",
            mrpc,
            [[str(y), str(100 + i), str(200 + i), *_pair(rng, bool(y))] for i, y in enumerate(labelled(n, 2))],
        )
    _write(
        root / "MRPC" / "test.tsv",
        ["index", *mrpc[1:]],
        [[str(i), str(100 + i), str(200 + i), *_pair(rng, bool(i % 2))] for i in range(n_test)],
    )

    qqp = ["id", "qid1", "qid2", "question1", "question2", "is_duplicate"]
    for name, n in (("train", n_train), ("dev", n_dev)):
        _write(
            root / "QQP" / f"{name}.tsv",
            qqp,
            [[str(i), str(2 * i), str(2 * i + 1), *_pair(rng, bool(y)), str(y)] for i, y in enumerate(labelled(n, 2))],
        )
    _write(
        root / "QQP" / "test.tsv",
        ["id", "question1", "question2"],
        [[str(i), *_pair(rng, bool(i % 2))] for i in range(n_test)],
    )

    stsb = ["index", "genre", "filename", "year", "old_index", "source1", "source2", "sentence1", "sentence2"]
    for name, n in (("train", n_train), ("dev", n_dev)):
        rows = []
        for i in range(n):
            score = round(5.0 * (i % 6) / 5, 3)
            rows.append(
                [str(i), "main-news", "MSRvid", "2012", str(i), "none", "none", *_pair(rng, score >= 2.5), f"{score}"]
            )
        _write(root / "STS-B" / f"{name}.tsv", [*stsb, "score"], rows)
    _write(
        root / "STS-B" / "test.tsv",
        stsb,
        [
            [str(i), "main-news", "MSRvid", "2012", str(i), "none", "none", *_pair(rng, bool(i % 2))]
            for i in range(n_test)
        ],
    )

    nli3 = ("entailment", "neutral", "contradiction")
    parses = ["sentence1_binary_parse", "sentence2_binary_parse", "sentence1_parse", "sentence2_parse"]
    mnli_head = ["index", "promptID", "pairID", "genre", *parses, "sentence1", "sentence2"]

    def mnli_rows(n: int, votes: int) -> list[list[str]]:
        rows = []
        for i, y in enumerate(labelled(n, 3)):
            premise, hypothesis = _pair(rng, y == 0)
            rows.append(
                [
                    str(i),
                    str(i),
                    f"{i}e",
                    "fiction",
                    "( x )",
                    "( y )",
                    "(ROOT x)",
                    "(ROOT y)",
                    premise,
                    hypothesis,
                    *[nli3[y]] * votes,
                    nli3[y],
                ]
            )
        return rows

    _write(root / "MNLI" / "train.tsv", [*mnli_head, "label1", "gold_label"], mnli_rows(n_train, 1))
    for suffix in ("matched", "mismatched"):
        _write(
            root / "MNLI" / f"dev_{suffix}.tsv",
            [*mnli_head, *(f"label{k}" for k in range(1, 6)), "gold_label"],
            mnli_rows(n_dev, 5),
        )
        _write(
            root / "MNLI" / f"test_{suffix}.tsv",
            mnli_head,
            [[str(i), str(i), f"{i}t", "fiction", *["( x )"] * 4, *_pair(rng, bool(i % 2))] for i in range(n_test)],
        )
    _write(
        root / "diagnostic" / "diagnostic.tsv",
        ["index", "sentence1", "sentence2"],
        [[str(i), *_pair(rng, bool(i % 2))] for i in range(n_test)],
    )

    nli2 = ("entailment", "not_entailment")
    for folder, columns in (("QNLI", ["question", "sentence"]), ("RTE", ["sentence1", "sentence2"])):
        for name, n in (("train", n_train), ("dev", n_dev)):
            _write(
                root / folder / f"{name}.tsv",
                ["index", *columns, "label"],
                [[str(i), *_pair(rng, y == 0), nli2[y]] for i, y in enumerate(labelled(n, 2))],
            )
        _write(
            root / folder / "test.tsv", ["index", *columns], [[str(i), *_pair(rng, bool(i % 2))] for i in range(n_test)]
        )
    return root


def write_glue_parquet(tsv_root: Path, root: Path) -> Path:
    """The same data as a snapshot of the hub repo nyu-mll/glue: <root>/<task>/<split>-00000-of-00001.parquet."""
    from gift_experiment_utils.domains.glue.data import TRAIN, DataLocation, load_part
    from gift_experiment_utils.domains.glue.specs import GLUE_TASKS

    where = DataLocation(source="tsv", data_dir=tsv_root, hub_id="")
    for spec in GLUE_TASKS.values():
        for part in (TRAIN, *spec.validation, *spec.test):
            folder = root / (part.hub_config or spec.name)
            folder.mkdir(parents=True, exist_ok=True)
            load_part(spec, part, where).to_parquet(str(folder / f"{part.hub_split}-00000-of-00001.parquet"))
    return root
