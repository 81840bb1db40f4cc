"""GIFT: Generative Interpretable Fine-Tuning (arXiv 2312.00700).

The core library needs torch and transformers only; each experiment domain is an extra:

    pip install -e .                    # the library
    pip install -e ".[all,dev]"         # every domain, the tests and the linters
"""

from setuptools import find_packages, setup

TORCH = ["torch==2.14.1", "torchvision==0.29.1"]  # the pair that imports together (experiment_setup/SETUP.md)

EXTRAS = {
    "engine": ["accelerate==1.15.0", "pyyaml==6.0.3", "tqdm>=4.66", "wandb==0.31.0", "matplotlib==3.11.2"],
    "peft": ["peft>=0.21.0,<0.22"],
    "lm": ["datasets==5.2.0", "gguf==0.19.0"],
    "glue": ["datasets==5.2.0", "evaluate==0.4.6", "scikit-learn==1.9.1", "scipy>=1.13"],
    "vision": ["timm==1.0.31", "tensorflow-cpu==2.21.0", "tensorflow-datasets==4.9.10", "importlib_resources>=6", "scikit-image==0.26.0"],
    "dev": ["pytest>=8", "ruff==0.17.5"],
}
EXTRAS["all"] = sorted({req for name, reqs in EXTRAS.items() if name != "dev" for req in reqs})

setup(
    name="gift-peft",
    version="0.1.0",
    description="GIFT: Generative Interpretable Fine-Tuning — exact, mergeable, as cheap as LoRA",
    long_description=open("README.md", encoding="utf-8").read() if __import__("os").path.exists("README.md") else "",
    long_description_content_type="text/markdown",
    python_requires=">=3.10",
    packages=find_packages(include=["gift", "gift.*", "gift_experiment_utils", "gift_experiment_utils.*"]),
    install_requires=[*TORCH, "transformers>=5.0,<6", "safetensors>=0.4"],
    extras_require=EXTRAS,
    license="MIT",
)
