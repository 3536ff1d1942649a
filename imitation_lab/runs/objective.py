"""The number a sweeper optimizes: one definition for every launcher, sweeper and app."""

from __future__ import annotations

import math
from collections.abc import Mapping

from imitation_lab.errors import SweepError

#: metric names, best first: the normalized score (x100), else the mean return (no references)
OBJECTIVE_METRICS = ("normalized_score", "return_mean")
#: the direction of every objective imitation_lab returns
DIRECTION = "maximize"


def objective(
    metrics: Mapping[str, float], prefix: str = "final/", *, required: bool = True
) -> float | None:
    """``<prefix>normalized_score``, else ``<prefix>return_mean``, as a float (higher is better).

    Raises ``SweepError`` when neither is there or it is not finite (``required=False``: None
    instead): a job that measured nothing must fail, not look to a sweeper like a
    bad configuration (the silent 0.0 of earlier versions).
    """
    for name in OBJECTIVE_METRICS:
        value = metrics.get(f"{prefix}{name}")
        if value is None:
            continue
        if math.isfinite(float(value)):
            return float(value)
        if required:
            raise SweepError(f"The objective {prefix}{name} is {value}: not a finite score.")
        return None
    if not required:
        return None
    wanted = " or ".join(f"{prefix}{name}" for name in OBJECTIVE_METRICS)
    raise SweepError(
        f"No {wanted} in the job's metrics ({', '.join(sorted(metrics)) or 'none'}): nothing "
        "to optimize. Evaluate the runs (trainer.eval_episodes > 0)."
    )
