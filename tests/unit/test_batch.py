from __future__ import annotations

import numpy as np
import pytest
import torch

from imitation_lab import Batch


def test_attribute_and_item_access() -> None:
    batch = Batch(obs=np.zeros((3, 2)), act=torch.arange(3), info={})
    assert batch.obs.shape == (3, 2)
    assert batch["act"] is batch.act
    assert "info" in batch and "state" not in batch
    assert batch.get("state") is None
    assert len(batch) == 3
    assert list(batch.keys()) == ["obs", "act", "info"]
    batch.state = None
    assert batch.state is None
    with pytest.raises(AttributeError):
        _ = batch.missing


def test_indexing_slices_every_array() -> None:
    batch = Batch(obs=np.arange(6).reshape(3, 2), act=torch.tensor([1, 2, 3]), info={"k": 1})
    sub = batch[torch.tensor([2, 0])]
    np.testing.assert_array_equal(sub.obs, [[4, 5], [0, 1]])
    assert sub.act.tolist() == [3, 1]
    assert sub.info == {"k": 1}


def test_to_torch_and_equality() -> None:
    batch = Batch(obs=np.ones((2, 2), dtype=np.float64), nested=Batch(x=np.zeros(2)))
    tensors = batch.to_torch(dtype=torch.float32)
    assert tensors.obs.dtype == torch.float32
    assert isinstance(tensors.nested.x, torch.Tensor)
    assert tensors == tensors.to_torch()
    assert tensors != batch.to_torch(dtype=torch.float64)
