"""Gymnasium registration of gpu_envs' environments (vector entry points only)."""

from __future__ import annotations

import dataclasses

import gymnasium as gym
from gymnasium.vector import AutoresetMode

ENV_IDS = ("GpuCartpole-v0", "GpuAllegroHand-v0")


def _split_config(config_cls, kwargs: dict):
    names = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(kwargs) - names)
    if unknown:
        raise TypeError(f"unknown parameter(s) {unknown} for {config_cls.__name__}; valid: {sorted(names)}")
    return config_cls(**kwargs)


def _make(task_cls, config_cls, num_envs: int, *, device, backend: str, output: str, render_mode,
          render_config, autoreset_mode, **config):
    from .vector_env import GpuVectorEnv

    task = task_cls(_split_config(config_cls, config), backend=backend, device=device)
    return GpuVectorEnv(task, num_envs, output=output, render_mode=render_mode, render_config=render_config,
                        autoreset_mode=autoreset_mode)


def make_cartpole(num_envs: int, *, device=None, backend: str = "jax", output: str = "torch", render_mode=None,
                  render_config=None, autoreset_mode=AutoresetMode.SAME_STEP, **config):
    """GpuCartpole-v0 with `num_envs` envs; `config` overrides fields of `CartpoleConfig`."""
    from .tasks.cartpole import CartpoleConfig, CartpoleTask

    return _make(CartpoleTask, CartpoleConfig, num_envs, device=device, backend=backend, output=output,
                 render_mode=render_mode, render_config=render_config, autoreset_mode=autoreset_mode, **config)


def make_allegro_hand(num_envs: int, *, device=None, backend: str = "auto", output: str = "torch",
                      render_mode=None, render_config=None, autoreset_mode=AutoresetMode.SAME_STEP, **config):
    """GpuAllegroHand-v0 with `num_envs` envs; `config` overrides fields of `AllegroHandConfig`."""
    from .tasks.allegro_hand import AllegroHandConfig, AllegroHandTask

    return _make(AllegroHandTask, AllegroHandConfig, num_envs, device=device, backend=backend, output=output,
                 render_mode=render_mode, render_config=render_config, autoreset_mode=autoreset_mode, **config)


def single_env_unsupported(**kwargs):
    """What `gymnasium.make(id)` runs for our ids: there is no single-env version."""
    raise TypeError("gpu_envs environments are vector environments only: use gymnasium.make_vec(id, "
                    "num_envs=N) (N = 1 for one env), not gymnasium.make(id)")


def register_envs() -> None:
    """Register every env id with gymnasium (idempotent; runs at `import gpu_envs`)."""
    factories = {"GpuCartpole-v0": "make_cartpole", "GpuAllegroHand-v0": "make_allegro_hand"}
    for env_id, factory in factories.items():
        if env_id not in gym.registry:
            gym.register(env_id, entry_point=f"{__name__}:single_env_unsupported",
                         vector_entry_point=f"{__name__}:{factory}")
