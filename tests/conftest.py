"""Shared fixtures: each distinct env config compiles once per test session (CPU backend)."""

import importlib.util
import os
import tempfile
from pathlib import Path

# The suite compiles far more than it runs (tiny env counts, a few steps): XLA's CPU backend at
# optimisation level 0 compiles in about two thirds of the time, and the programs it makes run
# slower, which these tests barely feel. Set before JAX starts, so the train and play CLIs the
# tests start inherit it; a level the user chose is kept.
if "xla_backend_optimization_level" not in os.environ.get("XLA_FLAGS", ""):
    os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") + " --xla_backend_optimization_level=0").strip()

import gymnasium as gym  # noqa: E402
import jax  # noqa: E402
import pytest  # noqa: E402

import gpu_envs  # noqa: E402

# Envs made without device= run on JAX's CPU backend, as in CI; GPU tests ask for "cuda".
jax.config.update("jax_default_device", jax.devices("cpu")[0])

# One persistent compilation cache for the session and the subprocesses it starts (train and
# play CLIs): an identical program (same task, config and env count) compiles once, however
# quickly it compiles.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR", tempfile.mkdtemp(prefix="gpu_envs_jax_cache_"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
jax.config.update("jax_compilation_cache_dir", os.environ["JAX_COMPILATION_CACHE_DIR"])
jax.config.update("jax_persistent_cache_min_compile_time_secs",
                  float(os.environ["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"]))


def _load_example_task():
    """examples/custom_task/reacher.py imported from its file, as a user's own module would be
    (it registers MyReacher-v0 when it runs)."""
    path = Path(__file__).resolve().parent.parent / "examples" / "custom_task" / "reacher.py"
    spec = importlib.util.spec_from_file_location("reacher_example", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


EXAMPLE_TASK = _load_example_task()
EXAMPLE_ENV_ID = "MyReacher-v0"
# what the contract test runs over: every env gpu_envs ships, and a task defined outside it
CONTRACT_ENV_IDS = gpu_envs.ENV_IDS + (EXAMPLE_ENV_ID,)

NUM_ENVS = 4
AUTORESET_MODES = ("same_step", "next_step", "disabled")
# every registered env, as the contract and wrapper tests make it: few envs, short episodes
CONTRACT_NUM_ENVS = 2
CONTRACT_EPISODE_STEPS = 4


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


_shared_envs: dict = {}


@pytest.fixture(scope="session")
def shared_env():
    """make(env_id, mode) -> that registered env in that autoreset mode, made once per session
    (CONTRACT_NUM_ENVS envs, episodes truncated after CONTRACT_EPISODE_STEPS, one physics substep
    where the task has that parameter, render_mode="rgb_array").
    Tests that use it reset it first and never close it."""

    def make(env_id: str, mode: str):
        key = (env_id, mode)
        if key not in _shared_envs:
            kwargs = dict(num_envs=CONTRACT_NUM_ENVS, autoreset_mode=mode, max_episode_steps=CONTRACT_EPISODE_STEPS,
                          render_mode="rgb_array", render_config={"num_envs": 1, "width": 32, "height": 24})
            try:  # one physics substep per env step compiles in about half the time on the CPU
                _shared_envs[key] = gym.make_vec(env_id, substeps=1, **kwargs)
            except TypeError as err:  # a task without a substeps parameter
                if "substeps" not in str(err):
                    raise
                _shared_envs[key] = gym.make_vec(env_id, **kwargs)
        return _shared_envs[key]

    yield make
    for env in _shared_envs.values():
        env.close()
    _shared_envs.clear()
