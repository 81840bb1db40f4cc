"""Shared machinery of the benchmarks: settings from dataclasses, one process per variant over interleaved
rounds, paired timing, and peak memory.

Method (the same for every benchmark):

* Each (variant, round) runs in a fresh `python -m benchmarks.<module> --worker VARIANT` process, so no
  variant inherits another's allocator state, caches or thread pools. Round k runs the variants in an
  order rotated by k, so slow drift of the machine is spread over all of them.
* Paired ratios. Inside its process a variant is timed alternately with the bare model on the same weights
  (its adapted layers swapped out for their base layers, `BaseSwitch`): `steps` calls of each, the order
  rotated every repeat. A ratio such as "× floor" is the median, over every repeat of every round, of
  variant / bare within that repeat (`pair_ratios`); "× LoRA" divides two such ratios. Each comes with a 95 %
  bootstrap interval (`bootstrap_interval`, `add_intervals`). Process-to-process differences (where memory
  landed, what the neighbours were doing) cancel; on this shared 2-core machine they reach ±10 %, more
  than the differences the targets ask about. Absolute times are medians over every timed call.
* Peak memory (`PeakMemory`) comes from a separate pass, one process per variant that times nothing and
  runs with glibc's mmap threshold fixed at 1 MiB (`MEMORY_ENV`; every tensor of 1 MiB or more is mapped
  on allocation and unmapped on free, so resident memory follows the live tensors; the default dynamic
  threshold leaves freed blocks in the heap, and three repeats then scatter by ±40 MiB). It is the
  resident-set high-water mark of the worker above its resident set just before the variant's adapter
  is attached. Linux keeps that mark as VmHWM in /proc/self/status and
  resets it when "5" is written to /proc/self/clear_refs, so loading the backbone (whose transient peaks
  would hide a smaller one later) does not count; lazy imports (PEFT, torch._dynamo on the first AdamW)
  and one bare step happen before the window. The window covers creating θ, the optimizer state (AdamW
  allocates it in the first step) and the warm-up steps: what training adds to the frozen model, as the
  process really held it (allocator slack included), not a tensor tally.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import gc
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

REPO_ROOT = Path(__file__).resolve().parent.parent
RESULT_MARKER = "BENCHMARK_RESULT "
MIB = 2**20

Worker = Callable[[str, Any], dict]


# ---------------------------------------------------------------------------------------------- settings
def build_parser(settings_cls: type, description: str | None) -> argparse.ArgumentParser:
    """An argparse parser with one `--flag-name` per dataclass field; defaults and help live in the dataclass."""
    parser = argparse.ArgumentParser(description=description, formatter_class=argparse.RawDescriptionHelpFormatter)
    for field in dataclasses.fields(settings_cls):
        flag = "--" + field.name.replace("_", "-")
        default = field.default if field.default is not dataclasses.MISSING else field.default_factory()
        help_text = field.metadata.get("help", "")
        if isinstance(default, bool):
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=default, help=help_text)
        elif isinstance(default, (list, tuple)):
            parser.add_argument(
                flag, nargs="+", default=list(default), help=f"{help_text} (default: {' '.join(map(str, default))})"
            )
        else:
            parser.add_argument(flag, type=type(default), default=default, help=f"{help_text} (default: {default})")
    parser.add_argument("--worker", metavar="VARIANT", help=argparse.SUPPRESS)  # internal: run one variant, print JSON
    parser.add_argument("--settings-json", help=argparse.SUPPRESS)  # internal: the parent's settings
    return parser


def parse_settings(settings_cls: type, argv: Sequence[str] | None, description: str | None) -> tuple[Any, str | None]:
    """(settings, worker variant or None) from the command line; a worker reads its parent's settings as JSON."""
    args = build_parser(settings_cls, description).parse_args(argv)
    if args.worker:
        return settings_cls(**json.loads(args.settings_json)), args.worker
    return settings_cls(**{f.name: getattr(args, f.name) for f in dataclasses.fields(settings_cls)}), None


def main(
    settings_cls: type,
    argv: Sequence[str] | None,
    description: str | None,
    *,
    run: Callable[[Any], dict],
    report: Callable[[dict], str],
    worker: Worker | None = None,
) -> None:
    """A benchmark's command: `run` the settings and print their `report`; or, in a worker process (`--worker
    VARIANT`), run that one variant and print its result as one marked JSON line for the parent."""
    settings, variant = parse_settings(settings_cls, argv, description)
    if variant is None:
        print(report(run(settings)))
    else:
        print(RESULT_MARKER + json.dumps(call_worker(worker, variant, settings)), flush=True)


def check_variants(given: Sequence[str], allowed: Sequence[str], flag: str) -> None:
    unknown = [v for v in given if v not in allowed]
    if unknown:
        raise ValueError(f"{flag} got {unknown}; choose from {list(allowed)}.")


# ---------------------------------------------------------------------------------------------- processes
def call_worker(worker: Worker, variant: str, settings: Any) -> dict:
    """Run one variant with the settings' thread count, recording the machine's load around it. The caller's
    thread count is restored afterwards (in-process runs share the interpreter with their caller)."""
    with torch_threads(getattr(settings, "threads", 0)):
        load_before = os.getloadavg()[0]
        result = worker(variant, settings)
        return {**result, "load_average": [load_before, os.getloadavg()[0]], "threads": torch.get_num_threads()}


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch's intra-op thread count set to `threads` (0: left as it is) inside the block, restored after."""
    previous = torch.get_num_threads()
    if threads:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)


# glibc: every block ≥ 1 MiB gets its own mmap and goes back to the OS when freed, so the RSS high-water mark
# follows live tensors rather than heap fragmentation (repeats agree within 1 MiB instead of ±40 MiB).
MEMORY_ENV = {"MALLOC_MMAP_THRESHOLD_": str(2**20)}


def _spawn(module: str, variant: str, settings: Any, extra_env: dict[str, str] | None = None) -> dict:
    settings_json = json.dumps(dataclasses.asdict(settings))
    command = [sys.executable, "-m", module, "--worker", variant, "--settings-json", settings_json]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    env.update(extra_env or {})
    done = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if done.returncode != 0 or not lines:
        raise RuntimeError(
            f"worker {module} --worker {variant} failed (exit {done.returncode}):\n{done.stderr[-3000:]}"
        )
    return json.loads(lines[-1][len(RESULT_MARKER) :])


def run_interleaved(
    module: str, worker: Worker, variants: Sequence[str], settings: Any, *, extra_env: dict[str, str] | None = None
) -> dict[str, list[dict]]:
    """Every variant once per round (`settings.rounds`), each in its own process, in an order rotated by the round
    number.

    `settings.in_process` calls the worker in this process instead (for tests and debugging; the variants then
    share one allocator and their peak memory is not comparable).
    """
    rounds = settings.rounds
    results: dict[str, list[dict]] = {variant: [] for variant in variants}
    for round_index in range(rounds):
        shift = round_index % len(variants)
        for variant in [*variants[shift:], *variants[:shift]]:
            started = time.perf_counter()
            if settings.in_process:
                result = call_worker(worker, variant, settings)
            else:
                result = _spawn(module, variant, settings, extra_env)
            results[variant].append(result)
            log(f"[{module}] round {round_index + 1}/{rounds} {variant}: {time.perf_counter() - started:.1f} s")
    return results


def run_memory_pass(module: str, worker: Worker, variants: Sequence[str], settings: Any) -> dict[str, list[dict]]:
    """One process per variant that only measures peak memory (settings.steps = 0), under `MEMORY_ENV`."""
    memory_settings = dataclasses.replace(settings, steps=0, rounds=1)
    return run_interleaved(module, worker, variants, memory_settings, extra_env=MEMORY_ENV)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------------------------- measuring
def time_alternating(
    calls: dict[str, Callable[[], Any]], *, setup: Callable[[str], None] | None = None, warmup: int, repeats: int
) -> dict[str, list[float]]:
    """Wall seconds of each named call, `repeats` times after `warmup` untimed ones, cycling through the names in
    an order rotated each repeat; `setup(name)`, if given, runs untimed before every call (it swaps adapters in
    or out, merges, ...).

    Used to time a variant against the bare model in the same process and on the same weights: their ratio
    is free of what differs between processes (memory placement, neighbours' load), which on a shared
    2-core machine is larger than the few-percent differences the targets ask about."""
    names = list(calls)
    setup = setup or (lambda name: None)
    for _ in range(warmup):
        for name in names:
            setup(name)
            calls[name]()
    seconds: dict[str, list[float]] = {name: [] for name in names}
    for repeat in range(repeats):
        shift = repeat % len(names)
        for name in names[shift:] + names[:shift]:
            setup(name)
            started = time.perf_counter()
            calls[name]()
            seconds[name].append(time.perf_counter() - started)
    return seconds


def count_aten_ops(call: Callable[[], Any]) -> int:
    """How many aten operators one call dispatches: a deterministic check that two forms run the same kernels."""
    from torch.utils._python_dispatch import TorchDispatchMode

    class Counter(TorchDispatchMode):
        count = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):  # noqa: ANN001
            Counter.count += 1
            return func(*args, **(kwargs or {}))

    with Counter():
        call()
    return Counter.count


def _status_kib(field: str) -> int | None:
    with contextlib.suppress(OSError), open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return None


class PeakMemory:
    """Peak resident memory of this process inside the `with` block, above its resident memory at entry (MiB).

    Resets Linux's high-water mark (VmHWM) on entry; `peak_mib` is None where /proc cannot do that.
    """

    def __init__(self) -> None:
        self.peak_mib: float | None = None
        self._start_kib: int | None = None

    def __enter__(self) -> PeakMemory:
        gc.collect()
        with contextlib.suppress(OSError):  # no /proc to write: _start_kib, and so peak_mib, stays None
            with open("/proc/self/clear_refs", "w", encoding="ascii") as clear_refs:
                clear_refs.write("5")  # 5: reset the peak RSS (VmHWM) to the current RSS
            self._start_kib = _status_kib("VmRSS")
        return self

    def __exit__(self, *exc: object) -> None:
        peak = _status_kib("VmHWM")
        if self._start_kib is not None and peak is not None:
            self.peak_mib = (peak - self._start_kib) / 1024


def saved_activation_mib(run_forward: Callable[[], torch.Tensor], exclude: Sequence[torch.Tensor]) -> float:
    """MiB of distinct tensor storages autograd saves for backward in one forward, not counting `exclude`
    (the model's parameters: a frozen weight saved for the input gradient costs no extra memory)."""
    excluded = {t.untyped_storage().data_ptr() for t in exclude}
    storages: dict[int, int] = {}

    def pack(tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        if storage.data_ptr() not in excluded:
            storages[storage.data_ptr()] = storage.nbytes()
        return tensor

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda tensor: tensor):
        output = run_forward()
    del output
    return sum(storages.values()) / MIB


def adapter_state_mib(parameters: Sequence[torch.Tensor]) -> float:
    """Memory of the trained parameters with AdamW: the value, its gradient and two moment estimates."""
    return 4 * sum(p.numel() * p.element_size() for p in parameters) / MIB


# ---------------------------------------------------------------------------------------------- reporting
def median(values: Sequence[float | None]) -> float | None:
    present = [v for v in values if v is not None]
    return statistics.median(present) if present else None


def median_ratio(*groups: Sequence[float]) -> float:
    """median(groups[0]), or median(groups[0]) / median(groups[1]): how every reported ratio is formed."""
    if len(groups) == 1:
        return statistics.median(groups[0])
    numerator, denominator = groups
    return statistics.median(numerator) / statistics.median(denominator)


def bootstrap_interval(
    groups: Sequence[Sequence[float]], *, level: float = 0.95, resamples: int = 10_000, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap interval of `median_ratio(*groups)`, each group resampled on its own (independent
    samples, e.g. the pair ratios of two variants from two processes). Seeded: the same samples give the same
    interval."""
    if not groups or any(len(group) == 0 for group in groups):
        raise ValueError("bootstrap_interval needs at least one value in every group.")
    generator = random.Random(seed)
    draws = (median_ratio(*(generator.choices(group, k=len(group)) for group in groups)) for _ in range(resamples))
    values = sorted(draws)
    tail = (1 - level) / 2
    return values[int(tail * (resamples - 1))], values[int((1 - tail) * (resamples - 1))]


def interval_or_none(groups: Sequence[Sequence[float] | None]) -> list[float] | None:
    """`bootstrap_interval` of the groups as [low, high], or None when a group is missing or empty."""
    return list(bootstrap_interval(groups)) if groups and all(groups) else None


def add_intervals(
    rows: dict[str, dict], pairs: dict[str, list[float]], name: str, reference: str | None = None
) -> None:
    """rows[v][name] = the 95 % interval of median(pairs[v]), or of median(pairs[v]) / median(pairs[reference]):
    the intervals of the medians of `pair_ratios` and of the ratios `add_ratios` forms from them. None for the reference itself and
    for a variant without pairs (the floor)."""
    for variant, row in rows.items():
        groups = [pairs.get(variant), *([pairs.get(reference)] if reference else [])]
        row[name] = None if variant == reference else interval_or_none(groups)


def pair_ratios(results: Sequence[dict], key: str, reference: str) -> list[float]:
    """key[k] / reference[k] for every repeat k of every process: the two calls of one repeat ran within a few
    calls of each other (`time_alternating`), in one process on the same weights. Reported ratios are the
    median of these pooled pairs (rounds × repeats samples), not one ratio per process."""
    return [a / b for r in results for a, b in zip(r.get(key) or [], r.get(reference) or [], strict=False)]


def pooled(results: Sequence[dict], key: str) -> list[float]:
    """Every sample of `key` (a list per round) over all rounds."""
    return [value for result in results for value in result[key]]


def add_ratios(rows: dict[str, dict], key: str, ratios: dict[str, str]) -> None:
    """rows[v][name] = rows[v][key] / rows[reference][key] for each name → reference (None without the reference)."""
    for name, reference in ratios.items():
        denominator = rows.get(reference, {}).get(key)
        for row in rows.values():
            row[name] = row[key] / denominator if denominator and row[key] is not None else None


def training_rows(
    results: dict[str, list[dict]], memory: dict[str, list[dict]], memory_keys: Sequence[str]
) -> tuple[dict[str, dict], dict[str, list[float]]]:
    """(rows, pairs) of a training benchmark whose workers time "step_s" against a same-process "floor_step_s"
    (`adapters.time_with_floor`): per variant the median step over every round, "× floor" as the median of
    its pair ratios (1 for the floor itself), `memory_keys` from the memory pass, the ratios to LoRA and naive
    and the intervals of "× floor" and "× LoRA". `pairs` (variant → pair ratios) serves further intervals."""
    pairs = {v: pair_ratios(runs, "step_s", "floor_step_s") for v, runs in results.items() if v != "floor"}
    rows = {
        variant: {
            "step_s": median(pooled(runs, "step_s")),
            "vs_floor": 1.0 if variant == "floor" else median(pairs[variant]),
            **{key: memory[variant][0][key] for key in memory_keys},
        }
        for variant, runs in results.items()
    }
    add_ratios(rows, "vs_floor", {"vs_lora": "lora", "vs_naive": "naive"})
    add_ratios(rows, "step_s", {"vs_lora_unpaired": "lora"})
    add_intervals(rows, pairs, "vs_floor_ci")
    add_intervals(rows, pairs, "vs_lora_ci", "lora")
    return rows, pairs


def percent(value: float | None, *, minus: float = 0.0) -> str | None:
    return None if value is None else f"{100 * (value - minus):+.1f}%"


def environment() -> dict[str, Any]:
    cpu = platform.processor() or platform.machine()
    with contextlib.suppress(OSError), open("/proc/cpuinfo", encoding="ascii", errors="replace") as cpuinfo:
        cpu = next((line.split(":", 1)[1].strip() for line in cpuinfo if line.startswith("model name")), cpu)
    import importlib.metadata

    def version(package: str) -> str | None:
        with contextlib.suppress(importlib.metadata.PackageNotFoundError):
            return importlib.metadata.version(package)
        return None

    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": version("transformers"),
        "peft": version("peft"),
        "python": platform.python_version(),
    }


Column = tuple[str, Callable[[dict], Any]]


def field_of(key: str) -> Callable[[dict], Any]:
    return lambda row: row.get(key)


def interval_of(key: str) -> Callable[[dict], str | None]:
    """An interval [low, high] shown as 'low–high'."""
    return lambda row: None if row.get(key) is None else f"{row[key][0]:.3f}–{row[key][1]:.3f}"


def change_of(key: str) -> Callable[[dict], str | None]:
    """A ratio shown as a signed percentage change (1.07 → +7.0%)."""
    return lambda row: percent(row.get(key), minus=1)


def variant_table(columns: Sequence[Column], rows: dict[str, dict]) -> str:
    header = ["variant", *(name for name, _ in columns)]
    return markdown_table(header, [[variant, *(get(row) for _, get in columns)] for variant, row in rows.items()])


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    def cell(value: Any) -> str:
        if value is None:
            return "n/a"
        return f"{value:.3g}" if isinstance(value, float) else str(value)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def save(settings: Any, results: dict) -> dict:
    """The summary of a run: its settings, `results` and the environment, written to `settings.output`."""
    summary = {"settings": dict(settings.__dict__), **results, "environment": environment()}
    write_json(settings.output, summary)
    return summary


def write_json(path: str, payload: dict) -> None:
    if not path:
        return
    target = REPO_ROOT / path  # a relative path is taken from the repository root, an absolute one as it is
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")  # written whole, then renamed: never a torn file
    partial.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    os.replace(partial, target)
    log(f"wrote {target}")
