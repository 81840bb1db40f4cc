"""GLUE with RoBERTa (the paper's §5 table): 8 tasks as rows of `GLUE_TASKS`, offline metrics, two protocols.

    python -m gift_experiment_utils.run --config configs/glue/roberta-base/gift.yaml task.name=rte
    python -m gift_experiment_utils.domains.glue.submit runs/glue/roberta-base-final --out submission/   # server files
    python -m gift_experiment_utils.domains.glue.results runs/glue                                       # the GLUE table

Nothing heavy is imported here: configs import this package to read `GlueConfig`.
"""

from .specs import GLUE_TASKS
from .task import GlueConfig, GlueTask

TASK = GlueTask

__all__ = ["GLUE_TASKS", "TASK", "GlueConfig", "GlueTask"]
