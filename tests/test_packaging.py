"""The package as a user installs it: requirement ranges, the lock, the console commands, the configs it ships.

The wheel is built from a copy of the source tree (no stale build/ folder can leak into it) and installed,
without its dependencies, into a temporary virtual environment that borrows this one's packages; the
commands then run from a folder outside the repository, so nothing can depend on the working directory.
"""

from __future__ import annotations

import email
import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from packaging.requirements import Requirement

from gift_experiment_utils.loading import find_config, load_config, shipped_configs

REPO = Path(__file__).resolve().parents[1]
LOCK = REPO / "experiment_setup" / "requirements-lock.txt"
COMMANDS = {
    "gift-run": "gift_experiment_utils.run:main",
    "gift-sweep": "gift_experiment_utils.sweep:main",
    "gift-table": "gift_experiment_utils.tables:main",
    "gift-demo": "gift_experiment_utils.domains.language_modeling.demo:main",
}
# What the build needs from the tree; everything else (.venv, runs, data, .git) stays behind.
SOURCES = ("setup.py", "pyproject.toml", "README.md", "gift", "gift_experiment_utils", "configs")


def locked() -> dict[str, str]:
    pins = {}
    for line in LOCK.read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, version = line.split("==")
            pins[_normal(name)] = version
    return pins


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _env(**extra: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
    return {**env, "HF_HUB_OFFLINE": "1", "WANDB_MODE": "disabled", **extra}


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (REPO / name).is_dir():
            ignore = shutil.ignore_patterns("__pycache__", "*.egg-info")
            shutil.copytree(REPO / name, source / name, symlinks=True, ignore=ignore)
        else:
            shutil.copy2(REPO / name, source / name)
    out = tmp_path_factory.mktemp("wheel")
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out)]
    result = subprocess.run([*command, str(source)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    (path,) = out.glob("gift_peft-*.whl")
    return path


@pytest.fixture(scope="module")
def wheel_metadata(wheel) -> email.message.Message:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.message_from_bytes(archive.read(name))


def _requirements(metadata: email.message.Message) -> list[Requirement]:
    return [Requirement(text) for text in metadata.get_all("Requires-Dist")]


def _extras_of(requirement: Requirement) -> set[str]:
    return set(re.findall(r'extra == "([^"]+)"', str(requirement.marker))) if requirement.marker else set()


# ---------------------------------------------------------------------------------------------- requirements
def test_core_requirements_are_ranges(wheel_metadata):
    core = {_normal(r.name): r for r in _requirements(wheel_metadata) if not _extras_of(r)}
    assert set(core) == {"torch", "transformers", "safetensors"}
    for requirement in core.values():
        assert not any(spec.operator in ("==", "===") for spec in requirement.specifier), requirement
    assert any(spec.operator == ">=" for spec in core["torch"].specifier)


def test_tensorflow_is_only_in_the_vtab_extra(wheel_metadata):
    extras: dict[str, set[str]] = {}
    for requirement in _requirements(wheel_metadata):
        extras.setdefault(_normal(requirement.name), set()).update(_extras_of(requirement))
    assert extras["tensorflow-cpu"] == extras["tensorflow-datasets"] == {"vtab", "all"}


def test_all_has_every_extra_but_dev(wheel_metadata):
    by_extra: dict[str, set[str]] = {}
    for requirement in _requirements(wheel_metadata):
        for extra in _extras_of(requirement):
            by_extra.setdefault(extra, set()).add(str(Requirement(str(requirement).split(";")[0])))
    assert {"engine", "peft", "lm", "glue", "vision", "vtab", "dev", "all"} <= set(by_extra)
    assert set().union(*(reqs for extra, reqs in by_extra.items() if extra not in ("all", "dev"))) == by_extra["all"]


def test_the_lock_pins_every_requirement_inside_its_range(wheel_metadata):
    pins = locked()
    for requirement in _requirements(wheel_metadata):
        name = _normal(requirement.name)
        assert name in pins, f"{requirement.name} is not pinned in {LOCK.name}"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"{LOCK.name} pins {name}=={pins[name]}, outside setup.py's {requirement}"
        )
    assert (pins["torch"], pins["torchvision"]) == ("2.14.1", "0.29.1")  # the pair that imports together


# ---------------------------------------------------------------------------------------------- wheel contents
def test_the_wheel_ships_every_config_and_the_commands(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        entry_points = archive.read(next(n for n in names if n.endswith(".dist-info/entry_points.txt"))).decode()
    shipped = {n.removeprefix("gift_experiment_utils/configs/") for n in names if "/configs/" in n}
    assert shipped == {p.relative_to(REPO / "configs").as_posix() for p in (REPO / "configs").rglob("*.yaml")}
    assert {"language_modeling/demo/gift.yaml", "language_modeling/_base.yaml", "_shared/methods/lora.yaml"} <= shipped
    for command, target in COMMANDS.items():
        assert f"{command} = {target}" in entry_points


def test_the_installed_entry_points_are_the_mains():
    """The commands of the installed distribution (`pip install -e .` in .venv) load the engine's mains."""
    found = {ep.name: ep for ep in importlib.metadata.entry_points(group="console_scripts") if ep.name in COMMANDS}
    assert sorted(found) == sorted(COMMANDS), "reinstall the package (make setup) to register the commands"
    for name, target in COMMANDS.items():
        assert found[name].value == target
        assert callable(found[name].load())


# ---------------------------------------------------------------------------------------------- installed wheel
@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A venv holding only the wheel; this environment's site-packages supply its dependencies."""
    venv = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    command = [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q", str(wheel)]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    # After the wheel's own folder: this environment's site-packages folders (the .pth files there are not run,
    # so the editable install of the source tree stays out of the way).
    borrowed = [entry for entry in sys.path if Path(entry).name in ("site-packages", "dist-packages")]
    Path(site, "zz_dependencies.pth").write_text("".join(entry + "\n" for entry in borrowed))
    return venv / "bin"


def run(bin_dir: Path, command: str, *args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(bin_dir / command), *args], cwd=cwd, env=_env(), capture_output=True, text=True, timeout=300
    )


@pytest.mark.slow
def test_the_installed_package_is_the_wheel_not_the_source_tree(installed, tmp_path):
    code = "import gift, gift_experiment_utils.loading as l; print(gift.__file__); print(l.shipped_configs())"
    result = subprocess.run(
        [str(installed / "python"), "-c", code], cwd=tmp_path, env=_env(), capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    for line in result.stdout.splitlines():
        assert Path(line).is_relative_to(installed.parent) and not Path(line).resolve().is_relative_to(REPO), line


@pytest.mark.slow
@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_starts_outside_the_repository(installed, command, tmp_path):
    result = run(installed, command, "--help", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "usage:" in result.stdout


@pytest.mark.slow
def test_gift_run_reads_the_shipped_demo_config_from_any_directory(installed, tmp_path):
    config = "configs/language_modeling/demo/gift.yaml"
    result = run(installed, "gift-run", "--config", config, "--print-config", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    # _base.yaml files by folder and `include: ../../_shared/methods/gift.yaml` resolve inside the package
    assert "name: arithmetic" in result.stdout and "rank: 16" in result.stdout and "name: gift" in result.stdout


@pytest.mark.slow
def test_gift_sweep_plans_the_shipped_toy_sweep_into_the_working_directory(installed, tmp_path):
    result = run(installed, "gift-sweep", "plan", "configs/toy/sweep.yaml", cwd=tmp_path)
    assert result.returncode == 0, result.stderr[-3000:]
    lines = result.stdout.splitlines()
    assert len(lines) == 4 and all(line.startswith("todo  runs/toy/") for line in lines)


@pytest.mark.slow
def test_a_missing_config_names_the_working_directory_and_the_shipped_configs(installed, tmp_path):
    result = run(installed, "gift-run", "--config", "configs/toy/nope.yaml", "--print-config", cwd=tmp_path)
    assert result.returncode == 2
    assert str(tmp_path) in result.stderr and "shipped configs are in" in result.stderr


# ---------------------------------------------------------------------------------------------- config lookup
def test_a_config_under_the_working_directory_wins_over_the_shipped_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert find_config("configs/toy/gift.yaml") == shipped_configs() / "toy" / "gift.yaml"
    own = tmp_path / "configs" / "toy" / "gift.yaml"
    own.parent.mkdir(parents=True)
    own.write_text("experiment: {domain: toy, name: mine}\n")
    assert find_config("configs/toy/gift.yaml") == Path("configs/toy/gift.yaml")
    assert load_config("configs/toy/gift.yaml").experiment.name == "mine"


def test_the_shipped_configs_are_the_repository_configs():
    assert shipped_configs().resolve() == (REPO / "configs").resolve()


# ---------------------------------------------------------------------------------------------- VTAB without TF
def test_the_vision_domain_imports_and_configures_without_tensorflow(tmp_path):
    code = """
import sys
sys.modules["tensorflow"] = sys.modules["tensorflow_datasets"] = None  # as if the vtab extra were not installed
from gift_experiment_utils.loading import load_config
from gift_experiment_utils.task import get_task_class
from gift_experiment_utils.domains.vision import fgvc, prepare, results, sources, vtab
from gift_experiment_utils.domains.vision.tfds_reader import load_builder
config = load_config("configs/vision/vtab/gift.yaml", ["task.name=dtd"])
print(type(get_task_class(config.experiment.domain)(config)).__name__)
try:
    load_builder("dtd", "3.0.1", None)
except ModuleNotFoundError as error:
    print(error)
"""
    result = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=_env(), capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "pip install 'gift-peft[vtab]'" in result.stdout and "task.source=folder" in result.stdout
