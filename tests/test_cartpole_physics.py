"""Cartpole's physics and reward against the reference definition."""

import numpy as np
import torch

from conftest import NUM_ENVS


def test_pole_falls_without_control(cartpole):
    cartpole.reset(seed=21)
    fell = torch.zeros(NUM_ENVS, dtype=torch.bool)
    for _ in range(150):
        _, _, terminated, _, infos = cartpole.step(torch.zeros(NUM_ENVS, 1))
        fell |= terminated & (infos["final_obs"][:, 2].abs() > np.pi / 2)
    assert fell.all()


def test_push_moves_the_cart_that_way(short_cartpole):
    short_cartpole.reset(seed=22)
    right, *_ = short_cartpole.step(torch.full((NUM_ENVS, 1), 0.5))
    short_cartpole.reset(seed=22)
    left, *_ = short_cartpole.step(torch.full((NUM_ENVS, 1), -0.5))
    assert (right[:, 1] > 0).all() and (left[:, 1] < 0).all()
    # 200 N for 1/60 s on the cart (1 kg) plus a free 1 kg rod pivoted at its end (acts as
    # 1/4 of its mass sideways): 200 / 1.25 / 60 = 2.7 m/s, from a start of +-0.25 m/s
    assert ((right[:, 1] > 2.2) & (right[:, 1] < 3.2)).all()


def test_actions_beyond_the_bounds_are_clipped(short_cartpole):
    short_cartpole.reset(seed=23)
    clipped, *_ = short_cartpole.step(torch.ones(NUM_ENVS, 1))
    short_cartpole.reset(seed=23)
    beyond, *_ = short_cartpole.step(torch.full((NUM_ENVS, 1), 5.0))
    assert torch.equal(clipped, beyond)


def test_reward_matches_the_reference_formula(short_cartpole):
    short_cartpole.reset(seed=24)
    obs, reward, terminated, *_ = short_cartpole.step(torch.full((NUM_ENVS, 1), 0.2))
    x, v, angle, omega = obs.double().T
    expected = 1 - angle**2 - 0.01 * v.abs() - 0.005 * omega.abs()
    assert not terminated.any()
    np.testing.assert_allclose(reward.double(), expected, rtol=1e-5)
