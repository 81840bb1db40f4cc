"""GLUE metrics against hand-computed values; the evaluate module loaded by path agrees with them."""

from __future__ import annotations

import math

import pytest

from gift_experiment_utils.domains.glue.metrics import glue_metrics, load_glue_metric
from gift_experiment_utils.domains.glue.specs import GLUE_TASKS

# predictions 1 0 1 1 0 1 against references 1 0 0 1 0 0: TP=2, FP=2, TN=2, FN=0
BINARY_PRED, BINARY_REF = [1, 0, 1, 1, 0, 1], [1, 0, 0, 1, 0, 0]


def test_binary_metrics_by_hand():
    scores = glue_metrics("mrpc", BINARY_PRED, BINARY_REF)
    assert scores["accuracy"] == pytest.approx(4 / 6)
    assert scores["f1"] == pytest.approx(2 * 2 / (2 * 2 + 2 + 0))  # 2TP / (2TP + FP + FN) = 2/3
    # MCC = (TP·TN − FP·FN) / sqrt((TP+FP)(TP+FN)(TN+FP)(TN+FN)) = 4 / sqrt(4·2·4·2) = 0.5
    assert glue_metrics("cola", BINARY_PRED, BINARY_REF)["matthews_correlation"] == pytest.approx(0.5)


def test_correlations_by_hand():
    # deviations (-1.5, -.5, .5, 1.5) and (-1.5, .5, -.5, 1.5): r = 4 / sqrt(5 · 5) = 0.8; ranks equal the values
    scores = glue_metrics("stsb", [1.0, 2.0, 3.0, 4.0], [1.0, 3.0, 2.0, 4.0])
    assert scores == pytest.approx({"pearson": 0.8, "spearmanr": 0.8})
    # monotonic but not linear: Spearman 1, Pearson 8 / sqrt(2 · 294/9)
    scores = glue_metrics("stsb", [1.0, 2.0, 3.0], [1.0, 4.0, 9.0])
    assert scores["spearmanr"] == pytest.approx(1.0)
    assert scores["pearson"] == pytest.approx(8 / math.sqrt(2 * 294 / 9))


def test_multiclass_accuracy_and_degenerate_cases():
    assert glue_metrics("mnli", [0, 1, 2, 2], [0, 1, 1, 2]) == {"accuracy": 0.75}
    # undefined correlations (constant predictions) are 0, as scikit-learn's MCC already is
    assert glue_metrics("stsb", [2.5, 2.5, 2.5], [1.0, 2.0, 3.0]) == {"pearson": 0.0, "spearmanr": 0.0}
    assert glue_metrics("cola", [1, 1, 1], [0, 1, 0])["matthews_correlation"] == 0.0
    with pytest.raises(ValueError, match="Unknown GLUE task 'wnli'"):
        glue_metrics("wnli", [0], [0])
    with pytest.raises(ValueError, match="equal-length"):
        glue_metrics("rte", [0, 1], [0])


@pytest.mark.parametrize("name", sorted(GLUE_TASKS))
def test_every_task_reports_its_selection_metric(name):
    spec = GLUE_TASKS[name]
    values = [0.5, 1.5, 3.0, 4.5] if spec.is_regression else [0, 1, 1, 0]
    scores = glue_metrics(name, values, values)
    assert set(scores) == set(spec.metrics) and spec.selection_metric in scores
    assert scores[spec.selection_metric] == pytest.approx(1.0)


def test_evaluate_module_loaded_by_path_matches():
    assert load_glue_metric("mrpc").compute(predictions=BINARY_PRED, references=BINARY_REF) == pytest.approx(
        {"accuracy": 4 / 6, "f1": 2 / 3}
    )
    stsb = load_glue_metric("stsb").compute(predictions=[1.0, 2.0, 3.0, 4.0], references=[1.0, 3.0, 2.0, 4.0])
    assert stsb == pytest.approx({"pearson": 0.8, "spearmanr": 0.8})
