"""Prompt templates and training targets: the text a model sees and the text it learns to write.

Every example is first normalised to a `Record` (see formats.py); a template turns it into the prompt, a
target rule into the completion. The label mask is built later from the tokenised `prompt + target`.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

ALPACA_WITH_INPUT = (
    "Below is an instruction that describes a task, paired with an input that provides further context. "
    "Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n### Response:\n"
)
ALPACA_NO_INPUT = (
    "Below is an instruction that describes a task. Write a response that appropriately completes the request.\n\n"
    "### Instruction:\n{instruction}\n\n### Response:\n"
)
GSM8K_SUFFIX = "\nAnswer the above question. First think step by step and then answer the final number.\n"
COMMONSENSE_TRIGGER = "the correct answer is "
GSM8K_FINAL = "The final answer is: "


@dataclass
class Record:
    """One example in the form every template understands."""

    instruction: str  # the question / instruction
    input: str = ""  # Alpaca's optional context
    output: str = ""  # the reference completion (chain of thought, response, or GSM8K solution)
    answer: str = ""  # the gold answer the scorer compares with ("true", "18", "C")
    source: str = ""  # which eval set (or training file) it came from
    file: str = ""  # the data file it was read from (relative to the data root); "" when generated
    row: int | None = None  # its index in that file, to name it in warnings and predictions


# ---------------------------------------------------------------------------------------------- prompts
def alpaca_prompt(record: Record) -> str:
    if record.input.strip():
        return ALPACA_WITH_INPUT.format(instruction=record.instruction, input=record.input)
    return ALPACA_NO_INPUT.format(instruction=record.instruction)


PROMPTS: dict[str, Callable[[Record], str]] = {
    "commonsense": lambda record: f"{record.instruction}\n",
    "alpaca": alpaca_prompt,  # Alpaca template with or without the input block
    "gsm8k": lambda record: f"{record.instruction}{GSM8K_SUFFIX}",
}


# ---------------------------------------------------------------------------------------------- targets
def gsm8k_target(record: Record) -> str:
    """GSM8K: the worked solution, its "#### 18" line rewritten as "The final answer is: 18".

    (LoReFT's plain `str.replace` left two spaces before the number; the text is otherwise the same.)
    """
    return re.sub(r"####\s*", GSM8K_FINAL, record.output)


TARGETS: dict[str, Callable[[Record], str]] = {
    # commonsense: "the correct answer is <answer>" (the model writes the trigger itself)
    "trigger_answer": lambda record: f"{COMMONSENSE_TRIGGER}{record.answer}",
    # math / instruction tuning: the reference output as it is (chain of thought or response)
    "output": lambda record: record.output,
    "gsm8k": gsm8k_target,
}
