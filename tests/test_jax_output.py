"""output="jax" returns JAX arrays for JAX users."""

import gymnasium as gym
import jax
import jax.numpy as jnp


def test_jax_output_mode_returns_jax_arrays():
    env = gym.make_vec("GpuCartpole-v0", num_envs=2, output="jax")
    obs, _ = env.reset(seed=0)
    obs, reward, terminated, truncated, infos = env.step(jnp.zeros((2, 1)))
    assert all(isinstance(x, jax.Array) for x in (obs, reward, terminated, truncated, infos["final_obs"]))
    assert obs.dtype == jnp.float32 and terminated.dtype == jnp.bool_
    env.close()
