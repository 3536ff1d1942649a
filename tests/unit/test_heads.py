"""Action heads against independent computations: torch.distributions for the likelihoods,
the bin arithmetic by hand, DDIM's invariants; and the policy's Tianshou protocol with a head."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
import torch
from torch import distributions as D

from imitation_lab.config.build import build_policy
from imitation_lab.data.batch import Batch
from imitation_lab.errors import ConfigError
from imitation_lab.policy.heads import BinsHead, DiffusionHead, GaussianHead, GMMHead
from imitation_lab.policy.heads.diffusion import cosine_alpha_bars
from imitation_lab.policy.imitation import ImitationPolicy, ImitationTrainingStats
from tests.helpers import compose_config

A = 3
BOX = gym.spaces.Box(-2.0, 2.0, (A,), np.float32)
OBS = gym.spaces.Box(-np.inf, np.inf, (4,), np.float32)


def _params(head, batch: int = 6, seed: int = 0) -> torch.Tensor:
    return torch.randn(batch, head.param_dim, generator=torch.Generator().manual_seed(seed))


def _targets(batch: int = 6) -> torch.Tensor:
    return torch.rand(batch, A, generator=torch.Generator().manual_seed(1)) * 1.8 - 0.9


def test_gaussian_nll_is_the_normal_log_likelihood() -> None:
    head = GaussianHead(A)
    params, target = _params(head), _targets()
    mean, log_std = head.split(params)
    assert log_std.min() >= -5 and log_std.max() <= 2
    expected = -D.Independent(D.Normal(mean, log_std.exp()), 1).log_prob(target)
    torch.testing.assert_close(head.loss(params, target), expected)
    assert torch.equal(head.mode(params), mean)


def test_gaussian_through_tanh_is_the_tanh_transformed_likelihood() -> None:
    head = GaussianHead(A)
    params, target = _params(head), _targets()
    mean, log_std = head.split(params)
    squashed = D.TransformedDistribution(
        D.Normal(mean, log_std.exp()), [D.transforms.TanhTransform()]
    )
    expected = -squashed.log_prob(target).sum(dim=-1)
    torch.testing.assert_close(head.loss(params, target, "tanh"), expected, atol=1e-4, rtol=1e-4)


def test_beta_nll_weighs_each_dimension_by_its_variance_held_constant() -> None:
    plain, beta = GaussianHead(A), GaussianHead(A, nll_beta=1.0)
    params, target = _params(plain), _targets()
    torch.testing.assert_close(GaussianHead(A, nll_beta=0.0).loss(params, target),
                               plain.loss(params, target))  # fmt: skip
    mean, log_std = plain.split(params)
    per_dim = -D.Normal(mean, log_std.exp()).log_prob(target)
    torch.testing.assert_close(beta.loss(params, target), (per_dim * log_std.exp() ** 2).sum(-1))
    # beta = 1: the mean's gradient is MSE's (the error), whatever the std
    params.requires_grad_(True)
    beta.loss(params, target).sum().backward()
    assert params.grad is not None
    torch.testing.assert_close(params.grad[:, :A], mean.detach() - target)
    with pytest.raises(ValueError, match=r"head\.nll_beta must be in \[0, 1\]"):
        GaussianHead(A, nll_beta=1.5)


def test_nll_beta_at_its_default_leaves_recorded_gaussian_jobs_as_they_were() -> None:
    from imitation_lab.config.identity import config_hash, resolved_config

    new = resolved_config(compose_config(["head=gaussian"]))
    recorded = {**new, "head": {k: v for k, v in new["head"].items() if k != "nll_beta"}}
    assert new["head"]["nll_beta"] == 0.0
    assert config_hash(new) == config_hash(recorded)
    changed = resolved_config(compose_config(["head=gaussian", "head.nll_beta=0.5"]))
    assert config_hash(changed) != config_hash(new)


def test_gmm_nll_is_the_mixture_log_likelihood() -> None:
    head = GMMHead(A, modes=4)
    params, target = _params(head), _targets()
    log_weights, means, stds = head.split(params)
    assert means.abs().max() < 1 and stds.min() >= 1e-4
    mixture = D.MixtureSameFamily(
        D.Categorical(logits=log_weights), D.Independent(D.Normal(means, stds), 1)
    )
    torch.testing.assert_close(head.loss(params, target), -mixture.log_prob(target))
    best = log_weights.argmax(dim=-1)
    torch.testing.assert_close(head.mode(params), means[torch.arange(6), best])


def test_bins_cross_entropy_and_centers() -> None:
    head = BinsHead(A, bins=5, low=torch.tensor([-1.0, -2.0, 0.0]), high=torch.tensor([1, 2, 4.0]))
    torch.testing.assert_close(head.centers()[1], torch.tensor([-2.0, -1.0, 0.0, 1.0, 2.0]))
    target = torch.tensor([[0.49, -1.6, 5.0]])  # nearest centers: 0.5, -2.0, 4.0 (clamped)
    assert head.index_of(target).tolist() == [[3, 0, 4]]
    logits = torch.full((1, A, 5), -20.0)
    logits[0, 0, 3] = logits[0, 1, 0] = logits[0, 2, 4] = 20.0
    params = logits.reshape(1, -1)
    torch.testing.assert_close(head.mode(params), torch.tensor([[0.5, -2.0, 4.0]]))
    expected = sum(torch.nn.functional.cross_entropy(logits[:, d], head.index_of(target)[:, d])
                   for d in range(A))  # fmt: skip
    torch.testing.assert_close(head.loss(params, target), expected.reshape(1))


def test_bins_hl_gauss_targets_spread_over_the_ordered_bins() -> None:
    from scipy.stats import norm

    head = BinsHead(A, bins=5, sigma=0.75, low=torch.tensor([-1.0, -2.0, 0.0]),
                    high=torch.tensor([1, 2, 4.0]))  # fmt: skip
    target = torch.tensor([[0.49, -1.6, 5.0]])  # the last one clamped to the range's top, 4.0
    soft = head.soft_targets(target)
    torch.testing.assert_close(soft.sum(-1), torch.ones(1, A))
    assert soft.argmax(-1).tolist() == head.index_of(target).tolist()
    # dimension 1: centers -2..2 (width 1), edges -2.5..2.5, std 0.75 around -1.6, truncated
    edges = np.arange(-2.5, 3.0, 1.0)
    mass = np.diff(norm.cdf((edges + 1.6) / 0.75))
    torch.testing.assert_close(soft[0, 1], torch.tensor(mass / mass.sum(), dtype=torch.float32))
    logits = torch.randn(1, A * 5)
    expected = -(soft * head.logits(logits).log_softmax(-1)).sum()
    torch.testing.assert_close(head.loss(logits, target), expected.reshape(1))
    # a narrow Gaussian is the one-hot cross-entropy of the nearest bin
    narrow, one_hot = BinsHead(A, bins=5, sigma=0.05), BinsHead(A, bins=5)
    inside = torch.tensor([[0.5, -0.5, 0.0]])
    torch.testing.assert_close(narrow.loss(logits, inside), one_hot.loss(logits, inside))
    with pytest.raises(ValueError, match=r"head\.sigma must be >= 0"):
        BinsHead(A, sigma=-1.0)


def test_bins_sigma_at_its_default_leaves_recorded_bins_jobs_as_they_were() -> None:
    from imitation_lab.config.identity import config_hash, resolved_config

    new = resolved_config(compose_config(["head=bins"]))
    recorded = {**new, "head": {k: v for k, v in new["head"].items() if k != "sigma"}}
    assert config_hash(new) == config_hash(recorded)
    changed = resolved_config(compose_config(["head=bins", "head.sigma=0.75"]))
    assert changed["head"]["sigma"] == 0.75 and config_hash(changed) != config_hash(new)


def test_diffusion_schedule_and_deterministic_mode() -> None:
    alpha_bars = cosine_alpha_bars(100)
    assert alpha_bars[0] > 0.99 and alpha_bars[-1] < 1e-3 and bool((alpha_bars.diff() < 0).all())
    head = DiffusionHead(A, feature_dim=8, hidden_sizes=[16], inference_steps=5)
    features = torch.randn(4, 8)
    first, again = head.mode(features), head.mode(features)
    assert torch.equal(first, again) and first.abs().max() <= 1  # clipped to [-1, 1]
    draws = [head.sample(features, torch.Generator().manual_seed(3)) for _ in range(2)]
    assert torch.equal(*draws) and not torch.equal(draws[0], first)
    loss = head.loss(features, _targets(4))
    assert loss.shape == (4,) and bool(torch.isfinite(loss).all())


@pytest.mark.parametrize(
    "head",
    [GaussianHead(A), GMMHead(A), BinsHead(A, bins=7), DiffusionHead(A, feature_dim=8)],
    ids=["gaussian", "gmm", "bins", "diffusion"],
)
def test_sampling_repeats_from_the_same_seed_and_shapes_stack(head) -> None:
    params = torch.randn(2, 5, head.param_dim)  # [K, B, P]: stacked members
    one = head.sample(params, torch.Generator().manual_seed(7))
    two = head.sample(params, torch.Generator().manual_seed(7))
    assert one.shape == (2, 5, A) and torch.equal(one, two)
    assert head.mode(params).shape == (2, 5, A)
    assert head.loss(params, torch.zeros(2, 5, A).uniform_(-0.9, 0.9)).shape == (2, 5)


@pytest.mark.parametrize("name", ["gaussian", "gmm", "bins", "diffusion"])
def test_a_policy_with_a_head_keeps_tianshous_protocol(name: str) -> None:
    cfg = compose_config([f"head={name}", "actor.hidden_sizes=[16]"])
    torch.manual_seed(0)
    policy = build_policy(cfg, OBS, BOX, total_steps=10)
    assert policy.head is not None and policy.head.name == name
    obs = torch.randn(6, 4)
    out = policy(Batch(obs=obs, info={}))
    assert set(out.keys()) == {"logits", "act", "state"}
    assert out.logits.shape == (6, policy.head.param_dim) and out.act.shape == (6, A)
    head_params = {id(p) for p in policy.head.parameters()}
    optimized = {id(p) for group in policy.optim.param_groups for p in group["params"]}
    assert head_params <= optimized  # the diffusion denoiser trains too
    target = torch.rand(6, A) * 1.8 - 0.9
    before = [p.detach().clone() for p in policy.actor.parameters()]
    stats = policy.update(Batch(obs=obs, act=target, info={}))
    assert isinstance(stats, ImitationTrainingStats) and np.isfinite(stats.loss)
    assert any(
        not torch.equal(a, b) for a, b in zip(before, policy.actor.parameters(), strict=True)
    )


def test_head_mse_is_no_head_and_the_actor_is_initialized_as_before() -> None:
    torch.manual_seed(3)
    plain = build_policy(compose_config([]), OBS, BOX, total_steps=10)
    torch.manual_seed(3)
    gaussian = build_policy(compose_config(["head=gaussian"]), OBS, BOX, total_steps=10)
    assert plain.head is None and not any(k.startswith("head") for k in plain.state_dict())
    first = dict(plain.actor.named_parameters())["net.0.weight"]
    assert torch.equal(first, dict(gaussian.actor.named_parameters())["net.0.weight"])


def test_heads_refuse_what_does_not_make_sense_in_one_line() -> None:
    with pytest.raises(ConfigError, match=r"head=gmm.*continuous.*Discrete"):
        build_policy(compose_config(["head=gmm"]), OBS, gym.spaces.Discrete(3), total_steps=1)
    with pytest.raises(ConfigError, match=r"head=gmm with bounding\.action_bound_method=tanh"):
        build_policy(compose_config(["head=gmm", "bounding=tanh"]), OBS, BOX, total_steps=1)
    with pytest.raises(ConfigError, match=r"head=bins.*tanh"):
        build_policy(compose_config(["head=bins", "bounding=tanh_squash"]), OBS, BOX, 1)
    with pytest.raises(ValueError, match="discrete actions keep their categorical"):
        discrete = gym.spaces.Discrete(3)
        ImitationPolicy(actor=torch.nn.Linear(4, 3), optim=None, action_space=discrete,  # type: ignore[arg-type]
                        head=GaussianHead(3))  # fmt: skip
