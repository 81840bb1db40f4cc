"""Check and prepare the vision data: `python -m gift_experiment_utils.domains.vision.prepare COMMAND ...`.

    fgvc-check   --data-root data [--dataset cub ...]           split files, class counts, every image present
    vtab-tfds    --data-dir data/tfds [--task dtd ...] [--manual-dir DIR] [--file-format array_record]
                                                                 download_and_prepare the tfds builders
    vtab-check   --data-dir DIR [--source tfds|folder] [--task ...]   the four splits of each task, their sizes
    vtab-export  --data-dir data/tfds --out data/vtab-1k [--task ...] [--splits ...]
                                                                 write the pre-extracted folder layout from tfds

Every command exits non-zero when something is missing, after naming each problem.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .fgvc import FGVC_DATASETS, SPLITS, FGVCConfig, dataset_root, fgvc_sources
from .tfds_reader import import_tfds, load_builder
from .vtab import VTAB_SPLITS, VTAB_TASKS, TfdsImages, VTABConfig, vtab_source

EXPECTED_VTAB_SIZES = {"train800": 800, "val200": 200, "train800val200": 1000}


def fgvc_check(data_root: str, datasets: Sequence[str]) -> int:
    problems = 0
    for name in datasets:
        row = FGVC_DATASETS[name]
        root = dataset_root(row, None, data_root)
        try:
            sources = fgvc_sources(FGVCConfig(dataset=name, check_images=True), data_root)
        except (FileNotFoundError, ValueError) as error:
            print(f"[missing] {row.title:15s} {root}: {error}")
            problems += 1
            continue
        sizes = ", ".join(f"{split} {len(sources[split])}" for split in SPLITS)
        print(f"[ok]      {row.title:15s} {root}: {sizes}; {row.num_classes} classes")
    return problems


def vtab_tfds(
    data_dir: str, tasks: Sequence[str], *, manual_dir: str | None, file_format: str, versions: dict[str, str]
) -> int:
    import importlib.util

    tfds = import_tfds()

    if importlib.util.find_spec("importlib_resources") is None:  # tfds declares it for Python < 3.9 only
        raise ModuleNotFoundError(
            f"tensorflow-datasets {tfds.__version__} needs the package importlib_resources to prepare its "
            "datasets (it declares it for Python < 3.9 only); run `pip install importlib_resources`."
        )
    problems, done = 0, set()
    for name in tasks:
        row = VTAB_TASKS[name]
        key = (row.builder, versions.get(name, row.version))
        if key in done:  # clevr and dsprites and smallnorb serve two tasks each
            continue
        done.add(key)
        try:
            builder = load_builder(row.builder, key[1], data_dir, file_format=file_format)
            builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=manual_dir))
            print(f"[ok]      {row.builder}:{key[1]} in {builder.data_dir}")
        except Exception as error:  # report every dataset, then fail: downloads break for many reasons
            print(f"[failed]  {row.builder}:{key[1]}: {type(error).__name__}: {error}")
            problems += 1
    return problems


def vtab_check(data_dir: str, tasks: Sequence[str], *, source: str, versions: dict[str, str]) -> int:
    problems = 0
    for name in tasks:
        sizes, config = [], VTABConfig(name=name, source=source, data_dir=data_dir, tfds_versions=versions)
        try:
            for split in VTAB_SPLITS:
                opened = vtab_source(config, split, data_root=data_dir)  # data_dir given: data_root is not used
                expected = EXPECTED_VTAB_SIZES.get(split)
                if expected is not None and len(opened) != expected:
                    raise ValueError(f"{split} has {len(opened)} examples, VTAB-1k has {expected}")
                sizes.append(f"{split} {len(opened)}")
            opened.record(0)  # decodes one example: label function and image conversion work on this data
        except (FileNotFoundError, ValueError) as error:
            print(f"[missing] {name:22s} {error}")
            problems += 1
            continue
        print(f"[ok]      {name:22s} {', '.join(sizes)}")
    return problems


def vtab_export(
    data_dir: str, out: str, tasks: Sequence[str], splits: Sequence[str], *, versions: dict[str, str]
) -> int:
    """<out>/<task>/images/<split>/<i>.png and <out>/<task>/<split>.txt; train800val200 = train800 + val200."""
    for name in tasks:
        task_dir = Path(out) / name
        lines: dict[str, list[str]] = {}
        for split in [s for s in VTAB_SPLITS if s != "train800val200"]:
            if split not in splits and not ("train800val200" in splits and split in ("train800", "val200")):
                continue
            opened = TfdsImages(name, split, data_dir=data_dir, version=versions.get(name))
            lines[split] = []
            for index in range(len(opened)):
                record = opened.record(index)
                relative = f"images/{split}/{index:06d}.png"
                (task_dir / relative).parent.mkdir(parents=True, exist_ok=True)
                record.image.save(task_dir / relative)
                lines[split].append(f"{relative} {record.label}")
        if "train800" in lines and "val200" in lines:
            lines["train800val200"] = lines["train800"] + lines["val200"]
        for split in splits:
            (task_dir / f"{split}.txt").write_text("\n".join(lines[split]) + "\n")
        print(f"[ok]      {name:22s} " + ", ".join(f"{s} {len(lines[s])}" for s in splits))
    return 0


def _task_version(text: str) -> tuple[str, str]:
    task, sep, version = text.partition("=")
    if not sep or task not in VTAB_TASKS or not version:
        raise argparse.ArgumentTypeError(f"{text!r}: write TASK=VERSION with TASK one of {list(VTAB_TASKS)}.")
    return task, version


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m gift_experiment_utils.domains.vision.prepare", description=__doc__.split("\n\n")[0]
    )
    commands = parser.add_subparsers(dest="command", required=True)
    fgvc = commands.add_parser("fgvc-check", help="check the FGVC folders")
    fgvc.add_argument("--data-root", default="data", help="holds fgvc/<folder>/ (the experiment's data.root)")
    fgvc.add_argument("--dataset", nargs="*", choices=list(FGVC_DATASETS), default=list(FGVC_DATASETS))
    for command, text in [
        ("vtab-tfds", "download and prepare the tfds builders"),
        ("vtab-check", "check the four splits of each task"),
        ("vtab-export", "write the folder layout from tfds"),
    ]:
        sub = commands.add_parser(command, help=text)
        sub.add_argument(
            "--data-dir", required=True, help="the tfds data_dir (or, vtab-check --source folder: vtab-1k/)"
        )
        sub.add_argument("--task", nargs="*", choices=list(VTAB_TASKS), default=list(VTAB_TASKS))
        sub.add_argument(
            "--tfds-version",
            action="append",
            default=[],
            metavar="TASK=VERSION",
            type=_task_version,
            help="read/build TASK at VERSION instead of the paper's (repeatable)",
        )
        if command == "vtab-tfds":
            sub.add_argument("--manual-dir", default=None, help="manually downloaded archives (see prepare_vtab.sh)")
            sub.add_argument("--file-format", default="array_record", choices=["array_record", "tfrecord"])
        if command == "vtab-check":
            sub.add_argument("--source", default="tfds", choices=["tfds", "folder"])
        if command == "vtab-export":
            sub.add_argument("--out", required=True, help="the vtab-1k folder to write")
            sub.add_argument("--splits", nargs="*", choices=list(VTAB_SPLITS), default=list(VTAB_SPLITS))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        problems = _dispatch(args)
    except ModuleNotFoundError as error:  # a missing package: one line saying which
        print(f"error: {error}", file=sys.stderr)
        return 2
    if problems:
        print(f"{problems} problem(s); see above.", file=sys.stderr)
    return 1 if problems else 0


def _dispatch(args: argparse.Namespace) -> int:
    """Run the command; returns the number of problems found."""
    versions = dict(getattr(args, "tfds_version", []))
    if args.command == "fgvc-check":
        return fgvc_check(args.data_root, args.dataset)
    if args.command == "vtab-tfds":
        return vtab_tfds(
            args.data_dir, args.task, manual_dir=args.manual_dir, file_format=args.file_format, versions=versions
        )
    if args.command == "vtab-check":
        return vtab_check(args.data_dir, args.task, source=args.source, versions=versions)
    return vtab_export(args.data_dir, args.out, args.task, args.splits, versions=versions)


if __name__ == "__main__":
    sys.exit(main())
