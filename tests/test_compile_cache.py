"""gpu_envs keeps compiled env programs in JAX's persistent cache by default, where the user has
not chosen otherwise (gpu_envs/compile_cache.py)."""

import os
import subprocess
import sys

import jax
import pytest

from gpu_envs import compile_cache

MAKE_AND_STEP = ("import gymnasium as gym, torch, gpu_envs; env = gym.make_vec('GpuCartpole-v0', num_envs=2); "
                 "env.reset(seed=0); env.step(torch.zeros(2, 1)); env.block_until_ready(); print(env.compilation_cache)")


def test_a_fresh_process_caches_its_env_programs_under_xdg_cache_home(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("JAX_COMPILATION_CACHE_DIR", "GPU_ENVS_JAX_CACHE")}
    out = subprocess.run([sys.executable, "-c", MAKE_AND_STEP], capture_output=True, text=True, timeout=300,
                         env={**env, "XDG_CACHE_HOME": str(tmp_path), "JAX_PLATFORMS": "cpu"}, check=True)
    folder = tmp_path / "gpu-envs" / "jax"
    assert out.stdout.strip().splitlines()[-1] == str(folder)
    assert any(folder.iterdir())  # the step's program, compiled once, is on disk


def test_a_folder_the_user_chose_is_kept(monkeypatch, tmp_path):
    monkeypatch.setenv("JAX_COMPILATION_CACHE_DIR", str(tmp_path))
    before = jax.config.jax_compilation_cache_dir
    assert compile_cache.use_default_cache() == str(tmp_path)
    assert jax.config.jax_compilation_cache_dir == before  # nothing changed


def test_opting_out_sets_no_cache(monkeypatch):
    monkeypatch.delenv("JAX_COMPILATION_CACHE_DIR", raising=False)
    monkeypatch.setenv("GPU_ENVS_JAX_CACHE", "off")
    monkeypatch.setattr(compile_cache, "_configured_dir", lambda: None)  # as in a process that set none
    assert compile_cache.use_default_cache() is None


@pytest.fixture
def jax_cache_config(monkeypatch):
    """A process that chose no JAX cache settings; JAX's cache config is restored afterwards."""
    for name in ("JAX_COMPILATION_CACHE_DIR", "JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "GPU_ENVS_JAX_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(compile_cache, "_configured_dir", lambda: None)
    before = jax.config.jax_compilation_cache_dir, jax.config.jax_persistent_cache_min_compile_time_secs
    jax.config.update("jax_persistent_cache_min_compile_time_secs", compile_cache.JAX_DEFAULT_MIN_COMPILE_TIME_S)
    yield
    jax.config.update("jax_compilation_cache_dir", before[0])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", before[1])


def test_gpu_envs_folder_keeps_programs_that_compile_in_under_a_second(jax_cache_config, monkeypatch, tmp_path):
    monkeypatch.setenv("GPU_ENVS_JAX_CACHE", str(tmp_path))
    assert compile_cache.use_default_cache() == str(tmp_path)
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 0


def test_a_minimum_compile_time_the_user_set_is_kept(jax_cache_config, monkeypatch, tmp_path):
    monkeypatch.setenv("GPU_ENVS_JAX_CACHE", str(tmp_path))
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 2.5)
    assert compile_cache.use_default_cache() == str(tmp_path)
    assert jax.config.jax_persistent_cache_min_compile_time_secs == 2.5
