"""Sequence trunks (``actor=rnn``, ``actor=transformer``): an action from the episode so far.

Each observation is encoded on its own (flattened as ``actor=mlp`` does it: any observation
kind, Discrete parts one-hot, uint8 images / ``image_scale``, then an MLP to ``hidden_size``;
``image_scale=1`` feeds MiniGrid's symbolic images, whose values are object/colour/state ids
and not intensities, as the ids), then a trunk runs
over time: a GRU/LSTM (``cell``, ``layers``), or a small causal transformer (``layers``,
``heads``, learned positions over ``context`` steps), then an MLP head (``hidden_sizes``;
none: one Linear) to the outputs.

* Training feeds windows ``Batch(seq_obs=<observations [B, L, ...]>, seq_valid=<bool [B, L]>)``
  with ``L = context``: the last L observations of each sampled transition, left-padded where
  the episode had not started (``seq_valid`` False there; padded steps change nothing: the
  recurrent state stays at zero, the transformer's steps never attend to them). The loss is on
  the last step's output (the action of the sampled transition; ``loss_steps=last``) or on
  every valid step's output, each against its own action (``loss_steps=all``, robomimic's
  BC-RNN: L targets per window instead of one). A GRU/LSTM computes every step as acting does;
  the transformer predicts an earlier step at the window position it holds (robomimic's
  ``supervise_all_steps``), while acting always puts the current step last.
* Acting feeds one observation per env and carries ``state`` (Tianshou's ``forward(batch,
  state)`` protocol): the recurrent state, or the transformer's context of the last L encoded
  steps. ``reset_state(state, mask)`` starts the envs of ``mask`` afresh (episode start). The
  transformer then computes exactly what it was trained on; the GRU/LSTM carries its state
  through the whole episode, as in training for an episode's first L steps.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import Enum
from typing import Any

import gymnasium as gym
import torch
from torch import nn

from imitation_lab.actors.encoders import ObsFlattener, as_tensors, mlp, option
from imitation_lab.data.batch import Batch
from imitation_lab.data.obs import ObsSpec

#: the keys of a training window (chosen not to collide with observation keys)
SEQ_OBS, SEQ_VALID = "seq_obs", "seq_valid"
KINDS = ("gru", "lstm", "transformer")


def is_window(obs: Any) -> bool:
    """Whether ``obs`` is a training window (``Batch(seq_obs=..., seq_valid=...)``)."""
    return isinstance(obs, Batch) and SEQ_VALID in obs and SEQ_OBS in obs


class SequenceActor(nn.Module):
    """A per-step encoder, then a recurrent or causal-attention trunk, then ``act_dim`` outputs."""

    def __init__(
        self,
        act_dim: int | None = None,
        kind: str = "rnn",
        cell: str | Enum = "gru",
        hidden_size: int = 128,
        layers: int = 1,
        heads: int = 4,
        context: int = 32,
        encoder_sizes: Sequence[int] = (128,),
        hidden_sizes: Sequence[int] = (),
        image_scale: float = 255.0,
        loss_steps: str | Enum = "last",
        device: str | torch.device = "cpu",
        *,
        observation_space: gym.Space,
    ) -> None:
        super().__init__()
        loss_steps = str(option(loss_steps))
        if loss_steps not in ("last", "all"):
            raise ValueError(f"actor.loss_steps must be last or all, got {loss_steps!r}")
        #: a training window's outputs: its last step's, or every valid step's (``[N, out]``)
        self.all_steps = loss_steps == "all"
        if kind not in ("rnn", "transformer"):
            raise ValueError(f"actor.kind must be rnn or transformer, got {kind!r}")
        kind = "transformer" if kind == "transformer" else str(option(cell))
        if kind not in KINDS:
            raise ValueError(f"actor.cell must be gru or lstm, got {cell!r}")
        if act_dim is None:
            raise ValueError("SequenceActor needs act_dim (the number of outputs).")
        if context < 1 or layers < 1 or hidden_size < 1:
            raise ValueError("actor.context, actor.layers and actor.hidden_size must be >= 1")
        self.kind, self.context, self.layers = kind, int(context), int(layers)
        self.hidden_size, self.act_dim = int(hidden_size), int(act_dim)
        spec = ObsSpec.of(observation_space)
        self.flatten: ObsFlattener | None = (
            None if spec.is_flat_vector else ObsFlattener(spec, image_scale)
        )
        self.encoder = mlp(spec.flat_dim, list(encoder_sizes), self.hidden_size, "relu", False)
        self.encoder.append(nn.ReLU())
        if kind == "transformer":
            if self.hidden_size % heads:
                raise ValueError(f"actor.hidden_size {hidden_size} must divide by heads {heads}")
            self.heads = int(heads)
            self.positions = nn.Parameter(torch.zeros(self.context, self.hidden_size))
            nn.init.normal_(self.positions, std=0.02)
            layer = nn.TransformerEncoderLayer(
                self.hidden_size,
                self.heads,
                dim_feedforward=4 * self.hidden_size,
                dropout=0.0,
                batch_first=True,
                norm_first=True,
            )
            self.trunk: nn.Module = nn.TransformerEncoder(
                layer, self.layers, enable_nested_tensor=False
            )
        else:
            rnn = nn.GRU if kind == "gru" else nn.LSTM
            self.trunk = rnn(self.hidden_size, self.hidden_size, self.layers, batch_first=True)
        self.out = mlp(self.hidden_size, list(hidden_sizes), self.act_dim, "relu", False)
        self.device = torch.device(device)
        self.to(self.device)

    # ------------------------------------------------------------------ encoding
    def encode(self, obs: Any) -> torch.Tensor:
        """Observations ``[*lead, ...]`` -> features ``[*lead, hidden_size]``."""
        if self.flatten is None:
            flat = torch.as_tensor(obs, dtype=torch.float32, device=self.device)
        else:
            flat = self.flatten(as_tensors(obs, self.device))
        return self.encoder(flat)

    # ------------------------------------------------------------------ forward
    def forward(self, obs: Any, state: Any = None, info: Any = None) -> tuple[torch.Tensor, Any]:
        if is_window(obs):
            valid = torch.as_tensor(obs[SEQ_VALID], device=self.device)
            features = self.encode(obs[SEQ_OBS])
            if self.all_steps:  # every valid step, in ``valid``'s row-major order
                return self.out(self._every_step(features, valid)), None
            return self.out(self._window(features, valid)), None
        features = self.encode(obs)  # one step per env
        if self.kind == "transformer":
            return self._attend_step(features, state)
        return self._recur_step(features, state)

    def _window(self, features: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """The last step's trunk output of each window ``[B, L, H]``."""
        if self.kind == "transformer":
            return self._attend(features, valid)[:, -1]
        packed, _ = self._packed(features, valid)
        _, state = self.trunk(packed)
        hidden = state if self.kind == "gru" else state[0]
        return hidden[-1]

    def _every_step(self, features: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """The trunk output ``[N, H]`` of every valid step of the windows ``[B, L, H]`` (what
        ``features[valid]`` selects, in that order): ``actor.loss_steps=all``."""
        if self.kind == "transformer":
            return self._attend(features, valid)[valid]
        packed, counts = self._packed(features, valid)
        output, _ = self.trunk(packed)
        length = features.shape[1]
        steps, _ = nn.utils.rnn.pad_packed_sequence(output, batch_first=True, total_length=length)
        first = torch.arange(length, device=self.device) < counts.to(self.device).unsqueeze(1)
        return steps[first]  # valid steps aligned first: the same order as features[valid]

    def _packed(self, features: torch.Tensor, valid: torch.Tensor) -> tuple[Any, torch.Tensor]:
        """Left-padded windows -> their valid steps first, packed: the RNN never sees a pad."""
        length = features.shape[1]
        counts = valid.sum(dim=1)
        order = torch.arange(length, device=self.device) + (length - counts).unsqueeze(1)
        aligned = features.gather(1, order.clamp(max=length - 1).unsqueeze(-1).expand_as(features))
        packed = nn.utils.rnn.pack_padded_sequence(
            aligned, counts.cpu(), batch_first=True, enforce_sorted=False
        )
        return packed, counts

    # ------------------------------------------------------------------ recurrent
    def initial_state(self, n: int) -> Any:
        """Zero state for ``n`` sequences: ``h`` (GRU) or ``(h, c)`` (LSTM), each
        ``[layers, n, H]``."""
        zeros = torch.zeros(self.layers, n, self.hidden_size, device=self.device)
        return zeros if self.kind == "gru" else (zeros, zeros.clone())

    def _recur_step(self, features: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        state = self.initial_state(features.shape[0]) if state is None else state
        output, state = self.trunk(features.unsqueeze(1), state)
        return self.out(output[:, -1]), state

    # ------------------------------------------------------------------ transformer
    def _attend(self, features: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """Causal attention over ``[B, L, H]``: a step sees the valid steps up to itself (a
        padded step only itself, so no row is empty)."""
        length = features.shape[1]
        x = features + self.positions[-length:]
        causal = torch.ones(length, length, dtype=torch.bool, device=self.device).tril()
        allowed = causal & valid.unsqueeze(1)  # [B, query, key]
        allowed = allowed | torch.eye(length, dtype=torch.bool, device=self.device)
        mask = torch.zeros(allowed.shape, device=self.device).masked_fill(~allowed, float("-inf"))
        mask = mask.repeat_interleave(self.heads, dim=0)  # [B * heads, L, L]
        return self.trunk(x, mask=mask)

    def _attend_step(self, features: torch.Tensor, state: Any) -> tuple[torch.Tensor, Any]:
        n = features.shape[0]
        if state is None:
            context = torch.zeros(n, self.context, self.hidden_size, device=self.device)
            valid = torch.zeros(n, self.context, dtype=torch.bool, device=self.device)
        else:
            context, valid = state
        context = torch.cat([context[:, 1:], features.unsqueeze(1)], dim=1)
        valid = torch.cat([valid[:, 1:], torch.ones(n, 1, dtype=torch.bool, device=self.device)], 1)
        return self.out(self._attend(context, valid)[:, -1]), (context, valid)

    # ------------------------------------------------------------------ episodes
    def reset_state(self, state: Any, mask: Any) -> Any:
        """``state`` with the envs of ``mask`` (bool ``[N]``) started afresh."""
        if state is None:
            return None
        keep = ~torch.as_tensor(mask, dtype=torch.bool, device=self.device)
        if self.kind == "transformer":
            context, valid = state
            return context, valid & keep.unsqueeze(1)
        if self.kind == "gru":
            return state * keep.view(1, -1, 1)
        return tuple(part * keep.view(1, -1, 1) for part in state)


def window(obs: Any, valid: torch.Tensor) -> Batch:
    """A training window for ``SequenceActor`` (``obs`` leaves ``[..., L, ...]``)."""
    return Batch({SEQ_OBS: obs, SEQ_VALID: valid})


__all__ = ["SequenceActor", "is_window", "window"]
