"""Train and evaluate one experiment: `python -m gift_experiment_utils.run --config FILE [key=value ...]`.

    python -m gift_experiment_utils.run --config configs/toy/gift.yaml train.lr=1e-3 method.rank=4
    python -m gift_experiment_utils.run --config configs/toy/gift.yaml --print-config
    python -m gift_experiment_utils.run --config configs/toy/gift.yaml --eval-only             # zero-shot
    python -m gift_experiment_utils.run --config <run>/config.yaml --adapter <run>             # a saved adapter
    accelerate launch --config_file configs/accelerate/2gpu.yaml -m gift_experiment_utils.run --config ...

The same command runs on one CPU, one GPU or many (through `accelerate launch`). A run whose folder has
results.json is skipped; one with checkpoints/last.pt resumes. `--eval-only` and `--adapter DIR` are the
config keys `eval.only=true` and `eval.adapter=DIR` (so an evaluate-only run has its own run folder).
"""

from __future__ import annotations

import argparse
import json
import logging
import sys

from .loading import config_to_yaml, load_config


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m gift_experiment_utils.run",
        description="Train and evaluate one experiment config through the shared engine.",
    )
    parser.add_argument("--config", help="experiment YAML (its folder's _base.yaml files apply first)")
    parser.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    parser.add_argument(
        "--eval-only",
        action="store_true",
        help="evaluate the val and test splits without training (eval.only=true); zero-shot without --adapter",
    )
    parser.add_argument(
        "--adapter",
        metavar="DIR",
        help="evaluate this saved adapter (a run's adapter/ folder or the run folder); implies --eval-only",
    )
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. train.lr=2e-4")
    args = parser.parse_args(argv)
    if args.eval_only or args.adapter:  # the flags are config keys, applied after every other override
        args.overrides.append("eval.only=true")
    if args.adapter:
        args.overrides.append(f"eval.adapter={json.dumps(args.adapter)}")  # a JSON string is YAML: any path stays a str
    return args


def setup_logging() -> None:
    """INFO from the engine (main process only, see Trainer.info); libraries keep their own levels."""
    logger = logging.getLogger("gift_experiment_utils")
    if not logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(message)s", datefmt="%H:%M:%S"))
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        config = load_config(args.config, args.overrides)
    except (ValueError, TypeError, FileNotFoundError) as error:  # a user error: one line, no traceback
        print(f"error: {error}", file=sys.stderr)
        return 2
    if args.print_config:
        print(config_to_yaml(config), end="")
        return 0
    setup_logging()
    from .train import run  # torch, accelerate: only once the config is known to be valid

    run(config)
    return 0


if __name__ == "__main__":
    sys.exit(main())
