"""output="jax" returns JAX arrays for JAX users; what the step reads is fixed when step() returns."""

import gymnasium as gym
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch

from gpu_envs.interop import action_to_jax


def test_jax_output_mode_returns_jax_arrays():
    env = gym.make_vec("GpuCartpole-v0", num_envs=2, output="jax")
    obs, _ = env.reset(seed=0)
    obs, reward, terminated, truncated, infos = env.step(jnp.zeros((2, 1)))
    assert all(isinstance(x, jax.Array) for x in (obs, reward, terminated, truncated, infos["final_obs"]))
    assert obs.dtype == jnp.float32 and terminated.dtype == jnp.bool_
    env.close()


@pytest.mark.parametrize("make_buffer", [lambda: np.full((3, 1), 0.5, np.float32),
                                         lambda: torch.full((3, 1), 0.5)])
def test_a_private_action_shares_no_memory_with_the_callers_buffer(make_buffer):
    buffer = make_buffer()
    action = action_to_jax(buffer, (3, 1), jax.devices("cpu")[0], private=True)
    buffer[:] = -1.0
    assert np.all(np.asarray(action) == 0.5)


def test_writing_the_action_buffer_after_a_jax_step_does_not_change_that_step():
    env = gym.make_vec("GpuCartpole-v0", num_envs=256, output="jax")
    env.reset(seed=0)
    reference = np.asarray(env.step(np.full((256, 1), 0.5, np.float32))[0])
    for _ in range(3):
        env.reset(seed=0)
        buffer = np.full((256, 1), 0.5, np.float32)
        obs = env.step(buffer)[0]
        buffer[:] = -1.0  # the step may still be running: it must not see this
        np.testing.assert_array_equal(np.asarray(obs), reference)
    env.close()


def test_a_sparse_action_tensor_is_accepted_as_its_dense_values(cartpole):
    dense = torch.tensor([[0.5], [0.0], [-0.5], [0.0]])
    cartpole.reset(seed=4)
    expected = cartpole.step(dense)[0].clone()
    cartpole.reset(seed=4)
    assert torch.equal(cartpole.step(dense.to_sparse())[0], expected)
