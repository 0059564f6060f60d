"""Gymnasium registration of gpu_envs' environments (vector entry points only)."""

from __future__ import annotations

import dataclasses

import gymnasium as gym

ENV_IDS = ("GpuCartpole-v0", "GpuAllegroHand-v0")


def _split_config(config_cls, kwargs: dict):
    names = {f.name for f in dataclasses.fields(config_cls)}
    unknown = sorted(set(kwargs) - names)
    if unknown:
        raise TypeError(f"unknown parameter(s) {unknown} for {config_cls.__name__}; valid: {sorted(names)}")
    return config_cls(**kwargs)


def make_cartpole(num_envs: int = 512, *, device=None, backend: str = "jax", output: str = "torch",
                  render_mode=None, render_config=None, **config):
    """GpuCartpole-v0 with `num_envs` envs; `config` overrides fields of `CartpoleConfig`."""
    from .tasks.cartpole import CartpoleConfig, CartpoleTask
    from .vector_env import GpuVectorEnv

    task = CartpoleTask(_split_config(CartpoleConfig, config), backend=backend, device=device)
    return GpuVectorEnv(task, num_envs, output=output, render_mode=render_mode,
                        render_config=render_config)


def make_allegro_hand(num_envs: int = 16384, *, device=None, backend: str = "auto", output: str = "torch",
                      render_mode=None, render_config=None, **config):
    """GpuAllegroHand-v0 with `num_envs` envs; `config` overrides fields of `AllegroHandConfig`."""
    from .tasks.allegro_hand import AllegroHandConfig, AllegroHandTask
    from .vector_env import GpuVectorEnv

    task = AllegroHandTask(_split_config(AllegroHandConfig, config), backend=backend, device=device)
    return GpuVectorEnv(task, num_envs, output=output, render_mode=render_mode,
                        render_config=render_config)


def register_envs() -> None:
    """Register every env id with gymnasium (idempotent; runs at `import gpu_envs`)."""
    if "GpuCartpole-v0" not in gym.registry:
        gym.register("GpuCartpole-v0", vector_entry_point="gpu_envs._registration:make_cartpole")
    if "GpuAllegroHand-v0" not in gym.registry:
        gym.register("GpuAllegroHand-v0", vector_entry_point="gpu_envs._registration:make_allegro_hand")
