"""Stable-Baselines3 adapter: any gpu_envs vector env as an SB3 `VecEnv`.

    from gpu_envs.wrappers.sb3 import Sb3VecEnv
    venv = Sb3VecEnv(gym.make_vec("GpuCartpole-v0", num_envs=64))
    PPO("MlpPolicy", venv).learn(100_000)

SB3 works on host numpy, so each step copies all outputs to the host once (one packed
buffer). Finished envs get SB3's info entries (`terminal_observation`, `TimeLimit.truncated`,
`episode` with r/l/t, as `Monitor` writes them); unfinished envs get an empty dict.
"""

from __future__ import annotations

import time

import numpy as np

from ._require import require

_vec_env = require("stable_baselines3.common.vec_env", "sb3")


class Sb3VecEnv(_vec_env.VecEnv):
    """SB3 `VecEnv` view of a `GpuVectorEnv` (autoreset happens inside the env's step)."""

    def __init__(self, env):
        self.env = env  # before VecEnv.__init__, which reads render_mode through get_attr
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)
        self._actions = None
        self._t0 = time.perf_counter()
        self._infos = [{} for _ in range(env.num_envs)]

    def reset(self):
        seed = self._seeds[0]
        obs, _ = self.env.reset(seed=seed)
        self._reset_seeds()
        self._reset_options()
        return obs.cpu().numpy() if hasattr(obs, "cpu") else np.asarray(obs)

    def step_async(self, actions) -> None:
        self._actions = actions

    def step_wait(self):
        obs, reward, terminated, truncated, infos = self.env.step_numpy(self._actions)
        done = terminated | truncated
        finished = np.flatnonzero(done)
        # A new list of the same empty dicts every step (no per-env allocation); finished envs
        # get new dicts. Code that writes into an unfinished env's info dict would see it again.
        out = list(self._infos)
        elapsed = round(time.perf_counter() - self._t0, 6)
        for i in finished:
            out[i] = {
                "terminal_observation": infos["final_obs"][i],
                "TimeLimit.truncated": bool(truncated[i] and not terminated[i]),
                "episode": {"r": float(infos["episode"]["r"][i]), "l": int(infos["episode"]["l"][i]), "t": elapsed},
            }
        return obs, reward, done, out

    def close(self) -> None:
        self.env.close()

    def get_attr(self, attr_name, indices=None):
        return [getattr(self.env, attr_name)] * len(self._get_indices(indices))

    def set_attr(self, attr_name, value, indices=None) -> None:
        setattr(self.env, attr_name, value)  # one batched env: the value applies to all

    def env_method(self, method_name, *method_args, indices=None, **method_kwargs):
        result = getattr(self.env, method_name)(*method_args, **method_kwargs)
        return [result] * len(self._get_indices(indices))

    def env_is_wrapped(self, wrapper_class, indices=None):
        return [False] * len(self._get_indices(indices))

    def get_images(self):
        """One image, not one per env: the env's grid frame of its first
        `render_config.num_envs` envs (render_mode="rgb_array"), which SB3's `render()` and
        `VecVideoRecorder` show as is. [None] for other render modes."""
        frame = self.env.render() if self.env.render_mode == "rgb_array" else None
        return [frame]
