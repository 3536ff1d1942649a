"""imitation_lab's Hydra launcher: ``hydra/launcher=batched`` (a sweep in few processes)."""
