"""Observation structure: which parts of a Gymnasium space reach the actor, and in what shape.

A space is a tree (``Dict``, ``Tuple``, nested) of leaves: ``Box`` of any rank, ``Discrete``,
``MultiBinary``, ``MultiDiscrete``. Text parts (``Text``, MiniGrid's ``MissionSpace``) are not
tensors and are dropped. Leaves are named by their path, ``"/"``-joined (``"observation"``,
``"agent/pos"``, ``"0"`` for a Tuple's first part), in the space's own order (Gymnasium sorts a
``Dict``'s keys), depth first: the fixed order the MLP actor flattens them in.

The actor gets the tree back (``ObsSpec.build``): a ``Box`` root as a tensor, a ``Dict`` as a
:class:`~imitation_lab.data.batch.Batch` of its keys (nested Dicts as nested Batches), a ``Tuple``
as a tuple. uint8 images stay uint8 all the way to the actor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import gymnasium as gym
import numpy as np
import torch

from imitation_lab.data.batch import Batch
from imitation_lab.errors import DatasetError

LeafKind = Literal["image", "vector", "discrete"]
Path = tuple[str | int, ...]
FEEDABLE = (gym.spaces.Box, gym.spaces.Discrete, gym.spaces.MultiBinary, gym.spaces.MultiDiscrete)


def is_text(space: gym.Space) -> bool:
    """``Text`` and other string spaces (MiniGrid's ``MissionSpace``): dropped, never fed."""
    if isinstance(space, gym.spaces.Text):
        return True
    dtype = getattr(space, "dtype", None)
    return dtype is str or (isinstance(dtype, np.dtype) and dtype.kind in "US")


def is_image(space: gym.Space) -> bool:
    """A uint8 ``Box`` of rank 2 (H, W), 3 (H, W, C / C, H, W) or 4 (frames, H, W, C)."""
    return isinstance(space, gym.spaces.Box) and space.dtype == np.uint8 and len(space.shape) >= 2


@dataclass(frozen=True)
class Leaf:
    """One fed part of an observation space."""

    key: str
    path: Path
    space: gym.Space

    @property
    def kind(self) -> LeafKind:
        if isinstance(self.space, gym.spaces.Discrete | gym.spaces.MultiDiscrete):
            return "discrete"
        return "image" if is_image(self.space) else "vector"

    @property
    def flat_dim(self) -> int:
        """Inputs of this leaf in a flat vector (one-hot for Discrete / MultiDiscrete)."""
        space = self.space
        if isinstance(space, gym.spaces.Discrete):
            return int(space.n)
        if isinstance(space, gym.spaces.MultiDiscrete):
            return int(np.sum(space.nvec))
        return int(np.prod(space.shape))


def _walk(space: gym.Space, path: Path, leaves: list[Leaf], dropped: list[str], where: str):
    key = "/".join(str(p) for p in path)
    if isinstance(space, gym.spaces.Dict):
        for name, sub in space.spaces.items():
            _walk(sub, (*path, name), leaves, dropped, where)
    elif isinstance(space, gym.spaces.Tuple):
        for i, sub in enumerate(space.spaces):
            _walk(sub, (*path, i), leaves, dropped, where)
    elif is_text(space):
        dropped.append(key or "<root>")
    elif isinstance(space, FEEDABLE):
        leaves.append(Leaf(key, path, space))
    else:
        raise DatasetError(
            f"Dataset '{where}' has an observation part '{key or '<root>'}' of type "
            f"{type(space).__name__} ({space}), which cannot be fed to an actor (Box, Discrete, "
            "MultiBinary, MultiDiscrete, and Dict/Tuple of them can). Select the other keys "
            "with dataset.obs_keys=[...] or convert the dataset."
        )


def _prune(space: gym.Space, keep: set[Path], path: Path = ()) -> gym.Space | None:
    """``space`` with only the leaves in ``keep`` (None when nothing is left)."""
    if isinstance(space, gym.spaces.Dict):
        parts = {k: _prune(s, keep, (*path, k)) for k, s in space.spaces.items()}
        kept = {k: s for k, s in parts.items() if s is not None}
        return gym.spaces.Dict(kept) if kept else None
    if isinstance(space, gym.spaces.Tuple):
        tparts = [_prune(s, keep, (*path, i)) for i, s in enumerate(space.spaces)]
        if all(s is None for s in tparts):
            return None
        if any(s is None for s in tparts):  # a Tuple keeps its positions: all or nothing
            raise ValueError("partial tuple")
        return gym.spaces.Tuple(tparts)  # type: ignore[arg-type]
    return space if path in keep else None


@dataclass(frozen=True)
class ObsSpec:
    """The fed part of an observation space: its leaves, what was dropped, the tree shape."""

    space: gym.Space  # the fed space (dropped and unselected parts removed)
    leaves: tuple[Leaf, ...]
    dropped: tuple[str, ...] = ()

    @classmethod
    def of(
        cls, space: gym.Space, keys: Sequence[str] | None = None, *, dataset_id: str = "?"
    ) -> ObsSpec:
        """The spec of ``space``; ``keys`` selects leaves or subtrees by name (``obs_keys``)."""
        leaves: list[Leaf] = []
        dropped: list[str] = []
        _walk(space, (), leaves, dropped, dataset_id)
        if keys is not None:
            names = [leaf.key for leaf in leaves]
            chosen = []
            for key in keys:
                hit = [x for x in leaves if x.key == key or x.key.startswith(f"{key}/")]
                if not hit:
                    why = " (a text part: not a tensor)" if key in dropped else ""
                    raise DatasetError(
                        f"Dataset '{dataset_id}' has no observation key '{key}'{why}. Its keys: "
                        f"{', '.join(names) or '(none)'}. Fix dataset.obs_keys."
                    )
                chosen += [x for x in hit if x not in chosen]
            dropped += [x.key for x in leaves if x not in chosen]
            leaves = [x for x in leaves if x in chosen]  # keep the space's order
        if not leaves:
            raise DatasetError(
                f"Dataset '{dataset_id}' has no observation part an actor can take "
                f"(observation space {space}; dropped: {', '.join(dropped) or 'none'}). "
                "Text, Graph and Sequence spaces are not tensors: convert the dataset."
            )
        if leaves[0].path == ():
            return cls(space, tuple(leaves), tuple(dropped))
        try:
            fed = _prune(space, {leaf.path for leaf in leaves})
        except ValueError as err:
            raise DatasetError(
                f"Dataset '{dataset_id}': dataset.obs_keys must select whole Tuple parts "
                f"(a Tuple keeps its positions); got {list(keys or [])}."
            ) from err
        assert fed is not None
        return cls(fed, tuple(leaves), tuple(dropped))

    # ------------------------------------------------------------------ properties
    @property
    def is_box(self) -> bool:
        """The observation is one ``Box`` (no Dict/Tuple around it)."""
        return len(self.leaves) == 1 and self.leaves[0].path == ()

    @property
    def is_flat_vector(self) -> bool:
        """A plain rank-1 ``Box`` (not an image): the classic MuJoCo / classic-control case."""
        leaf = self.leaves[0]
        return self.is_box and leaf.kind == "vector" and len(leaf.space.shape) == 1

    def stacked(self, frames: int) -> ObsSpec:
        """The spec of ``frames`` stacked observations, as Gymnasium's
        ``FrameStackObservation`` gives them: every leaf gets a leading ``frames`` axis
        (``batch_space``: a Box ``[frames, *shape]``, a Discrete part a MultiDiscrete)."""
        if frames == 1:
            return self
        space = gym.vector.utils.batch_space(self.space, frames)
        return ObsSpec.of(space, dataset_id="frame_stack")

    @property
    def flat_dim(self) -> int:
        return sum(leaf.flat_dim for leaf in self.leaves)

    @property
    def keys(self) -> list[str]:
        return [leaf.key for leaf in self.leaves]

    # ------------------------------------------------------------------ conversions
    def select(self, obs: Any) -> dict[str, Any]:
        """The fed leaves of an observation (any tree of arrays) as ``{key: array}``."""
        out = {}
        for leaf in self.leaves:
            value = obs
            for part in leaf.path:
                value = value[part]
            out[leaf.key] = value
        return out

    def build(self, flat: Mapping[str, Any]) -> Any:
        """The tree the actor sees from ``{key: tensor}``: tensor, Batch or tuple."""
        if self.is_box:
            return flat[self.leaves[0].key]
        return _assemble(self.space, (), flat)

    def flat(self, tree: Any) -> dict[str, Any]:
        """The inverse of ``build``."""
        if self.is_box:
            return {self.leaves[0].key: tree}
        return self.select(tree)

    def to_torch(self, obs: Any, device: torch.device | str = "cpu") -> Any:
        """An env observation (numpy, batched) as the actor's tree of tensors.

        Floats become float32, Discrete parts int64, uint8 images stay uint8.
        """
        return self.build(
            {leaf.key: _leaf_tensor(value, leaf, device) for leaf, value in self._pairs(obs)}
        )

    def _pairs(self, obs: Any) -> list[tuple[Leaf, Any]]:
        values = self.select(obs)
        return [(leaf, values[leaf.key]) for leaf in self.leaves]

    def zeros(self, batch: int, device: torch.device | str = "cpu") -> Any:
        """A batch of valid all-``low`` observations (probing an actor's output shape)."""
        flat = {}
        for leaf in self.leaves:
            space = leaf.space
            if isinstance(space, gym.spaces.Box):
                low = np.where(np.isfinite(space.low), space.low, 0).astype(space.dtype)
                value = np.broadcast_to(low, (batch, *space.shape))
            elif isinstance(space, gym.spaces.Discrete):
                value = np.full((batch,), int(space.start), dtype=np.int64)
            else:
                value = np.zeros((batch, *space.shape), dtype=space.dtype)
            flat[leaf.key] = _leaf_tensor(np.ascontiguousarray(value), leaf, device)
        return self.build(flat)

    def describe(self) -> str:
        """One line per leaf: key, kind, shape, dtype (logged at load)."""
        parts = []
        for leaf in self.leaves:
            shape = getattr(leaf.space, "shape", ())
            parts.append(f"{leaf.key or '<root>'}: {leaf.kind} {tuple(shape)} {leaf.space.dtype}")
        return "; ".join(parts)


def storage_dtype(leaf: Leaf, values: np.ndarray) -> np.dtype:
    """How a leaf is kept in memory: images as they are (uint8), Discrete parts as int64,
    everything else (vectors, MultiBinary) as float32."""
    if leaf.kind == "image":
        return values.dtype
    if leaf.kind == "discrete":
        return np.dtype(np.int64)
    return np.dtype(np.float32)


def _leaf_tensor(value: Any, leaf: Leaf, device: torch.device | str) -> torch.Tensor:
    array = np.asarray(value)
    array = array.astype(storage_dtype(leaf, array), copy=False)
    return torch.as_tensor(array, device=device)


def _assemble(space: gym.Space, path: Path, flat: Mapping[str, Any]) -> Any:
    if isinstance(space, gym.spaces.Dict):
        return Batch({k: _assemble(s, (*path, k), flat) for k, s in space.spaces.items()})
    if isinstance(space, gym.spaces.Tuple):
        return tuple(_assemble(s, (*path, i), flat) for i, s in enumerate(space.spaces))
    return flat["/".join(str(p) for p in path)]


def tree_map(fn: Callable[[Any], Any], tree: Any) -> Any:
    """``fn`` on every array leaf of a tensor / Batch / dict / tuple tree."""
    if isinstance(tree, Batch):
        return Batch({k: tree_map(fn, v) for k, v in tree.items()})
    if isinstance(tree, dict):
        return {k: tree_map(fn, v) for k, v in tree.items()}
    if isinstance(tree, tuple):
        return tuple(tree_map(fn, v) for v in tree)
    return fn(tree)


def tree_leaves(tree: Any) -> list[Any]:
    """The array leaves of a tree, in order."""
    out: list[Any] = []
    tree_map(out.append, tree)
    return out


__all__ = ["Leaf", "ObsSpec", "is_image", "is_text", "storage_dtype", "tree_leaves", "tree_map"]


def env_obs_to_torch(obs: Any, spec: ObsSpec | None, device: torch.device | str) -> Any:
    """A batched env observation as the actor's input: float32 ``[N, obs_dim]`` for a flat
    Box, else ``spec``'s tree (uint8 images kept, text dropped)."""
    if spec is None:
        return torch.as_tensor(np.asarray(obs), dtype=torch.float32, device=device)
    return spec.to_torch(obs, device)
