"""The model's semantics: ``ImitationPolicy`` (Tianshou's), action bounding and the BC loss."""

from imitation_lab.policy.imitation import ImitationPolicy, ImitationTrainingStats, TrainingStats

__all__ = ["ImitationPolicy", "ImitationTrainingStats", "TrainingStats"]
