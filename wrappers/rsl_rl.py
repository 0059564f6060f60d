"""rsl_rl adapter: any gpu_envs vector env as rsl_rl's `VecEnv` (rsl-rl-lib 5.x), for its `OnPolicyRunner`.

    from gpu_envs.wrappers.rsl_rl import RslRlVecEnv
    env = RslRlVecEnv(gym.make_vec("GpuAnt-v0", num_envs=4096))
    runner = OnPolicyRunner(env, train_cfg, log_dir="runs/ant", device=str(env.device))
    runner.learn(500)

Observations go to rsl_rl as a `TensorDict` with one group, "policy" (the env's observation
tensor itself, no copy): a runner config maps it with `obs_groups = {"actor": ["policy"],
"critic": ["policy"]}`. The env's tasks have no privileged observations, so there is no
"critic" group. `dones` are terminated | truncated, and `extras["time_outs"]` the truncated
episodes (time limit or a physics reset), which rsl_rl bootstraps with the value of the last
observation before the step, as rl_games does. `extras["log"]` carries the task's metrics
(`"/<name>"`, e.g. "/mean_forward_speed"), which rsl_rl's logger writes.
"""

from __future__ import annotations

import torch

from ._env_checks import require_array_observations, require_gpu_env
from ._require import require

_vec_env = require("rsl_rl.env", "rsl-rl")
_tensordict = require("tensordict", "rsl-rl")


class RslRlVecEnv(_vec_env.VecEnv):
    """rsl_rl `VecEnv` over a `GpuVectorEnv` created with output="torch" (the default).

    Args:
        env: the vector env (e.g. from `gymnasium.make_vec`); reset here, since rsl_rl's runner
            does not reset its env.
        seed: seed of that first reset (None: the env's own random stream).
        reward_scale: factor on the rewards rsl_rl sees (rsl_rl has no reward scaling of its own;
            the train configs' `reward_shaper.scale_value`).
    """

    def __init__(self, env, seed: int | None = None, reward_scale: float = 1.0):
        require_gpu_env(env, "RslRlVecEnv")
        require_array_observations(env, "RslRlVecEnv")
        unwrapped = env.unwrapped
        if getattr(unwrapped, "output", "torch") != "torch":
            raise ValueError("RslRlVecEnv needs an env created with output='torch'")
        self.env = env
        self.num_envs = env.num_envs
        self.num_actions = int(env.single_action_space.shape[0])
        self.max_episode_length = int(unwrapped.task.max_episode_steps)
        self.device = unwrapped.device
        self.cfg = {"env_id": unwrapped.spec.id if unwrapped.spec else type(unwrapped.task).__name__,
                    "num_envs": self.num_envs}
        self.reward_scale = float(reward_scale)
        # rsl_rl reads this buffer (and writes it with init_at_random_ep_len, which the env's
        # episodes do not follow): the steps of each env's running episode
        self.episode_length_buf = torch.zeros(self.num_envs, dtype=torch.long, device=self.device)
        self._metric_names = tuple(unwrapped.task.init_metrics())
        obs, _ = env.reset(seed=seed)
        self._observations = self._group(obs)
        self.last_infos: dict = {}

    def _group(self, obs: torch.Tensor):
        return _tensordict.TensorDict({"policy": obs}, batch_size=[self.num_envs], device=self.device)

    def get_observations(self):
        """The latest observations, {"policy": (N, obs_dim)}."""
        return self._observations

    def step(self, actions: torch.Tensor):
        """actions (N, num_actions) -> observations, rewards (N,), dones (N,), extras."""
        obs, reward, terminated, truncated, infos = self.env.step(actions)
        dones = terminated | truncated
        self.episode_length_buf = torch.where(dones, 0, self.episode_length_buf + 1)
        self._observations = self._group(obs)
        self.last_infos = infos
        extras = {"time_outs": truncated,
                  "log": {f"/{name}": infos[name] for name in self._metric_names}}
        return self._observations, reward * self.reward_scale, dones, extras

    def close(self) -> None:
        self.env.close()


def make(env_id: str, num_envs: int, seed: int | None = None, **env_kwargs) -> RslRlVecEnv:
    """Create `env_id` with `num_envs` envs (plus its parameters) as an `RslRlVecEnv`."""
    import gymnasium as gym

    return RslRlVecEnv(gym.make_vec(env_id, num_envs=num_envs, **env_kwargs), seed=seed)
