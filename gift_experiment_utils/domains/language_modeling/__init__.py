"""Language modeling (the paper's §2–4): commonsense, arithmetic, GSM8K tuning, instruction tuning.

    python -m gift_experiment_utils.run --config configs/language_modeling/llama1_7b/commonsense_gift_qv.yaml
    python -m gift_experiment_utils.domains.language_modeling.demo     # offline CPU mini-reproduction (`make demo`)

Rows of `LM_TASKS` (specs.py) hold what differs between tasks. Configs import this package to read
`LanguageModelingConfig`, so nothing heavy (transformers, data) is imported here.
"""

from .specs import LM_TASKS
from .task import LanguageModelingConfig, LanguageModelingTask

TASK = LanguageModelingTask

__all__ = ["LM_TASKS", "TASK", "LanguageModelingConfig", "LanguageModelingTask"]
