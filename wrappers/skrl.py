"""skrl adapter: any gpu_envs vector env as an skrl (2.x, torch) environment wrapper.

    from gpu_envs.wrappers.skrl import SkrlVecEnv
    env = SkrlVecEnv(gym.make_vec("GpuCartpole-v0", num_envs=4096))
    SequentialTrainer(cfg=..., env=env, agents=agent).train()

skrl's own `wrap_env` would take our env through its gymnasium wrapper, which converts actions
to numpy and copies every output into new tensors each step. This wrapper passes the env's
torch tensors straight through: actions go in as the agent's tensor (no copy on the env's
device) and obs/rewards/flags come out as views of the simulator's output buffer, reshaped to
skrl's (N, 1) for rewards/terminated/truncated.

With `time_limit_bootstrap`, skrl bootstraps truncated episodes from `next_observations`, which
for an autoreset env is the new episode's first observation (as with Isaac Lab); the finished
episode's last observation is `infos["final_obs"]`.
"""

from __future__ import annotations

from typing import Any

from ._require import require
from ._env_checks import require_array_observations, require_gpu_env

_skrl = require("skrl", "skrl")
_base = require("skrl.envs.wrappers.torch.base", "skrl")


class SkrlVecEnv(_base.Wrapper):
    """skrl `Wrapper` over a `GpuVectorEnv` created with output="torch" (the default).

    Observations are handed over flattened to (N, size), as skrl's memories store them (a view:
    pixel observations (N, H, W, C) become (N, H * W * C) without a copy); skrl's model
    instantiators shape them back from `observation_space`.

    Args:
        env: the vector env (e.g. from `gymnasium.make_vec`).
        seed: seed of the first `reset()`; None takes skrl's seed (`skrl.config.torch.key`,
            set by `skrl.utils.set_seed`).
    """

    def __init__(self, env, seed: int | None = None):
        require_gpu_env(env, "SkrlVecEnv")
        require_array_observations(env, "SkrlVecEnv")
        super().__init__(env)
        if getattr(self._unwrapped, "output", "torch") != "torch":
            raise ValueError("SkrlVecEnv needs an env created with output='torch'")
        self._seed = _skrl.config.torch.key if seed is None else seed
        self._observation = None
        self._info: dict[str, Any] = {}

    @property
    def observation_space(self):
        return self._unwrapped.single_observation_space

    @property
    def action_space(self):
        return self._unwrapped.single_action_space

    def reset(self):
        """First call resets every env -> (obs (N, obs_dim), infos); later calls return the
        latest observation, because the env resets finished episodes inside `step`. After
        `close()` (of this wrapper or of the env) it raises the env's RuntimeError."""
        if self._observation is None or getattr(self._unwrapped, "closed", False):
            obs, self._info = self._env.reset(seed=self._seed)
            self._observation = _flat(obs)
        return self._observation, self._info

    def step(self, actions):
        """actions (N, action_dim) -> obs (N, obs_dim), reward, terminated, truncated (N, 1), infos."""
        obs, reward, terminated, truncated, info = self._env.step(actions)
        obs = _flat(obs)
        self._observation, self._info = obs, info
        return obs, reward.view(-1, 1), terminated.view(-1, 1), truncated.view(-1, 1), info

    def state(self):
        return None

    def render(self, *args, **kwargs):
        return self._env.render(*args, **kwargs)

    def close(self) -> None:
        self._env.close()
        self._observation, self._info = None, {}  # reset() now goes to the closed env, which raises


def _flat(obs):
    """`obs` (N, ...) as (N, size): a view of the same memory."""
    return obs if obs.ndim == 2 else obs.reshape(obs.shape[0], -1)
