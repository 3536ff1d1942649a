"""The trials of an Optuna sweep's study (``optuna_study.yaml`` names its storage): a table."""

from __future__ import annotations

import csv
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import yaml

from imitation_lab.errors import ImitationLabError
from imitation_lab.runs import hpo

log = logging.getLogger(__name__)
STUDY_FILE = "optuna_study.yaml"  # written by hydra/sweeper=optuna: storage and study name


@dataclass
class TrialRow:
    """One trial of an Optuna sweep's study."""

    number: int
    state: str  # complete | pruned | fail | running | waiting
    value: float | None
    params: dict[str, object]
    job: str | None  # the job folder in this sweep dir, if the trial ran here
    note: str = ""


def load_trials(sweep_dir: Path) -> list[TrialRow] | None:
    """The trials of the study behind an Optuna sweep dir, or None for other sweeps.

    The study is read from its storage (named in ``optuna_study.yaml``), so trials run by
    other sweeps sharing it are listed too. A storage that cannot be read is a warning.
    """
    study_file = Path(sweep_dir) / STUDY_FILE
    if not study_file.exists():
        return None
    info = yaml.safe_load(study_file.read_text()) or {}
    try:
        import optuna

        storage = hpo.open_storage(str(info["storage"]))
        study = optuna.load_study(study_name=str(info["study_name"]), storage=storage)
    except (ImportError, KeyError, ImitationLabError) as err:
        log.warning("No trials table: the study in %s cannot be read (%s).", study_file, err)
        return None
    trials = study.get_trials(deepcopy=False)
    retried = {t.system_attrs.get(hpo.RETRY_OF_ATTR): t.number for t in trials}
    rows = []
    for trial in trials:
        attrs, note = trial.system_attrs, ""
        if attrs.get(hpo.SURPLUS_ATTR):
            note = "not run: the study had its n_trials"
        elif attrs.get(hpo.INTERRUPTED_ATTR):
            again = retried.get(trial.number)
            note = "its sweep stopped" + (f"; re-run as trial {again}" if again is not None else "")
        elif attrs.get(hpo.RETRY_OF_ATTR) is not None:
            note = f"re-run of trial {attrs[hpo.RETRY_OF_ATTR]}"
        if trial.state.name == "PRUNED" and trial.intermediate_values:
            note = f"pruned at step {max(trial.intermediate_values)}"
        job = Path(sweep_dir) / str(trial.number)
        rows.append(
            TrialRow(
                number=trial.number,
                state=trial.state.name.lower(),
                value=trial.value,
                params=dict(trial.params),
                job=job.name if (job / ".hydra").is_dir() else None,
                note=note,
            )
        )
    return rows


def trials_table(trials: Sequence[TrialRow]) -> str:
    lines = ["| trial | state | value | params | job | note |", "|---:|---|---:|---|---|---|"]
    for row in trials:
        params = " ".join(f"{k}={v}" for k, v in row.params.items())
        value = "–" if row.value is None else f"{row.value:.3f}"
        lines.append(
            f"| {row.number} | {row.state} | {value} | `{params}` | {row.job or '–'} | {row.note} |"
        )
    return "\n".join(lines)


def write_trials_csv(trials: Sequence[TrialRow], path: Path) -> None:
    keys = sorted({k for row in trials for k in row.params})
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["number", "state", "value", *keys, "job", "note"])
        for row in trials:
            writer.writerow(
                [
                    row.number,
                    row.state,
                    "" if row.value is None else row.value,
                    *(row.params.get(k, "") for k in keys),
                    row.job or "",
                    row.note,
                ]
            )
