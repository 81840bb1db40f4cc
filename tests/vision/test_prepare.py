"""The data checks and the tfds → folder export of `python -m gift_experiment_utils.domains.vision.prepare`."""

from __future__ import annotations

import shutil

from conftest import MOCK_EXAMPLES

from gift_experiment_utils.domains.vision.prepare import main
from gift_experiment_utils.domains.vision.vtab import VTAB_SPLITS, ImageListImages, TfdsImages


def test_fgvc_check(fgvc_cub, tmp_path, capsys):
    data_root = tmp_path / "data"
    shutil.copytree(fgvc_cub, data_root / "fgvc" / "CUB_200_2011")
    assert main(["fgvc-check", "--data-root", str(data_root), "--dataset", "cub"]) == 0
    assert "[ok]      CUB-200-2011" in capsys.readouterr().out
    assert main(["fgvc-check", "--data-root", str(data_root), "--dataset", "cub", "dogs"]) == 1
    assert "[missing] Stanford Dogs" in capsys.readouterr().out


def test_vtab_check_reports_wrong_sizes(vtab_folder, capsys):
    assert main(["vtab-check", "--data-dir", str(vtab_folder), "--source", "folder", "--task", "dtd"]) == 1
    assert "train800 has 16 examples, VTAB-1k has 800" in capsys.readouterr().out


def test_export_from_tfds_reads_back_as_folder(mock_vtab, tmp_path):
    out = tmp_path / "vtab-1k"
    assert main(["vtab-export", "--data-dir", "/nowhere", "--out", str(out), "--task", "smallnorb_ele"]) == 0
    for split in VTAB_SPLITS:
        folder = ImageListImages(out / "smallnorb_ele", split, num_classes=9)
        expected = MOCK_EXAMPLES * (2 if split == "train800val200" else 1)
        assert len(folder) == expected
    tfds_test = TfdsImages("smallnorb_ele", "test", data_dir="/nowhere")
    folder_test = ImageListImages(out / "smallnorb_ele", "test", num_classes=9)
    for i in range(MOCK_EXAMPLES):
        a, b = tfds_test.record(i), folder_test.record(i)
        assert a.label == b.label and a.image.tobytes() == b.image.tobytes()  # PNG is lossless
