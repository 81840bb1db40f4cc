"""GIFT: Generative Interpretable Fine-Tuning (arXiv 2312.00700).

The core library needs torch, transformers and safetensors only; each experiment domain is an extra:

    pip install gift-peft                    # the library, on the torch you have (>= 2.6)
    pip install -e ".[all,dev]" -c experiment_setup/requirements-lock.txt
                                             # every domain, VTAB, tests and linters at the tested versions

Requirements here are ranges; the exact versions of the paper reproduction and of CI are in
experiment_setup/requirements-lock.txt (a pip constraints file, applied by the Makefile).
"""

from pathlib import Path

from setuptools import find_packages, setup

README = Path(__file__).with_name("README.md")

# The lower bounds are the versions these extras were written against; the lock file pins what was tested.
EXTRAS = {
    "engine": ["accelerate>=1.15,<2", "pyyaml>=6", "tqdm>=4.66", "wandb>=0.31", "matplotlib>=3.11"],
    "peft": ["peft>=0.21.0,<0.22"],
    "lm": ["datasets>=5.2,<6", "gguf>=0.19"],
    "glue": ["datasets>=5.2,<6", "evaluate>=0.4.6", "scikit-learn>=1.9", "scipy>=1.13"],
    "vision": ["timm>=1.0.31,<2", "torchvision>=0.21", "scikit-image>=0.26"],
    # VTAB-1k is read through tensorflow-datasets (its reader imports it lazily); FGVC and folders need none of it.
    "vtab": ["tensorflow-cpu>=2.21", "tensorflow-datasets>=4.9.10", "importlib_resources>=6"],
    # ruff exact: another release formats differently and fails CI. setuptools: the packaging test builds a wheel.
    "dev": ["pytest>=8", "ruff==0.17.5", "setuptools>=70.1"],
}
EXTRAS["all"] = sorted({req for name, reqs in EXTRAS.items() if name != "dev" for req in reqs})

setup(
    name="gift-peft",
    version="0.1.0",
    description="GIFT: Generative Interpretable Fine-Tuning — exact, mergeable, as cheap as LoRA",
    long_description=README.read_text(encoding="utf-8") if README.is_file() else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["gift", "gift.*", "gift_experiment_utils", "gift_experiment_utils.*"]),
    # configs/ ships inside the engine as gift_experiment_utils/configs (a link to ../configs in the source tree),
    # so the demo and `gift-run --config configs/...` find it from an installed package.
    package_data={"gift_experiment_utils": ["configs/**/*.yaml"]},
    # transformers 5 itself needs torch >= 2.6.
    install_requires=["torch>=2.6", "transformers>=5.0,<6", "safetensors>=0.4"],
    extras_require=EXTRAS,
    entry_points={
        "console_scripts": [
            "gift-run = gift_experiment_utils.run:main",
            "gift-sweep = gift_experiment_utils.sweep:main",
            "gift-table = gift_experiment_utils.tables:main",
            "gift-demo = gift_experiment_utils.domains.language_modeling.demo:main",
        ]
    },
    license="MIT",
)
