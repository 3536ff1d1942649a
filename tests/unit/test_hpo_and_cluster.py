"""The small pieces behind cluster sweeps: requeue detection, DONE comparison, search spaces,
storage URLs, trial counting and the trainer's pruning hook (in process, no subprocess)."""

from __future__ import annotations

import json
from pathlib import Path

import optuna
import pytest
from hydra.core.override_parser.overrides_parser import OverridesParser
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution
from optuna.trial import TrialState

from hydra_plugins.imitation_lab_optuna_sweeper._impl import counts, search_space
from imitation_lab.runs import hpo
from imitation_lab.runs.cluster import is_requeued
from imitation_lab.runs.run_dir import PRUNED, finished_summary, write_done


@pytest.mark.parametrize(
    ("environ", "expected"),
    [({}, False), ({"SLURM_RESTART_COUNT": "0"}, False), ({"SLURM_RESTART_COUNT": "2"}, True),
     ({"SLURM_RESTART_COUNT": "x"}, False)],
)  # fmt: skip
def test_is_requeued(environ: dict[str, str], expected: bool):
    assert is_requeued(environ) is expected


def test_done_ignores_resume_and_null_keys(tmp_path: Path):
    config = {"seed": 0, "trainer": {"steps": 5, "resume": False}}
    write_done(tmp_path, config, {"final/normalized_score": 1.0})
    requeued = {"seed": 0, "trainer": {"steps": 5, "resume": True}, "hpo": None}
    assert finished_summary(tmp_path, requeued) == {"final/normalized_score": 1.0}
    assert finished_summary(tmp_path, {**config, "seed": 1}) is None


def test_search_space_keeps_hydra_optuna_syntax():
    space, fixed = search_space(
        [
            "optim.lr=tag(log, interval(1e-4, 1e-2))",
            "trainer.batch_size=choice(64, 256)",
            "actor.hidden_sizes=choice('[64,64]', '[256,256]')",
            "trainer.steps=range(100, 300, 100)",
            "x=interval(1, 4)",
            "y=tag(int, log, interval(1, 64))",
            "bounding=clip",
            "trainer.batch_size=128",  # the command line comes last and wins
        ]
    )
    assert space["optim.lr"] == FloatDistribution(1e-4, 1e-2, log=True)
    assert space["actor.hidden_sizes"] == CategoricalDistribution(["[64,64]", "[256,256]"])
    assert space["trainer.steps"] == IntDistribution(100, 300, step=100)  # b included
    assert space["x"] == FloatDistribution(1.0, 4.0)  # Hydra's interval is float
    assert space["y"] == IntDistribution(1, 64, log=True)
    assert fixed == {"bounding": "clip", "trainer.batch_size": "128"}
    assert "trainer.batch_size" not in space
    assert OverridesParser.create().parse_overrides([f"k={v}" for v in fixed.values()])


def test_storage_urls_become_absolute(tmp_path: Path):
    assert hpo.absolute_storage("sqlite:///a/s.db", tmp_path) == f"sqlite:///{tmp_path}/a/s.db"
    assert hpo.absolute_storage("sqlite:////x/s.db", tmp_path) == "sqlite:////x/s.db"
    assert hpo.absolute_storage("journal:s.log", tmp_path) == f"journal:{tmp_path}/s.log"
    assert hpo.journal_path("journal:///x/s.log") == "/x/s.log"
    with pytest.raises(hpo.ConfigError, match="cannot be opened"):
        hpo.open_storage("nosuchdb://x")


def test_counts_skips_only_interrupted_and_surplus_failures(tmp_path: Path):
    study = optuna.create_study(storage=hpo.open_storage(f"journal:{tmp_path / 'j.log'}"))
    kinds = [None, hpo.INTERRUPTED_ATTR, hpo.SURPLUS_ATTR]
    for attr in kinds:
        trial = study.ask()
        if attr:
            study._storage.set_trial_system_attr(trial._trial_id, attr, True)
        study.tell(trial, state=TrialState.FAIL)
    assert [counts(t) for t in study.trials] == [True, False, False]


def test_reporter_reports_each_evaluation_and_prunes(tmp_path: Path):
    url = f"journal:{tmp_path / 'study.log'}"
    study = optuna.create_study(study_name="s", storage=hpo.open_storage(url), direction="maximize")
    trial = study.ask()
    spec = {"_target_": "optuna.pruners.ThresholdPruner", "lower": 50.0}
    study._storage.set_trial_system_attr(trial._trial_id, hpo.PRUNER_ATTR, spec)
    run_dir = tmp_path / "job"
    reporter = hpo.TrialReporter(url, "s", trial.number, run_dir, last_step=300)
    reporter(100, {"eval/normalized_score": 60.0})  # above the threshold: goes on
    with pytest.raises(hpo.TrialPruned) as pruned:
        reporter(200, {"eval/normalized_score": 10.0, "eval/return_mean": -900.0})
    assert (pruned.value.step, pruned.value.value) == (200, 10.0)
    frozen = optuna.load_study(study_name="s", storage=hpo.open_storage(url)).trials[0]
    assert frozen.state == TrialState.PRUNED
    assert frozen.intermediate_values == {100: 60.0, 200: 10.0}
    assert json.loads((run_dir / PRUNED).read_text())["step"] == 200


def test_reporter_never_prunes_the_last_evaluation(tmp_path: Path):
    url = f"journal:{tmp_path / 'study.log'}"
    study = optuna.create_study(study_name="s", storage=hpo.open_storage(url))
    trial = study.ask()
    spec = {"_target_": "optuna.pruners.ThresholdPruner", "upper": -1.0}
    study._storage.set_trial_system_attr(trial._trial_id, hpo.PRUNER_ATTR, spec)
    reporter = hpo.TrialReporter(url, "s", trial.number, tmp_path, last_step=300)
    reporter(300, {"eval/return_mean": 5.0})  # no normalized score: the return is reported
    assert study.trials[0].state == TrialState.RUNNING
    assert study.trials[0].intermediate_values == {300: 5.0}
