"""skrl adapter: skrl's wrapper interface, shapes, zero-copy outputs (skrl learning Cartpole through it:
tests/test_train_cli.py)."""

import gymnasium as gym
import numpy as np
import pytest
import torch

pytest.importorskip("skrl")


from gpu_envs.wrappers.skrl import SkrlVecEnv  # noqa: E402


@pytest.fixture(scope="module")
def skrl_env():
    env = SkrlVecEnv(gym.make_vec("GpuCartpole-v0", num_envs=4, max_episode_steps=20), seed=0)
    yield env
    env.close()


def test_spaces_pass_through_as_single_env_spaces(skrl_env):
    assert skrl_env.observation_space == skrl_env.unwrapped.single_observation_space
    assert skrl_env.action_space == gym.spaces.Box(-1.0, 1.0, (1,), np.float32)
    assert skrl_env.num_envs == 4 and skrl_env.device == torch.device("cpu")


def test_step_returns_skrl_shapes_as_views_of_one_output_buffer(skrl_env):
    obs, _ = skrl_env.reset()
    assert obs.shape == (4, 4) and obs.dtype == torch.float32
    obs, reward, terminated, truncated, infos = skrl_env.step(torch.zeros(4, 1))
    assert reward.shape == (4, 1) and reward.dtype == torch.float32
    assert terminated.shape == truncated.shape == (4, 1) and terminated.dtype == torch.bool
    storage = obs.untyped_storage().data_ptr()
    assert all(t.untyped_storage().data_ptr() == storage for t in (reward, terminated, truncated))


def test_reset_after_the_first_returns_the_latest_observation(skrl_env):
    skrl_env.reset()
    obs, *_ = skrl_env.step(torch.ones(4, 1))
    again, _ = skrl_env.reset()
    assert again is obs


def test_timeouts_come_out_as_truncated(skrl_env):
    skrl_env.reset()
    ever_truncated = torch.zeros(4, 1, dtype=torch.bool)
    for _ in range(40):  # episodes last at most 20 steps: every env times out within 40
        _, _, terminated, truncated, _ = skrl_env.step(torch.zeros(4, 1))
        ever_truncated |= truncated & ~terminated
    assert ever_truncated.all()


@pytest.fixture(scope="module")
def closed_skrl_env():
    """An SkrlVecEnv reset once (so it holds an observation), then closed."""
    env = SkrlVecEnv(gym.make_vec("GpuCartpole-v0", num_envs=2), seed=0)
    env.reset()
    env.close()
    return env


@pytest.mark.parametrize("call", ["reset", "step"])
def test_after_close_the_adapter_raises_the_envs_closed_error(closed_skrl_env, call):
    with pytest.raises(RuntimeError) as from_env:
        closed_skrl_env.unwrapped.reset()
    with pytest.raises(RuntimeError) as from_adapter:
        closed_skrl_env.reset() if call == "reset" else closed_skrl_env.step(torch.zeros(2, 1))
    assert str(from_adapter.value) == str(from_env.value)


def test_rejects_jax_output_env():
    with pytest.raises(ValueError, match="output='torch'"):
        SkrlVecEnv(gym.make_vec("GpuCartpole-v0", num_envs=2, output="jax"))
