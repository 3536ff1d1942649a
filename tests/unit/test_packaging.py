"""A non-editable install ships its configs: `pip install .`, then `imitation-lab train`."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import tomllib
import venv
from pathlib import Path

import pytest
from setuptools import find_namespace_packages

from tests.conftest import REPO_ROOT

#: what the build reads
SOURCE_PARTS = ("pyproject.toml", "README.md", "imitation_lab", "hydra_plugins", "conf")
_IGNORED = shutil.ignore_patterns("__pycache__")


def _listed_packages() -> list[str]:
    pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    return pyproject["tool"]["setuptools"]["packages"]


def test_the_package_list_names_every_code_and_config_folder() -> None:
    code = find_namespace_packages(
        where=str(REPO_ROOT), include=["imitation_lab*", "hydra_plugins*"]
    )
    conf = REPO_ROOT / "conf"
    configs = ["imitation_lab.conf"] + [
        "imitation_lab.conf." + ".".join(d.relative_to(conf).parts)
        for d in conf.rglob("*")
        if d.is_dir() and "__pycache__" not in d.parts
    ]
    assert sorted(_listed_packages()) == sorted({*code, *configs})


@pytest.mark.slow
def test_an_installed_wheel_finds_its_configs_and_trains(tmp_path: Path) -> None:
    source = tmp_path / "source"  # a clean copy: no stale build/ from an earlier wheel
    source.mkdir()
    for part in SOURCE_PARTS:
        if (REPO_ROOT / part).is_dir():
            shutil.copytree(REPO_ROOT / part, source / part, ignore=_IGNORED)
        else:
            shutil.copy2(REPO_ROOT / part, source / part)
    wheels = tmp_path / "wheels"
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
         "-w", str(wheels), str(source)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    (wheel,) = wheels.glob("imitation_lab-*.whl")
    env_dir = tmp_path / "venv"
    venv.create(env_dir, with_pip=False)
    bin_dir = env_dir / "bin"
    site = Path(
        sysconfig.get_path("purelib", vars={"base": str(env_dir), "platbase": str(env_dir)})
    )
    # the dependencies (torch, minari, ...) from this venv; imitation_lab only from the wheel
    # (a plain path entry: the editable install's own .pth finder is not run)
    (site / "deps.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(bin_dir / "python"), "install",
         "--no-deps", "--no-index", "-q", str(wheel)],
        check=True, capture_output=True, text=True,
    )  # fmt: skip
    work = tmp_path / "elsewhere"  # no repo, no conf/ anywhere near
    work.mkdir()
    env = {**os.environ, "PYTHONPATH": ""}
    where = subprocess.run(
        [str(bin_dir / "python"), "-c", "import imitation_lab; print(imitation_lab.__file__)"],
        cwd=work, env=env, check=True, capture_output=True, text=True,
    )  # fmt: skip
    assert where.stdout.startswith(str(env_dir)), where.stdout
    result = subprocess.run(
        [str(bin_dir / "imitation-lab"), "train", "logger=none", "trainer.steps=50",
         "trainer.eval_every=50", "trainer.eval_episodes=2", "hydra.run.dir=run"],
        cwd=work, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert (work / "run" / "DONE.json").is_file()
    assert (work / "run" / ".hydra" / "config.yaml").is_file()
