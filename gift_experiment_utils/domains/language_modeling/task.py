"""The language-modeling domain of the engine: causal LMs tuned on instruction data, scored by generation.

    python -m gift_experiment_utils.run --config configs/language_modeling/llama1_7b/commonsense_gift_qv.yaml
    python -m gift_experiment_utils.domains.language_modeling.demo          # the offline CPU mini-reproduction

Training batches: prompt + target tokenised together, labels −100 on the prompt tokens, left padding, loss
on the label positions only (tokenization.py). Evaluation batches: left-padded prompts; `eval_step` generates
and returns (example index, text); `compute_metrics` gathers the whole split, writes every example's
generation under the run folder *before* scoring it (a scorer that fails loses no generation), scores, and
writes the file again with predictions; instruction tasks also get the AlpacaEval outputs file.

Nothing is lost silently. An example whose gold answer its scorer cannot read ("5/6" in a numeric set, a GSM8K
solution without "#### n") is unscorable: left out of its set's accuracy, counted in `unscorable` (and
`<set>/unscorable`), marked with the reason in the predictions file and named by file and row in a warning.
Training examples longer than `task.max_length` lose answer tokens on the right; `build_datasets` counts them,
warns once, and every evaluation reports the count as `train_answers_cut`. Evaluation prompts are never cut.

Extra eval sets need no code: `task.eval_files=[extra.json, name=path.json, {path: f.json, scorer: number}]` adds
JSON files in any of `formats.FORMATS` to the test split, each its own set with the row's prompt and the scorer
of its format (gsm8k: number; prompts without gold answers: none, AlpacaEval outputs) or else the row's.
An evaluate-only run (eval.only) reads no training data unless the validation split is its tail (gsm8k).
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Literal

import torch
from torch import nn

from gift.io import atomic_write

from ...task import Splits, Task, TaskModel
from .answers import SCORERS, gold_problem, scorers_like
from .arithmetic import ArithmeticConfig, make_splits
from .formats import FORMATS, data_root, read_eval_file, read_records
from .generation import GENERATION_PRESETS, generate, generation_config, stop_token_ids
from .prompts import PROMPTS, TARGETS, Record
from .specs import LM_TASKS, LMTaskSpec, set_name
from .tokenization import (
    Encoded,
    Truncation,
    causal_lm_loss,
    collate_prompts,
    collate_train,
    encode_example,
    encode_prompt,
    find_truncated,
    pad_id,
)

TaskName = Literal[tuple(LM_TASKS)]  # type: ignore[valid-type]
PresetName = Literal[tuple(GENERATION_PRESETS)]  # type: ignore[valid-type]
ScorerName = Literal[tuple(SCORERS)]  # type: ignore[valid-type]
logger = logging.getLogger(__name__)
SHOWN_ROWS = 5  # examples named in a warning; the predictions file and `prepare check` list them all
SET_NAME = r"[A-Za-z0-9_.\-]+"  # of an eval set: a metric key `test/<set>/accuracy`


@dataclass
class EvalFile:
    """An extra eval set: a JSON list (or JSON lines) file in one of formats.FORMATS."""

    path: str = ""  # relative to the directory the command runs in, or absolute
    name: str | None = None  # the set's name in metrics; None: the file's stem
    format: str | None = None  # None: detected from the fields of its rows (formats.detect_format)
    scorer: str | None = None  # an answers.SCORERS key; None: the format's (gsm8k: number), else the row's

    def __post_init__(self) -> None:
        self.name = self.name or Path(self.path).stem

    def validate(self, key: str) -> None:
        if not self.path:
            raise ValueError(f"Config key '{key}.path' is empty; give the JSON file of the eval set.")
        if not re.fullmatch(SET_NAME, self.name):
            raise ValueError(f"Config key '{key}.name': {self.name!r} is not a set name (letters, digits, _ - .).")
        if self.format is not None and self.format not in FORMATS:
            raise ValueError(f"Config key '{key}.format': {self.format!r} is not one of {list(FORMATS)}.")
        if self.scorer is not None and self.scorer not in SCORERS:
            raise ValueError(f"Config key '{key}.scorer': {self.scorer!r} is not one of {list(SCORERS)}.")
        if self.scorer is not None and self.format is not None and not FORMATS[self.format].gold:
            raise ValueError(f"Config key '{key}.scorer': format {self.format!r} has no gold answers to score.")


def eval_file(entry: str | EvalFile) -> EvalFile:
    """ "path.json" or "name=path.json" (the command-line forms) as an EvalFile; an EvalFile as it is."""
    if isinstance(entry, EvalFile):
        return entry
    named = re.fullmatch(rf"({SET_NAME})=(.+)", entry)
    return EvalFile(path=named.group(2), name=named.group(1)) if named else EvalFile(path=entry)


@dataclass
class LanguageModelingConfig:
    name: TaskName = "commonsense"  # a row of LM_TASKS
    data_dir: str | None = None  # None: $GIFT_LANGUAGE_DATA, else <data.root>/language_data
    eval_sets: list[str] | None = None  # a subset of the row's test sets (e.g. [boolq, piqa]); None: all
    # extra test sets from JSON files: [path, name=path, {path, name, format, scorer}] (EvalFile)
    eval_files: list[str | EvalFile] = field(default_factory=list)
    max_eval_per_set: int | None = None  # the first N examples of each eval set (smoke runs)
    max_length: int = 512  # of prompt + target in training, cut on the right
    # the loss covers the prompt tokens too (LLM-Adapters trains its baselines so); false: the answer only (GIFT, LoReFT)
    train_on_inputs: bool = False
    tokenizer: str | None = None  # None: model.name
    prompt_format: Literal["plain", "chat"] = "plain"  # chat: the prompt goes through the tokenizer's chat template
    generation: PresetName | None = None  # None: the row's preset
    max_new_tokens: int | None = None  # None: the row's
    scorer: ScorerName | None = None  # None: the row's; math_loreft scores math (AQuA's letters) as LoReFT did
    stop_tokens: list[str] = field(default_factory=list)  # extra end-of-turn tokens, e.g. [<|eot_id|>]
    generator_name: str | None = None  # the AlpacaEval `generator` field; None: the run name
    arithmetic: ArithmeticConfig = field(default_factory=ArithmeticConfig)  # task.name=arithmetic only

    def __post_init__(self) -> None:
        self.eval_files = [eval_file(entry) for entry in self.eval_files]  # one form, so one config hash

    def validate(self) -> None:
        spec = LM_TASKS[self.name]
        names = [set_name(p) for p in spec.test]
        unknown = [s for s in self.eval_sets or [] if s not in names]
        if unknown:
            raise ValueError(
                f"Config key 'task.eval_sets': {unknown} are not test sets of task {self.name!r}; choose from {names}."
            )
        for index, extra in enumerate(self.eval_files):
            extra.validate(f"task.eval_files[{index}]")
            if extra.path in [e.path for e in self.eval_files[:index]]:
                raise ValueError(f"Config key 'task.eval_files[{index}]': {extra.path} is listed twice.")
            taken = names + [e.name for e in self.eval_files[:index]]
            if extra.name in taken:
                raise ValueError(
                    f"Config key 'task.eval_files[{index}]': the set name {extra.name!r} is taken (sets: {taken}); "
                    f"name it: task.eval_files=[other_name={extra.path}]."
                )
        if self.max_length < 8:
            raise ValueError(f"Config key 'task.max_length': must be >= 8, got {self.max_length}.")
        if self.scorer is not None and self.scorer not in scorers_like(spec.scorer):
            fix = f"choose from {scorers_like(spec.scorer)}" if spec.scorer else "it is not scored; remove the key"
            raise ValueError(f"Config key 'task.scorer': {self.scorer!r} cannot score task {self.name!r}; {fix}.")
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
            raise ValueError(f"Config key 'task.max_new_tokens': must be >= 1, got {self.max_new_tokens}.")
        self.arithmetic.validate()


class LanguageModelingTask(Task):
    Config = LanguageModelingConfig
    selection_metric = "accuracy"  # mean accuracy over the split's eval sets

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.spec: LMTaskSpec = LM_TASKS[self.task_config.name]
        self.eval_records: dict[str, list[Record]] = {}
        self.file_scorers: dict[str, str | None] = {}  # extra eval file (as given) -> its scorer (None: generations)
        self.evaluations: Counter[str] = Counter()  # evaluations of each split so far (names output files)
        self.truncation: Truncation | None = None  # training examples that max_length cuts (build_datasets)

    @classmethod
    def validate_config(cls, config: Any) -> None:
        if not config.model.name:
            raise ValueError("Config key 'model.name' is empty; give a hub id, a local folder or a .gguf file.")

    def tag(self) -> str:
        return self.task_config.name

    # ------------------------------------------------------------------ text
    @cached_property
    def tokenizer(self) -> Any:
        from .backbone import load_tokenizer

        return load_tokenizer(self.task_config.tokenizer or self.config.model.name)

    def prompt(self, record: Record) -> str:
        text = PROMPTS[self.spec.prompt](record)
        if self.task_config.prompt_format == "chat":
            tokenizer = self.tokenizer
            text = tokenizer.apply_chat_template(
                [{"role": "user", "content": text}], tokenize=False, add_generation_prompt=True
            )
            if adds_bos(tokenizer) and text.startswith(tokenizer.bos_token):  # the tokenizer would add it again
                text = text[len(tokenizer.bos_token) :]
        return text

    def encode_train(self, record: Record) -> Encoded:
        return encode_example(
            self.tokenizer,
            self.prompt(record),
            TARGETS[self.spec.target](record),
            max_length=self.task_config.max_length,
            train_on_inputs=self.task_config.train_on_inputs,
        )

    def encode_eval(self, record: Record) -> list[int]:
        return encode_prompt(self.tokenizer, self.prompt(record))

    # ------------------------------------------------------------------ data
    def records(self) -> tuple[list[Record], list[Record], list[Record]]:
        """(train, val, test) records of the row, test sets filtered and capped as configured."""
        cfg, spec = self.task_config, self.spec
        if spec.train == "generated:arithmetic":
            return (*make_splits(cfg.arithmetic), [])  # the held-out problems are the validation split
        root = self.data_root()
        skip_train = self.config.eval.only and not spec.val_from_train_tail  # nothing trains on it
        train = [] if skip_train else read_records(root, spec.train)
        val: list[Record] = []
        if spec.val_from_train_tail:
            train, val = train[: -spec.val_from_train_tail], train[-spec.val_from_train_tail :]
        test: list[Record] = []
        for path in spec.test:
            if cfg.eval_sets is None or set_name(path) in cfg.eval_sets:
                test += read_records(root, path)[: cfg.max_eval_per_set or None]
        for extra in cfg.eval_files:
            fmt, records = read_eval_file(Path(extra.path), name=extra.name, fmt=extra.format)
            self.file_scorers[str(Path(extra.path))] = self._file_scorer(extra, fmt)
            test += records[: cfg.max_eval_per_set or None]
        return train, val, test

    def _file_scorer(self, extra: EvalFile, fmt: str) -> str | None:
        """The scorer of an extra eval file: given, else its format's, else the row's; None without gold answers."""
        if not FORMATS[fmt].gold:
            if extra.scorer:
                raise ValueError(f"Config key 'task.eval_files': {extra.path} ({fmt}) has no gold answers to score.")
            return None
        scorer = extra.scorer or FORMATS[fmt].scorer or self.row_scorer
        if scorer is None:
            raise ValueError(
                f"Config key 'task.eval_files': {extra.path} ({fmt}) has gold answers, but task "
                f"{self.task_config.name!r} scores nothing; give its scorer: task.eval_files=[{{path: {extra.path}, "
                f"scorer: <one of {list(SCORERS)}>}}]."
            )
        return scorer

    @property
    def row_scorer(self) -> str | None:
        """The scorer of the row's own eval sets: `task.scorer` (e.g. math_loreft), else the row's."""
        return self.task_config.scorer or self.spec.scorer

    def scorer_of(self, record_file: str) -> str | None:
        """The scorer of the examples read from `record_file`: an extra eval file's own, else the row's."""
        return self.file_scorers.get(record_file, self.row_scorer)

    def data_root(self) -> Path:
        return data_root(self.task_config.data_dir, self.config.data.root)

    def build_datasets(self) -> Splits:
        train, val, test = self.records()
        self.eval_records = {"val": val, "test": test}
        self.truncation = None if self.config.eval.only else self.check_truncation(train)
        # evaluation items carry their index, so that scoring never depends on the order of gathering
        return Splits(train=train, val=list(enumerate(val)) or None, test=list(enumerate(test)) or None)

    def collate(self, examples: list[Any], split: str) -> dict[str, Any]:
        """Records tokenised as they are batched (a fast tokenizer takes well under a millisecond each)."""
        if split == "train":
            return collate_train([self.encode_train(record) for record in examples], pad_id(self.tokenizer))
        batch = collate_prompts([self.encode_eval(record) for _, record in examples], pad_id(self.tokenizer))
        batch["index"] = torch.tensor([index for index, _ in examples], dtype=torch.long)
        return batch

    def check_truncation(self, records: list[Record]) -> Truncation:
        """The training examples whose answer `task.max_length` cuts, with one warning if there are any."""
        pairs = [(self.prompt(r), TARGETS[self.spec.target](r)) for r in records]
        found = find_truncated(self.tokenizer, pairs, max_length=self.task_config.max_length)
        if found.cut and _is_main_process():
            emptied = f" ({len(found.emptied)} of them lose all of it and add no loss)" if found.emptied else ""
            shown = ", ".join(_where(records[i], i) for i in found.cut[:SHOWN_ROWS])
            logger.warning(
                f"task.max_length={found.max_length} cuts the answer of {len(found.cut)} of {len(records)} training "
                f"examples{emptied}, e.g. {shown}; raise task.max_length to train on whole answers."
            )
        return found

    # ------------------------------------------------------------------ model
    def build_model(self) -> TaskModel:
        from .backbone import load_causal_lm

        model = load_causal_lm(self.config.model.name, dtype=self.config.model.dtype)
        return TaskModel(module=model, head_modules=[], gift_wrapper="causal_lm")

    def training_loss(self, model: nn.Module, batch: dict[str, Any]) -> torch.Tensor:
        return causal_lm_loss(model, batch)

    # ------------------------------------------------------------------ evaluation
    @cached_property
    def generation(self) -> Any:
        cfg, tokenizer = self.task_config, self.tokenizer
        return generation_config(
            cfg.generation or self.spec.generation,
            max_new_tokens=cfg.max_new_tokens or self.spec.max_new_tokens,
            pad_token_id=pad_id(tokenizer),
            eos_token_ids=stop_token_ids(tokenizer, cfg.stop_tokens),
        )

    def eval_step(self, model: nn.Module, batch: dict[str, Any]) -> dict[str, torch.Tensor | list]:
        max_total = None if self.task_config.max_new_tokens else self.spec.max_total_length
        new_tokens = generate(model, batch, self.generation, max_length=max_total)
        generations = self.tokenizer.batch_decode(new_tokens, skip_special_tokens=True)
        return {"index": batch["index"], "generation": generations}

    @torch.no_grad()
    def evaluate(self, model: nn.Module, loader: Any, split: str, gather: Callable[[Any], Any]) -> dict[str, float]:
        """The engine's sharded evaluation, timed (generation dominates an LLM run's wall time), with a progress
        bar over this process's batches on the main process (log.progress_bar)."""
        from tqdm.auto import tqdm

        start = time.perf_counter()
        self.evaluations[split] += 1
        shown = self.config.log.progress_bar and _is_main_process()
        with tqdm(loader, desc=f"{split} generation", unit="batch", disable=not shown, dynamic_ncols=True) as batches:
            metrics = super().evaluate(model, batches, split, gather)
        return {**metrics, "eval_seconds": time.perf_counter() - start}

    def compute_metrics(self, outputs: dict[str, torch.Tensor | list], split: str) -> dict[str, float]:
        generations: dict[int, str] = {}
        for index, text in zip(outputs["index"].tolist(), outputs["generation"]):
            generations.setdefault(index, text)  # a repeated index (padding of the last shard) counts once
        records = self.eval_records[split]
        rows = [self._row(index, records[index], generations[index]) for index in sorted(generations)]
        predictions = self._write(rows, split)  # before scoring: a scorer that raises loses no generation
        metrics: dict[str, float] = {"num_examples": len(rows)}
        free = [row for row in rows if self.scorer_of(row["file"]) is None]  # prompts only: AlpacaEval outputs
        if free:
            metrics["mean_output_chars"] = sum(len(r["generation"]) for r in free) / len(free)
        scored = [row for row in rows if self.scorer_of(row["file"]) is not None]
        if scored:
            for row in scored:
                self._score(row)
            self._write(rows, split)
            self._warn_unscorable(scored, split, predictions)
            metrics |= self._summarise(scored)
        if self.truncation is not None:
            metrics["train_answers_cut"] = len(self.truncation.cut)
        return metrics

    def _row(self, index: int, record: Record, generation: str) -> dict[str, Any]:
        row = {
            "index": index,
            "set": record.source,
            "file": record.file,
            "row": record.row,
            "instruction": record.instruction,
            "input": record.input,
            "generation": generation,
        }
        if self.scorer_of(record.file) is not None:
            row["answer"] = record.answer
        return row

    def _score(self, row: dict[str, Any]) -> None:
        """Adds prediction and correct (None for both when the gold answer is unreadable, with the reason)."""
        scorer, gold = self.scorer_of(row["file"]), row["answer"]
        problem = gold_problem(scorer, gold)
        if problem is not None:
            row |= {"prediction": None, "correct": None, "unscorable": problem}
            return
        prediction, correct = SCORERS[scorer](row["generation"], gold, self.spec.trigger)
        row |= {"prediction": prediction, "correct": correct, "unscorable": None}

    def _summarise(self, rows: list[dict[str, Any]]) -> dict[str, float]:
        """Accuracy per set over its scorable examples, their mean, and the unscorable counts."""
        metrics: dict[str, float] = {}
        scored: dict[str, list[bool]] = {}  # every set gets an entry, even one with nothing scorable
        unscorable: Counter[str] = Counter()
        for row in rows:
            correct = scored.setdefault(row["set"], [])
            if row["unscorable"]:
                unscorable[row["set"]] += 1
            else:
                correct.append(row["correct"])
        # a set with no scorable example has no accuracy and is left out of the mean (the warning says so)
        accuracies = {name: sum(v) / len(v) for name, v in scored.items() if v}
        if len(scored) > 1:
            metrics |= {f"{name}/accuracy": value for name, value in accuracies.items()}
            metrics |= {f"{name}/unscorable": count for name, count in unscorable.items()}
        metrics["unscorable"] = sum(unscorable.values())
        # the paper's Avg column
        metrics["accuracy"] = sum(accuracies.values()) / len(accuracies) if accuracies else float("nan")
        return metrics

    def _warn_unscorable(self, rows: list[dict[str, Any]], split: str, predictions: Path | None) -> None:
        bad = [r for r in rows if r["unscorable"]]
        if not bad or not _is_main_process():
            return
        shown = "; ".join(f"{r['file'] or r['set']} row {r['row']}: {r['unscorable']}" for r in bad[:SHOWN_ROWS])
        more = f"; and {len(bad) - SHOWN_ROWS} more" if len(bad) > SHOWN_ROWS else ""
        empty = sorted({r["set"] for r in bad} - {r["set"] for r in rows if not r["unscorable"]})
        empty_sets = (
            f" {empty} have no scorable example, so no accuracy, and are left out of the mean." if empty else ""
        )
        logger.warning(
            f"{split}: {len(bad)} of {len(rows)} examples are unscorable (their gold answer cannot be read) and "
            f"left out of accuracy: {shown}{more}.{empty_sets} Every one is marked `unscorable` in {predictions}; "
            f"`python -m gift_experiment_utils.domains.language_modeling.prepare check {self.data_root()}` lists them too."
        )

    # ------------------------------------------------------------------ outputs
    def _write(self, rows: list[dict[str, Any]], split: str) -> Path | None:
        """<run>/predictions/<split>_eval<k>.jsonl (+ <run>/alpaca_eval/<split>_eval<k>.json), main process only;
        the predictions file's path (None on other processes). Each file is replaced whole, never half-written."""
        if not _is_main_process():
            return None
        name = f"{split}_eval{self.evaluations[split]}"
        path = self.output_folder("predictions") / f"{name}.jsonl"
        atomic_write(path, "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows).encode())
        free = [r for r in rows if self.scorer_of(r["file"]) is None]
        if free:
            generator = self.task_config.generator_name or Path(self.run_folder).name
            outputs = [
                {
                    "instruction": r["instruction"],
                    "output": r["generation"],
                    "generator": generator,
                    "dataset": r["set"],
                }
                for r in free
            ]
            alpaca_eval = self.output_folder("alpaca_eval") / f"{name}.json"
            atomic_write(alpaca_eval, (json.dumps(outputs, indent=2, ensure_ascii=False) + "\n").encode())
        return path


def adds_bos(tokenizer: Any) -> bool:
    """Whether tokenising text prepends BOS (Llama: yes; SmolLM2, whose "BOS" opens every chat turn: no)."""
    if tokenizer.bos_token_id is None:
        return False
    ids = tokenizer("a", add_special_tokens=True)["input_ids"]
    return bool(ids) and ids[0] == tokenizer.bos_token_id


def _is_main_process() -> bool:
    from accelerate import PartialState

    return PartialState().is_main_process


def _where(record: Record, index: int) -> str:
    """ "gsm8k_main/train.json row 17"; a generated example (no file): "arithmetic example 17"."""
    return f"{record.file} row {record.row}" if record.file else f"{record.source} example {index}"
