"""Generated vision data for the tests: FGVC folders with VPT split JSON, the VTAB folder layout, a tiny ViT."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

# A 2-block ViT of width 32 on 32 px images (patch 8 → 16 tokens): every method runs on it in seconds.
TINY_VIT = [
    "model.name=vit_tiny_patch16_224",
    "task.pretrained=false",
    "task.image_size=32",
    "task.model_kwargs={patch_size: 8, embed_dim: 32, depth: 2, num_heads: 2}",
]
FAST_LOOP = [  # one epoch of 2 updates (2 micro-batches of 4 each), validation and test at the end
    "train.epochs=1",
    "train.warmup_epochs=0",
    "train.batch_size=4",
    "train.effective_batch_size=8",
    "data.max_train_samples=16",
    "data.num_workers=0",
    "data.eval_batch_size=8",
    "log.progress_bar=false",
]


def write_image(path: Path, rng: np.random.Generator, size: tuple[int, int] = (40, 30)) -> None:
    from PIL import Image

    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)).save(path)


def make_fgvc(root: Path, *, image_dir: str, class_ids: list[int], per_split: dict[str, int], seed: int = 0) -> Path:
    """A VPT-style FGVC folder: {train,val,test}.json {relative path: class id} and the images they list.

    Class ids are written as given (e.g. sparse NABirds-like ids); every split cycles through them from a
    different offset, so a per-split remapping would disagree with the global one."""
    rng = np.random.default_rng(seed)
    for offset, (split, count) in enumerate(per_split.items()):
        entries = {}
        for i in range(count):
            class_id = class_ids[(i + offset) % len(class_ids)]
            relative = f"{class_id:04d}.class/{split}_{i:03d}.jpg"
            write_image(root / image_dir / relative, rng)
            entries[relative] = class_id
        (root / f"{split}.json").write_text(json.dumps(entries))
    return root


def make_vtab_folder(root: Path, task: str, *, num_classes: int, sizes: dict[str, int], seed: int = 0) -> Path:
    """The pre-extracted VTAB-1k layout: <root>/<task>/images/... and the four list files."""
    rng = np.random.default_rng(seed)
    task_dir = root / task
    lists: dict[str, list[str]] = {}
    for split in ("train800", "val200", "test"):
        lines = []
        for i in range(sizes[split]):
            relative = f"images/{split}/{i:05d}.png"
            write_image(task_dir / relative, rng, size=(24, 24))
            lines.append(f"{relative} {(i * 7 + len(split)) % num_classes}")
        lists[split] = lines
    lists["train800val200"] = lists["train800"] + lists["val200"]
    for split, lines in lists.items():
        (task_dir / f"{split}.txt").write_text("\n".join(lines) + "\n")
    return task_dir
