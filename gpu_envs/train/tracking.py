"""Per-iteration progress from an env's step infos, for trainers whose library runs the rollout
loop itself (skrl, rsl_rl): the adapter calls `IterationTracker.record` once per step."""

from __future__ import annotations

import math
from collections.abc import Callable

import torch

from .distributed import MetricReducer, Ranks
from .progress import Progress, task_metric_names


class IterationTracker:
    """Sums finished episodes on the device and prints a progress line every `rollouts` steps
    (one host sync per iteration; in a multi-GPU run, one all_reduce), with the task's metrics
    (the keys of `task.init_metrics()`) as the iteration's last step reports them."""

    def __init__(self, env, progress: Progress, rollouts: int, reducer: MetricReducer | None = None):
        self.progress, self.rollouts = progress, rollouts
        self.num_envs = env.num_envs
        self.device = env.unwrapped.device
        self.reducer = reducer or MetricReducer(Ranks(), self.device)
        self.metric_names = task_metric_names(env)
        self.steps = 0
        self._resumed = 0  # iterations done by a resumed checkpoint
        self._sums = torch.zeros(3, device=self.device)  # returns, lengths, episodes
        self._recent = (math.nan, math.nan)

    def resume(self, iterations: int) -> None:
        """Number lines and count env steps after `iterations` done by a resumed checkpoint."""
        self._resumed = int(iterations)
        self.progress.resume_from(self._env_steps(self._resumed * self.rollouts))

    def _env_steps(self, steps: int) -> int:
        return steps * self.num_envs * self.reducer.ranks.world_size

    def record(self, infos: dict, on_metrics: Callable[[dict], None] | None = None) -> None:
        """Count one step's finished episodes (`infos` of the gpu_envs env's step); at the end of
        an iteration call `on_metrics` with its metrics, then print its line (which raises
        `TimeLimitReached` past max_time)."""
        done = infos["_episode"]
        self._sums += torch.stack([infos["episode"]["r"][done].sum(), infos["episode"]["l"][done].sum().float(),
                                   done.sum().float()])
        self.steps += 1
        if self.steps % self.rollouts:
            return
        # the sums and this step's metrics reach the host in one copy
        values = torch.cat([self._sums, *(infos[k].float().reshape(1) for k in self.metric_names)]).tolist()
        r, length, n = values[:3]
        n, r, length, metrics, stop = self.reducer.reduce(r, length, n, dict(zip(self.metric_names, values[3:])),
                                                          self.progress.time_up())
        if n > 0:
            self._recent = (r / n, length / n)
        self._sums.zero_()
        if on_metrics is not None:
            on_metrics(metrics)
        iteration = self._resumed + self.steps // self.rollouts
        self.progress.update(iteration, self._env_steps(iteration * self.rollouts), *self._recent, metrics, stop=stop)
