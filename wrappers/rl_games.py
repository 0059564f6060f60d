"""rl_games adapter: gpu_envs vector envs as rl_games `IVecEnv`s, registered by env id.

    from gpu_envs.wrappers import rl_games as gpu_rl_games
    gpu_rl_games.register()            # every gpu_envs id, e.g. "GpuCartpole-v0"
    config = {..., "env_name": "GpuCartpole-v0", "num_actors": 4096, "env_config": {...}}
    Runner().load({"params": {..., "config": config}}); runner.run({"train": True})

`register()` adds each env id to `rl_games.common.env_configurations` (vecenv type
"GPU_ENVS") so rl_games' trainer (`vecenv.create_vec_env`, num_envs = `num_actors`) and its
player (`env_creator(**env_config)`, num_envs from `env_config`) both build our env.
`registered_instance(name, env)` does the same for an env created beforehand (as
gpu_envs.train does, to compile it while rl_games imports): while it is open both get that env.
Everything stays on the env's device: actions go in as rl_games' torch tensor, obs, rewards
and dones come out as views of the simulator's output buffer, and `infos["time_outs"]` marks
time-limit truncations (not failures) so `value_bootstrap` works.
"""

from __future__ import annotations

import contextlib
import functools
from typing import Iterator

import gymnasium as gym

from gpu_envs.tasks import env_ids as registered_env_ids
from gpu_envs.render import render_grid

from ._require import require
from ._env_checks import require_array_observations, require_gpu_env

_ivecenv = require("rl_games.common.ivecenv", "rl-games")
_vecenv = require("rl_games.common.vecenv", "rl-games")
_env_configurations = require("rl_games.common.env_configurations", "rl-games")

VECENV_TYPE = "GPU_ENVS"


class RlGamesVecEnv(_ivecenv.IVecEnv):
    """rl_games `IVecEnv` over a `GpuVectorEnv` created with output="torch" (the default).

    Args:
        env: the vector env (e.g. from `gymnasium.make_vec`).
        seed: seed of the first `reset()` (rl_games passes its run seed through env_config);
            None continues the env's random stream.
    """

    def __init__(self, env, seed: int | None = None):
        require_gpu_env(env, "RlGamesVecEnv")
        require_array_observations(env, "RlGamesVecEnv")
        if getattr(env.unwrapped, "output", "torch") != "torch":
            raise ValueError("RlGamesVecEnv needs an env created with output='torch'")
        self.env = env
        self.num_envs = env.num_envs
        self.observation_space = env.single_observation_space
        self.action_space = env.single_action_space
        self._seed = seed

    def reset(self):
        """Reset every env -> obs (N, obs_dim) torch tensor on the env's device."""
        obs, _ = self.env.reset(seed=self._seed)
        self._seed = None
        return obs

    def step(self, actions):
        """actions (N, action_dim) -> obs (N, obs_dim), rewards (N,), dones (N,) bool, infos.

        `infos` is the env's info dict plus `time_outs` (N,) bool: episodes cut by the time
        limit or a physics reset, which rl_games bootstraps with `value_bootstrap`.
        """
        obs, reward, _, truncated, infos = self.env.step(actions)
        infos["time_outs"] = truncated
        return obs, reward, infos["_final_obs"], infos

    def seed(self, seed):
        self._seed = seed

    def get_number_of_agents(self):
        return 1

    def get_env_info(self):
        return {
            "action_space": self.action_space,
            "observation_space": self.observation_space,
            "state_space": None,
            "use_global_observations": False,
            "agents": 1,
            "value_size": 1,
        }

    def render(self):
        return render_grid(self.env)  # the env's grid picture (its render() gives one frame per env)

    def close(self):
        self.env.close()


def make(env_id: str, num_envs: int, seed: int | None = None, **env_kwargs) -> RlGamesVecEnv:
    """Create `env_id` with `num_envs` envs (plus its parameters) as an `RlGamesVecEnv`."""
    return RlGamesVecEnv(gym.make_vec(env_id, num_envs=num_envs, **env_kwargs), seed=seed)


def _create_vec_env(config_name: str, num_actors: int, **env_config) -> RlGamesVecEnv:
    num_envs = env_config.pop("num_envs", num_actors)
    if num_envs != num_actors:
        raise ValueError(f"env_config num_envs={num_envs} disagrees with num_actors={num_actors}")
    return _env_configurations.configurations[config_name]["env_creator"](num_envs=num_actors, **env_config)


def register(env_ids: tuple[str, ...] | None = None) -> tuple[str, ...]:
    """Register gpu_envs ids (default: every registered task's, users' tasks included) with
    rl_games under their own names; returns the names."""
    _vecenv.register(VECENV_TYPE, _create_vec_env)
    known = registered_env_ids()
    env_ids = known if env_ids is None else tuple(env_ids)
    for env_id in env_ids:
        if env_id not in known:
            raise ValueError(f"unknown env id {env_id!r}; available: {list(known)}")
        _env_configurations.register(
            env_id, {"vecenv_type": VECENV_TYPE, "env_creator": functools.partial(make, env_id)}
        )
    return tuple(env_ids)


def _instance_creator(env: RlGamesVecEnv, name: str):
    def create(num_envs: int | None = None, seed: int | None = None, **env_config) -> RlGamesVecEnv:
        if env_config:
            raise ValueError(f"{name!r} is an env created beforehand: env_config {sorted(env_config)} cannot apply")
        if num_envs not in (None, env.num_envs):
            raise ValueError(f"{name!r} has {env.num_envs} envs, not num_actors={num_envs}")
        if seed is not None:  # rl_games' run seed, as `make` takes it: the next reset's
            env.seed(seed)
        return env

    return create


@contextlib.contextmanager
def registered_instance(name: str, env: RlGamesVecEnv) -> Iterator[str]:
    """While open, rl_games' trainer and player get `env` itself for env name `name` (vecenv type
    "GPU_ENVS", as `register()`'s ids); num_actors must be env.num_envs, and env_config may
    only hold `seed` (the seed of env's next reset, as rl_games' Runner passes its run seed).
    On exit `name` has its previous registration back (or none). Yields `name`."""
    _vecenv.register(VECENV_TYPE, _create_vec_env)
    configurations = _env_configurations.configurations
    previous = configurations.get(name)
    _env_configurations.register(name, {"vecenv_type": VECENV_TYPE, "env_creator": _instance_creator(env, name)})
    try:
        yield name
    finally:
        if previous is None:
            configurations.pop(name, None)
        else:
            configurations[name] = previous
