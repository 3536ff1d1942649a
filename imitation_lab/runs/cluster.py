"""Cluster-job facts the train app needs: was this job requeued (preempted, timed out)?

Slurm reruns a requeued batch job (``scontrol requeue``, preemption, or submitit's
checkpoint-and-requeue on its timeout signal) with the same command in the same run dir and
``SLURM_RESTART_COUNT`` set to the number of restarts; Hydra's submitit launcher then calls
the train app again with the same overrides. Such a job must continue from its
``checkpoints/last.pt``, as ``trainer.resume=true`` does, instead of starting over.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

RESTART_COUNT = "SLURM_RESTART_COUNT"


def is_requeued(environ: Mapping[str, str] | None = None) -> bool:
    """True in a Slurm job that runs again after a requeue (``SLURM_RESTART_COUNT`` > 0)."""
    value = (os.environ if environ is None else environ).get(RESTART_COUNT, "")
    try:
        return int(value) > 0
    except ValueError:
        return False
