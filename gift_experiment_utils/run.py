"""Train and evaluate one experiment: `python -m gift_experiment_utils.run --config FILE [key=value ...]`.

    python -m gift_experiment_utils.run --config configs/toy/gift.yaml train.lr=1e-3 method.rank=4
    python -m gift_experiment_utils.run --config configs/toy/gift.yaml --print-config
    accelerate launch --config_file configs/accelerate/2gpu.yaml -m gift_experiment_utils.run --config ...

The same command runs on one CPU, one GPU or many (through `accelerate launch`). A run whose folder has
results.json is skipped; one with checkpoints/last.pt resumes.
"""

from __future__ import annotations

import argparse
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
    parser.add_argument("overrides", nargs="*", metavar="key=value", help="dotted overrides, e.g. train.lr=2e-4")
    return parser.parse_args(argv)


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
