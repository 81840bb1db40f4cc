"""GLUE data: every task from the official TSV layout and a parquet snapshot, layout errors, the held-out slice,
and prediction files in the GLUE-server format."""

from __future__ import annotations

from pathlib import Path

import pytest

from gift_experiment_utils.domains.glue.data import TRAIN, DataLocation, heldout_indices, load_part
from gift_experiment_utils.domains.glue.predictions import read_predictions, write_predictions
from gift_experiment_utils.domains.glue.specs import GLUE_TASKS

SIZES = {"train": 24, "dev": 8, "test": 6}


def _parts(spec):
    return [(TRAIN, "train"), *((p, "dev") for p in spec.validation), *((p, "test") for p in spec.test)]


@pytest.mark.parametrize("name", sorted(GLUE_TASKS))
def test_every_task_loads_from_the_official_tsv_layout(name, glue_tsv):
    spec = GLUE_TASKS[name]
    where = DataLocation("tsv", glue_tsv, hub_id="")
    for part, kind in _parts(spec):
        data = load_part(spec, part, where)
        assert data.column_names == [*spec.text_keys, "label", "idx"]
        assert len(data) == SIZES[kind] and data["idx"] == list(range(len(data)))
        labels = data["label"]
        if kind == "test":
            assert set(labels) == {-1}
        elif spec.is_regression:
            assert all(0.0 <= y <= 5.0 for y in labels) and len(set(labels)) > 2
        else:
            assert set(labels) == set(range(spec.num_labels))  # textual labels (MNLI, QNLI, RTE) mapped to indices
        assert all(text for key in spec.text_keys for text in data[key])


def test_tsv_fields_keep_quotes_and_cola_has_no_header(glue_tsv):
    spec = GLUE_TASKS["cola"]
    train = load_part(spec, TRAIN, DataLocation("tsv", glue_tsv, hub_id=""))
    first_line = (glue_tsv / "CoLA" / "train.tsv").read_text().splitlines()[0].split("\t")
    assert train[0]["sentence"] == first_line[3] and train[0]["label"] == int(first_line[1])  # line 1 is data
    texts = [
        t
        for name in GLUE_TASKS
        for t in load_part(GLUE_TASKS[name], TRAIN, DataLocation("tsv", glue_tsv, ""))[GLUE_TASKS[name].text_keys[0]]
    ]
    assert any('"quoted' in text for text in texts)  # GLUE's TSVs are unquoted: a '"' is text


def test_parquet_snapshot_equals_tsv(glue_tsv, glue_parquet):
    for spec in GLUE_TASKS.values():
        for part, _ in _parts(spec):
            from_tsv = load_part(spec, part, DataLocation("tsv", glue_tsv, hub_id=""))
            from_parquet = load_part(spec, part, DataLocation("parquet", glue_parquet, hub_id=""))
            assert from_parquet.to_dict() == from_tsv.to_dict(), (spec.name, part.name)


def test_missing_task_folder_names_the_task_and_the_layout(tmp_path, glue_tsv):
    with pytest.raises(
        FileNotFoundError,
        match=r"GLUE task 'rte' \(train\): no folder .*RTE.*<data_dir>/RTE/"
        r"\{train.tsv, dev.tsv, test.tsv\}",
    ):
        load_part(GLUE_TASKS["rte"], TRAIN, DataLocation("tsv", tmp_path, hub_id=""))
    with pytest.raises(FileNotFoundError, match=r"GLUE task 'mnli' .*<data_dir>/mnli/\{train,validation_matched,"):
        load_part(GLUE_TASKS["mnli"], TRAIN, DataLocation("parquet", tmp_path, hub_id=""))
    (tmp_path / "MNLI").mkdir()  # the folder exists, a file does not: the error names the file and AX's folder
    with pytest.raises(
        FileNotFoundError, match=r"no file .*MNLI/dev_matched.tsv.*<data_dir>/diagnostic/diagnostic.tsv"
    ):
        load_part(GLUE_TASKS["mnli"], GLUE_TASKS["mnli"].validation[0], DataLocation("tsv", tmp_path, hub_id=""))


def test_bad_label_and_short_row_name_file_and_line(tmp_path):
    (tmp_path / "RTE").mkdir()
    (tmp_path / "RTE" / "train.tsv").write_text(
        "index\tsentence1\tsentence2\tlabel\n0\ta\tb\tentailment\n1\ta\tb\tmaybe\n"
    )
    with pytest.raises(
        ValueError, match=r"train.tsv, line 3: label 'maybe' is not one of \['entailment', 'not_entailment'\]"
    ):
        load_part(GLUE_TASKS["rte"], TRAIN, DataLocation("tsv", tmp_path, hub_id=""))
    (tmp_path / "RTE" / "train.tsv").write_text("index\tsentence1\tsentence2\tlabel\n0\ta\n")
    with pytest.raises(ValueError, match="line 2: 2 fields, expected at least 4"):
        load_part(GLUE_TASKS["rte"], TRAIN, DataLocation("tsv", tmp_path, hub_id=""))


def test_heldout_slice_is_fixed_disjoint_and_capped():
    kept, held = heldout_indices(100, fraction=0.1, max_examples=None, seed=0)
    assert len(held) == 10 and sorted(kept + held) == list(range(100)) and not set(kept) & set(held)
    assert heldout_indices(100, fraction=0.1, max_examples=None, seed=0) == (kept, held)
    assert heldout_indices(100, fraction=0.1, max_examples=None, seed=1)[1] != held
    assert len(heldout_indices(100_000, fraction=0.1, max_examples=5000, seed=0)[1]) == 5000
    with pytest.raises(ValueError, match="would leave nothing"):
        heldout_indices(1, fraction=0.5, max_examples=None, seed=0)


def test_prediction_files_in_glue_server_format(tmp_path: Path):
    path = write_predictions(GLUE_TASKS["cola"], "CoLA.tsv", tmp_path, [2, 0, 1], [1, 0, 1])
    assert path.read_text() == "index\tprediction\n0\t0\n1\t1\n2\t1\n"  # sorted by index, class indices
    path = write_predictions(GLUE_TASKS["mnli"], "MNLI-m.tsv", tmp_path, [0, 1, 2], [2, 0, 1])
    assert read_predictions(path) == [(0, "contradiction"), (1, "entailment"), (2, "neutral")]
    path = write_predictions(GLUE_TASKS["rte"], "RTE.tsv", tmp_path, [0, 1], [1, 0])
    assert read_predictions(path) == [(0, "not_entailment"), (1, "entailment")]
    path = write_predictions(GLUE_TASKS["stsb"], "STS-B.tsv", tmp_path, [0, 1, 2], [-0.3, 2.34567, 5.8])
    assert read_predictions(path) == [(0, "0.000"), (1, "2.346"), (2, "5.000")]  # clipped to [0, 5]
    with pytest.raises(ValueError, match="repeated test indices"):
        write_predictions(GLUE_TASKS["sst2"], "SST-2.tsv", tmp_path, [0, 0], [1, 1])
    with pytest.raises(ValueError, match="predicted class 3 is outside 0 .. 1"):
        write_predictions(GLUE_TASKS["sst2"], "SST-2.tsv", tmp_path, [0], [3])
