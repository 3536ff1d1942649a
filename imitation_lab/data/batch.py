"""A small attribute-access container for policy inputs and outputs.

``Batch`` mirrors the part of Tianshou's ``Batch`` that an imitation policy touches:
attribute access (``batch.obs``), item access (``batch["obs"]``), ``keys()``/``items()``,
``in`` and ``len``. It is a thin ``__dict__`` wrapper on purpose: building one costs a
single dict update (about 0.3 µs), which matters in a training loop that builds two per
gradient step, whereas a ``tensordict.TensorDict`` costs tens of microseconds and cannot
hold the ``None`` state or the free-form ``info`` that Tianshou's model protocol passes.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch


class Batch:
    """Attribute-access mapping of named arrays/tensors (and free-form values)."""

    def __init__(self, data: dict[str, Any] | None = None, /, **kwargs: Any) -> None:
        if data:
            self.__dict__.update(data)
        if kwargs:
            self.__dict__.update(kwargs)

    def __getitem__(self, key: str | int | slice | np.ndarray | torch.Tensor) -> Any:
        if isinstance(key, str):
            return self.__dict__[key]
        return Batch({k: _index(v, key) for k, v in self.__dict__.items()})

    def __setitem__(self, key: str, value: Any) -> None:
        self.__dict__[key] = value

    def __contains__(self, key: object) -> bool:
        return key in self.__dict__

    def __iter__(self) -> Iterator[str]:
        return iter(self.__dict__)

    def __len__(self) -> int:
        """Length of the first array-like value (the batch size), 0 when there is none."""
        for value in self.__dict__.values():
            if isinstance(value, (np.ndarray, torch.Tensor)) and value.ndim > 0:
                return int(value.shape[0])
            if isinstance(value, Batch):
                return len(value)
        return 0

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Batch) or self.keys() != other.keys():
            return False
        return all(_equal(self.__dict__[k], other.__dict__[k]) for k in self.__dict__)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={_short_repr(v)}" for k, v in self.__dict__.items())
        return f"Batch({inner})"

    def keys(self):
        return self.__dict__.keys()

    def values(self):
        return self.__dict__.values()

    def items(self):
        return self.__dict__.items()

    def get(self, key: str, default: Any = None) -> Any:
        return self.__dict__.get(key, default)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def to_torch(
        self, dtype: torch.dtype | None = None, device: str | torch.device = "cpu"
    ) -> Batch:
        """Return a copy whose numpy arrays (recursively) are torch tensors on ``device``."""
        return Batch({k: _to_torch(v, dtype, device) for k, v in self.__dict__.items()})


def _index(value: Any, key: Any) -> Any:
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return value[key]
    if isinstance(value, Batch):
        return value[key]
    return value


def _equal(a: Any, b: Any) -> bool:
    if isinstance(a, torch.Tensor) and isinstance(b, torch.Tensor):
        return a.shape == b.shape and a.dtype == b.dtype and bool(torch.equal(a, b))
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return bool(np.array_equal(a, b))
    return bool(a == b)


def _to_torch(value: Any, dtype: torch.dtype | None, device: str | torch.device) -> Any:
    if isinstance(value, np.ndarray):
        return torch.as_tensor(value, dtype=dtype, device=device)
    if isinstance(value, torch.Tensor):
        return value.to(device=device, dtype=dtype or value.dtype)
    if isinstance(value, Batch):
        return value.to_torch(dtype, device)
    return value


def _short_repr(value: Any) -> str:
    if isinstance(value, (np.ndarray, torch.Tensor)):
        return f"{type(value).__name__}(shape={tuple(value.shape)}, dtype={value.dtype})"
    return repr(value)
