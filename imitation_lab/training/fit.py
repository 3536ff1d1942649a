"""The training loop: K >= 1 members in lockstep, one learner step per gradient step.

Every member samples its own minibatch (its own sampler), the learner updates all of them at
once, and each member records its loss, evaluations and checkpoints. A member whose loss or
weights become NaN/inf stops alone (its ``failure`` is set); the others go on. Evaluation runs
every member in one vector env with one batched forward pass per env step. No Hydra here.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from tqdm import tqdm

from imitation_lab.actors import SequenceActor, window
from imitation_lab.data.augment import RandomShift
from imitation_lab.data.buffer import OfflineData
from imitation_lab.data.chunks import ChunkIndex
from imitation_lab.data.frames import FrameIndex
from imitation_lab.data.normalize import Normalizer, make_normalizer
from imitation_lab.data.obs import ObsSpec, env_obs_to_torch, tree_map
from imitation_lab.data.reference import ScoreFn
from imitation_lab.envs.evaluate import evaluate_members
from imitation_lab.errors import CheckpointError, TrainingDivergedError
from imitation_lab.policy.bounding import unscale_action
from imitation_lab.policy.chunking import ChunkExecutor
from imitation_lab.policy.heads import ChunkHead
from imitation_lab.policy.imitation import ImitationPolicy
from imitation_lab.policy.stateful import CarriedState
from imitation_lab.training.learners import Learner, PolicyLearner
from imitation_lab.training.loggers import JsonlLogger, Logger
from imitation_lab.training.member import Member
from imitation_lab.training.settings import TrainerSchema
from imitation_lab.utils.pause import pause_point
from imitation_lab.utils.timing import PhaseClock

log = logging.getLogger(__name__)


@dataclass
class TrainingTensors:
    """Normalized observations and the BC targets, once in memory for every member.

    ``obs`` is a tensor (flat Box) or the actor's observation tree (``Batch`` / tuple); image
    leaves stay uint8 where the data is (memory-mapped on the CPU) and each minibatch is
    gathered from them, then moved to ``device``. ``targets[v]`` is one target variant
    (dataset actions in env units, or mapped into [-1, 1] for members with
    ``action_scaling``); member ``k`` learns ``targets[variant[k]]``.
    """

    obs: Any
    targets: list[torch.Tensor]
    variant: list[int]
    frames: FrameIndex | None = None  # dataset.frame_stack > 1: rows of each stack
    chunks: ChunkIndex | None = None  # head.chunk > 1: the next H actions of each row
    #: actor=rnn/transformer: ``frames`` are its windows, fed as ``window(obs, valid)``
    sequence: bool = False
    #: actor.loss_steps=all: the targets are every valid window step's action ``[1, N, ...]``
    every_step: bool = False

    def __post_init__(self) -> None:
        self.device = self.targets[0].device
        self._stacked = torch.stack(self.targets) if len(set(self.variant)) > 1 else None
        self._variant = torch.tensor(self.variant, device=self.device).view(-1, 1)

    def __len__(self) -> int:
        return int(self.targets[0].shape[0])

    def batch(self, idx: torch.Tensor) -> tuple[Any, torch.Tensor]:
        """Minibatches ``[K, B, ...]`` for the member rows of ``idx`` ``[K, B]``
        (observations ``[K, B, n, ...]`` with ``n`` stacked frames)."""
        rows = idx if self.frames is None else self.frames(idx)
        if isinstance(self.obs, torch.Tensor):
            if rows.device != self.obs.device:
                rows = rows.to(self.obs.device)
            obs = self.obs[rows]
        else:
            obs = tree_map(lambda leaf: _gather(leaf, rows, self.device), self.obs)
        if self.sequence:
            assert self.frames is not None
            valid = self.frames.valid(idx).to(self.device)
            obs = window(obs, valid)
            if self.every_step:  # actor.loss_steps=all: each valid step's own action
                targets = self.targets[self.variant[0]][rows.to(self.device)]
                return obs, targets[valid].unsqueeze(0)  # [1, N, ...] (one member)
        if idx.device != self.device:
            idx = idx.to(self.device)
        if self.chunks is not None:  # chunks: one target variant (members do not stack)
            return obs, self.chunks.targets(self.targets[self.variant[0]], idx)
        if self._stacked is None:
            return obs, self.targets[self.variant[0]][idx]
        return obs, self._stacked[self._variant, idx]


def _gather(leaf: torch.Tensor, idx: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Rows ``idx`` of one observation leaf (read from where it lives), on ``device``."""
    if idx.device != leaf.device:
        idx = idx.to(leaf.device)
    return leaf[idx].to(device, non_blocking=True)


def _to_device(leaf: torch.Tensor, device: torch.device) -> torch.Tensor:
    """Vector leaves go to the trainer device; uint8 images stay where they are (CPU, mmap)."""
    return leaf if leaf.dtype == torch.uint8 else leaf.to(device)


def training_tensors(
    data: OfflineData, normalizer: Normalizer, policies: Sequence[ImitationPolicy]
) -> TrainingTensors:
    """The targets ``learn`` compares the raw output with, for each member's bounding.

    With ``action_scaling`` the dataset's env-unit actions are mapped back into [-1, 1] (the
    linear part of ``map_action_inverse``), once, for the whole dataset.
    """
    device = next(policies[0].parameters()).device
    with torch.no_grad():
        if isinstance(data.obs, torch.Tensor) and data.spec is None:
            obs = normalizer(data.obs.to(device)).contiguous()
        else:  # vector leaves normalized once; images untouched (uint8, never copied)
            obs = tree_map(
                lambda leaf: leaf if leaf.dtype == torch.uint8 else leaf.contiguous(),
                normalizer(tree_map(lambda leaf: _to_device(leaf, device), data.obs)),
            )
    act = data.act.to(device)
    targets: dict[bool, torch.Tensor] = {}
    variant = []
    for policy in policies:
        scaled = bool(policy.action_scaling)
        if scaled not in targets:
            if scaled:
                assert isinstance(policy.action_space, gym.spaces.Box)
                targets[scaled] = unscale_action(act, policy.action_space).float().contiguous()
            else:
                targets[scaled] = act.contiguous()
        variant.append(list(targets).index(scaled))
    frames = chunks = None
    if data.frame_stack > 1:
        assert data.episode_lengths is not None
        frames = FrameIndex.of(data.episode_lengths, data.frame_stack)
    actor = policies[0].actor
    sequence = isinstance(actor, SequenceActor)
    if sequence:  # the windows of a sequence trunk: its context, masked at episode starts
        assert data.episode_lengths is not None and data.frame_stack == 1
        frames = FrameIndex.of(data.episode_lengths, actor.context)
    head = policies[0].head
    if isinstance(head, ChunkHead):
        if data.episode_lengths is None:
            raise ValueError("head.chunk needs the episodes' lengths (rebuild the dataset cache)")
        chunks = ChunkIndex.of(data.episode_lengths, head.chunk)
    every_step = sequence and bool(getattr(actor, "all_steps", False))
    return TrainingTensors(
        obs, list(targets.values()), variant, frames, chunks, sequence, every_step
    )


class GroupFit:
    """Runs ``members`` to ``settings.steps`` with ``learner``; evaluates in ``eval_env``."""

    def __init__(
        self,
        learner: Learner,
        members: Sequence[Member],
        tensors: TrainingTensors,
        settings: TrainerSchema,
        *,
        normalizer: Normalizer,
        eval_env: gym.vector.VectorEnv | None = None,
        obs_spec: ObsSpec | None = None,
        val: TrainingTensors | None = None,
        augment: RandomShift | None = None,
        clock: PhaseClock | None = None,
    ) -> None:
        if not members:
            raise ValueError("A training group needs at least one member.")
        self.val = val  # held-out episodes: val/loss at each evaluation
        self.augment = augment  # dataset.augment: training minibatches only
        self.learner = learner
        self.members = list(members)
        self.tensors = tensors
        self.settings = settings
        self.normalizer = normalizer
        self.eval_env = eval_env
        self.obs_spec = obs_spec
        self.device = tensors.device
        self.step = 0
        self._prepared = False
        self.clock = clock or PhaseClock()  # where the time goes (``utils.timing``)

    # ------------------------------------------------------------------ loop
    def prepare(self) -> None:
        """Resume the members that ask for it (every check, no write) and load the learner."""
        for member in self.members:
            member.begin()
        steps = {member.step for member in self.members}
        if len(steps) > 1:
            raise CheckpointError(
                f"The members' checkpoints are at different steps {sorted(steps)}: resume "
                "needs them at the same step. Resume each run on its own, or start new runs."
            )
        self.step = steps.pop()
        self.learner.read_from(self.step)
        self._prepared = True

    def run(self) -> None:
        """Train every member to ``settings.steps`` (or until it fails)."""
        if not self._prepared:
            self.prepare()
        with self.clock.phase("training"):  # evaluation and checkpoints: their own phases
            self._train()

    def _train(self) -> None:
        members, settings = self.members, self.settings
        num, batch = len(self.tensors), settings.batch_size
        idx = torch.zeros(len(members), batch, dtype=torch.long)
        bar = self._progress_bar()
        try:
            while self.step < settings.steps and self._alive():
                for k, member in enumerate(members):
                    if member.alive:
                        torch.randint(num, (batch,), generator=member.sampler, out=idx[k])
                obs, act = self.tensors.batch(idx)
                if self.augment is not None:  # each member's shifts from its own sampler
                    obs = self.augment(obs, [m.sampler if m.alive else None for m in members])
                losses, seconds = self.learner.update(obs, act)
                self.step += 1
                per_member = seconds / len(members)
                logged = None
                for member, loss in zip(members, losses, strict=True):
                    if member.alive:
                        row = self._guard(member, member.record_update, loss, per_member)
                        logged = logged or row
                if logged is not None:
                    self._update_bar(bar, logged)
                if self._snapshot_due():
                    self.learner.write_back()
                    self._end_of_step()
            self.learner.write_back()
            self._validate()  # steps=0, or resumed at the end before it validated
            if self._alive() and any(not m.last_eval for m in self._alive()):
                self._evaluate()  # steps=0, or resumed at the end before its evaluation
        finally:
            bar.close()

    def _alive(self) -> list[Member]:
        return [member for member in self.members if member.alive]

    def _guard(self, member: Member, fn, *args):
        """Call ``fn``; a divergence stops this member only (recorded as its failure)."""
        try:
            return fn(*args)
        except TrainingDivergedError as err:
            member.failure = err
            log.error("%s stopped: %s", member.name, err)
            return None

    def _due(self, every: int) -> bool:
        return every > 0 and self.step % every == 0

    def _snapshot_due(self) -> bool:
        """Whether this step evaluates or checkpoints (and so reads the weights)."""
        return (
            self.step == self.settings.steps
            or self._due(self.settings.eval_every)
            or self._due(self.settings.checkpoint_every)
        )

    def _end_of_step(self) -> None:
        at_end = self.step == self.settings.steps
        if self._due(self.settings.eval_every) or at_end:
            self._validate()
            self._evaluate()
        if self._due(self.settings.checkpoint_every) or at_end:
            with self.clock.phase("writing"):
                for member in self._alive():
                    self._guard(member, member.save, "last.pt")
        pause_point(self.step)  # a test hook: IMITATION_LAB_PAUSE_AT (no-op when unset)

    # ------------------------------------------------------------------ evaluation
    def _validate(self) -> None:
        with self.clock.phase("evaluation"):
            self._validate_members()

    @torch.no_grad()
    def _validate_members(self, chunk: int = 4096) -> None:
        """``val/loss`` of every member on the held-out episodes: each member's own loss (with
        the weights it acts with), the mean over every held-out transition (the RNG of a
        stochastic loss is forked, so validating never changes what training draws)."""
        due = [m.alive and m.val_step != self.step for m in self.members]
        if self.val is None or not any(due):
            return
        rows = len(self.val)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(0)
            totals = [0.0] * len(self.members)
            for start in range(0, rows, chunk):
                idx = torch.arange(start, min(start + chunk, rows))
                obs, act = self.val.batch(idx.expand(len(self.members), -1))
                for k, member in enumerate(self.members):
                    if due[k]:
                        with member.acting_weights():
                            loss = member.policy.evaluation_loss(_member_rows(obs, k), act[k])
                        totals[k] += float(loss) * len(idx)
        for k, (member, total) in enumerate(zip(self.members, totals, strict=True)):
            if due[k]:
                self._guard(member, member.record_val, total / rows)

    def _evaluate(self) -> None:
        if self.eval_env is None or self.settings.eval_episodes == 0:
            return
        with self.clock.phase("evaluation"):
            self._evaluate_members()

    def _obs_to_torch(self, obs: Any) -> Any:
        """Env observations as the normalized tensors the policies take."""
        return self.normalizer(env_obs_to_torch(obs, self.obs_spec, self.device))

    def _evaluate_members(self) -> None:
        members = self.members
        alive = [m.alive for m in members]
        per_member = self.eval_env.num_envs // len(members)

        def act(obs: Any) -> np.ndarray:
            obs_t = tree_map(
                lambda t: t.view(len(members), per_member, *t.shape[1:]), self._obs_to_torch(obs)
            )
            raw = self.learner.act(obs_t)
            return np.concatenate(
                [
                    m.policy.map_action(raw[k]) if alive[k] else _idle_action(m.policy, raw[k])
                    for k, m in enumerate(members)
                ]
            )

        policy_fn: Any = act
        first = members[0].policy
        if isinstance(first.actor, SequenceActor):  # one member (sequence trunks do not stack)
            policy_fn = CarriedState.of_policy(first, self._obs_to_torch)
        head = members[0].policy.head
        if isinstance(head, ChunkHead):  # one action per step from the chunks (policy.execute)
            policy_fn = ChunkExecutor(act, head.chunk, head.execute, head.ensemble_decay)
        for member in members:  # head.act=sample draws the same actions in every evaluation
            member.policy.reseed_actions(member.seed)
        seeds = [m.seed if m.alive else None for m in members]
        with self.learner.acting_weights():  # trainer.ema_decay: the averages act
            results = evaluate_members(policy_fn, self.eval_env, self.settings.eval_episodes, seeds)
        for member, result in zip(members, results, strict=True):
            if result is not None:
                self._guard(member, member.record_eval, result)

    # ------------------------------------------------------------------ progress
    def _progress_bar(self) -> tqdm:
        many = len(self.members) > 1
        return tqdm(
            total=self.settings.steps,
            initial=self.step,
            disable=not self.settings.progress or None,
            desc=f"train {len(self.members)} members" if many else "train",
            dynamic_ncols=True,
        )

    def _update_bar(self, bar: tqdm, logged: dict[str, float]) -> None:
        bar.update(int(logged["steps"]))
        postfix = {
            "loss": f"{logged['train/smoothed_loss']:.4g}",
            "sps": f"{logged['train/steps_per_sec']:.0f}",
        }
        if len(self.members) > 1:
            alive = len(self._alive())
            postfix["alive"] = f"{alive}/{len(self.members)}"
            postfix["member_sps"] = f"{logged['train/steps_per_sec'] * alive:.0f}"
            scores = [
                m.last_eval["eval/normalized_score"]
                for m in self._alive()
                if "eval/normalized_score" in m.last_eval
            ]
            if scores:
                postfix["score"] = f"{min(scores):.1f}..{max(scores):.1f}"
        bar.set_postfix(postfix)


def _member_rows(obs: Any, k: int) -> Any:
    """Member ``k``'s ``[B, ...]`` of a ``[K, B, ...]`` observation (tensor or tree)."""
    return obs[k] if isinstance(obs, torch.Tensor) else tree_map(lambda t: t[k], obs)


def _idle_action(policy: ImitationPolicy, raw: torch.Tensor) -> np.ndarray:
    """A valid action for the envs of a member that stopped (they record nothing)."""
    act = raw.detach().cpu().numpy()
    space = policy.action_space
    if isinstance(space, gym.spaces.Box):
        act = np.nan_to_num(act, nan=0.0, posinf=0.0, neginf=0.0)
        return np.clip(act, space.low, space.high).astype(space.dtype)
    return act


def mean_summary(summaries: Sequence[dict[str, float]]) -> dict[str, float]:
    """Mean over members of every key all of them report (what a sweeper sees of K seeds)."""
    keys = [k for k in summaries[0] if all(k in s for s in summaries)]
    out = {k: float(np.mean([s[k] for s in summaries])) for k in keys}
    out["num_seeds"] = float(len(summaries))
    return out


def fit_policy(
    policy: ImitationPolicy,
    data: OfflineData,
    run_dir: Path,
    settings: TrainerSchema | None = None,
    *,
    seed: int = 0,
    normalizer: Normalizer | None = None,
    logger: Logger | None = None,
    eval_env: gym.vector.VectorEnv | None = None,
    score_fn: ScoreFn | None = None,
) -> dict[str, float]:
    """Train one policy on ``data`` without any config (the Python API of a single run).

    Writes ``metrics.jsonl`` and checkpoints into ``run_dir``; evaluates in ``eval_env`` when
    given (``trainer.eval_envs`` sub-envs). Returns the summary; a divergence is raised.
    """
    settings = settings or TrainerSchema()
    run_dir = Path(run_dir)
    if normalizer is None:
        normalizer = make_normalizer(data.spec, data.obs, enabled=False)
    member = Member(
        policy,
        run_dir,
        settings,
        seed=seed,
        normalizer=normalizer,
        logger=logger or JsonlLogger(run_dir / "metrics.jsonl"),
        score_fn=score_fn,
    )
    tensors = training_tensors(data, normalizer, [policy])
    GroupFit(
        PolicyLearner(policy),
        [member],
        tensors,
        settings,
        normalizer=normalizer,
        eval_env=eval_env,
        obs_spec=data.spec,
    ).run()
    member.logger.finish(member.summary() if member.alive else None)
    if member.failure is not None:
        raise member.failure
    return member.summary()
