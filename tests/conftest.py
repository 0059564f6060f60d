"""Shared fixtures: each distinct env config compiles once per test session (CPU backend)."""

import gymnasium as gym
import jax
import pytest

import gpu_envs  # noqa: F401

# Envs made without device= run on JAX's CPU backend, as in CI; GPU tests ask for "cuda".
jax.config.update("jax_default_device", jax.devices("cpu")[0])

NUM_ENVS = 4


def _has_gpu() -> bool:
    try:
        return len(jax.devices("gpu")) > 0
    except RuntimeError:
        return False


def pytest_collection_modifyitems(config, items):
    if _has_gpu():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU visible to JAX")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def cartpole():
    """GpuCartpole-v0, 4 envs, torch output, default config."""
    env = gym.make_vec("GpuCartpole-v0", num_envs=NUM_ENVS)
    yield env
    env.close()


@pytest.fixture(scope="session")
def short_cartpole():
    """GpuCartpole-v0, 4 envs, episodes truncated after 20 steps."""
    env = gym.make_vec("GpuCartpole-v0", num_envs=NUM_ENVS, max_episode_steps=20)
    yield env
    env.close()


@pytest.fixture(scope="session")
def hand():
    """GpuAllegroHand-v0, 2 envs, default config (full_state), JAX CPU backend: one compile."""
    env = gym.make_vec("GpuAllegroHand-v0", num_envs=2)
    yield env
    env.close()
