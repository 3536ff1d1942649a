"""Dataset-statistics normalization of observation trees (vector leaves only).

A flat Box keeps :class:`~imitation_lab.data.buffer.ObsNormalizer` (and its checkpoint
format). Any other observation gets a :class:`TreeNormalizer`: one ``ObsNormalizer`` per
vector leaf (per-key statistics); images (uint8, scaled inside the actor) and Discrete parts
pass through unchanged, so an image dataset is never turned into floats here.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn

from imitation_lab.data.buffer import ObsNormalizer
from imitation_lab.data.obs import ObsSpec


def _module_key(key: str) -> str:
    return key.replace("/", "__") or "_root"


class TreeNormalizer(nn.Module):
    """Per-key ``(x - mean) / (std + eps)`` on the vector leaves of an observation tree."""

    def __init__(self, spec: ObsSpec, norms: dict[str, ObsNormalizer]) -> None:
        super().__init__()
        self.spec = spec
        self.keys = [key for key in spec.keys if key in norms]
        self.norms = nn.ModuleDict({_module_key(k): norms[k] for k in self.keys})

    @classmethod
    def from_data(cls, spec: ObsSpec, obs: Any, enabled: bool = True) -> TreeNormalizer:
        """Statistics of every vector leaf of ``obs`` (identity ones when not ``enabled``)."""
        flat = spec.flat(obs)
        norms = {}
        for leaf in spec.leaves:
            if leaf.kind != "vector":
                continue
            values = flat[leaf.key].float()
            # per feature: frames (frame_stack) and other leading dims share the statistics
            values = values.reshape(-1, *leaf.space.shape[-1:]) if values.ndim > 1 else values
            dims = tuple(leaf.space.shape[-1:])
            norms[leaf.key] = (
                ObsNormalizer.from_data(values)
                if enabled
                else ObsNormalizer(torch.zeros(dims), torch.ones(dims), eps=0.0)
            )
        return cls(spec, norms)

    def forward(self, obs: Any) -> Any:
        if not self.keys:
            return obs
        flat = dict(self.spec.flat(obs))
        for key in self.keys:
            flat[key] = self.norms[_module_key(key)](flat[key].float())
        return self.spec.build(flat)


Normalizer = ObsNormalizer | TreeNormalizer


def make_normalizer(spec: ObsSpec | None, obs: Any, enabled: bool) -> Normalizer:
    """``ObsNormalizer`` for a flat Box (``obs`` a tensor), else a ``TreeNormalizer``."""
    if spec is None:
        return ObsNormalizer.from_data(obs) if enabled else ObsNormalizer.identity(obs.shape[1])
    return TreeNormalizer.from_data(spec, obs, enabled)


def normalizer_to_load(spec: ObsSpec, normalized: bool) -> Normalizer:
    """An empty normalizer of the structure a run with ``spec`` and ``dataset.normalize_obs =
    normalized`` trained with, for its checkpoint's state (``eps`` is not in the state: the
    statistics ones use 1e-3, the identity 0)."""
    if spec.is_flat_vector:
        dim = spec.flat_dim
        return ObsNormalizer(torch.zeros(dim), torch.ones(dim), eps=1e-3 if normalized else 0.0)
    return TreeNormalizer.from_data(spec, spec.zeros(2), enabled=normalized)
