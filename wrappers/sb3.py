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
from itertools import repeat, starmap

import numpy as np

from ._require import require
from ._env_checks import require_gpu_env

_vec_env = require("stable_baselines3.common.vec_env", "sb3")


def _same_options(a: dict, b: dict) -> bool:
    """Whether two options dicts hold the same values (arrays compared by value)."""
    if a.keys() != b.keys():
        return False
    for key, value in a.items():
        other = b[key]
        if value is other:
            continue
        try:
            if not np.array_equal(np.asarray(value), np.asarray(other)):
                return False
        except (TypeError, ValueError, RuntimeError):  # e.g. tensors on a GPU
            return False
    return True


def _to_numpy(array) -> np.ndarray:
    return array.cpu().numpy() if hasattr(array, "cpu") else np.asarray(array)


class Sb3VecEnv(_vec_env.VecEnv):
    """SB3 `VecEnv` view of a `GpuVectorEnv` (autoreset happens inside the env's step)."""

    def __init__(self, env):
        require_gpu_env(env, "Sb3VecEnv", methods=("step_numpy",))
        self.env = env  # before VecEnv.__init__, which reads render_mode through get_attr
        super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)
        self._actions = None
        self._t0 = time.perf_counter()

    def reset(self):
        """Reset the env with the seed and options SB3 stored (`seed()`, `set_options()`), as
        SB3's DummyVecEnv does: both go to one `reset` call, options only when set, and both
        are used once. The batched env takes one options dict, e.g. {"reset_mask": m} to reset
        only the envs where m is True (the others keep their state and observation)."""
        options = self._batched_options()
        obs, _ = self.env.reset(seed=self._seeds[0], **({"options": options} if options else {}))
        self._reset_seeds()
        self._reset_options()
        if isinstance(obs, dict):  # the "state+<image>" obs modes (SB3's MultiInputPolicy)
            return {key: _to_numpy(part) for key, part in obs.items()}
        return _to_numpy(obs)

    def _batched_options(self) -> dict:
        """The one options dict that SB3's per-env list holds (`set_options(dict)` stores the
        same dict for every env); ValueError when the envs' entries differ."""
        first = self._options[0]
        for other in self._options[1:]:
            if other is not first and not _same_options(first, other):
                raise ValueError("Sb3VecEnv wraps one batched env, which takes one options dict for all "
                                 "envs: pass set_options(dict), e.g. {'reset_mask': mask} to reset some envs")
        return first

    def step_async(self, actions) -> None:
        self._actions = actions

    def step_wait(self):
        obs, reward, terminated, truncated, infos = self.env.step_numpy(self._actions)
        done = terminated | truncated
        finished = np.flatnonzero(done)
        # New dicts every step, so a key written into one step's info dict does not show up in
        # a later step's (starmap(dict) is the cheapest way to make them: docs/wrappers.md).
        # Finished envs' entries come from whole-array conversions (tolist), not numpy scalar
        # reads per env.
        out = list(starmap(dict, repeat((), self.num_envs)))
        if finished.size:
            elapsed = round(time.perf_counter() - self._t0, 6)
            final_obs = infos["final_obs"]
            timeouts = (truncated & ~terminated)[finished].tolist()
            returns = infos["episode"]["r"][finished].tolist()
            lengths = infos["episode"]["l"][finished].tolist()
            for i, timeout, ret, length in zip(finished.tolist(), timeouts, returns, lengths):
                out[i] = {
                    "terminal_observation": ({key: part[i] for key, part in final_obs.items()}
                                             if isinstance(final_obs, dict) else final_obs[i]),
                    "TimeLimit.truncated": timeout,
                    "episode": {"r": ret, "l": length, "t": elapsed},
                }
        return obs, reward, done, out

    def close(self) -> None:
        self.env.close()

    def _get_indices(self, indices):
        """SB3's env indices, checked: IndexError for one outside [0, num_envs), as DummyVecEnv raises."""
        chosen = list(super()._get_indices(indices))
        bad = [i for i in chosen if not -self.num_envs <= i < self.num_envs]
        if bad:
            raise IndexError(f"env index {bad[0]} out of range for {self.num_envs} envs")
        return chosen

    def get_attr(self, attr_name, indices=None):
        return [getattr(self.env, attr_name)] * len(self._get_indices(indices))

    def set_attr(self, attr_name, value, indices=None) -> None:
        setattr(self.env, attr_name, value)  # one batched env: the value applies to all

    def env_method(self, method_name, *method_args, indices=None, **method_kwargs):
        result = getattr(self.env, method_name)(*method_args, **method_kwargs)
        return [result] * len(self._get_indices(indices))

    def env_is_wrapped(self, wrapper_class, indices=None):
        """Whether the batched env (the same for every index) is wrapped in `wrapper_class`."""
        env, wrapped = self.env, False
        while env is not None and not wrapped:
            wrapped = isinstance(env, wrapper_class)
            env = getattr(env, "env", None)
        return [wrapped] * len(self._get_indices(indices))

    def get_images(self):
        """One image, not one per env: the env's grid frame of its first
        `render_config.num_envs` envs (render_mode="rgb_array"), which SB3's `render()` and
        `VecVideoRecorder` show as is. [None] for other render modes."""
        frame = self.env.render_grid() if self.env.render_mode == "rgb_array" else None
        return [frame]
