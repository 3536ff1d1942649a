"""Action heads: how the actor's output becomes a loss and an action.

``head=mse`` is no head object at all: the actor's output is the action, regressed with MSE,
exactly as Tianshou's ``ImitationPolicy`` does. The other heads read the actor's output as the
parameters of a distribution over the action (``gaussian``, ``gmm``, ``bins``) or as features
that condition a denoiser (``diffusion``), train by its negative log-likelihood (or the
denoising loss), and act with its mode or a sample.
"""

from imitation_lab.policy.heads.base import ActionHead
from imitation_lab.policy.heads.bins import BinsHead
from imitation_lab.policy.heads.chunk import ChunkHead, RegressionHead
from imitation_lab.policy.heads.diffusion import DiffusionHead
from imitation_lab.policy.heads.gaussian import GaussianHead
from imitation_lab.policy.heads.gmm import GMMHead

__all__ = [
    "ActionHead",
    "BinsHead",
    "ChunkHead",
    "DiffusionHead",
    "GMMHead",
    "GaussianHead",
    "RegressionHead",
]
