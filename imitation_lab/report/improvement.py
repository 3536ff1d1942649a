"""Probability of improvement of every arm over a reference arm (rliable's protocol).

Arms are the values of one group key (``bounding`` by default). Each group is compared with the
group that has the same values of the other group keys and the reference arm, over the strata
(tasks) both have; the CI is the stratified bootstrap of ``report.profiles``.
"""

from __future__ import annotations

from collections.abc import Sequence

from imitation_lab.errors import SweepError
from imitation_lab.report.aggregate import GroupResult
from imitation_lab.report.profiles import (
    probability_of_improvement,
    probability_of_improvement_ci,
)

DEFAULT_ARM_KEY = "bounding"
DEFAULT_REFERENCE = "clip"


def default_reference(results: Sequence[GroupResult], arm_key: str) -> str | None:
    """``clip`` when the arms include it, else none (no comparison is made)."""
    arms = {dict(res.key).get(arm_key) for res in results}
    return DEFAULT_REFERENCE if DEFAULT_REFERENCE in arms else None


def attach_improvement(results: Sequence[GroupResult], arm_key: str, reference: str) -> None:
    """Set ``improvement`` = (P(group > reference), CI low, CI high) on every non-reference
    group with a reference counterpart; a reference arm that no group has is one error."""
    arms = sorted({str(dict(res.key).get(arm_key)) for res in results})
    if not any(arm_key == k for res in results for k, _ in res.key):
        raise SweepError(
            f"--reference needs the arms to be a group key; {arm_key!r} is not one "
            f"(group keys: {sorted({k for res in results for k, _ in res.key})}); "
            "pass --arm-key with the swept key that names the arms."
        )
    if reference not in arms:
        raise SweepError(f"No arm {arm_key}={reference!r} in this sweep; its arms are {arms}.")
    by_key = {res.key: res for res in results}
    for res in results:
        values = dict(res.key)
        if values.get(arm_key) == reference or len(res.scores) == 0:
            continue
        ref_key = tuple((k, reference if k == arm_key else v) for k, v in res.key)
        ref = by_key.get(ref_key)
        if ref is None or len(ref.scores) == 0:
            continue
        ref_strata = dict(zip(ref.strata_ids, ref.strata, strict=True))
        shared = [sid for sid in res.strata_ids if sid in ref_strata]
        if not shared:
            continue
        own = dict(zip(res.strata_ids, res.strata, strict=True))
        x = [own[sid] for sid in shared]
        y = [ref_strata[sid] for sid in shared]
        low, high = probability_of_improvement_ci(x, y)
        res.improvement = (probability_of_improvement(x, y), low, high)
