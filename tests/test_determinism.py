"""Same seed, same actions -> identical trajectories; different seeds differ."""

import torch

from conftest import NUM_ENVS


def _rollout(env, seed, steps=30):
    obs, _ = env.reset(seed=seed)
    trace = [obs.clone()]
    gen = torch.Generator().manual_seed(0)
    for _ in range(steps):
        action = torch.rand(NUM_ENVS, 1, generator=gen) * 2 - 1
        obs, reward, *_ = env.step(action)
        trace += [obs.clone(), reward.clone()]
    return trace


def test_same_seed_reproduces_the_trajectory(cartpole):
    a, b = _rollout(cartpole, 7), _rollout(cartpole, 7)
    assert all(torch.equal(x, y) for x, y in zip(a, b))


def test_different_seeds_start_differently(cartpole):
    a, b = _rollout(cartpole, 7, steps=0), _rollout(cartpole, 8, steps=0)
    assert not torch.equal(a[0], b[0])


def test_envs_in_one_batch_start_differently(cartpole):
    obs, _ = cartpole.reset(seed=9)
    assert len({tuple(row.tolist()) for row in obs}) == NUM_ENVS
