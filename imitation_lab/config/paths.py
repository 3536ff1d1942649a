"""Where the packaged Hydra configs live, in a source checkout and in an installed wheel."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parents[1]  # imitation_lab/


def config_dir() -> Path:
    """The ``conf/`` folder: ``imitation_lab/conf`` in a wheel, the repo's ``conf/`` otherwise.

    ``pyproject.toml`` ships the top-level ``conf/`` as the package ``imitation_lab.conf``; an
    editable install or a plain checkout has no such folder and reads the repo's own.
    """
    installed = _PACKAGE / "conf"
    return installed if (installed / "train.yaml").is_file() else _PACKAGE.parent / "conf"
