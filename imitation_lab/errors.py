"""User-facing errors: each carries one message that says what is wrong and what to do."""

from __future__ import annotations

import errno


class ImitationLabError(Exception):
    """An error caused by the user's input (config, dataset, checkpoint), not by a bug."""


class ConfigError(ImitationLabError, ValueError):
    """A config value is missing, of the wrong type or out of range."""


class DatasetError(ImitationLabError):
    """A dataset id cannot be found, built, downloaded or validated."""


class CheckpointError(ImitationLabError):
    """A checkpoint is missing, corrupted or belongs to another architecture."""


class TrainingDivergedError(ImitationLabError):
    """The loss or the gradients became NaN/inf."""


class SweepError(ImitationLabError):
    """A folder is not a Hydra multirun sweep, or holds no result to report."""


class EarlyStop(Exception):
    """A run stopped early on purpose (e.g. an Optuna pruner): not a failure."""


#: OS errors that come from the machine, not from a bug: a full disk, a read-only folder
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM})


def storage_error_line(err: BaseException) -> str | None:
    """One line for a full disk / read-only folder while writing, else None (a real bug)."""
    if not isinstance(err, OSError) or err.errno not in STORAGE_ERRNOS:
        return None
    return (
        f"cannot write {err.filename or 'a file'}: {err.strerror or err}. Free space or fix the "
        "folder's permissions; what was written before is kept (a run resumes with "
        "trainer.resume=true)."
    )
