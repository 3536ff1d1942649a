"""The training loop's settings as a plain dataclass (``trainer.*``).

The engine reads these typed values only; the config layer registers the same dataclass as the
``trainer`` group's schema, so a wrong type or an unknown key fails at composition.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Select(Enum):
    """Which weights are ``checkpoints/best.pt`` and reported as ``best/*``."""

    final = "final"  # the last weights
    best_eval = "best_eval"  # the evaluation with the best normalized score (the default)
    best_val = "best_val"  # the evaluation step with the lowest val/loss (dataset.val_fraction)


class CompileMode(Enum):
    """``torch.compile``'s mode for ``trainer.compile=true``."""

    default = "default"
    reduce_overhead = "reduce-overhead"  # CUDA graphs: for small models on a GPU
    max_autotune = "max-autotune"


@dataclass
class TrainerSchema:
    """``trainer.*``: the training loop's settings (``OmegaConf.to_object(cfg.trainer)``)."""

    steps: int = 10_000  # gradient steps
    batch_size: int = 256  # uniform minibatch size
    log_every: int = 100  # train/* metrics every N steps
    eval_every: int = 2_500  # evaluate every N steps (and at the end; 0 = end only)
    eval_episodes: int = 10  # seeded evaluation episodes
    eval_envs: int = 5  # parallel envs per member in the eval vector env
    checkpoint_every: int = 2_500  # checkpoints/last.pt every N steps (and at the end)
    resume: bool = False  # continue from <run dir>/checkpoints/last.pt
    progress: bool = True  # progress bar (quiet when stderr is not a TTY)
    device: str = "cpu"  # cpu | cuda | cuda:0 ...
    num_seeds: int = 1  # K>1: seeds seed..seed+K-1 batched in one process
    select: Select = Select.best_eval  # best.pt and best/*: final | best_eval | best_val
    ema_decay: float | None = None  # evaluate/checkpoint an EMA of the weights (e.g. 0.999)
    compile: bool = False  # torch.compile the actor (single and stacked): see benchmarks/
    compile_mode: CompileMode = CompileMode.default  # reduce-overhead: CUDA graphs
