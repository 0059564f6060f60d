"""compile_ahead: the step compiled on a background thread before its first call (CPU)."""

import gymnasium as gym
import jax
import numpy as np
import pytest
import torch
from compile_events import traced_or_lowered

from gpu_envs import compile_ahead
from gpu_envs.vector_env import check_compile_ahead

NUM_ENVS = 3  # a count no other test compiles, so nothing comes from an earlier test's trace


def make_cartpole(ahead: bool, **kwargs):
    return gym.make_vec("GpuCartpole-v0", num_envs=NUM_ENVS, compile_ahead=ahead, **kwargs)


def step_programs(seen: list) -> list:
    return [name for name in seen if "step" in name]


def test_compile_ahead_leaves_the_first_step_nothing_to_trace_or_lower():
    env = make_cartpole(True)
    env.reset(seed=0)  # while the step compiles
    with traced_or_lowered() as seen:
        env.step(torch.zeros(NUM_ENVS, 1))
    assert not step_programs(seen), seen
    env.close()


def test_compile_ahead_serves_jax_output_with_jax_actions_and_step_numpy():
    env = make_cartpole(True, output="jax")
    env.reset(seed=0)
    with traced_or_lowered() as seen:
        env.step(jax.numpy.zeros((NUM_ENVS, 1)))  # made on the default device, not committed to it
        env.unwrapped.step_numpy(np.zeros((NUM_ENVS, 1), np.float32))
    assert not step_programs(seen), seen
    env.close()


def test_a_cpu_env_does_not_compile_ahead_by_default(cartpole):
    assert cartpole.unwrapped._compile_ahead is None


def test_steps_after_compile_ahead_equal_steps_without_it():
    outputs = []
    for ahead in (True, False):
        env = make_cartpole(ahead)
        obs, _ = env.reset(seed=3)
        rollout = [obs.clone()]
        for i in range(5):
            obs, reward, terminated, truncated, infos = env.step(torch.full((NUM_ENVS, 1), 0.3 * (i - 2)))
            rollout += [obs.clone(), reward.clone(), infos["final_obs"].clone()]
        outputs.append(rollout)
        env.close()
    for with_ahead, without in zip(*outputs):
        torch.testing.assert_close(with_ahead, without, rtol=0, atol=0)


def test_a_failed_compile_ahead_leaves_the_work_to_the_first_step(monkeypatch):
    def fail(*args, **kwargs):
        raise RuntimeError("no shapes today")

    monkeypatch.setattr(compile_ahead, "step_arguments", fail)
    monkeypatch.setattr("gpu_envs.vector_env.step_arguments", fail)
    env = make_cartpole(True)
    env.reset(seed=0)
    with pytest.warns(UserWarning, match="compile_ahead: the step could not be compiled ahead .*no shapes today"):
        obs, *_ = env.step(torch.zeros(NUM_ENVS, 1))
    assert obs.shape == (NUM_ENVS, 4)
    env.close()


@pytest.mark.parametrize("platform, backend, obs_mode, expected", [
    ("gpu", "jax", "state", True),
    ("cpu", "jax", "state", False),
    ("gpu", "warp", "state", False),
    ("gpu", "jax", "rgb", False),
])
def test_compile_ahead_by_default_only_for_jax_state_steps_on_a_gpu(platform, backend, obs_mode, expected):
    device = type("Device", (), {"platform": platform})()
    assert check_compile_ahead(None, backend, obs_mode, device) is expected


@pytest.mark.parametrize("backend, obs_mode", [("warp", "state"), ("jax", "rgb")])
def test_compile_ahead_true_is_refused_for_a_warp_step(backend, obs_mode):
    with pytest.raises(ValueError, match=f"compile_ahead=True needs backend='jax' and obs_mode='state'.*{backend}"):
        check_compile_ahead(True, backend, obs_mode, jax.devices("cpu")[0])


def test_compile_ahead_that_is_not_a_bool_is_refused_by_name_before_the_task_is_built():
    with pytest.raises(ValueError, match=r"compile_ahead must be True, False or None \(got 'yes'\)"):
        gym.make_vec("GpuCartpole-v0", num_envs=1, compile_ahead="yes", no_such_parameter=1)
