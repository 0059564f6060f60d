"""Shared fixtures: each distinct env config compiles once per test session (CPU backend)."""

import os

os.environ.setdefault("JAX_PLATFORMS", "cpu")  # CI has no GPU; GPU tests opt in explicitly

import gymnasium as gym  # noqa: E402
import jax  # noqa: E402
import pytest  # noqa: E402

import gpu_envs  # noqa: E402,F401

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
