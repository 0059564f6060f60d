"""The gymnasium VectorEnv contract: spaces, dtypes, shapes, SAME_STEP autoreset, infos."""

import gymnasium as gym
import numpy as np
import pytest
import torch
from gymnasium.vector import AutoresetMode

from conftest import NUM_ENVS


def test_spaces_match_the_task(cartpole):
    assert cartpole.num_envs == NUM_ENVS
    assert cartpole.single_observation_space == gym.spaces.Box(-5.0, 5.0, (4,), np.float32)
    assert cartpole.single_action_space == gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    assert cartpole.observation_space.shape == (NUM_ENVS, 4)
    assert cartpole.action_space.shape == (NUM_ENVS, 1)
    assert cartpole.metadata["autoreset_mode"] == AutoresetMode.SAME_STEP
    assert cartpole.spec.id == "GpuCartpole-v0"
    assert cartpole.render_mode is None


def test_reset_returns_float32_obs_inside_the_space(cartpole):
    obs, infos = cartpole.reset(seed=1)
    assert isinstance(obs, torch.Tensor) and obs.dtype == torch.float32 and obs.shape == (NUM_ENVS, 4)
    assert cartpole.observation_space.contains(obs.numpy())
    assert isinstance(infos, dict)


def test_step_returns_tensors_of_the_documented_dtypes(cartpole):
    cartpole.reset(seed=1)
    obs, reward, terminated, truncated, infos = cartpole.step(torch.zeros(NUM_ENVS, 1))
    assert obs.dtype == torch.float32 and obs.shape == (NUM_ENVS, 4)
    assert reward.dtype == torch.float32 and reward.shape == (NUM_ENVS,)
    assert terminated.dtype == torch.bool and terminated.shape == (NUM_ENVS,)
    assert truncated.dtype == torch.bool and truncated.shape == (NUM_ENVS,)
    assert infos["final_obs"].shape == (NUM_ENVS, 4) and infos["_final_obs"].dtype == torch.bool
    assert set(infos["episode"]) == {"r", "l"} and infos["episode"]["l"].dtype == torch.int32
    assert infos["nonfinite_action"].dtype == torch.bool and infos["sim_unstable"].dtype == torch.bool
    assert obs.device == cartpole.device


def _run_until(env, action, predicate, limit=200):
    """Step with a constant action until predicate(step result) holds; returns (result, rewards so far)."""
    rewards = []
    for _ in range(limit):
        result = env.step(action)
        rewards.append(result[1].clone())
        if predicate(result):
            return result, torch.stack(rewards)
    raise AssertionError("condition never reached")


def test_termination_autoresets_in_the_same_step(short_cartpole):
    env = short_cartpole
    env.reset(seed=2)
    push = torch.ones(NUM_ENVS, 1)  # 400 N: the cart leaves the +-3 m range within 20 steps
    (obs, reward, terminated, truncated, infos), rewards = _run_until(env, push, lambda r: bool(r[2][0]))
    assert not truncated[0]
    assert infos["_final_obs"][0]
    assert abs(infos["final_obs"][0, 0]) > 3.0 or abs(infos["final_obs"][0, 2]) > np.pi / 2
    assert reward[0] == -2.0
    assert abs(obs[0, 0]) <= 0.1 and abs(obs[0, 2]) <= 0.1  # the new episode's reset state
    assert infos["_episode"][0]
    assert int(infos["episode"]["l"][0]) == len(rewards)
    assert np.isclose(float(infos["episode"]["r"][0]), float(rewards[:, 0].sum()), rtol=1e-5)


def test_truncation_at_max_episode_steps(short_cartpole):
    env = short_cartpole
    env.reset(seed=3)
    still = torch.zeros(NUM_ENVS, 1)  # the pole needs ~50 steps to fall: no termination by step 20
    for step in range(1, 21):
        obs, reward, terminated, truncated, infos = env.step(still)
        assert not terminated.any()
        assert bool(truncated.all()) == (step == 20)
    assert infos["_final_obs"].all() and (infos["episode"]["l"] == 20).all()
    assert not torch.equal(obs, infos["final_obs"])


def test_unfinished_envs_report_no_episode(cartpole):
    cartpole.reset(seed=4)
    obs, _, terminated, truncated, infos = cartpole.step(torch.zeros(NUM_ENVS, 1))
    assert not (terminated | truncated).any()
    assert not infos["_episode"].any() and (infos["episode"]["l"] == 0).all()
    assert torch.equal(obs, infos["final_obs"])


def test_reset_mask_resets_only_the_masked_envs(cartpole):
    cartpole.reset(seed=5)
    for _ in range(10):
        before, *_ = cartpole.step(torch.ones(NUM_ENVS, 1))
    mask = np.array([True] + [False] * (NUM_ENVS - 1))
    obs, _ = cartpole.reset(options={"reset_mask": mask})
    assert torch.equal(obs[1:], before[1:])
    assert abs(obs[0, 1]) <= 0.25 and not torch.equal(obs[0], before[0])


def test_gymnasium_make_vec_passes_task_parameters():
    env = gym.make_vec("GpuCartpole-v0", num_envs=2, reset_dist=2.5)
    assert env.task.config.reset_dist == 2.5 and env.num_envs == 2
    env.close()


@pytest.mark.parametrize("fixture, push, steps, seed", [
    ("cartpole", 0.0, 25, 6),
    ("short_cartpole", 1.0, 45, 7),  # two truncations at 20 steps, and terminations from the push
])
def test_step_in_jit_advances_as_many_step_calls(request, fixture, push, steps, seed):
    env = request.getfixturevalue(fixture)
    action = torch.full((NUM_ENVS, 1), push)
    env.reset(seed=seed)
    for _ in range(steps):
        env.step(action)
    expected = env.step(action)[0].clone()
    env.reset(seed=seed)
    env.step_in_jit(action, steps)
    torch.testing.assert_close(env.step(action)[0], expected)
