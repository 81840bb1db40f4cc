"""A generated, deterministic GSM8K-style dataset of arithmetic word problems (the offline demo's data).

Each problem takes two or three operations on small numbers and comes with a worked solution that ends,
as GSM8K's do, in "#### <answer>":

    Mia has 14 stickers. She buys 9 more and then gives 6 to Omar. How many stickers does Mia have now?
    Mia has 14 + 9 = 23 stickers after buying.
    She gives 6 away, so she has 23 - 6 = 17 stickers left.
    #### 17

Problems are a function of (seed, index) only (Python's `random.Random`, stable across versions), and
no held-out question appears in the training set.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from .prompts import Record

NAMES = [
    ("Mia", "She"),
    ("Omar", "He"),
    ("Lena", "She"),
    ("Ravi", "He"),
    ("Sofia", "She"),
    ("Tom", "He"),
    ("Aisha", "She"),
    ("Ben", "He"),
    ("Chen", "He"),
    ("Nora", "She"),
    ("Diego", "He"),
    ("Yuki", "She"),
]
ITEMS = ["apples", "stickers", "marbles", "pencils", "cookies", "stamps", "shells", "cards", "books", "eggs"]


@dataclass
class ArithmeticConfig:
    num_train: int = 1000
    num_test: int = 100  # held out: the demo's validation split
    seed: int = 0  # the data does not depend on experiment.seed
    max_operand: int = 20  # operands of + and −; factors stay ≤ 10 and answers ≥ 0

    def validate(self) -> None:
        if self.num_train < 1 or self.num_test < 1:
            raise ValueError("Config keys 'task.arithmetic.num_train' / 'num_test': must be >= 1.")
        if self.max_operand < 5:
            raise ValueError(f"Config key 'task.arithmetic.max_operand': must be >= 5, got {self.max_operand}.")


Problem = tuple[str, list[str], int]  # question, solution lines, answer


def _buy_and_give(rng: random.Random, top: int) -> Problem:
    (name, she), (friend, _) = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    a, b = rng.randint(2, top), rng.randint(2, top)
    c = rng.randint(1, a + b - 1)
    return (
        f"{name} has {a} {item}. {she} buys {b} more and then gives {c} to {friend}. "
        f"How many {item} does {name} have now?",
        [
            f"{name} has {a} + {b} = {a + b} {item} after buying.",
            f"{she} gives {c} away, so {she.lower()} has {a + b} - {c} = {a + b - c} {item} left.",
        ],
        a + b - c,
    )


def _boxes(rng: random.Random, top: int) -> Problem:
    (name, she), _ = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    a, b = rng.randint(2, 10), rng.randint(2, 10)
    c = rng.randint(1, a * b - 1)
    return (
        f"{name} buys {a} boxes of {item}. Each box holds {b} {item}. {she} uses {c} of them. "
        f"How many {item} are left?",
        [f"The boxes hold {a} * {b} = {a * b} {item}.", f"After using {c}, {a * b} - {c} = {a * b - c} are left."],
        a * b - c,
    )


def _change(rng: random.Random, top: int) -> Problem:
    (name, _), _ = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    a, b = rng.randint(2, 10), rng.randint(2, 10)
    bill = next(v for v in (20, 50, 100, 200) if v >= a * b)
    return (
        f"{name} buys {a} {item} for ${b} each and pays with a ${bill} bill. How much change does {name} get?",
        [f"The {item} cost {a} * {b} = ${a * b}.", f"The change is {bill} - {a * b} = ${bill - a * b}."],
        bill - a * b,
    )


def _share(rng: random.Random, top: int) -> Problem:
    (name, she), _ = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    friends, each = rng.randint(2, 10), rng.randint(2, 10)
    extra = rng.randint(1, top)
    total = friends * each
    return (
        f"{name} has {total} {item} and shares them equally among {friends} friends. Then each friend finds "
        f"{extra} more {item}. How many {item} does each friend have now?",
        [
            f"Each friend first gets {total} / {friends} = {each} {item}.",
            f"With {extra} more, each friend has {each} + {extra} = {each + extra} {item}.",
        ],
        each + extra,
    )


def _reading(rng: random.Random, top: int) -> Problem:
    (name, she), _ = rng.sample(NAMES, 2)
    pages, days, last = rng.randint(2, 10), rng.randint(2, 10), rng.randint(1, top)
    return (
        f"{name} reads {pages} pages every day for {days} days and then {last} pages on the next day. "
        f"How many pages does {name} read in total?",
        [
            f"In {days} days {she.lower()} reads {pages} * {days} = {pages * days} pages.",
            f"In total {she.lower()} reads {pages * days} + {last} = {pages * days + last} pages.",
        ],
        pages * days + last,
    )


def _together(rng: random.Random, top: int) -> Problem:
    (name, _), (friend, _) = rng.sample(NAMES, 2)
    item = rng.choice(ITEMS)
    a, times = rng.randint(2, 10), rng.randint(2, 5)
    return (
        f"{name} has {a} {item}. {friend} has {times} times as many {item} as {name}. "
        f"How many {item} do they have together?",
        [
            f"{friend} has {a} * {times} = {a * times} {item}.",
            f"Together they have {a} + {a * times} = {a + a * times} {item}.",
        ],
        a + a * times,
    )


def _wages(rng: random.Random, top: int) -> Problem:
    (name, she), _ = rng.sample(NAMES, 2)
    rate, hours = rng.randint(5, 10), rng.randint(2, 8)
    earned = rate * hours
    lunch = rng.randint(1, max(1, earned // 2))
    book = rng.randint(1, earned - lunch)
    left = earned - lunch - book
    return (
        f"{name} earns ${rate} an hour and works {hours} hours. {she} spends ${lunch} on lunch and ${book} on "
        f"a book. How much money does {name} have left?",
        [
            f"{she} earns {rate} * {hours} = ${earned}.",
            f"{she} spends {lunch} + {book} = ${lunch + book}.",
            f"{she} has {earned} - {lunch + book} = ${left} left.",
        ],
        left,
    )


def _farm(rng: random.Random, top: int) -> Problem:
    cows, more = rng.randint(2, top), rng.randint(1, top)
    sheep = cows + more
    return (
        f"A farm has {cows} cows and {more} more sheep than cows. How many cows and sheep does the farm have "
        "altogether?",
        [
            f"The farm has {cows} + {more} = {sheep} sheep.",
            f"Altogether it has {cows} + {sheep} = {cows + sheep} animals.",
        ],
        cows + sheep,
    )


TEMPLATES = [_buy_and_give, _boxes, _change, _share, _reading, _together, _wages, _farm]


def problem(seed: int, index: int, max_operand: int) -> Record:
    rng = random.Random(f"{seed}-{index}")
    question, lines, answer = TEMPLATES[index % len(TEMPLATES)](rng, max_operand)
    solution = "\n".join([*lines, f"#### {answer}"])
    return Record(instruction=question, output=solution, answer=str(answer), source="arithmetic")


def make_splits(config: ArithmeticConfig) -> tuple[list[Record], list[Record]]:
    """(train, held-out): training problems from stream 0, held-out ones from stream 1 minus repeats."""
    train = [problem(config.seed * 2, i, config.max_operand) for i in range(config.num_train)]
    seen = {r.instruction for r in train}
    held_out: list[Record] = []
    index = 0
    while len(held_out) < config.num_test:
        record = problem(config.seed * 2 + 1, index, config.max_operand)
        index += 1
        if record.instruction not in seen:
            held_out.append(record)
            seen.add(record.instruction)
    return train, held_out
