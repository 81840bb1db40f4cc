"""GLUE metrics offline: scikit-learn and scipy behind one function, with the names `evaluate`'s "glue" uses.

    glue_metrics("mrpc", predictions, references)  -> {"accuracy": ..., "f1": ...}
    load_glue_metric("cola")                        -> an `evaluate` module, loaded by path (glue_metric.py)

Values are fractions (0.87), as `evaluate.load("glue", task)` returns them; tables print them ×100.
A correlation that is undefined (constant predictions or references, e.g. a collapsed regressor) is 0.0,
the convention scikit-learn already uses for Matthews correlation, so that selection never meets a NaN.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .specs import GLUE_TASKS


def accuracy(predictions: np.ndarray, references: np.ndarray) -> float:
    return float(np.mean(predictions == references))


def f1(predictions: np.ndarray, references: np.ndarray) -> float:
    """Binary F1 of the positive class (label 1: "equivalent", "duplicate")."""
    from sklearn.metrics import f1_score

    return float(f1_score(references, predictions, pos_label=1, zero_division=0.0))


def matthews_correlation(predictions: np.ndarray, references: np.ndarray) -> float:
    from sklearn.metrics import matthews_corrcoef

    return float(matthews_corrcoef(references, predictions))


def pearson(predictions: np.ndarray, references: np.ndarray) -> float:
    if _constant(predictions) or _constant(references):
        return 0.0
    from scipy.stats import pearsonr

    return float(pearsonr(predictions, references)[0])


def spearmanr(predictions: np.ndarray, references: np.ndarray) -> float:
    if _constant(predictions) or _constant(references):
        return 0.0
    from scipy.stats import spearmanr as scipy_spearmanr

    return float(scipy_spearmanr(predictions, references)[0])


def _constant(values: np.ndarray) -> bool:
    return len(values) < 2 or bool(np.all(values == values[0]))


METRICS: dict[str, Callable[[np.ndarray, np.ndarray], float]] = {
    "accuracy": accuracy,
    "f1": f1,
    "matthews_correlation": matthews_correlation,
    "pearson": pearson,
    "spearmanr": spearmanr,
}


def glue_metrics(
    task: str, predictions: Sequence[Any] | np.ndarray, references: Sequence[Any] | np.ndarray
) -> dict[str, float]:
    """The metrics of GLUE task `task` (its row's `metrics`) for class indices, or scores for STS-B."""
    if task not in GLUE_TASKS:
        raise ValueError(f"Unknown GLUE task {task!r}; choose one of {sorted(GLUE_TASKS)}.")
    spec = GLUE_TASKS[task]
    dtype = np.float64 if spec.is_regression else np.int64
    predictions, references = np.asarray(predictions, dtype=dtype), np.asarray(references, dtype=dtype)
    if predictions.shape != references.shape or predictions.ndim != 1:
        raise ValueError(
            f"predictions {predictions.shape} and references {references.shape} must be equal-length 1-D arrays."
        )
    if len(references) == 0:
        raise ValueError(f"No examples to score for GLUE task {task!r}.")
    return {name: METRICS[name](predictions, references) for name in spec.metrics}


GLUE_METRIC_SCRIPT = Path(__file__).with_name("glue_metric.py")


def load_glue_metric(task: str, **kwargs: Any) -> Any:
    """`evaluate.load("glue", task)` without the hub: the same module, shipped here and loaded by path."""
    import evaluate

    if task not in GLUE_TASKS:
        raise ValueError(f"Unknown GLUE task {task!r}; choose one of {sorted(GLUE_TASKS)}.")
    return evaluate.load(str(GLUE_METRIC_SCRIPT), task, keep_in_memory=True, **kwargs)
