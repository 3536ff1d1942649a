"""Actors with Tianshou's protocol: ``actor(obs, state, info) -> (logits, state)``.

Every actor option is built the same way by ``imitation_lab.config.build.build_policy``: its config
fields plus the keywords ``observation_space`` (the fed part of the dataset's space),
``act_dim`` (action dimensions, or one logit per discrete action) and ``device``.

* :class:`MLPActor` (``actor=mlp``): flattens any observation in a fixed order (see
  :class:`~imitation_lab.actors.encoders.ObsFlattener`); the only actor that K stacked
  members (``trainer.num_seeds``, ``hydra/launcher=batched``) support yet;
* :class:`MultiInputActor` (``actor=multi_input``): one encoder per key (a CNN per image, an
  MLP per vector part), concatenated, then an MLP head;
* :class:`CNNActor` (``actor=cnn``): image-only observations, Nature-DQN CNN + MLP head;
* :class:`SequenceActor` (``actor=rnn``, ``actor=transformer``): the episode so far, through a
  GRU/LSTM or a causal transformer (``imitation_lab.actors.sequence``).
"""

from imitation_lab.actors.cnn import CNNActor
from imitation_lab.actors.encoders import ACTIVATIONS, ObsFlattener
from imitation_lab.actors.mlp import MLPActor
from imitation_lab.actors.multi_input import MultiInputActor
from imitation_lab.actors.sequence import SequenceActor, is_window, window

#: ``_target_``s of the actors that ``StackedLearner`` can train K at a time
STACKABLE_ACTORS = ("imitation_lab.actors.MLPActor", "imitation_lab.actors.mlp.MLPActor")

__all__ = [
    "ACTIVATIONS",
    "STACKABLE_ACTORS",
    "CNNActor",
    "MLPActor",
    "MultiInputActor",
    "ObsFlattener",
    "SequenceActor",
    "is_window",
    "window",
]
