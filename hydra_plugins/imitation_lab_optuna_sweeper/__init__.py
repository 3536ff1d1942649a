"""imitation_lab's Optuna sweeper for Hydra (``hydra/sweeper=optuna``), for optuna >= 4."""
