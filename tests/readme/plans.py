"""How each documented command is tested. Every command in the bash blocks of the READMEs and
of the docs pages (``docs/**/*.md``; ``extract.DOCUMENTS``) needs an entry here (a new command
without one fails the suite; a command that moves between documents keeps its entry).

* ``Run``: run exactly as written, in a fresh copy of the repo, with only the ``budget``
  arguments appended (fewer steps / episodes / seeds / trials), then check what it wrote.
* ``Compose``: cannot run here (network, cluster, hours of compute, ``../shared/experts``):
  the command's config must still compose (``--cfg all --resolve``, sweeps at their first value).
* ``Skip``: not a Hydra command and not runnable inside the suite (installs, the suite itself).

Placeholders such as ``<run>`` are filled from the workspace (the newest match of a glob).
Commands run in reading order (README, the docs pages in ``mkdocs.yml``'s nav order, the
studies' READMEs), each where it is first seen, so a command that reads another's output must
come after it (noted below where it matters).
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: The budget every training command gets: a few steps, one evaluation episode at the end.
TRAIN = (
    "trainer.steps=20",
    "trainer.log_every=10",
    "trainer.eval_every=0",
    "trainer.eval_episodes=1",
    "trainer.eval_envs=1",
    "trainer.checkpoint_every=0",
    "trainer.progress=false",
)
#: Fewer transitions/episodes for collect (``episodes=`` or ``steps=``, as the command uses).
COLLECT_EPISODES = ("episodes=2", "ref_episodes=1", "num_envs=1")
COLLECT_STEPS = ("steps=300", "ref_episodes=1", "num_envs=1")
EXPERTS = "experts"  # needs ../shared/experts (skipped where it is absent, as in CI)
SLURM = "slurm"  # runs on the session's Slurm cluster (skipped, with the reason, without one)


@dataclass(frozen=True)
class Run:
    budget: tuple[str, ...] = ()
    #: glob (relative to the workspace) -> how many new matches the command must create
    creates: dict[str, int] = field(default_factory=dict)
    #: placeholder -> glob with one ``*``: what the ``*`` matched in the newest match fills it
    fill: dict[str, str] = field(default_factory=dict)
    #: files (relative to the workspace) the command must rewrite
    rewrites: tuple[str, ...] = ()
    #: placeholder -> literal value (e.g. the test cluster's partition)
    values: dict[str, str] = field(default_factory=dict)
    needs: str | None = None
    #: text that must appear in the command's stdout+stderr
    prints: tuple[str, ...] = ()
    timeout: float = 300


@dataclass(frozen=True)
class Compose:
    reason: str
    #: the config to compose instead of the command itself (scripts): app and overrides
    app: str | None = None
    overrides: tuple[str, ...] = ()
    fill: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Skip:
    reason: str


DONE = "DONE.json"
PLANS: dict[str, Run | Compose | Skip] = {
    # ---------------------------------------------------------------- two commands (README, docs)
    "make train": Skip("creates .venv and installs; the closing note's fresh-clone check runs it"),
    "make test": Skip("is this suite (CI's .ci/run calls it)"),
    "python3 -m venv .venv && . .venv/bin/activate": Skip("creates a venv"),
    'pip install -c constraints-cpu.txt torch==2.13.0 && pip install -c constraints-cpu.txt -e ".[dev]"': Skip(  # noqa: E501
        "installs the project (what .ci/run and make do)"
    ),
    "python -m pytest -q": Skip("is this suite"),
    "make docs": Skip("builds the docs site: tests/readme/test_docs.py runs the same build"),
    "python -m imitation_lab.train": Run(TRAIN, creates={f"outputs/train/*/{DONE}": 1}),
    # -------------------------------------------------------- train (docs/tutorials/training.md)
    "python -m imitation_lab.train dataset=cartpole": Run(TRAIN, creates={"outputs/train/*": 1}),
    "python -m imitation_lab.train dataset=pointmaze_umaze": Run(
        TRAIN, creates={f"outputs/train/*/{DONE}": 1}
    ),
    "python -m imitation_lab.train dataset=minigrid_empty_random": Run(
        TRAIN, creates={f"outputs/train/*/{DONE}": 1}
    ),
    "python -m imitation_lab.train dataset=minigrid_empty_random dataset.obs_keys=[image] "
    "actor=multi_input": Run(TRAIN),
    "python -m imitation_lab.train dataset=minigrid_empty_random dataset.frame_stack=4": Run(TRAIN),
    "python -m imitation_lab.train dataset=minigrid_empty_random dataset.obs_keys=[image] "
    "actor=multi_input dataset.augment=random_shift": Run(TRAIN),
    "python -m imitation_lab.train dataset=minari_pointmaze_umaze": Compose(
        "downloads D4RL/pointmaze/umaze-v2 from Minari's remote (no network here)"
    ),
    "python -m imitation_lab.train bounding=tanh": Run(TRAIN, creates={"outputs/train/*": 1}),
    "python -m imitation_lab.train optim=adamw scheduler=cosine": Run(TRAIN),
    # ---------------------------------------------------------------- filtered BC
    "python -m imitation_lab.train dataset.top_fraction=0.1": Run(TRAIN, prints=("keeps 5 of 50",)),
    "python -m imitation_lab.train dataset.min_return=-200": Run(TRAIN, prints=("keeps",)),
    "python -m imitation_lab.train dataset=pendulum_mixed dataset.top_fraction=0.1": Run(
        TRAIN, prints=("keeps 15 of 150",)
    ),
    "python -m imitation_lab.train dataset.val_fraction=0.1 trainer.select=best_val": Run(
        TRAIN, prints=("holds out 5 of 50 episodes", "best/val_loss")
    ),
    "python -m imitation_lab.train dataset=minigrid_memory actor=rnn trainer.batch_size=64": Run(
        TRAIN, creates={f"outputs/train/*/{DONE}": 1}
    ),
    "python -m imitation_lab.train dataset=minigrid_memory actor=transformer actor.context=24 "
    "actor.image_scale=1": Run(TRAIN),
    "python -m imitation_lab.train trainer.ema_decay=0.999": Run(
        TRAIN, prints=("final/normalized_score",)
    ),
    # ---------------------------------------------------------------- action heads
    "python -m imitation_lab.train head=gaussian": Run(TRAIN, prints=("final/normalized_score",)),
    "python -m imitation_lab.train head=gmm head.modes=5": Run(TRAIN),
    "python -m imitation_lab.train head=bins head.bins=256": Run(TRAIN),
    "python -m imitation_lab.train head=diffusion head.inference_steps=10": Run(TRAIN),
    "python -m imitation_lab.train head.chunk=8 policy.execute=temporal_ensemble": Run(TRAIN),
    "python -m imitation_lab.train actor.hidden_sizes=[64,64] actor.activation=tanh "
    "actor.layer_norm=true": Run(TRAIN),
    "python -m imitation_lab.train trainer.steps=20000 trainer.batch_size=512 "
    "trainer.eval_every=5000": Run(TRAIN),
    "python -m imitation_lab.train dataset.id=mujoco/halfcheetah/expert-v0": Compose(
        "downloads from Minari's remote (network); the offline error is tested in tests/reliability"
    ),
    "python -m imitation_lab.train -m seed=0,1,2 optim.lr=1e-3,3e-4": Run(
        TRAIN, creates={f"multirun/train/*/*/{DONE}": 6}
    ),
    "python -m imitation_lab.train experiment=cartpole_bc": Run(TRAIN),
    "python -m imitation_lab.train --cfg job": Run(prints=("dataset:", "trainer:")),
    "python -m imitation_lab.train logger=none": Run(TRAIN),
    "python -m imitation_lab.train logger.mode=disabled": Run(TRAIN),
    "python -m imitation_lab.train trainer.resume=true hydra.run.dir=outputs/train/<run>": Run(
        TRAIN, fill={"<run>": "outputs/train/*"}, prints=("Resumed from",)
    ),
    # ---------------------------------------------------------------- eval (docs/tutorials/eval.md)
    "imitation-lab eval checkpoint=outputs/train/<run>": Run(
        ("episodes=1", "num_envs=1"),
        fill={"<run>": "outputs/train/*/checkpoints/best.pt"},
        creates={"outputs/eval/*/eval.json": 1},
        prints=("normalized score",),
    ),
    "imitation-lab eval checkpoint=outputs/train/<run>/checkpoints/last.pt episodes=50 "
    "seed=1000": Run(
        ("episodes=2", "num_envs=1"),
        fill={"<run>": "outputs/train/*/checkpoints/last.pt"},
        creates={"outputs/eval/*/eval.json": 1},
    ),
    # ----------------------------------------------------- collect (docs/tutorials/datasets.md)
    # source=checkpoint loads the newest run with a best.pt: the pendulum runs of the pages
    # before; it stays above the page's Dict/image trainings (a frame_stack=4 policy is refused)
    "imitation-lab collect source.name=cartpole dataset_id=me/cartpole/expert-v0 episodes=20": Run(
        COLLECT_EPISODES, creates={"outputs/collect/*": 1}
    ),
    "imitation-lab collect source=zoo source.name=tqc_HalfCheetah "
    "dataset_id=me/halfcheetah/expert-v0 episodes=null steps=100000": Run(
        COLLECT_STEPS, needs=EXPERTS
    ),
    "imitation-lab collect source=zoo source.name=ppo_Hopper ref_expert=trpo_Hopper "
    "noise=gaussian noise.std=0.2 dataset_id=me/hopper/noisy-v0 episodes=50": Run(
        COLLECT_EPISODES, needs=EXPERTS
    ),
    "imitation-lab collect source=zoo source.name=sac_HalfCheetah source.deterministic=false "
    "dataset_id=me/halfcheetah/sampled-v0 episodes=20": Run(COLLECT_EPISODES, needs=EXPERTS),
    "imitation-lab collect source=checkpoint source.path=outputs/train/<run>/checkpoints/best.pt "
    "dataset_id=me/pendulum/bc-v0 episodes=10": Run(
        COLLECT_EPISODES, fill={"<run>": "outputs/train/*/checkpoints/best.pt"}
    ),
    "imitation-lab collect preset=hopper_expert": Run(COLLECT_STEPS, needs=EXPERTS),
    "python -m imitation_lab.collect --cfg job": Run(prints=("dataset_id:",)),
    "minari show me/cartpole/expert-v0": Run(prints=("me/cartpole/expert-v0",)),
    # ---------------------------------------------------------------- sweeps (docs/tutorials/)
    "python -m imitation_lab.train -m hydra/launcher=joblib seed=0,1,2 optim.lr=1e-3,3e-4": Run(
        TRAIN, creates={f"multirun/train/*/*/{DONE}": 6}
    ),
    "python -m imitation_lab.train -m hydra/launcher=submitit_local seed=0,1": Run(
        TRAIN, creates={f"multirun/train/*/*/{DONE}": 2}
    ),
    "python -m imitation_lab.train -m hydra/launcher=slurm hydra.launcher.partition=<p> "
    "seed=0,1": Run(
        TRAIN, needs=SLURM, values={"<p>": "debug"}, creates={f"multirun/train/*/*/{DONE}": 2}
    ),
    "python -m imitation_lab.train -m hydra/sweeper=seeds10 bounding=clip,tanh": Run(
        (*TRAIN, "seed=0,1"), creates={f"multirun/train/*/*/{DONE}": 4}
    ),
    "python -m imitation_lab.train -m experiment=optuna_bc": Run(
        (*TRAIN, "hydra.sweeper.n_trials=2"),
        creates={"multirun/optuna_bc/*/optimization_results.yaml": 1},
    ),
    "python -m imitation_lab.train -m experiment=optuna_bc "
    "hydra.sweeper.storage=sqlite:///optuna_bc.db": Run(
        (*TRAIN, "hydra.sweeper.n_trials=2"),
        creates={"optuna_bc.db": 1, "multirun/optuna_bc/*/optimization_results.yaml": 1},
    ),
    "python -m imitation_lab.train -m experiment=optuna_bc hydra/launcher=slurm "
    "hydra.launcher.partition=<p> hydra.sweeper.storage=journal:/shared/optuna_bc.journal "
    "hydra/sweeper/pruner=median trainer.eval_every=1000": Compose(
        "a cluster's shared file system (/shared); tests/slurm runs an Optuna study on Slurm",
        fill={"<p>": "debug"},
    ),
    "python -m imitation_lab.train -m experiment=clip_vs_tanh": Run(
        (*TRAIN, "seed=0"), creates={f"multirun/clip_vs_tanh/*/{DONE}": 4}
    ),
    "python -m imitation_lab.report multirun/train/<date_time>": Run(
        fill={"<date_time>": "multirun/train/*/multirun.yaml"},
        creates={"multirun/train/*/report/results.md": 1},
    ),
    # ---------------------------------------------------------------- num_seeds (docs/concepts/)
    "python -m imitation_lab.train trainer.num_seeds=8": Run(
        TRAIN, creates={f"outputs/train/*/seed_*/{DONE}": 8}
    ),
    "python -m imitation_lab.train -m seed=0,8 trainer.num_seeds=8": Run(
        TRAIN, creates={f"multirun/train/*/*/seed_*/{DONE}": 16}
    ),
    "python -m imitation_lab.train optim.fused=null": Run(TRAIN),
    "python -m imitation_lab.train trainer.compile=true": Compose(
        "compiles for ~30 s; tests/integration/test_compile.py trains with it"
    ),
    "python -m benchmarks.bc_speed": Run(
        (
            "--repeats=1",
            "--steps=20",
            "--k-steps=10",
            "--warmup=2",
            "--k=2",
            "--eval-episodes=1",
            "--eval-envs=1",
            "--cases",
            "raw-continuous",
            "ours-continuous",
        ),
        prints=("ours-continuous",),
    ),
    # ---------------------------------------------------------------- batched launcher
    # (after `-m experiment=clip_vs_tanh` of docs/tutorials/sweeps.md, before run.sh)
    "python -m imitation_lab.train -m hydra/launcher=batched seed=0,1,2 optim.lr=1e-3,3e-4 "
    "bounding=clip,tanh": Run(TRAIN, creates={f"multirun/train/*/*/{DONE}": 12}),
    # seed=0,1 renumbers the joblib run's 4 jobs (bounding outer, seed inner): each is found
    # in its <num>-<hash> dir by its config hash and skipped, nothing new is trained
    "python -m imitation_lab.train -m experiment=clip_vs_tanh hydra/launcher=batched": Run(
        (*TRAIN, "seed=0,1"), creates={f"multirun/clip_vs_tanh/*/{DONE}": 4}
    ),
    "python -m imitation_lab.train -m hydra/launcher=batched hydra.launcher.max_members=16 "
    "hydra.launcher.n_jobs=2 'seed=range(0,32)'": Run(
        (*TRAIN, "seed=range(0,4)", "hydra.launcher.max_members=2"),
        creates={f"multirun/train/*/*/{DONE}": 4},
        prints=("2 group(s) of 2/2 members",),
    ),
    "python -m imitation_lab.train -m hydra/launcher=batched hydra.launcher.n_jobs=1 "
    "hydra.launcher.threads=2 seed=0,1,2,3": Run(
        TRAIN,
        creates={f"multirun/train/*/*/{DONE}": 4},
        prints=("1 group(s) of 4 members; 1 process x 2 threads", "Time in 1 group(s)"),
    ),
    "benchmarks/gpu.sh": Skip("needs a CUDA GPU (tests/gpu are skipped without one)"),
    # ---------------------------------------------------------------- configuration reference
    "python docs/hooks/config_reference.py": Run(
        prints=("trainer.num_seeds", "collect_schema", "hydra.launcher.max_members")
    ),
    # ---------------------------------------------------------------- experiments/baselines
    "imitation-lab train -m experiment=baseline dataset=hopper_expert logger=none "
    "hydra.sweep.dir=multirun/baselines/hopper_expert": Run(
        (*TRAIN, "seed=0"), needs=EXPERTS, creates={f"multirun/baselines/hopper_expert/*/{DONE}": 1}
    ),
    "python experiments/baselines/summarize.py multirun/baselines": Run(
        needs=EXPERTS, prints=("hopper",)
    ),
    "experiments/baselines/run.sh remote": Compose(
        "downloads Minari's remote datasets (a stand-in runs in test_remote_configs.py)",
        app="train",
        overrides=("experiment=baseline_remote", "dataset=minari_hopper_medium"),
    ),
    "experiments/baselines/run.sh remote adroit": Compose(
        "downloads Minari's Adroit datasets (a stand-in runs in test_remote_configs.py)",
        app="train",
        overrides=("experiment=baseline_remote", "dataset=minari_pen_human"),
    ),
    "imitation-lab train experiment=baseline dataset=pointmaze_umaze trainer.num_seeds=5 "
    "logger=none": Run(TRAIN, creates={f"outputs/train/*/seed_*/{DONE}": 5}),
    "imitation-lab train experiment=baseline dataset=minigrid_empty_random trainer.num_seeds=5 "
    "logger=none": Run(TRAIN, creates={f"outputs/train/*/seed_*/{DONE}": 5}),
    "python experiments/baselines/summarize.py outputs/train --csv "
    "experiments/baselines/results_goal_image.csv": Run(prints=("pointmaze", "minigrid")),
    "experiments/baselines/memory.sh": Compose(
        "about 1 h of training (10 sequence-trunk jobs and 10 stacked MLP members)",
        app="train",
        overrides=("experiment=memory", "actor=rnn", "actor.context=24"),
    ),
    "mkdir -p multirun && tar -C multirun -xJf experiments/baselines/memory_runs.tar.xz": Run(
        creates={f"multirun/memory/rnn/*/{DONE}": 5}
    ),
    "python experiments/baselines/summarize_memory.py multirun/memory": Run(
        prints=("rnn (gru)", "transformer", "mlp, frame_stack=2")
    ),
    # ---------------------------------------------------------------- clip_vs_tanh (docs, study)
    "experiments/clip_vs_tanh/run.sh": Run(
        (*TRAIN, "seed=0"),
        creates={f"multirun/clip_vs_tanh/*/{DONE}": 0},  # the 4 jobs above are DONE: skipped
        rewrites=("experiments/clip_vs_tanh/results.md",),
    ),
    "mkdir -p multirun && for f in experiments/clip_vs_tanh/mujoco/runs*.tar.xz; do "
    'tar -C multirun -xJf "$f"; done': Run(creates={f"multirun/clip_vs_tanh_mujoco/*/{DONE}": 360}),
    "experiments/clip_vs_tanh/run.sh mujoco": Compose(
        "360 jobs on 8 datasets built from ../shared/experts and the built-in PointMaze",
        app="train",
        overrides=("experiment=clip_vs_tanh_mujoco",),
    ),
    "experiments/clip_vs_tanh/run.sh hopper": Compose(
        "80 jobs on the hopper expert + medium datasets built from ../shared/experts",
        app="train",
        overrides=(
            "experiment=clip_vs_tanh_mujoco",
            "dataset=hopper_medium",
            "trainer.steps=2000",
            "hydra/launcher=joblib",
        ),
    ),
    # ---------------------------------------------------------------- experiments/heads
    "experiments/heads/run.sh dataset=maze_fork": Compose(
        "25 jobs of 10k steps (30 min on 2 cores)",
        app="train",
        overrides=("experiment=heads", "dataset=maze_fork", "head=gmm"),
    ),
    "experiments/heads/run.sh": Compose(
        "275 jobs on 11 datasets (MuJoCo ones built from ../shared/experts)",
        app="train",
        overrides=("experiment=heads", "dataset=hopper_expert", "head=diffusion"),
    ),
    "python -m imitation_lab.train -m experiment=heads dataset=hopper_expert head=gaussian "
    "head.nll_beta=0.5,1.0 hydra.sweep.dir=multirun/heads_beta": Compose(
        "10 jobs of 10k steps on Hopper expert (../shared/experts): about 20 min"
    ),
    "python -m imitation_lab.train -m experiment=heads dataset=maze_fork head=gmm head.act=sample "
    "hydra.sweep.dir=multirun/heads_gmm_fork": Compose("5 stacked jobs of 10k steps: about 4 min"),
    "python -m imitation_lab.train -m experiment=heads dataset=maze_fork head=gmm head.chunk=8 "
    "hydra.sweep.dir=multirun/heads_gmm_fork": Compose("5 jobs of 10k steps, each alone: 7 min"),
    "python -m imitation_lab.train -m experiment=heads dataset=halfcheetah_expert,walker2d_expert "
    "head=gaussian head.nll_beta=1.0 hydra.sweep.dir=multirun/heads_beta": Compose(
        "10 stacked jobs of 10k steps on datasets built from ../shared/experts: about 3 min"
    ),
    "python -m imitation_lab.train -m experiment=heads dataset=hopper_medium head=bins "
    "head.bins=32 hydra.sweep.dir=multirun/heads_bins": Compose(
        "5 stacked jobs of 10k steps on Hopper medium (../shared/experts): about 2 min"
    ),
    "python -m imitation_lab.train -m experiment=heads dataset=hopper_medium head=bins "
    "head.act=sample hydra.sweep.dir=multirun/heads_bins": Compose(
        "5 stacked jobs of 10k steps on Hopper medium (../shared/experts): about 4 min"
    ),
    "python -m imitation_lab.train -m experiment=heads "
    "dataset=hopper_medium,halfcheetah_medium,halfcheetah_expert head=bins head.sigma=0.75 "
    "hydra.sweep.dir=multirun/heads_bins": Compose(
        "15 stacked jobs of 10k steps on datasets built from ../shared/experts: about 25 min"
    ),
    "python experiments/heads/fit_check.py multirun/heads --dataset halfcheetah_medium": Skip(
        "reads the checkpoints of the study's HalfCheetah medium runs (runs.tar.xz holds none; "
        "the chunk takes 13 min and ../shared/experts)"
    ),
    "python experiments/heads/bins_decoding.py multirun/heads --dataset halfcheetah_medium": Skip(
        "rolls out the study's HalfCheetah medium bins checkpoints (runs.tar.xz holds none; "
        "the chunk takes 13 min and ../shared/experts)"
    ),
    "python experiments/heads/bins_decoding.py multirun/heads_bins --dataset hopper_medium": Skip(
        "rolls out the HL-Gauss probe's checkpoints (a 25 min sweep on ../shared/experts data)"
    ),
    "mkdir -p multirun && tar -C multirun -xJf experiments/heads/runs.tar.xz": Run(
        creates={f"multirun/heads/*/{DONE}": 275}
    ),
    "python -m imitation_lab.report multirun/heads --out experiments/heads --reference mse "
    "--arm-key head": Run(rewrites=("experiments/heads/results.md",)),
    # ---------------------------------------------------------------- experiments/recipes
    "experiments/recipes/run.sh": Compose(
        "about 2 h of training on five recipes (and dataset=ant_expert from ../shared/experts)",
        app="train",
        overrides=("dataset=pendulum_mixed", "dataset.top_fraction=0.1", "trainer.num_seeds=5"),
    ),
    "experiments/recipes/run.sh filtered": Compose(
        "two 5-seed jobs of 10k steps",
        app="train",
        overrides=("dataset=pendulum_mixed", "dataset.top_fraction=0.1", "trainer.num_seeds=5"),
    ),
    "mkdir -p multirun && tar -C multirun -xJf experiments/recipes/runs.tar.xz": Run(
        creates={f"multirun/recipes/filtered/*/seed_*/{DONE}": 10}
    ),
    "python experiments/recipes/summarize.py multirun/recipes --json "
    "experiments/recipes/results.json": Run(rewrites=("experiments/recipes/results.json",)),
}
