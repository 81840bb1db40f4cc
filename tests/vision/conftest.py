"""Vision test fixtures: generated FGVC and VTAB folders, tfds mocked or prepared in a temporary folder."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.dirname(__file__))  # vision_data.py

import pytest  # noqa: E402
from vision_data import make_fgvc, make_vtab_folder  # noqa: E402

# tfds 4.9.10 builds these three only at newer versions than the paper's (prepared data of the paper's
# versions still loads, from files); mocks build from code, so they use the code's version.
MOCK_EXAMPLES = 8  # per split: one training update of 8
CODE_VERSIONS = {"caltech101": "3.0.2", "oxford_iiit_pet": "4.0.0", "svhn": "3.1.0"}


@pytest.fixture(scope="session")
def fgvc_cub(tmp_path_factory):
    """A CUB-like folder: 200 classes with ids 1..200 (as VPT's files), all in train, a few in val and test."""
    root = tmp_path_factory.mktemp("fgvc") / "CUB_200_2011"
    return make_fgvc(
        root, image_dir="images", class_ids=list(range(1, 201)), per_split={"train": 200, "val": 6, "test": 6}
    )


@pytest.fixture(scope="session")
def vtab_folder(tmp_path_factory):
    """The pre-extracted layout for dtd (47 classes), small lists."""
    root = tmp_path_factory.mktemp("vtab-1k")
    make_vtab_folder(root, "dtd", num_classes=47, sizes={"train800": 16, "val200": 6, "test": 6})
    return root


@pytest.fixture(scope="session")
def tfds_module():
    import tensorflow_datasets as tfds  # imported once for the session (TensorFlow itself stays lazy)

    return tfds


@pytest.fixture
def mock_vtab(tfds_module):
    """tfds mocked with consistent sequence lengths (10 objects per scene); records each split asked for."""
    from tensorflow_datasets.testing.mocking import RandomFakeGenerator

    asked: list[tuple[str, str, str]] = []

    def as_data_source(builder, split, decoders=None, **kwargs):
        asked.append((builder.name, str(builder.version), split))
        generator = RandomFakeGenerator(builder.info.features, MOCK_EXAMPLES, constant_dynamic_shape=True)
        return [generator[i] for i in range(MOCK_EXAMPLES)]

    with tfds_module.testing.mock_data(as_data_source_fn=as_data_source):
        yield asked
