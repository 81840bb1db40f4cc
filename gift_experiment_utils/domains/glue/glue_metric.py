"""An `evaluate` metric module for GLUE, loaded by path (no hub): a drop-in for `evaluate.load("glue", task)`.

    import evaluate
    metric = evaluate.load("gift_experiment_utils/domains/glue/glue_metric.py", "mrpc")
    metric.compute(predictions=[1, 0, 1], references=[1, 1, 1])   # {"accuracy": 0.667, "f1": 0.8}

`evaluate` copies this file into its module cache and imports it from there, so it imports the computation
by its absolute name (the installed `gift_experiment_utils` package).
"""

import datasets
import evaluate

from gift_experiment_utils.domains.glue.metrics import glue_metrics
from gift_experiment_utils.domains.glue.specs import GLUE_TASKS

_DESCRIPTION = "GLUE metrics (accuracy, F1, Matthews correlation, Pearson, Spearman) computed offline."
_INPUTS = "predictions: class indices (scores for stsb); references: the same."


class GlueMetric(evaluate.Metric):
    def _info(self) -> evaluate.MetricInfo:
        if self.config_name not in GLUE_TASKS:
            raise KeyError(f"Unknown GLUE task {self.config_name!r}; choose one of {sorted(GLUE_TASKS)}.")
        value = "float64" if GLUE_TASKS[self.config_name].is_regression else "int64"
        return evaluate.MetricInfo(
            description=_DESCRIPTION,
            citation="",
            inputs_description=_INPUTS,
            features=datasets.Features({"predictions": datasets.Value(value), "references": datasets.Value(value)}),
        )

    def _compute(self, predictions, references):
        return glue_metrics(self.config_name, predictions, references)
