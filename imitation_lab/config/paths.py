"""Where the packaged Hydra configs live (a source checkout, an installed wheel), and the
resolver that keeps default output dirs of concurrent commands apart."""

from __future__ import annotations

import os
from pathlib import Path

from omegaconf import OmegaConf

#: ``${imitation_lab.pid:}``: this process's id, in default output dirs that a second command
#: started in the same second must not share (``outputs/eval/<time>-<pid>``)
PID_RESOLVER = "imitation_lab.pid"

_PACKAGE = Path(__file__).resolve().parents[1]  # imitation_lab/


def config_dir() -> Path:
    """The ``conf/`` folder: ``imitation_lab/conf`` in a wheel, the repo's ``conf/`` otherwise.

    ``pyproject.toml`` ships the top-level ``conf/`` as the package ``imitation_lab.conf``; an
    editable install or a plain checkout has no such folder and reads the repo's own.
    """
    installed = _PACKAGE / "conf"
    return installed if (installed / "train.yaml").is_file() else _PACKAGE.parent / "conf"


def register_pid_resolver() -> None:
    """Make ``${imitation_lab.pid:}`` available (idempotent)."""
    if not OmegaConf.has_resolver(PID_RESOLVER):
        OmegaConf.register_new_resolver(PID_RESOLVER, os.getpid)
