"""imitation_lab: offline imitation learning with Tianshou-exact semantics, Hydra and Minari."""

from imitation_lab.data.batch import Batch
from imitation_lab.policy.imitation import ImitationPolicy, ImitationTrainingStats, TrainingStats

__all__ = ["Batch", "ImitationPolicy", "ImitationTrainingStats", "TrainingStats"]
__version__ = "0.1.0"
