"""Visual classification on timm ViTs: the domains `vision.fgvc` (5 fine-grained datasets) and `vision.vtab`
(VTAB-1k, 19 tasks), sharing one backbone builder (`backbone.py`) and one classification task (`common.py`).

    python -m gift_experiment_utils.run --config configs/vision/fgvc/gift.yaml task.dataset=cub
    python -m gift_experiment_utils.run --config configs/vision/vtab/gift.yaml task.name=dtd task.protocol=final

The tables are rows: `fgvc.FGVC_DATASETS`, `vtab.VTAB_TASKS`. Raw images of any split, for figures:
`sources.split_images` (see the repository README, "Visual recognition").
"""
