"""Atomic file writes: a temp file in the target's folder, fsync, then rename over it.

A process killed mid-write leaves the previous file (or none) in place, never half a file.
Checkpoints, markers, info files and the dataset cache all write through here. Files get the
mode any other tool's output gets (``0o666`` minus the umask), not ``mkstemp``'s private
``0o600``: a teammate can read a shared sweep.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any


def file_mode() -> int:
    """The mode a new file gets under the current umask (``open(..., "w")``'s)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def atomic_write(path: Path, write: Callable[[IO[bytes]], None]) -> Path:
    """Call ``write(handle)`` on a temp file next to ``path``, fsync it, rename it to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, file_mode())
        with os.fdopen(fd, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp_name, path)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def atomic_create(path: Path, text: str) -> Path:
    """Write ``text`` to a new file ``path``, whole or not at all; ``FileExistsError`` (and
    nothing written) when ``path`` exists, even if another process made it a moment ago."""
    path = Path(path)
    tmp = atomic_write_text(path.with_name(f".{path.name}.{os.getpid()}.new"), text)
    try:
        os.link(tmp, path)  # atomic, and fails rather than replace
    finally:
        tmp.unlink(missing_ok=True)
    return path


def atomic_write_text(path: Path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    return atomic_write(path, lambda handle: handle.write(text.encode()))


def atomic_write_json(path: Path, payload: Any) -> Path:
    """Write ``payload`` as indented, key-sorted JSON to ``path`` atomically."""
    text = json.dumps(payload, indent=2, sort_keys=True, default=str) + "\n"
    return atomic_write_text(path, text)


def read_json(path: Path) -> dict[str, Any] | None:
    """The JSON object in ``path``, or None when it is absent, unreadable or not an object."""
    try:
        payload = json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None
    return payload if isinstance(payload, dict) else None
