"""Atomic checkpoint files that load with ``torch.load(weights_only=True)``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import torch

from imitation_lab.errors import CheckpointError
from imitation_lab.utils.files import atomic_write


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    """Write ``state`` atomically: a crash mid-write leaves the previous checkpoint intact."""
    try:
        atomic_write(Path(path), lambda handle: torch.save(state, handle))
    except OSError as err:  # full disk, read-only dir: the previous checkpoint is still there
        raise CheckpointError(
            f"Cannot write checkpoint {path}: {err.strerror or err}. The previous checkpoint "
            "(if any) is kept; free space or fix the folder's permissions, then resume."
        ) from err


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load a checkpoint safely (no arbitrary unpickling); one clear error if it is bad."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"Checkpoint {path} does not exist.")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as err:
        raise CheckpointError(
            f"Checkpoint {path} is corrupted or truncated, or holds pickled objects that safe "
            f"loading refuses ({_reason(err)}). Delete it to start fresh, or resume from "
            "another copy."
        ) from err
    if not isinstance(state, dict) or "policy" not in state:
        raise CheckpointError(f"{path} is not an imitation_lab checkpoint (no 'policy' entry).")
    return state


def _reason(err: Exception) -> str:
    """One line: torch's weights-only errors are paragraphs; keep the unpickler's own reason."""
    text = str(err).strip()
    found = re.search(r"WeightsUnpickler error:\s*(\S.*)", text)
    detail = found.group(1) if found else (text.splitlines()[0] if text else "")
    detail = detail.split(". ")[0]  # drop torch's advice to allowlist globals
    return f"{type(err).__name__}: {detail.strip()}".rstrip(": ")
