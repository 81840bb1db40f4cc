"""The figure CLI end to end on real photographs: a run directory, a folder with a split file, a dataset plug-in."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "visual_classification" / "visualize.py"
FGVC_GIFT = REPO / "configs" / "vision" / "fgvc" / "gift.yaml"
PHOTOS = ("chelsea", "astronaut", "coffee")  # scikit-image's sample photographs
PANEL = 64  # pixels per panel, small to keep the test fast


@pytest.fixture(scope="module")
def visualize():
    from gift_experiment_utils.domains.vision import visualize

    return visualize


def write_run_config(run: Path, *overrides: str) -> None:
    """config.yaml as the engine writes it: the resolved config of a (tiny, random) FGVC GIFT run."""
    from gift_experiment_utils.loading import config_to_yaml, load_config

    base = ["model.name=vit_tiny_patch16_224", "task.pretrained=false", "task.model_kwargs={depth: 2}"]
    (run / "config.yaml").write_text(config_to_yaml(load_config(FGVC_GIFT, [*base, *overrides])))


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory, make_vit):
    """A run directory as the engine writes it: config.yaml and the exported adapter in adapter/."""
    run = tmp_path_factory.mktemp("run")
    make_vit().save_pretrained(run / "adapter")
    write_run_config(run)
    return run


@pytest.fixture(scope="module")
def images(tmp_path_factory):
    from skimage import data

    folder = tmp_path_factory.mktemp("images")
    (folder / "cats").mkdir()
    Image.fromarray(data.chelsea()).save(folder / "cats" / "chelsea.jpg")
    Image.fromarray(data.astronaut()).save(folder / "astronaut.png")
    Image.fromarray(data.coffee()).save(folder / "coffee.png")
    (folder / "split.json").write_text(json.dumps({"cats/chelsea.jpg": 1, "astronaut.png": 3, "coffee.png": 3}))
    return folder


def panels(png: Path, visualize, rows: int, columns: int) -> list[np.ndarray]:
    pixels = np.asarray(Image.open(png).convert("RGB")).astype(float)
    return [
        pixels[
            visualize.TOP_PX + r * PANEL : visualize.TOP_PX + (r + 1) * PANEL,
            visualize.LEFT_PX + c * PANEL : visualize.LEFT_PX + (c + 1) * PANEL,
        ]
        for r in range(rows)
        for c in range(columns)
    ]


def test_run_directory_and_folder(visualize, run_dir, images, tmp_path):
    out = tmp_path / "out"
    index = visualize.main(
        [
            str(run_dir),
            "--images",
            str(images),
            "--out",
            str(out),
            "--clusters",
            "0-3",
            "--threshold",
            "0.5",
            "--panel-size",
            str(PANEL),
            "--colormap",
            "viridis",
        ]
    )
    figures = sorted(p.name for p in (out / "figures").iterdir())
    assert figures == sorted(f"{n}_{s}.png" for n in ("astronaut", "cats_chelsea", "coffee") for s in ("pre", "post"))
    columns = 1 + 4 + 1  # image, clusters 0-3, argmax
    for name in figures:
        png = out / "figures" / name
        assert Image.open(png).size == visualize.figure_size(2, columns, PANEL)
        for panel in panels(png, visualize, rows=2, columns=columns):
            assert panel.std() > 5, f"a flat panel in {name}"
    page = index.read_text()
    assert page.count('<img src="figures/') == 6 and "threshold: 0.5" in page and "label –" in page


def test_split_file_filters_by_class_and_correctness(visualize, run_dir, images, tmp_path):
    flags = [
        "--images",
        str(images),
        "--labels",
        str(images / "split.json"),
        "--classes",
        "3",
        "--stage",
        "post",
        "--layers",
        "-1",
        "--panel-size",
        str(PANEL),
        "--transform",
        "fgvc",
    ]
    with pytest.raises(ValueError, match="saved for another backbone"):  # a 12-block ViT; the adapter has 2 blocks
        visualize.main(
            [
                str(run_dir / "adapter"),
                "--model",
                "vit_tiny_patch16_224",
                "--backbone-weights",
                "random",
                *flags,
                "--out",
                str(tmp_path / "mismatch"),
            ]
        )
    drawn = {}
    for only in ("correct", "incorrect"):
        out = tmp_path / only
        visualize.main([str(run_dir), *flags, "--out", str(out), "--only", only])
        drawn[only] = {p.name for p in (out / "figures").glob("*.png")}
        assert ("✓" in (out / "index.html").read_text()) == (only == "correct" and bool(drawn[only]))
        for png in drawn[only]:
            assert Image.open(out / "figures" / png).size == visualize.figure_size(1, 2 + 8, PANEL)
    assert drawn["correct"] | drawn["incorrect"] == {"astronaut_post.png", "coffee_post.png"}  # class 3 only
    assert not drawn["correct"] & drawn["incorrect"]


def test_dataset_plug_in(visualize, run_dir, tmp_path, monkeypatch):
    """--dataset MODULE:FUNCTION: an image source (len + record) or (image, label[, id]) tuples."""
    from skimage import data

    (tmp_path / "my_split.py").write_text(
        "from skimage import data\n"
        "class Source:\n"
        "    num_classes = 5\n"
        "    def __len__(self): return 2\n"
        "    def record(self, i): return ([data.chelsea(), data.coffee()][i], i, f'test/{i}.jpg')\n"
        "def split(kind, limit=2):\n"
        "    return Source() if kind == 'source' else [(data.astronaut(), 4)][:limit]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    samples = list(visualize.records_source(visualize.dataset_records("my_split:split", ["kind=source"])))
    assert [(s.name, s.label) for s in samples] == [("test_0", 0), ("test_1", 1)]
    samples = list(visualize.records_source(visualize.dataset_records("my_split:split", ["kind=pairs", "limit=1"])))
    assert [(s.name, s.label, s.image.shape) for s in samples] == [("sample_00000", 4, data.astronaut().shape)]
    out = tmp_path / "out"
    visualize.main(
        [
            str(run_dir),
            "--dataset",
            "my_split:split",
            "--dataset-arg",
            "kind=source",
            "--out",
            str(out),
            "--stage",
            "pre",
            "--layers",
            "0",
            "--clusters",
            "5",
            "--max-images",
            "1",
            "--panel-size",
            str(PANEL),
        ]
    )
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["test_0_pre.png"]


def test_split_of_the_runs_own_data(visualize, run_dir, tmp_path, monkeypatch):
    """--split reads the run's data through gift_experiment_utils.domains.vision.sources.config_images."""
    from skimage import data

    from gift_experiment_utils.domains.vision import common, sources

    calls = []

    def fake_config_images(config_file, split, *, classes=None):
        calls.append((config_file, split, classes))
        yield common.ImageRecord(data.chelsea(), 2, "birds/0001.jpg")

    monkeypatch.setattr(sources, "config_images", fake_config_images)
    out = tmp_path / "out"
    visualize.main([str(run_dir), "--split", "test", "--classes", "2", "--out", str(out), "--stage", "post",
                    "--layers", "0", "--panel-size", str(PANEL)])  # fmt: skip
    assert calls == [(str(run_dir / "config.yaml"), "test", [2])]
    assert [p.name for p in (out / "figures").iterdir()] == ["birds_0001_post.png"]
    assert "label 2" in (out / "index.html").read_text()


def test_source_errors(visualize, run_dir, images, tmp_path):
    with pytest.raises(ValueError, match="exactly one image source"):
        visualize.main([str(run_dir), "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="exactly one image source"):
        visualize.main([str(run_dir), "--images", str(images), "--split", "test", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="--split needs a run directory"):
        visualize.main([str(run_dir / "adapter"), "--split", "test", "--model", "x", "--out", str(tmp_path)])
    with pytest.raises(ValueError, match="--only needs labelled images"):
        visualize.main([str(run_dir), "--images", str(images), "--only", "correct", "--out", str(tmp_path)])
    with pytest.raises(FileNotFoundError, match="is not a saved GIFT adapter"):
        visualize.main([str(tmp_path), "--images", str(images), "--out", str(tmp_path)])
    with pytest.raises(SystemExit):
        visualize.build_parser().parse_args([str(run_dir), "--out", "x", "--colormap", "no-such-map"])
    assert visualize.parse_indices("0-2,5,-1") == [0, 1, 2, 5, -1] and visualize.parse_indices("all") is None


def test_the_input_size_is_the_trained_models(visualize, images, make_vit, tmp_path):
    """A run trained at task.image_size=64 (e.g. a CPU smoke run) is drawn at 64 px, not the pretrained 224."""
    run = tmp_path / "run"
    make_vit(img_size=64).save_pretrained(run / "adapter")
    write_run_config(run, "task.image_size=64")
    out = tmp_path / "out"
    visualize.main([str(run), "--images", str(images), "--out", str(out), "--clusters", "0-1", "--panel-size", "32"])
    assert len(list((out / "figures").iterdir())) == 6


def test_the_script_is_a_thin_entry_to_the_package(tmp_path):
    import subprocess

    done = subprocess.run([sys.executable, str(SCRIPT), "--help"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0 and "--backbone-weights" in done.stdout
    assert len(SCRIPT.read_text().splitlines()) < 15
