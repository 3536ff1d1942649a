"""Checkpoints: atomic writes, safe loading, clear errors for corrupt or foreign files."""

from __future__ import annotations

import pathlib
from pathlib import Path

import pytest
import torch

from imitation_lab import checkpoint as checkpoint_module
from imitation_lab.checkpoint import load_checkpoint, save_checkpoint
from imitation_lab.errors import CheckpointError
from tests.reliability.conftest import TINY, assert_one_line_error, run_cli, train_command


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
    with pytest.raises(OSError, match="No space left"):
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


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_resume_from_a_damaged_checkpoint_is_one_clear_error(
    damage: str, run_copy: Path, minari_store: Path
) -> None:
    last = run_copy / "checkpoints" / "last.pt"
    data = last.read_bytes()
    last.write_bytes(
        {"truncated": data[: len(data) // 2], "garbage": b"not a checkpoint" * 64, "empty": b""}[
            damage
        ]
    )
    result = run_cli(train_command(run_copy, *TINY, "trainer.resume=true"), minari_store)
    assert_one_line_error(result, str(last), "corrupted or truncated", "Delete it")


def test_resume_with_another_architecture_names_the_difference(
    run_copy: Path, minari_store: Path
) -> None:
    overrides = [*TINY, "trainer.resume=true", "actor.hidden_sizes=[32,32]"]
    result = run_cli(train_command(run_copy, *overrides), minari_store)
    assert_one_line_error(result, "different setup", "actor.hidden_sizes", "[16]", "[32, 32]")
    assert torch.load(run_copy / "checkpoints" / "last.pt", weights_only=True)["step"] == 200
