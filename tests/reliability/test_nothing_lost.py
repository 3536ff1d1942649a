"""Nothing a user made is ever lost: datasets, finished runs and sweep jobs survive every mistake.

Each test here failed on the main of issue 13: ``collect overwrite=true`` deleted the dataset
before checking the new source, absolute ids reached outside the store, an existing run dir
was silently overwritten, a refused resume rewrote ``.hydra/`` and ``dataset_info.json``, a
changed sweep re-trained job ``N/`` over the old results, two processes shared a run dir.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from imitation_lab.collect import collect
from imitation_lab.data.ids import check_dataset_id
from imitation_lab.data.store import is_local
from imitation_lab.errors import DatasetError
from imitation_lab.runs.run_dir import DONE, owned
from tests.datasets.helpers import compose_collect
from tests.pausing import as_from_a_terminal, pause_env, wait_until_paused
from tests.reliability.conftest import (
    TINY,
    assert_one_line_error,
    run_cli,
    train_command,
)
from tests.sweeps.conftest import run_sweep

QUICK = ["episodes=2", "ref_episodes=1", "num_envs=1"]  # the scripted pendulum expert


def tree_hash(folder: Path) -> dict[str, str]:
    """Every file under ``folder`` (but a live lock) by relative path -> content hash."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and p.name != ".imitation_lab.lock"
    }


def _collect(dataset_id: str, *overrides: str) -> None:
    collect(compose_collect([*QUICK, f"dataset_id='{dataset_id}'", *overrides]))


def _store_dataset(minari_store: Path, dataset_id: str) -> dict[str, str]:
    return tree_hash(minari_store / dataset_id)


# ---------------------------------------------------------------- datasets
@pytest.mark.parametrize(
    ("bad", "match"),
    [
        (["source.name=cartpolee"], "Unknown scripted expert"),
        (["source=checkpoint", "source.path=/nonexistent/best.pt"], "does not exist"),
        (["noise=gaussian", "noise.std=-1"], "noise.std"),
        # without ../shared/experts the expert folder is what is missing (a fresh clone)
        (["ref_expert=trpo_Nothing"], r"trpo_Nothing|Experts folder .* does not exist"),
    ],
)
def test_a_failing_overwrite_keeps_the_old_dataset(
    bad: list[str], match: str, minari_store: Path
) -> None:
    dataset_id = "me/keep/expert-v0"
    if not is_local(dataset_id):
        _collect(dataset_id)
    before = _store_dataset(minari_store, dataset_id)
    with pytest.raises(Exception, match=match):
        _collect(dataset_id, "overwrite=true", *bad)
    assert _store_dataset(minari_store, dataset_id) == before  # not a byte changed


def test_overwrite_replaces_only_a_complete_new_dataset(
    minari_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import minari

    dataset_id = "me/swap/expert-v0"
    _collect(dataset_id)
    before = _store_dataset(minari_store, dataset_id)
    real = minari.create_dataset_from_buffers

    def dies_half_way(*args, **kwargs):  # writes part of the new dataset, then crashes
        real(*args, **kwargs)
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(minari, "create_dataset_from_buffers", dies_half_way)
    with pytest.raises(DatasetError, match=r"disk is full.*Nothing in the store was replaced"):
        _collect(dataset_id, "overwrite=true", "episodes=3")
    assert _store_dataset(minari_store, dataset_id) == before
    monkeypatch.setattr(minari, "create_dataset_from_buffers", real)
    _collect(dataset_id, "overwrite=true", "episodes=3")  # now it is replaced, whole
    assert minari.load_dataset(dataset_id).total_episodes == 3
    assert not list((minari_store / ".imitation_lab" / "staging").iterdir())
    assert not list((minari_store / ".imitation_lab" / "trash").iterdir())


@pytest.mark.parametrize(
    ("dataset_id", "match"),
    [
        ("/tmp/somewhere/proj-v0", "is a path, not a Minari dataset id"),
        ("~/proj-v0", "is a path"),
        ("me/../../outside-v0", r"'\.\.' part"),
        ("me/proj", "no version.*me/proj-v0"),
        ("me//proj-v0", "empty"),
        ("me/pr oj-v0", "not a valid id part"),
    ],
)
def test_dataset_ids_are_checked_before_any_file_is_touched(
    dataset_id: str, match: str, tmp_path: Path
) -> None:
    outside = tmp_path / "outside-v0"
    outside.mkdir()
    (outside / "keep.txt").write_text("a user's file")
    with pytest.raises(DatasetError, match=match):
        check_dataset_id(dataset_id)
    with pytest.raises(DatasetError, match=match):
        _collect(dataset_id, "overwrite=true")
    assert (outside / "keep.txt").read_text() == "a user's file"
    assert not Path("/tmp/somewhere").exists()


def test_an_absolute_dataset_id_never_deletes_outside_the_store(
    minari_store: Path, tmp_path: Path
) -> None:
    """The exact report of issue 13: `collect dataset_id=/some/dir/proj-v0 overwrite=true`."""
    victim = tmp_path / "some" / "dir" / "proj-v0"
    (victim / "data").mkdir(parents=True)
    (victim / "data" / "main_data.hdf5").write_bytes(b"precious")
    result = run_cli(
        [
            sys.executable,
            "-m",
            "imitation_lab.collect",
            *QUICK,
            f"dataset_id={victim}",
            "overwrite=true",
        ],
        minari_store,
    )
    assert_one_line_error(result, "is a path, not a Minari dataset id")
    assert (victim / "data" / "main_data.hdf5").read_bytes() == b"precious"


# ---------------------------------------------------------------- run dirs
def test_a_run_dir_that_holds_a_run_is_never_silently_reused(
    run_copy: Path, minari_store: Path
) -> None:
    before = tree_hash(run_copy)
    result = run_cli(train_command(run_copy, *TINY), minari_store)
    line = assert_one_line_error(result, "already holds a finished run at step 200")
    assert "trainer.resume=true" in line and "nothing was changed" in line
    assert tree_hash(run_copy) == before


@pytest.mark.parametrize(
    ("changed", "fragment"),
    [
        ("optim.lr=0.5", "optim.lr: checkpoint 0.001, now 0.5"),
        # the sampler and RNG states come from the checkpoint: steps 1-200 ran with seed 0
        ("seed=7", "seed: checkpoint 0, now 7"),
        ("trainer.batch_size=32", "trainer.batch_size: checkpoint 64, now 32"),
        ("trainer.steps=100", "trainer.steps=100 is below the step"),
    ],
    ids=["lr", "seed", "batch-size", "fewer-steps"],
)
def test_a_refused_resume_changes_nothing_in_the_dir(
    changed: str, fragment: str, run_copy: Path, minari_store: Path
) -> None:
    before = tree_hash(run_copy)
    result = run_cli(train_command(run_copy, *TINY, "trainer.resume=true", changed), minari_store)
    assert_one_line_error(result, fragment)
    assert tree_hash(run_copy) == before  # not .hydra/, not dataset_info.json, not train.log


def test_two_processes_never_share_a_run_dir(run_copy: Path, minari_store: Path) -> None:
    before = tree_hash(run_copy)
    with owned(run_copy):  # a live run holds it
        result = run_cli(train_command(run_copy, *TINY, "trainer.resume=true"), minari_store)
    assert_one_line_error(result, "is in use by pid")
    assert tree_hash(run_copy) == before
    # a lock left behind by a killed process does not block anyone
    (run_copy / ".imitation_lab.lock").write_text("pid 999999 on a dead host")
    result = run_cli(train_command(run_copy, *TINY, "trainer.resume=true"), minari_store)
    assert result.returncode == 0, result.stderr[-2000:]
    assert not (run_copy / ".imitation_lab.lock").exists()


@pytest.mark.slow
def test_a_changed_sweep_never_trains_over_the_old_jobs(tmp_path: Path, minari_store: Path) -> None:
    sweep_dir = tmp_path / "sweep"
    first = run_sweep(sweep_dir, ["seed=0,1"], minari_store)
    assert first.proc.returncode == 0, first.log[-3000:]
    old_jobs = {p.name: tree_hash(p) for p in sweep_dir.iterdir() if p.is_dir()}
    assert len(old_jobs) == 2
    changed = run_sweep(sweep_dir, ["seed=0,1", "optim.lr=3e-4"], minari_store)
    assert changed.proc.returncode == 0, changed.log[-3000:]
    for name, files in old_jobs.items():  # the old results are exactly as they were
        assert tree_hash(sweep_dir / name) == files
    jobs = [p for p in sweep_dir.iterdir() if (p / DONE).exists()]
    assert len(jobs) == 4  # the changed jobs went to new folders
    lrs = {json.loads((p / DONE).read_text())["config"]["optim"]["lr"] for p in jobs}
    assert lrs == {0.001, 0.0003}
    again = run_sweep(sweep_dir, ["seed=0,1", "optim.lr=3e-4"], minari_store)
    assert again.log.count("for this exact config: skipped") == 2
    # the values in another order give other job numbers: each job still finds its folder
    # (by its config), so nothing is retrained and the report counts each seed once
    for launcher in ([], ["hydra/launcher=batched"]):
        reordered = run_sweep(sweep_dir, [*launcher, "seed=1,0", "optim.lr=3e-4"], minari_store)
        assert reordered.proc.returncode == 0, reordered.log[-3000:]
        assert reordered.log.count("for this exact config: skipped") == 2, reordered.log[-3000:]
        assert len([p for p in sweep_dir.iterdir() if p.is_dir()]) == 4


@pytest.mark.slow
def test_a_killed_sweep_job_resumes_when_the_sweep_is_run_again(
    tmp_path: Path, minari_store: Path
) -> None:
    sweep_dir, pause = tmp_path / "sweep", tmp_path / "pause"
    overrides = ["trainer.steps=400", "trainer.checkpoint_every=100", "seed=0"]
    from tests.sweeps.conftest import TINY as SWEEP_TINY
    from tests.sweeps.conftest import sweep_env

    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imitation_lab.train",
            "-m",
            *SWEEP_TINY,
            *overrides,
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
        env=sweep_env(minari_store) | pause_env(pause, 200),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_paused(pause, 200, alive=lambda: proc.poll() is None)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    (job,) = [p for p in sweep_dir.iterdir() if p.is_dir()]
    assert not (job / DONE).exists()
    again = run_sweep(sweep_dir, overrides, minari_store)
    assert again.proc.returncode == 0, again.log[-3000:]
    assert "resuming it" in again.log
    assert json.loads((job / DONE).read_text())["summary"]["step"] == 400


@pytest.mark.slow
@pytest.mark.parametrize(
    ("launcher", "started"), [([], 1), (["hydra/launcher=batched"], 2)], ids=["basic", "batched"]
)
def test_ctrl_c_of_a_sweep_says_what_finished_and_how_to_go_on(
    launcher: list[str], started: int, tmp_path: Path, minari_store: Path
) -> None:
    """One line, with how many started jobs finished (the batched launcher omitted it)."""
    from tests.sweeps.conftest import TINY as SWEEP_TINY
    from tests.sweeps.conftest import sweep_env

    sweep_dir, pause = tmp_path / "sweep", tmp_path / "pause"
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "imitation_lab.train",
            "-m",
            *SWEEP_TINY,
            *launcher,
            "trainer.steps=3000",
            "seed=0,1",
            f"hydra.sweep.dir={sweep_dir}",
        ],
        cwd=tmp_path,
        env=sweep_env(minari_store) | pause_env(pause, 1000),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=as_from_a_terminal,
    )
    try:
        wait_until_paused(pause, 1000, alive=lambda: proc.poll() is None)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 130, stderr[-2000:]
    assert "Traceback" not in stderr, stderr[-3000:]
    lines = [line for line in stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and f"error: interrupted. 0 of {started} started jobs" in lines[0]
    assert "Run the same command again" in stderr


# ---------------------------------------------------------------- checks before work
@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        (["seed=-1"], ["seed=-1", "Gymnasium rejects negative seeds"]),
        (["trainer.device=cuda"], ["trainer.device=cuda", "sees no CUDA device"]),
        (["trainer.device=tpu9"], ["not a torch device"]),
    ],
)
def test_values_that_would_only_fail_later_are_refused_at_start(
    overrides: list[str],
    fragments: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from tests.reliability.conftest import run_main_in_process

    if "cuda" in overrides[0]:
        import torch

        monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    line = run_main_in_process(tmp_path / "run", overrides, monkeypatch, capsys)
    for fragment in fragments:
        assert fragment in line, line


def test_offline_is_one_probe_and_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No network: one connection attempt (bounded by PROBE_TIMEOUT_S), never the hub's
    download with its retries, then one line."""
    import socket

    import minari

    from imitation_lab.data.store import PROBE_TIMEOUT_S
    from tests.reliability.conftest import run_main_in_process

    attempts = []

    def offline(address, timeout=None, **_):
        attempts.append((address, timeout))
        raise OSError(101, "Network is unreachable")

    def no_download(*args, **kwargs):
        raise AssertionError("the download must not start when the probe failed")

    monkeypatch.setattr(socket, "create_connection", offline)
    monkeypatch.setattr(minari, "download_dataset", no_download)
    line = run_main_in_process(
        tmp_path / "run", ["dataset.id=mujoco/hopper/expert-v0"], monkeypatch, capsys
    )
    assert "cannot be downloaded" in line and "huggingface.co did not answer" in line
    assert attempts == [(("huggingface.co", 443), PROBE_TIMEOUT_S)] and PROBE_TIMEOUT_S <= 3


# ---------------------------------------------------------------- property: random sequences
OPS = ("train", "resume", "resume_other_lr", "collect_new", "overwrite_bad", "overwrite_ok", "kill")


def test_random_sequences_of_operations_never_lose_a_dataset_or_a_finished_run(
    tmp_path: Path, minari_store: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Train / resume / collect / overwrite / kill in random order on one store and one run
    dir; after every step: no dataset disappeared or changed unless it was overwritten on
    purpose, a finished run keeps its record, no lock or half-written dataset is left."""
    import random

    from imitation_lab.errors import ImitationLabError
    from imitation_lab.train import train
    from tests.helpers import compose_config

    rng = random.Random(6)  # a sequence where every operation occurs (kill first)
    run_dir = tmp_path / "run"
    budget = ["trainer.steps=60", "trainer.checkpoint_every=20", "trainer.eval_episodes=1"]
    ids = [f"me/prop/d{i}-v0" for i in range(3)]

    def run(*extra: str) -> None:
        train(compose_config([*budget, *extra], run_dir))

    def killed_at_step_30() -> None:
        from imitation_lab.training.member import Member

        real = Member.record_update

        def interrupt(self, loss, seconds):
            if self.step == 30:
                raise KeyboardInterrupt
            return real(self, loss, seconds)

        with monkeypatch.context() as patch:
            patch.setattr(Member, "record_update", interrupt)
            with pytest.raises(KeyboardInterrupt):
                run(f"hydra.run.dir={run_dir}")

    for _ in range(14):
        op, dataset_id = rng.choice(OPS), rng.choice(ids)
        done_before = (run_dir / DONE).read_bytes() if (run_dir / DONE).exists() else None
        before = {i: _store_dataset(minari_store, i) for i in ids if is_local(i)}
        replaced = None  # the one dataset this step may change on purpose
        try:
            if op == "train":
                run()
            elif op == "resume":
                run("trainer.resume=true")
            elif op == "resume_other_lr":
                run("trainer.resume=true", "optim.lr=0.5")
            elif op == "kill":
                if not (run_dir / "checkpoints").exists():  # an occupied dir refuses to start
                    killed_at_step_30()
            elif op == "collect_new":
                _collect(dataset_id)  # refused when it exists
            elif op == "overwrite_bad":
                _collect(dataset_id, "overwrite=true", "source.name=nope")
            elif op == "overwrite_ok":
                replaced = dataset_id
                _collect(dataset_id, "overwrite=true", "episodes=3")
        except ImitationLabError:
            pass  # refusals are the point: the invariants below check they lost nothing
        for kept, files in before.items():
            assert is_local(kept), (op, kept)  # no dataset ever disappears
            if kept != replaced:
                assert _store_dataset(minari_store, kept) == files, (op, kept)
        if done_before is not None:
            assert (run_dir / DONE).exists(), op  # a finished run stays finished
            if op != "resume":
                assert (run_dir / DONE).read_bytes() == done_before, op
        assert not (run_dir / ".imitation_lab.lock").exists()
        for folder in ("staging", "trash"):
            assert not list((minari_store / ".imitation_lab" / folder).glob("*")), (op, folder)


def test_resume_on_a_dataset_rebuilt_under_the_same_id_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``collect overwrite=true`` with another seed rebuilds the same id with the same shapes
    and sizes: a resume would train its second half on other data (and other reference
    scores). The run records the data's digest; the resume is refused in one line, the run
    dir untouched (dataset_info.json included)."""
    from imitation_lab.train import train
    from tests.helpers import compose_config
    from tests.reliability.conftest import TINY, run_main_in_process

    dataset_id = "me/rebuilt/pendulum-v0"
    _collect(dataset_id, "seed=0")
    run_dir = tmp_path / "run"
    overrides = [*TINY, f"dataset.id={dataset_id}", "trainer.steps=100"]
    train(compose_config(overrides, run_dir, fast=False))
    before = tree_hash(run_dir)
    _collect(dataset_id, "seed=1", "overwrite=true")
    line = run_main_in_process(
        run_dir, [f"dataset.id={dataset_id}", "trainer.resume=true"], monkeypatch, capsys
    )
    assert "dataset_info.data_digest: checkpoint" in line, line
    assert tree_hash(run_dir) == before
