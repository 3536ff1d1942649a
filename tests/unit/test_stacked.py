"""The stacked model and optimizer: K members with their own hyperparameters equal K torch runs."""

from __future__ import annotations

import copy

import pytest
import torch

import imitation_lab.training.stacked_optim as stacked_optim
from imitation_lab.actors import MLPActor
from imitation_lab.training.stacked import StackedMLP
from imitation_lab.training.stacked_optim import StackedOptimizer

LRS = (1e-3, 3e-3, 1e-2)
OPTIMIZERS = {
    "adam_l2_per_member": lambda p, k: torch.optim.Adam(p, lr=LRS[k], weight_decay=(0, 1e-2, 0)[k]),
    "adam_fused": lambda p, k: torch.optim.Adam(p, lr=LRS[k], fused=True),
    "adamw_betas": lambda p, k: torch.optim.AdamW(
        p, lr=1e-3, weight_decay=(0.01, 0.1, 0)[k], betas=(0.9, (0.999, 0.99, 0.9)[k])
    ),
    "sgd_momentum_per_member": lambda p, k: torch.optim.SGD(
        p, lr=LRS[k], momentum=(0, 0.9, 0.5)[k], weight_decay=1e-3
    ),
    "sgd_nesterov": lambda p, k: torch.optim.SGD(p, lr=LRS[k], momentum=0.9, nesterov=True),
    "sgd_plain": lambda p, k: torch.optim.SGD(p, lr=LRS[k]),
}


def _members(**kwargs) -> list[MLPActor]:
    torch.manual_seed(0)
    return [MLPActor(5, 2, [16, 16], **kwargs) for _ in range(3)]


@pytest.mark.parametrize("fused", [True, False], ids=["fused_kernel", "elementwise"])
@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_stacked_optimizer_equals_torch_per_member(
    name: str, fused: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    if not fused:
        monkeypatch.setattr(stacked_optim, "_FUSED_ADAM", None)
    make = OPTIMIZERS[name]
    members = _members()
    references = copy.deepcopy(members)
    optims = [make(m.parameters(), k) for k, m in enumerate(members)]
    reference_optims = [make(m.parameters(), k) for k, m in enumerate(references)]
    model = StackedMLP(members)
    optimizer = StackedOptimizer(model, optims)
    gen = torch.Generator().manual_seed(1)
    for _ in range(40):
        obs, target = torch.randn(3, 8, 5, generator=gen), torch.randn(3, 8, 2, generator=gen)
        model.zero_grad_()
        (model(obs) - target).square().mean(dim=(1, 2)).sum().backward()
        optimizer.step()
        for k, (actor, optim) in enumerate(zip(references, reference_optims, strict=True)):
            optim.zero_grad()
            (actor(obs[k])[0] - target[k]).square().mean().backward()
            optim.step()
    expected = model.join([[p.detach() for p in actor.parameters()] for actor in references])
    torch.testing.assert_close(model.flat, expected, atol=1e-6, rtol=0)
    optimizer.write_back()  # each member's state in its own torch optimizer's format
    for optim, reference in zip(optims, reference_optims, strict=True):
        for index, state in reference.state_dict()["state"].items():
            for key, value in state.items():
                if value is not None:
                    got = optim.state_dict()["state"][index][key]
                    torch.testing.assert_close(got.float(), value.float(), atol=1e-6, rtol=0)


def test_stacked_model_matches_its_members_and_keeps_gradients_in_the_flat_buffer() -> None:
    members = _members(layer_norm=True, activation="tanh")
    model = StackedMLP(members)
    obs = torch.randn(3, 4, 5)
    out = model(obs)
    expected = torch.stack([m(obs[k])[0] for k, m in enumerate(members)])
    torch.testing.assert_close(out, expected, atol=1e-6, rtol=0)
    model.zero_grad_()
    out.square().sum().backward()
    assert model.grads_in_flat() and model.flat_grad.abs().sum() > 0
    for k, member in enumerate(members):
        member.load_state_dict(model.member_state_dict(k))  # names and shapes of MLPActor


def test_members_must_share_one_architecture_and_optimizer_type() -> None:
    with pytest.raises(ValueError, match="one architecture"):
        StackedMLP([MLPActor(5, 2, [16]), MLPActor(5, 2, [32])])
    members = _members()
    model = StackedMLP(members)
    mixed = [
        torch.optim.Adam(members[0].parameters()),
        torch.optim.SGD(members[1].parameters(), lr=0.1),
        torch.optim.Adam(members[2].parameters()),
    ]
    with pytest.raises(ValueError, match="one optimizer type"):
        StackedOptimizer(model, mixed)
