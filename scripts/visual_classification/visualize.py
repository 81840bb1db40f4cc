"""Token-clustering figures for a GIFT-tuned timm ViT; the tool is `gift_experiment_utils.domains.vision.visualize`.

    python scripts/visual_classification/visualize.py ADAPTER_OR_RUN_DIR --out DIR (--images DIR | --split test | ...)

`--help` lists every option; the module's docstring explains the figures.
"""

from gift_experiment_utils.domains.vision.visualize import main

if __name__ == "__main__":
    main()
