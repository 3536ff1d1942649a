"""The training engine: the loop over K members, learners, checkpoints, loggers,
schedulers. Plain typed arguments; no Hydra or OmegaConf here."""
