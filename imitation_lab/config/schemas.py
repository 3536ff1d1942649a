"""Typed schemas for every config group, registered in Hydra's ConfigStore.

Each YAML option names its schema first in its defaults list (``defaults: [adam_schema,
_self_]``), so a typo'd key or a wrong type fails at composition, and ``validate`` checks the
ranges that types cannot express, naming the key.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hydra.utils import get_class
from omegaconf import MISSING, DictConfig, OmegaConf

from imitation_lab.actors import STACKABLE_ACTORS
from imitation_lab.config import help as app_help
from imitation_lab.config.checks import check_device
from imitation_lab.config.collect_schemas import COLLECT_SCHEMAS
from imitation_lab.config.identity import register_resolver
from imitation_lab.data.augment import Augment
from imitation_lab.errors import ConfigError
from imitation_lab.policy.bounding import BOUNDS, trainable_through
from imitation_lab.training.settings import TrainerSchema

log = logging.getLogger(__name__)

#: ``_target_``s of the sequence trunks (``actor=rnn``, ``actor=transformer``)
SEQUENCE_ACTORS = (
    "imitation_lab.actors.SequenceActor",
    "imitation_lab.actors.sequence.SequenceActor",
)


class Activation(Enum):
    relu = "relu"
    tanh = "tanh"
    elu = "elu"
    gelu = "gelu"
    silu = "silu"
    leaky_relu = "leaky_relu"


#: ``bounding.action_bound_method`` choices: the methods of ``imitation_lab.policy.bounding.BOUNDS``
BoundMethod = Enum("BoundMethod", {name: name for name in BOUNDS})  # type: ignore[misc]


class OutputActivation(Enum):
    tanh = "tanh"


class CnnKind(Enum):
    auto = "auto"  # nature for images >= 36 px, small below
    nature = "nature"
    small = "small"


class WandbMode(Enum):
    offline = "offline"
    online = "online"
    disabled = "disabled"


@dataclass
class ActorSchema:
    """Any actor: ``instantiate(cfg.actor, observation_space=, act_dim=, device=)``.

    The keywords come from the dataset (``build.build_policy``); an option adds its own fields.
    """

    _target_: str = MISSING


@dataclass
class MLPActorSchema(ActorSchema):
    """``actor=mlp``; ``obs_dim``/``act_dim`` come from the dataset at run time."""

    _target_: str = "imitation_lab.actors.MLPActor"
    obs_dim: int = MISSING  # data-derived (checked if set)
    act_dim: int = MISSING  # data-derived, passed to instantiate (checked if set)
    hidden_sizes: list[int] = field(default_factory=lambda: [256, 256])
    activation: Activation = Activation.relu
    layer_norm: bool = False
    output_activation: OutputActivation | None = None  # tanh head; not with bounding=tanh


@dataclass
class CNNActorSchema(ActorSchema):
    """``actor=cnn``: one uint8 image -> CNN (``features`` outputs) -> MLP head."""

    _target_: str = "imitation_lab.actors.CNNActor"
    features: int = 512
    hidden_sizes: list[int] = field(default_factory=list)
    activation: Activation = Activation.relu
    cnn: CnnKind = CnnKind.auto


class Cell(Enum):
    """``actor.cell`` of ``actor=rnn``."""

    gru = "gru"
    lstm = "lstm"


class LossSteps(Enum):
    """``actor.loss_steps`` of the sequence trunks: which steps of a window are trained."""

    last = "last"  # the sampled transition's action only
    all = "all"  # every valid step's own action (robomimic's BC-RNN)


@dataclass
class RNNActorSchema(ActorSchema):
    """``actor=rnn``: per-step encoder, then a GRU/LSTM over the episode (windows of
    ``context`` steps in training; the state carried through the episode when acting)."""

    _target_: str = "imitation_lab.actors.SequenceActor"
    kind: str = "rnn"
    cell: Cell = Cell.gru  # gru | lstm
    hidden_size: int = 128
    layers: int = 1
    context: int = 32  # training window: the last `context` observations of a transition
    encoder_sizes: list[int] = field(default_factory=lambda: [128])  # per-step MLP widths
    hidden_sizes: list[int] = field(default_factory=list)  # MLP head after the trunk
    image_scale: float = 255.0  # uint8 images / this (1: symbolic ids, e.g. MiniGrid's)
    loss_steps: LossSteps = LossSteps.last  # loss on the window's last step, or on all


@dataclass
class TransformerActorSchema(ActorSchema):
    """``actor=transformer``: per-step encoder, then a causal transformer over the last
    ``context`` steps (the same window in training and when acting)."""

    _target_: str = "imitation_lab.actors.SequenceActor"
    kind: str = "transformer"
    hidden_size: int = 64  # the model width (dim)
    layers: int = 2
    heads: int = 4
    context: int = 32
    encoder_sizes: list[int] = field(default_factory=lambda: [128])
    hidden_sizes: list[int] = field(default_factory=list)  # MLP head after the trunk
    image_scale: float = 255.0  # uint8 images / this (1: symbolic ids, e.g. MiniGrid's)
    loss_steps: LossSteps = LossSteps.last  # loss on the window's last step, or on all


@dataclass
class MultiInputActorSchema(ActorSchema):
    """``actor=multi_input``: a CNN per image key, an MLP per vector key, then an MLP head."""

    _target_: str = "imitation_lab.actors.MultiInputActor"
    hidden_sizes: list[int] = field(default_factory=lambda: [256, 256])
    image_features: int = 256
    vector_hidden_sizes: list[int] = field(default_factory=lambda: [64])
    activation: Activation = Activation.relu
    cnn: CnnKind = CnnKind.auto


@dataclass
class OptimSchema:
    """A ``torch.optim`` factory (``_partial_``): ``instantiate(cfg.optim)(params)``."""

    _target_: str = MISSING
    _partial_: bool = True
    lr: float = 1e-3
    weight_decay: float = 0.0


@dataclass
class AdamSchema(OptimSchema):
    _target_: str = "torch.optim.Adam"
    betas: list[float] = field(default_factory=lambda: [0.9, 0.999])
    eps: float = 1e-8
    fused: bool | None = True  # None: torch's default (foreach) implementation


@dataclass
class AdamWSchema(AdamSchema):
    _target_: str = "torch.optim.AdamW"
    weight_decay: float = 0.01


@dataclass
class SGDSchema(OptimSchema):
    _target_: str = "torch.optim.SGD"
    momentum: float = 0.0
    nesterov: bool = False


@dataclass
class SchedulerSchema:
    """A scheduler factory: ``instantiate(cfg.scheduler)(optim, total_steps=...)``."""

    _target_: str = "imitation_lab.training.schedulers.no_scheduler"
    _partial_: bool = True


@dataclass
class StepSchedulerSchema(SchedulerSchema):
    _target_: str = "imitation_lab.training.schedulers.step"
    step_size: int = 10_000
    gamma: float = 0.5


@dataclass
class CosineSchedulerSchema(SchedulerSchema):
    _target_: str = "imitation_lab.training.schedulers.warmup_cosine"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0


@dataclass
class BoundingSchema:
    """How raw actor outputs reach the env: ``clip``/``tanh``/none, then optional scaling."""

    action_bound_method: BoundMethod | None = BoundMethod.clip  # type: ignore[valid-type]
    action_scaling: bool = True
    train_through_bound: bool = False  # loss on tanh(output) (tanh_squash), not Tianshou's


class HeadAct(Enum):
    mode = "mode"  # the distribution's mode (deterministic; diffusion: from a fixed noise)
    sample = "sample"  # a draw, from a generator seeded per evaluation (repeats exactly)


@dataclass
class HeadSchema:
    """``head=mse`` (no ``_target_``): the actor's output is the action, Tianshou's MSE.

    The other options build ``instantiate(cfg.head, act_dim=...)``: an ``ActionHead`` that
    reads the actor's output as a distribution's parameters (``imitation_lab.policy.heads``).
    """

    _target_: str | None = None
    act: HeadAct = HeadAct.mode  # mode | sample: how an action is taken from the head
    chunk: int = 1  # predict the next `chunk` actions (ACT's action chunks); 1 = one action


@dataclass
class GaussianHeadSchema(HeadSchema):
    """Diagonal Gaussian, state-dependent std; NLL (tanh-transformed with tanh_squash)."""

    _target_: str | None = "imitation_lab.policy.heads.GaussianHead"
    min_log_std: float = -5.0  # log std squashed into [min_log_std, max_log_std]
    max_log_std: float = 2.0
    nll_beta: float = 0.0  # beta-NLL (Seitzer et al., 2022): NLL x var**beta; 0 = plain NLL


@dataclass
class GMMHeadSchema(HeadSchema):
    """robomimic's BC-GMM: ``modes`` Gaussians, tanh means, softplus std + ``min_std``."""

    _target_: str | None = "imitation_lab.policy.heads.GMMHead"
    modes: int = 5  # mixture components
    min_std: float = 1e-4  # std = softplus(raw) + min_std


@dataclass
class BinsHeadSchema(HeadSchema):
    """Each action dimension discretized into ``bins`` bins; cross-entropy (RT-1-style)."""

    _target_: str | None = "imitation_lab.policy.heads.BinsHead"
    bins: int = 256  # bins per action dimension, evenly spaced over the target range
    sigma: float = 0.0  # HL-Gauss targets: std in bin widths (0 = one-hot cross-entropy)


@dataclass
class DiffusionHeadSchema(HeadSchema):
    """DDPM training, DDIM acting, conditioned on the actor's ``feature_dim`` features."""

    _target_: str | None = "imitation_lab.policy.heads.DiffusionHead"
    feature_dim: int = 64  # the actor's output: features of the observation
    hidden_sizes: list[int] = field(default_factory=lambda: [256, 256])  # denoiser MLP widths
    time_dim: int = 32  # sinusoidal embedding of the diffusion step
    train_steps: int = 100  # diffusion steps of the training noise schedule (squared cosine)
    inference_steps: int = 10  # DDIM steps when acting (<= train_steps)
    noise_seed: int = 0  # head.act=mode starts every action from this seed's noise


@dataclass
class DatasetSchema:
    id: str = MISSING  # a Minari dataset id
    normalize_obs: bool = (
        True  # per-key statistics for vector parts; images are scaled in the actor
    )
    download: bool = True
    obs_keys: list[str] | None = None  # observation keys fed to the actor (null: all but text)
    frame_stack: int = 1  # feed the last n observations (Atari: 4); 1 = no stacking
    top_fraction: float | None = None  # keep the top fraction of episodes by return (BC-10%: 0.1)
    min_return: float | None = None  # keep episodes with a return >= this (or top_fraction)
    val_fraction: float | None = None  # hold out this fraction of episodes for val/loss
    augment: Augment | None = None  # random_shift: DrQ's image shift while training (cnn)
    shift_pad: int = 4  # random_shift: pixels of (edge-replicated) padding, the largest shift


@dataclass
class LoggerSchema:
    """A logger factory: ``instantiate(cfg.logger)(run_dir=, config=, group=, name=, tags=,
    job_type=)`` (``imitation_lab.training.loggers.LoggerFactory``)."""

    _target_: str = "imitation_lab.training.loggers.NullLogger"
    _partial_: bool = True
    group: str | None = None  # default: the experiment name, or the sweep folder
    name: str | None = None  # default: the Hydra job's overrides
    tags: list[str] = field(default_factory=list)


@dataclass
class WandbLoggerSchema(LoggerSchema):
    _target_: str = "imitation_lab.training.loggers.WandbLogger"
    project: str = "imitation_lab"
    entity: str | None = None
    mode: WandbMode = WandbMode.offline
    init_timeout: float = 30.0  # seconds to wait for the server before falling back to offline


@dataclass
class TrialSchema:
    """``hpo``: set by the Optuna sweeper on each trial job (``+hpo=trial hpo.trial=<n> ...``)
    so the job reaches its trial in the study's storage: reports evaluations, gets pruned."""

    storage: str = MISSING  # the study's storage (sqlite:///..., journal:<file>, any RDB URL)
    study_name: str = MISSING
    trial: int = MISSING  # the trial number in the study


class Execute(Enum):
    """``policy.execute``: how a chunk policy (``head.chunk > 1``) acts at each env step."""

    chunk = "chunk"  # play the chunk out, then predict the next one
    temporal_ensemble = "temporal_ensemble"  # ACT: weighted mean of every chunk's prediction


@dataclass
class PolicySchema:
    """How the policy acts in the env (with ``head.chunk > 1``)."""

    execute: Execute = Execute.chunk  # chunk | temporal_ensemble
    ensemble_decay: float = 0.01  # temporal_ensemble: weights exp(-decay * i), i=0 the oldest


@dataclass
class TrainSchema:
    """The root config: one default per group, plus the run-wide values."""

    actor: ActorSchema = MISSING
    optim: OptimSchema = MISSING
    scheduler: SchedulerSchema = MISSING
    bounding: BoundingSchema = MISSING
    head: HeadSchema = MISSING
    policy: PolicySchema = field(default_factory=PolicySchema)
    dataset: DatasetSchema = MISSING
    trainer: TrainerSchema = MISSING
    logger: LoggerSchema = MISSING
    hpo: TrialSchema | None = None  # only in Optuna trial jobs
    seed: int = 0
    deterministic: bool = False
    tags: list[str] = field(default_factory=list)


SCHEMAS: dict[tuple[str | None, str], type] = {
    (None, "train_schema"): TrainSchema,
    ("actor", "mlp_schema"): MLPActorSchema,
    ("actor", "cnn_schema"): CNNActorSchema,
    ("actor", "multi_input_schema"): MultiInputActorSchema,
    ("actor", "rnn_schema"): RNNActorSchema,
    ("actor", "transformer_schema"): TransformerActorSchema,
    ("optim", "adam_schema"): AdamSchema,
    ("optim", "adamw_schema"): AdamWSchema,
    ("optim", "sgd_schema"): SGDSchema,
    ("scheduler", "none_schema"): SchedulerSchema,
    ("scheduler", "step_schema"): StepSchedulerSchema,
    ("scheduler", "cosine_schema"): CosineSchedulerSchema,
    ("bounding", "bounding_schema"): BoundingSchema,
    ("head", "mse_schema"): HeadSchema,
    ("head", "gaussian_schema"): GaussianHeadSchema,
    ("head", "gmm_schema"): GMMHeadSchema,
    ("head", "bins_schema"): BinsHeadSchema,
    ("head", "diffusion_schema"): DiffusionHeadSchema,
    ("dataset", "dataset_schema"): DatasetSchema,
    ("trainer", "trainer_schema"): TrainerSchema,
    ("logger", "none_schema"): LoggerSchema,
    ("logger", "wandb_schema"): WandbLoggerSchema,
    ("hpo", "trial_schema"): TrialSchema,
}


def shipped_targets() -> frozenset[str]:
    """The ``_target_`` of every option the project ships (train and collect schemas): the
    only callables a config read back from a file may name (``utils.check_targets``)."""
    schemas = [*SCHEMAS.values(), *COLLECT_SCHEMAS.values()]
    found = {getattr(schema, "_target_", None) for schema in schemas}
    return frozenset(t for t in found if isinstance(t, str) and t != MISSING)


def register_configs() -> None:
    """Register every schema in Hydra's ConfigStore, and our resolver (idempotent)."""
    from hydra.core.config_store import ConfigStore

    register_resolver()
    app_help.register_resolver()
    store = ConfigStore.instance()
    for (group, name), schema in SCHEMAS.items():
        store.store(group=group, name=name, node=schema)


# ---------------------------------------------------------------- range validation
_POSITIVE = "must be > 0"
_NON_NEGATIVE = "must be >= 0"
RANGE_RULES: dict[str, tuple[Any, str]] = {
    "optim.lr": (lambda v: v > 0, _POSITIVE),
    "optim.weight_decay": (lambda v: v >= 0, _NON_NEGATIVE),
    "optim.momentum": (lambda v: v >= 0, _NON_NEGATIVE),
    "optim.eps": (lambda v: v > 0, _POSITIVE),
    "optim.betas": (
        lambda v: len(v) == 2 and all(0 <= b < 1 for b in v),
        "must be 2 values in [0, 1)",
    ),
    "scheduler.step_size": (lambda v: v > 0, _POSITIVE),
    "scheduler.gamma": (lambda v: v > 0, _POSITIVE),
    "scheduler.warmup_steps": (lambda v: v >= 0, _NON_NEGATIVE),
    "scheduler.min_lr_ratio": (lambda v: 0 <= v <= 1, "must be in [0, 1]"),
    "actor.hidden_sizes": (lambda v: all(h > 0 for h in v), "must all be > 0"),
    "actor.vector_hidden_sizes": (lambda v: all(h > 0 for h in v), "must all be > 0"),
    "actor.features": (lambda v: v > 0, _POSITIVE),
    "actor.image_features": (lambda v: v > 0, _POSITIVE),
    "dataset.frame_stack": (lambda v: v >= 1, ">= 1 (1 = no frame stacking)"),
    "dataset.top_fraction": (lambda v: 0 < v <= 1, "must be in (0, 1] (0.1 keeps the top 10 %)"),
    "dataset.val_fraction": (lambda v: 0 < v < 1, "must be in (0, 1) (0.1 holds out 10 %)"),
    "dataset.shift_pad": (lambda v: v >= 1, ">= 1 (pixels)"),
    "head.chunk": (lambda v: v >= 1, ">= 1 (1 = one action per observation)"),
    "actor.context": (lambda v: v >= 1, ">= 1 (steps)"),
    "actor.hidden_size": (lambda v: v > 0, _POSITIVE),
    "actor.layers": (lambda v: v >= 1, ">= 1"),
    "policy.ensemble_decay": (lambda v: v >= 0, ">= 0 (0 = a plain mean)"),
    "trainer.steps": (lambda v: v >= 0, _NON_NEGATIVE),
    "trainer.ema_decay": (lambda v: 0 < v < 1, "must be in (0, 1) (e.g. 0.999; unset: no EMA)"),
    "trainer.batch_size": (lambda v: v > 0, _POSITIVE),
    "trainer.log_every": (lambda v: v > 0, _POSITIVE),
    "trainer.eval_every": (lambda v: v >= 0, ">= 0 (0 evaluates only at the end)"),
    "trainer.eval_episodes": (lambda v: v >= 0, ">= 0 (0 turns evaluation off)"),
    "trainer.eval_envs": (lambda v: v > 0, _POSITIVE),
    "trainer.num_seeds": (lambda v: v > 0, _POSITIVE),
    "trainer.checkpoint_every": (lambda v: v >= 0, ">= 0 (0 checkpoints only at the end)"),
    "logger.init_timeout": (lambda v: v > 0, _POSITIVE),
    "seed": (lambda v: v >= 0, ">= 0 (Gymnasium rejects negative seeds)"),
    "hpo.trial": (lambda v: v >= 0, _NON_NEGATIVE),
}


def is_stackable(cfg: DictConfig) -> bool:
    """Whether K members of ``cfg`` can train as one stacked model (``check_stackable``)."""
    try:
        check_stackable(cfg, "stacking")
    except ConfigError:
        return False
    return True


def check_stackable(cfg: DictConfig, why: str) -> None:
    """K members in one stacked model (``why``) need an actor and a head ``StackedLearner``
    supports."""
    target = cfg.actor.get("_target_")
    if target not in STACKABLE_ACTORS:
        raise ConfigError(
            f"{why} trains the members as one stacked MLP, which actor._target_={target} does "
            "not support yet. Use actor=mlp (it takes Dict/image/Discrete observations too), or "
            "run the seeds as separate jobs (-m seed=0,1,2 with the default launcher)."
        )
    head = cfg.get("head")
    head_target = None if head is None else head.get("_target_")
    head_class = None if head_target is None else get_class(head_target)
    if head_class is not None and not getattr(head_class, "stackable", True):
        raise ConfigError(
            f"{why} trains the members as one stacked MLP, but head={head_class.name} has a "
            "network of its own beside the actor (its denoiser), which does not stack. "
            "Run the seeds as separate jobs (-m seed=0,1,2 with the default launcher)."
        )
    if head is not None and int(head.get("chunk", 1)) > 1:
        raise ConfigError(
            f"{why} trains the members as one stacked MLP, which head.chunk="
            f"{head.get('chunk')} (action chunks) does not support yet. Run the seeds as "
            "separate jobs (-m seed=0,1,2 with the default launcher)."
        )


def check_choices(choices: Mapping[str, object]) -> None:
    """Refuse a schema picked as an option (``optim=adam_schema``): schemas are internal."""
    for group, choice in choices.items():
        if isinstance(choice, str) and (group, choice) in SCHEMAS:
            options = sorted(o for g, o in SCHEMAS if g == group)
            raise ConfigError(
                f"{group}={choice} is an internal schema, not an option; pick a YAML option of "
                f"conf/{group}/ (e.g. `{group}={choice.removesuffix('_schema')}`), not one of "
                f"{', '.join(options)}."
            )


def validate(cfg: DictConfig) -> None:
    """Check value ranges; raise ``ConfigError`` naming the first bad key."""
    for key, (is_valid, requirement) in RANGE_RULES.items():
        value = OmegaConf.select(cfg, key, default=None)
        if value is None:
            continue
        if not is_valid(value):
            raise ConfigError(
                f"Config value {key}={value} is invalid: {key} {requirement}. "
                f"Fix it on the command line, e.g. `{key}=<value>`."
            )
    bound = getattr(cfg.bounding.action_bound_method, "value", cfg.bounding.action_bound_method)
    select = getattr(cfg.trainer.get("select"), "value", cfg.trainer.get("select"))
    if select == "best_val" and cfg.dataset.get("val_fraction") is None:
        raise ConfigError(
            "trainer.select=best_val picks the weights with the lowest val/loss, which needs "
            "held-out episodes: set dataset.val_fraction (e.g. 0.1), or trainer.select=best_eval."
        )
    if cfg.actor.get("_target_") in SEQUENCE_ACTORS:
        if int(cfg.dataset.get("frame_stack", 1)) > 1:
            raise ConfigError(
                "A sequence trunk (actor=rnn/transformer) sees the episode itself (actor.context "
                "steps in training): drop dataset.frame_stack, or use actor=mlp with it."
            )
        if int(cfg.head.get("chunk", 1)) > 1:
            raise ConfigError(
                "head.chunk > 1 with a sequence trunk (actor=rnn/transformer) is not supported "
                "yet: use one of them."
            )
    if cfg.bounding.action_scaling and bound is None:
        raise ConfigError(
            "bounding.action_scaling=true needs a bounded output (bounding=clip or tanh): "
            "Tianshou asserts when an unbounded output is scaled. Use bounding=none, which "
            "turns scaling off."
        )
    check_device(str(cfg.trainer.device))
    warmup = OmegaConf.select(cfg, "scheduler.warmup_steps", default=None)
    if warmup is not None and warmup > cfg.trainer.steps:
        log.warning(
            "scheduler.warmup_steps=%d is longer than trainer.steps=%d: the learning rate "
            "never reaches optim.lr.",
            warmup,
            cfg.trainer.steps,
        )
    if cfg.bounding.get("train_through_bound") and not trainable_through(bound):
        raise ConfigError(
            f"bounding.train_through_bound=true needs bounding.action_bound_method=tanh, got "
            f"{bound}: clipping has no gradient outside [-1, 1]. Use bounding=tanh_squash."
        )
    if int(cfg.trainer.num_seeds) > 1:
        check_stackable(cfg, f"trainer.num_seeds={cfg.trainer.num_seeds}")
    head = getattr(cfg.actor.get("output_activation"), "value", cfg.actor.get("output_activation"))
    if head == "tanh" and bound == "tanh":
        raise ConfigError(
            "actor.output_activation=tanh with a tanh bounding squashes the action twice "
            "(tanh(tanh(x)) never reaches the action bounds; thu-ml/tianshou#844). Use "
            "actor.output_activation=null, or bounding=clip (a no-op on a tanh head)."
        )
