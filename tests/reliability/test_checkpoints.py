"""Checkpoints: atomic writes, safe loading, clear errors for corrupt or foreign files."""

from __future__ import annotations

import pathlib
import sys
from pathlib import Path

import minari
import pytest
import torch

from imitation_lab.errors import CheckpointError
from imitation_lab.train import train
from imitation_lab.training import checkpoint as checkpoint_module
from imitation_lab.training.checkpoint import load_checkpoint, save_checkpoint
from tests.datasets.helpers import make_dataset, pendulum_episode
from tests.helpers import compose_config
from tests.reliability.conftest import (
    TINY,
    assert_one_line_error,
    run_cli,
    run_main_in_process,
    train_command,
)


def test_crash_while_writing_keeps_the_previous_checkpoint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "checkpoints" / "last.pt"
    save_checkpoint({"policy": {"w": torch.ones(3)}, "step": 1}, path)
    before = path.read_bytes()
    real_save = torch.save

    def crash_mid_write(obj, handle, *args, **kwargs):
        real_save(obj, handle, *args, **kwargs)
        handle.truncate(handle.tell() // 2)  # half the bytes are on disk, then the crash
        raise OSError("No space left on device")

    monkeypatch.setattr(checkpoint_module.torch, "save", crash_mid_write)
    with pytest.raises(CheckpointError, match=r"No space left.*previous checkpoint.*is kept"):
        save_checkpoint({"policy": {"w": torch.zeros(3)}, "step": 2}, path)
    assert path.read_bytes() == before
    assert load_checkpoint(path)["step"] == 1
    assert sorted(p.name for p in path.parent.iterdir()) == ["last.pt"]  # no temp file left


class _RunsCodeWhenUnpickled:
    """A pickle payload that would create ``marker`` if anything unpickled it."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (pathlib.Path.touch, (self.marker,))


def test_a_checkpoint_holding_arbitrary_objects_is_refused_unexecuted(tmp_path: Path) -> None:
    marker = tmp_path / "code_ran"
    path = tmp_path / "evil.pt"
    torch.save({"policy": {}, "payload": _RunsCodeWhenUnpickled(marker)}, path)
    with pytest.raises(CheckpointError, match="Unsupported global"):
        load_checkpoint(path)
    assert not marker.exists()
    torch.load(path, weights_only=False)  # the payload is real: full unpickling runs it
    assert marker.exists()


def test_real_checkpoints_load_with_weights_only(finished_run: Path) -> None:
    for name in ("last.pt", "best.pt"):
        state = torch.load(finished_run / "checkpoints" / name, weights_only=True)
        assert state["step"] == 200 if name == "last.pt" else state["step"] > 0
        assert {"policy", "optim", "rng", "sampler", "normalizer"} <= state.keys()


def test_resume_from_a_truncated_checkpoint_is_one_clear_error(
    run_copy: Path, minari_store: Path
) -> None:
    """Through the real CLI in a subprocess: exit 1, one line, nothing touched."""
    last = run_copy / "checkpoints" / "last.pt"
    last.write_bytes(last.read_bytes()[:1000])
    metrics = (run_copy / "metrics.jsonl").read_bytes()
    result = run_cli(train_command(run_copy, *TINY, "trainer.resume=true"), minari_store)
    assert_one_line_error(result, str(last), "corrupted or truncated", "Delete it")
    assert (run_copy / "metrics.jsonl").read_bytes() == metrics


@pytest.mark.parametrize("content", [b"not a checkpoint" * 64, b""], ids=["garbage", "empty"])
def test_resume_from_a_damaged_checkpoint_is_one_clear_error(
    content: bytes, run_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    last = run_copy / "checkpoints" / "last.pt"
    last.write_bytes(content)
    line = run_main_in_process(run_copy, ["trainer.resume=true"], monkeypatch, capsys)
    assert str(last) in line and "corrupted or truncated" in line


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ("actor.hidden_sizes=[32,32]", "actor.hidden_sizes: checkpoint [16], now [32, 32]"),
        ("optim=sgd", "optim._target_: checkpoint 'torch.optim.Adam', now 'torch.optim.SGD'"),
        ("optim.lr=0.0001", "optim.lr: checkpoint 0.001, now 0.0001"),
    ],
    ids=["architecture", "optimizer", "lr-would-be-ignored"],
)
def test_resume_with_another_setup_names_the_difference(
    change: str, fragment: str, run_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Metrics and checkpoints of the finished run stay exactly as they were."""
    line = run_main_in_process(run_copy, ["trainer.resume=true", change], monkeypatch, capsys)
    assert "different setup" in line and fragment in line


def test_resume_on_a_rebuilt_dataset_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """Same id, other data (rebuilt with more episodes): the run would not be the same run."""
    dataset_id = "reliability/pendulum/rebuilt-v0"
    make_dataset(dataset_id, [pendulum_episode(50, seed) for seed in range(2)])
    overrides = [f"dataset.id={dataset_id}", "trainer.steps=20", "trainer.eval_episodes=0"]
    train(compose_config([*TINY, *overrides], run_dir=tmp_path))
    minari.delete_dataset(dataset_id)
    make_dataset(dataset_id, [pendulum_episode(50, seed) for seed in range(3)])
    line = run_main_in_process(tmp_path, [*overrides, "trainer.resume=true"], monkeypatch, capsys)
    assert "dataset_info.total_episodes: checkpoint 2, now 3" in line


def test_resume_from_a_weights_only_file_says_it_cannot_resume(
    run_copy: Path, monkeypatch: pytest.MonkeyPatch, capsys
) -> None:
    """E.g. a checkpoint stripped to its weights for sharing: no RNG/sampler state to resume."""
    last = run_copy / "checkpoints" / "last.pt"
    state = torch.load(last, weights_only=True)
    torch.save({k: v for k, v in state.items() if k not in {"rng", "sampler"}}, last)
    line = run_main_in_process(run_copy, ["trainer.resume=true"], monkeypatch, capsys)
    assert f"Checkpoint {last} has no rng, sampler: it cannot resume a run" in line


def test_a_checkpoint_with_an_unknown_bound_method_is_one_line(
    finished_run: Path, tmp_path: Path, minari_store: Path
) -> None:
    """A checkpoint from another version (a bound method this one lacks) was a 21-line
    ValueError in eval; now one line that names the key and the known methods."""
    from imitation_lab.errors import CheckpointError
    from imitation_lab.inference import load_policy

    state = torch.load(finished_run / "checkpoints" / "last.pt", weights_only=True)
    state["metadata"]["config"]["bounding"]["action_bound_method"] = "sigmoid"
    path = tmp_path / "newer.pt"
    torch.save(state, path)
    with pytest.raises(CheckpointError, match=r"action_bound_method='sigmoid'.*clip"):
        load_policy(path)
    result = run_cli(
        [sys.executable, "-m", "imitation_lab.eval_app", f"checkpoint={path}",
         f"hydra.run.dir={tmp_path / 'eval'}"],
        minari_store,
    )  # fmt: skip
    assert_one_line_error(result, "sigmoid")
